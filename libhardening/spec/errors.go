package spec

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinels for what callers branch on; every error from this package that
// concerns a file is an *Error wrapping one of them.
var (
	// ErrNotFound: the bundle directory or the file does not exist.
	ErrNotFound = errors.New("not found")
	// ErrUnreadable: the file exists but cannot be opened or read.
	ErrUnreadable = errors.New("unreadable")
	// ErrNotRegular: the path is a symlink, FIFO, directory, device or socket.
	ErrNotRegular = errors.New("not a regular file")
	// ErrEmpty: the file holds no JSON at all.
	ErrEmpty = errors.New("empty")
	// ErrMalformed: the bytes are not a JSON object of the expected shape.
	ErrMalformed = errors.New("malformed JSON")
	// ErrTooLarge: the document exceeds MaxDocumentSize.
	ErrTooLarge = errors.New("too large")
	// ErrUnwritable: the hardened document could not be written.
	ErrUnwritable = errors.New("cannot write")
	// ErrChanged: the file was replaced between Load and Write.
	ErrChanged = errors.New("changed since it was read")
)

// MaxDocumentSize caps what Load, LoadProcess and LoadResources read. The
// largest configs seen in practice (a full seccomp profile plus many mounts
// and annotations) are tens of kilobytes and Kubernetes caps a pod's
// annotations at 256 KiB, but 10 MB configs must still be accepted. Decoding
// holds roughly ten copies of the document in memory (original, typed and
// generic trees), so 16 MiB bounds a hostile file at a few hundred MiB while
// leaving headroom over every legitimate one.
const MaxDocumentSize = 16 << 20

// Error describes a document that cannot be read, parsed or written. The
// message says what is wrong and how to fix it.
type Error struct {
	// Path is the file (or directory) concerned; empty for a stream.
	Path string
	// Kind is one of the Err* sentinels.
	Kind error
	// Detail says what is wrong, e.g. "is a symbolic link".
	Detail string
	// Fix tells the operator what to do about it.
	Fix string
	// Offset, Line and Column locate a JSON error (Kind ErrMalformed);
	// Offset is a zero-based byte offset, Line and Column start at 1.
	Offset       int64
	Line, Column int
	// Err is the underlying cause (syscall or decoder error), if any.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Detail)
	if e.Line > 0 {
		fmt.Fprintf(&b, " at line %d, column %d (byte offset %d)", e.Line, e.Column, e.Offset)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.Fix != "" {
		b.WriteString("; ")
		b.WriteString(e.Fix)
	}
	return b.String()
}

// Unwrap exposes both the sentinel and the cause to errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// position converts a byte offset in data into a 1-based line and column.
func position(data []byte, off int64) (line, col int) {
	if off < 0 {
		off = 0
	}
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	line, col = 1, 1
	for _, c := range data[:off] {
		if c == '\n' {
			line++
			col = 1
			continue
		}
		col++
	}
	return line, col
}
