package forensics

import (
	"bufio"
	"errors"
	"io"
	"os"
)

// readBufSize is large enough that almost every record is one ReadSlice.
const readBufSize = 1 << 20

// eachLine calls fn for every line of path up to limit bytes (limit < 0:
// the whole file), with the line's offset and without its newline. complete
// is false for a last line that has no newline (a torn write). The slice is
// only valid during the call.
func eachLine(path string, limit int64, fn func(line []byte, off int64, complete bool) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var r io.Reader = f
	if limit >= 0 {
		r = io.LimitReader(f, limit)
	}
	br := bufio.NewReaderSize(r, readBufSize)
	var off int64
	var long []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, chunk...)
			continue
		}
		line := chunk
		if long != nil {
			line = append(long, chunk...)
			long = nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if len(line) > 0 {
			complete := line[len(line)-1] == '\n'
			if complete {
				line = line[:len(line)-1]
			}
			if ferr := fn(line, off, complete); ferr != nil {
				return ferr
			}
			off += int64(len(line))
			if complete {
				off++
			}
		}
		if err != nil {
			return nil
		}
	}
}
