// Command auditcall makes the syscalls the audit tests need, by name, and
// prints "<name>: ok" or "<name>: <errno name>" for each: a process in a
// container that calls one of the seccomp cuts beyond Docker's default
// (get_robust_list, name_to_handle_at) or a call ordinary servers need
// (sync_file_range: postgres' checkpointer).
package main

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

func main() {
	for _, name := range os.Args[1:] {
		fmt.Printf("%s: %s\n", name, result(call(name)))
	}
}

func call(name string) error {
	switch name {
	case "get_robust_list":
		var head uintptr
		var size uintptr
		_, _, e := unix.Syscall(unix.SYS_GET_ROBUST_LIST, 0, uintptr(unsafe.Pointer(&head)), uintptr(unsafe.Pointer(&size)))
		return errno(e)
	case "name_to_handle_at":
		_, _, err := unix.NameToHandleAt(unix.AT_FDCWD, "/", 0)
		return err
	case "sync_file_range":
		f, err := os.CreateTemp("", "auditcall-")
		if err != nil {
			return err
		}
		defer os.Remove(f.Name())
		f.WriteString("x")
		return unix.SyncFileRange(int(f.Fd()), 0, 0, unix.SYNC_FILE_RANGE_WRITE)
	}
	return fmt.Errorf("unknown call %q", name)
}

func errno(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

func result(err error) string {
	if err == nil {
		return "ok"
	}
	if e, ok := err.(unix.Errno); ok {
		return unix.ErrnoName(e)
	}
	return err.Error()
}
