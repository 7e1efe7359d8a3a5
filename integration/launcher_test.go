//go:build integration

package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
)

// writeLauncher writes, at path, the program an engine is configured to run
// as its runtime: it names config.toml in HARDENED_RUNC_CONFIG (engines pass
// the runtime no environment of ours) and execs hardened-runc with the same
// argv. A host uses no such program (the config is at its default path,
// /etc/hardened-runc/config.toml); the tests need one per config, and every
// runtime call of an engine goes through it, so it must cost as little as
// an exec can: it is freestanding C (no libc), not a shell script (about a
// millisecond of start-up here) nor a static glibc program (about 0.3 ms
// of CPU in glibc's start-up, mostly cpuid, which traps in this VM). The
// Docker benchmarks time runc through the same launcher as the floor
// (BENCHMARKS.md). Off amd64 it is a static glibc program, and without a C
// compiler a shell script.
func writeLauncher(path, config, binary string) error {
	env := "HARDENED_RUNC_CONFIG=" + config
	if err := buildFreestanding(path, freestandingExec(strconv.Quote(binary), strconv.Quote(env))); err == nil {
		return nil
	}
	src := fmt.Sprintf(`#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
	(void)argc;
	if (setenv("HARDENED_RUNC_CONFIG", %s, 1) != 0) return 127;
	argv[0] = %s;
	execv(argv[0], argv);
	return 127;
}
`, strconv.Quote(config), strconv.Quote(binary))
	c := path + ".c"
	if err := os.WriteFile(c, []byte(src), 0o644); err != nil {
		return err
	}
	defer os.Remove(c)
	if _, err := exec.LookPath("gcc"); err == nil {
		out, err := exec.Command("gcc", "-O2", "-static", "-o", path, c).CombinedOutput()
		if err != nil {
			return fmt.Errorf("build launcher %s: %v %s", filepath.Base(path), err, out)
		}
		return nil
	}
	script := fmt.Sprintf("#!/bin/sh\nHARDENED_RUNC_CONFIG=%s exec %s \"$@\"\n", config, binary)
	return os.WriteFile(path, []byte(script), 0o755)
}

// freestandingExec is the C source of a program without libc that execs
// binary (a C string literal; NULL: its own argv[1], with argv shifted)
// with its argv and environment, env (a C string literal "NAME=value", or
// NULL) put first and any other NAME= entry dropped. amd64 Linux only.
func freestandingExec(binary, env string) string {
	return `typedef unsigned long size_t;
static long sys3(long n, long a, long b, long c)
{
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
	return r;
}
static int named(const char *e, const char *env)
{
	size_t i = 0;
	for (; env[i] && env[i] != '='; i++)
		if (e[i] != env[i])
			return 0;
	return e[i] == '=';
}
__attribute__((used)) void start_c(long *sp)
{
	const char *bin = ` + binary + `, *env = ` + env + `;
	long argc = sp[0];
	char **argv = (char **)(sp + 1), **envp = argv + argc + 1;
	long n = 0;
	while (envp[n])
		n++;
	char *e[n + 2];
	long k = 0;
	if (env)
		e[k++] = (char *)env;
	for (long i = 0; i < n; i++)
		if (!env || !named(envp[i], env))
			e[k++] = envp[i];
	e[k] = 0;
	if (!bin) {
		if (argc < 2)
			sys3(60, 127, 0, 0);
		argv++;
		bin = argv[0];
	} else {
		argv[0] = (char *)bin;
	}
	sys3(59, (long)bin, (long)argv, (long)e);
	sys3(60, 127, 0, 0);
}
__asm__(".global _start\n_start:\n\txor %rbp, %rbp\n\tmov %rsp, %rdi\n\tand $-16, %rsp\n\tcall start_c\n\thlt\n");
`
}

// buildFreestanding compiles a freestandingExec program at path.
func buildFreestanding(path, src string) error {
	if runtime.GOARCH != "amd64" {
		return fmt.Errorf("freestanding launcher: amd64 only")
	}
	c := path + ".c"
	if err := os.WriteFile(c, []byte(src), 0o644); err != nil {
		return err
	}
	defer os.Remove(c)
	out, err := exec.Command("gcc", "-O2", "-static", "-nostdlib", "-fno-stack-protector", "-fno-builtin", "-o", path, c).CombinedOutput()
	if err != nil {
		return fmt.Errorf("build freestanding %s: %v %s", filepath.Base(path), err, out)
	}
	return nil
}
