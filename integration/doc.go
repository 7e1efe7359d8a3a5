// Package integration holds hardened-runc's tests against real parts: real
// runc (Debian's 1.1.x and a current 1.5.x), a dockerd and a containerd the
// tests start themselves, and busybox-static images built locally. Every
// test asserts what is true inside the running container. The tests need
// root; `make test` runs them after installing what they need.
//
// They build only with -tags integration (`make integration` sets it), so
// `go test ./...` lists this package as having no test files instead of
// printing "ok" for tests it never ran. Without root, TestMain says so and
// fails.
package integration
