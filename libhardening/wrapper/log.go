package wrapper

import (
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/sirupsen/logrus"
)

// newLogger returns a logger that writes hardened-runc's messages where runc
// writes its own: to the --log file in the --log-format engines parse
// (containerd reads the last "error" entry of log.json and Docker shows it),
// and errors also to stderr so `runc`-style callers see them on a terminal.
// A log file that cannot be opened is not fatal: runc itself will report it.
func newLogger(path, format, level string, debug bool, stderr io.Writer) (*logrus.Logger, func()) {
	l := logrus.New()
	l.SetOutput(io.Discard)
	l.SetLevel(parseLevel(level, debug))
	switch format {
	case "json":
		l.SetFormatter(&logrus.JSONFormatter{})
	default:
		l.SetFormatter(&logrus.TextFormatter{DisableColors: true, FullTimestamp: true})
	}
	closeFn := func() {}
	if path != "" {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND|syscall.O_CLOEXEC, 0o644)
		if err == nil {
			l.SetOutput(f)
			closeFn = func() { f.Close() }
		} else {
			fmt.Fprintf(stderr, "hardened-runc: warning: cannot open log %s: %v\n", path, err)
		}
	}
	return l, closeFn
}

func parseLevel(level string, debug bool) logrus.Level {
	if debug {
		return logrus.DebugLevel
	}
	lv, err := logrus.ParseLevel(level)
	if err != nil || level == "" {
		return logrus.WarnLevel
	}
	return lv
}
