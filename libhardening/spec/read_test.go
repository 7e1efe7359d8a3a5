package spec

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestLoadRefusals(t *testing.T) {
	valid := readTestdata(t, "runc-spec.json")
	tests := []struct {
		name  string
		setup func(t *testing.T) string // returns the bundle
		kind  error
		// msg fragments the error must contain
		msg []string
	}{
		{"missing bundle", func(t *testing.T) string {
			return filepath.Join(t.TempDir(), "nope")
		}, ErrNotFound, []string{"bundle directory does not exist", "--bundle"}},
		{"bundle is a file", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "file")
			os.WriteFile(p, valid, 0o644)
			return p
		}, ErrNotFound, []string{"not a directory"}},
		{"missing config.json", func(t *testing.T) string {
			return t.TempDir()
		}, ErrNotFound, []string{"config.json: file does not exist", "runc spec"}},
		{"symlink", func(t *testing.T) string {
			dir := t.TempDir()
			target := filepath.Join(dir, "real.json")
			os.WriteFile(target, valid, 0o644)
			os.Symlink(target, filepath.Join(dir, "config.json"))
			return dir
		}, ErrNotRegular, []string{"is a symbolic link", "replace it"}},
		{"dangling symlink", func(t *testing.T) string {
			dir := t.TempDir()
			os.Symlink("/nonexistent", filepath.Join(dir, "config.json"))
			return dir
		}, ErrNotRegular, []string{"symbolic link"}},
		{"FIFO", func(t *testing.T) string {
			dir := t.TempDir()
			if err := unix.Mkfifo(filepath.Join(dir, "config.json"), 0o644); err != nil {
				t.Skipf("cannot create a FIFO here: %v", err)
			}
			return dir
		}, ErrNotRegular, []string{"is a FIFO"}},
		{"directory", func(t *testing.T) string {
			dir := t.TempDir()
			os.Mkdir(filepath.Join(dir, "config.json"), 0o755)
			return dir
		}, ErrNotRegular, []string{"is a directory"}},
		{"empty", func(t *testing.T) string { return bundleWith(t, nil) }, ErrEmpty, []string{"empty"}},
		{"whitespace only", func(t *testing.T) string { return bundleWith(t, []byte(" \n\t\n")) }, ErrEmpty, []string{"empty"}},
		{"malformed", func(t *testing.T) string {
			return bundleWith(t, []byte("{\n  \"ociVersion\": \"1.0.2\",\n  \"process\": {,}\n}"))
		}, ErrMalformed, []string{"malformed JSON at line 3, column 15 (byte offset 41)", "invalid character ','", "jq"}},
		{"truncated", func(t *testing.T) string { return bundleWith(t, valid[:len(valid)/2]) }, ErrMalformed, []string{"unexpected end of JSON input"}},
		{"trailing garbage", func(t *testing.T) string {
			return bundleWith(t, append(bytes.Clone(valid), []byte("\n}{")...))
		}, ErrMalformed, []string{"after top-level value"}},
		{"top-level array", func(t *testing.T) string { return bundleWith(t, []byte(" [1]")) }, ErrMalformed, []string{"not a JSON object", "line 1, column 2"}},
		{"top-level null", func(t *testing.T) string { return bundleWith(t, []byte("null")) }, ErrMalformed, []string{"not a JSON object"}},
		{"wrong type", func(t *testing.T) string {
			return bundleWith(t, []byte(`{"ociVersion":"1.0.2","process":{"user":{"uid":"root"}}}`))
		}, ErrMalformed, []string{"wrong type for field process.user.uid", "line 1"}},
		{"uid overflow", func(t *testing.T) string {
			return bundleWith(t, []byte(`{"ociVersion":"1.0.2","process":{"user":{"uid":4294967296}}}`))
		}, ErrMalformed, []string{"process.user.uid"}},
		{"too large", func(t *testing.T) string {
			return bundleWith(t, largeConfig(t, MaxDocumentSize+1))
		}, ErrTooLarge, []string{"16 MiB limit"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bundle := tc.setup(t)
			done := make(chan error, 1)
			go func() { _, err := Load(bundle); done <- err }()
			var err error
			select {
			case err = <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("Load blocked")
			}
			if !errors.Is(err, tc.kind) {
				t.Fatalf("got %v, want an error wrapping %v", err, tc.kind)
			}
			var e *Error
			if !errors.As(err, &e) || e.Path == "" {
				t.Fatalf("not an *Error with a path: %#v", err)
			}
			for _, m := range tc.msg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("message %q does not contain %q", err, m)
				}
			}
		})
	}
}

// largeConfig builds a valid config.json of exactly size bytes by padding an
// annotation.
func largeConfig(t testing.TB, size int) []byte {
	t.Helper()
	head := `{"ociVersion":"1.0.2-dev","process":{"cwd":"/","user":{"uid":0,"gid":0},"args":["sh"]},"root":{"path":"rootfs"},"annotations":{"pad":"`
	tail := `"}}`
	pad := size - len(head) - len(tail)
	if pad < 0 {
		t.Fatal("size too small")
	}
	return []byte(head + strings.Repeat("x", pad) + tail)
}

func TestLoadTenMegabyteConfig(t *testing.T) {
	data := largeConfig(t, 10<<20)
	d, err := Load(bundleWith(t, data))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Spec.Annotations["pad"]) < 10<<20-200 {
		t.Fatal("annotation truncated")
	}
	d.Spec.Process.NoNewPrivileges = true
	out, err := d.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte(d.Spec.Annotations["pad"])) {
		t.Fatal("large annotation lost")
	}
}

func TestOCIVersionsKept(t *testing.T) {
	for _, v := range []string{"1.0.0-rc2", "1.0.0-rc2-dev", "1.0.0", "1.0.2-dev", "1.1.0", "1.2.1", "1.3.0", "1.4.0-dev", "2.0.0"} {
		t.Run(v, func(t *testing.T) {
			d, err := Parse([]byte(`{"ociVersion":"` + v + `","process":{"cwd":"/","user":{"uid":0,"gid":0}}}`))
			if err != nil {
				t.Fatal(err)
			}
			d.Spec.Process.NoNewPrivileges = true
			out, err := d.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(out, []byte(`"ociVersion":"`+v+`"`)) {
				t.Fatalf("ociVersion not kept: %s", out)
			}
		})
	}
}

func TestErrorMessageNamesPathAndFix(t *testing.T) {
	bundle := bundleWith(t, []byte("{"))
	_, err := Load(bundle)
	want := filepath.Join(bundle, "config.json") + ": malformed JSON at line 1, column 2 (byte offset 1): unexpected end of JSON input; fix the JSON"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("got %q\nwant prefix %q", err, want)
	}
}
