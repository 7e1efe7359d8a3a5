package forensics

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// A stored line is the JSON of a Record whose last member is
//
//	,"hash":"sha256:<64 hex>"}
//
// and the hash covers every byte of the line before that member. Seq and
// Prev are the first members, so the chain is checked from the line's
// head and tail without decoding the documents in between.
const (
	hashPrefix = "sha256:"
	hashMember = `,"hash":"` + hashPrefix
	hashLen    = len(hashPrefix) + 64
	suffixLen  = len(hashMember) + 64 + len(`"}`)
	seqMember  = `{"seq":`
	prevMember = `"prev":"`
	timeMember = `"time":"`
)

var errMalformed = errors.New("not a record line")

// header is what the chain needs from a line.
type header struct {
	Seq  uint64
	Prev string
	Hash string
	// Sum is the hash actually computed over the line.
	Sum string
}

// encodeLine serialises rec as the record after (seq-1, prev) and returns
// the line with its trailing newline, and the record's hash.
func encodeLine(rec *Record, seq uint64, prev string) ([]byte, string, error) {
	rec.Seq, rec.Prev, rec.Hash = seq, prev, ""
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	// Specs carry shell commands with <, > and &; keep them readable.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rec); err != nil {
		return nil, "", fmt.Errorf("encode record: %w", err)
	}
	body := bytes.TrimSuffix(b.Bytes(), []byte("}\n"))
	sum := sha256.Sum256(body)
	h := hashPrefix + hex.EncodeToString(sum[:])
	line := make([]byte, 0, len(body)+suffixLen+1)
	line = append(line, body...)
	line = append(line, `,"hash":"`...)
	line = append(line, h...)
	line = append(line, "\"}\n"...)
	rec.Hash = h
	return line, h, nil
}

// parseHeader reads seq, prev and the claimed hash of line (without its
// newline) and computes the line's real hash.
func parseHeader(line []byte) (header, error) {
	var h header
	n := len(line)
	if n < len(seqMember)+suffixLen || !bytes.HasPrefix(line, []byte(seqMember)) ||
		!bytes.Equal(line[n-suffixLen:n-suffixLen+len(hashMember)], []byte(hashMember)) ||
		!bytes.HasSuffix(line, []byte(`"}`)) {
		return h, errMalformed
	}
	rest := line[len(seqMember):]
	comma := bytes.IndexByte(rest, ',')
	if comma < 0 {
		return h, errMalformed
	}
	seq, err := strconv.ParseUint(string(rest[:comma]), 10, 64)
	if err != nil {
		return h, errMalformed
	}
	rest = rest[comma+1:]
	if !bytes.HasPrefix(rest, []byte(prevMember)) {
		return h, errMalformed
	}
	rest = rest[len(prevMember):]
	q := bytes.IndexByte(rest, '"')
	if q < 0 {
		return h, errMalformed
	}
	h.Seq, h.Prev = seq, string(rest[:q])
	h.Hash = string(line[n-suffixLen+len(hashMember)-len(hashPrefix) : n-2])
	sum := sha256.Sum256(line[:n-suffixLen])
	h.Sum = hashPrefix + hex.EncodeToString(sum[:])
	return h, nil
}

// claimedHeader is parseHeader without hashing, for the tail of a file.
func claimedHeader(line []byte) (uint64, string, error) {
	h, err := parseHeader(line)
	return h.Seq, h.Hash, err
}

// lineTime reads the record's time from the start of line without decoding
// it; ok is false when the line does not have the expected shape.
func lineTime(line []byte) (time.Time, bool) {
	head := line
	if len(head) > 512 {
		head = head[:512]
	}
	i := bytes.Index(head, []byte(timeMember))
	if i < 0 {
		return time.Time{}, false
	}
	rest := head[i+len(timeMember):]
	q := bytes.IndexByte(rest, '"')
	if q < 0 {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(rest[:q]))
	return t, err == nil
}
