// hardened-runc: what engines run as their OCI runtime. This small C
// program decides, without starting any runtime of its own, the calls that
// need no policy, and execs the Go side (hardened-runc-go, beside it) for
// every other: a Go program takes milliseconds to start here, and a static
// glibc one spends 0.3 ms in its own start-up (cpuid, which traps in a VM),
// where this one, linked with musl, starts in 0.03 ms. The record format and
// the reasons are in libhardening/fastpath (fastpath.go); this file must stay
// in step with it (TestFastPath in cmd/hardened-runc-go checks both halves
// together, TestPreexecTables the tables).
//
// Every check fails towards the Go side: when anything is not exactly as
// recorded, the call goes to hardened-runc-go as if there were no record.
// The fast path never prints and never exits on its own.
//
// - Fast verbs (state, list, ...): the recorded lower runtime is exec'd.
// - Spooled verbs (start, kill, and delete of a container that holds
//   nothing of hardened-runc's): the call's short forensic record is
//   appended, as raw facts, to the spool in the recorded forensics
//   directory and synced, then the lower runtime is exec'd; the Go side
//   puts the spool on the record chain later (forensics/spool.go reads what
//   spool() writes).
// - Overlapped verbs (any other delete): the lower runtime is forked. With
//   a delete helper (hardened-runc-delete, the same Go code without cgo,
//   which starts sooner) and a release lock recorded, the helper is forked
//   beside it (RELEASE_ENV, a pidfd of the runtime, the settled pipe), and
//   this program returns the runtime's status once the runtime has exited
//   and the helper has settled what the engine reads after delete; the
//   helper finishes the release afterwards, holding the container's
//   release lock (split). Otherwise the Go side, which records the call
//   while the runtime runs and then waits for it, is exec'd with the
//   child's pid in STARTED_ENV: the helper, else hardened-runc-go.
// - Any delete first waits for a release of the container still in flight
//   (its release lock), so what it finds held is what is left.

#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RECORD_DIR "/run/hardened-runc/fastpath/"
#define RECORD_MAX 8192
#define DEFAULT_CONFIG "/etc/hardened-runc/config.toml"
#define HEADER "hardened-runc fastpath 5"
#define STARTED_ENV "HARDENED_RUNC_STARTED"
// A split delete (fastpath.ReleaseEnv, ReleasePidFD, SettledFD).
#define RELEASE_ENV "HARDENED_RUNC_RELEASE"
#define RELEASE_PIDFD 3
#define SETTLED_FD 4
#define HELPER_NICE 10
#define RELEASE_PATIENCE 10
// The Go side and the delete helper, beside this binary
// (fastpath.GoName, fastpath.DeleteHelperName).
#define GO_NAME "hardened-runc-go"
#define HELPER_NAME "hardened-runc-delete"

// The verb table's Fast verbs (fastpath.Verbs); TestPreexecTables in
// package fastpath checks this copy, the flags below and the defines above.
static const char *const fast_verbs[] = {
	"state", "list", "ps", "events", "pause", "resume", "features", NULL,
};
// The table's Spooled and Overlap verbs, checked by the same test.
static const char *const spooled_verbs[] = {
	"start", "kill", "delete", NULL,
};
static const char *const overlap_verbs[] = {
	"delete", NULL,
};

// What the fast path started for an overlapped verb, for the Go side.
static pid_t started_pid;
static char started_lower[4096];

static int listed(const char *const *list, const char *verb)
{
	for (int i = 0; list[i]; i++)
		if (!strcmp(verb, list[i]))
			return 1;
	return 0;
}

enum { FLAG_BAIL, FLAG_BOOL, FLAG_VALUE };

// global_flag classifies runc's global flags. --debug, --help and
// --version are left to the Go side (it logs, or prints its own version),
// and so is any flag runc 1.1 and 1.5 do not have.
static int global_flag(const char *name, size_t len)
{
	static const char *const value_flags[] = {"log", "log-format", "root", "criu", "rootless", NULL};
	for (int i = 0; value_flags[i]; i++)
		if (strlen(value_flags[i]) == len && !strncmp(name, value_flags[i], len))
			return FLAG_VALUE;
	if (len == strlen("systemd-cgroup") && !strncmp(name, "systemd-cgroup", len))
		return FLAG_BOOL;
	return FLAG_BAIL;
}

// The global flags find_verb read that hardened-runc uses itself: where
// and how the engine wants runtime errors logged (report).
static const char *log_path, *log_format;

// find_verb returns argv's index of runc's verb, read with Go's flag
// grammar as runc reads it (global flags until the first non-flag argument
// or "--"), or -1 when it is not certain. It notes --log and --log-format.
static int find_verb(int argc, char **argv)
{
	int i = 1;
	while (i < argc) {
		const char *a = argv[i];
		if (a[0] != '-' || a[1] == '\0')
			return i;
		const char *name = a + 1;
		if (*name == '-') {
			name++;
			if (*name == '\0')
				return i + 1 < argc ? i + 1 : -1;
		}
		if (*name == '-' || *name == '=')
			return -1;
		const char *eq = strchr(name + 1, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		switch (global_flag(name, len)) {
		case FLAG_VALUE: {
			const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[i + 1] : NULL);
			if (len == 3 && !strncmp(name, "log", 3))
				log_path = value;
			else if (len == 10 && !strncmp(name, "log-format", 10))
				log_format = value;
			i += eq ? 1 : 2;
			break;
		}
		case FLAG_BOOL:
			if (eq)
				return -1;
			i++;
			break;
		default:
			return -1;
		}
	}
	return -1;
}

static unsigned long long fnv1a(unsigned long long h, const char *s)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

// identity formats stat(2) of path as fastpath.Identify does.
static int identity(const char *path, char *out, size_t size)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return -1;
	int n = snprintf(out, size, "%llu %llu %lld %lld %lld %lld %lld",
			 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
			 (long long)st.st_size,
			 (long long)st.st_mtim.tv_sec, (long long)st.st_mtim.tv_nsec,
			 (long long)st.st_ctim.tv_sec, (long long)st.st_ctim.tv_nsec);
	return n > 0 && (size_t)n < size ? 0 : -1;
}

static int same_identity(const char *path, const char *want)
{
	char got[256];
	return identity(path, got, sizeof(got)) == 0 && !strcmp(got, want);
}

// field takes the next line of the record, which must start with key, and
// returns its value (NUL-terminated in place), or NULL.
static char *field(char **cursor, const char *key)
{
	char *line = *cursor, *nl = strchr(line, '\n');
	size_t klen = strlen(key);
	if (!nl || strncmp(line, key, klen))
		return NULL;
	*nl = '\0';
	*cursor = nl + 1;
	return line + klen;
}

// look_path finds name in path the way Go's exec.LookPath does, into out.
// A relative directory (Go refuses those with ErrDot) and a path that does
// not fit make it give up.
static int look_path(const char *name, const char *path, char *out, size_t size)
{
	const char *p = path;
	while (*p) {
		const char *end = strchrnul(p, ':');
		size_t dlen = (size_t)(end - p);
		if (dlen == 0 || p[0] != '/')
			return -1;
		int n = snprintf(out, size, "%.*s/%s", (int)dlen, p, name);
		if (n < 0 || (size_t)n >= size)
			return -1;
		struct stat st;
		if (stat(out, &st) == 0 && !S_ISDIR(st.st_mode) &&
		    faccessat(AT_FDCWD, out, X_OK, AT_EACCESS) == 0)
			return 0;
		p = *end ? end + 1 : end;
	}
	return -1;
}

// read_record reads the record for key into buf, if this user owns it and
// nobody else can write it.
static int read_record(const char *key, char *buf, size_t size)
{
	char path[sizeof(RECORD_DIR) + 32];
	snprintf(path, sizeof(path), RECORD_DIR "%s", key);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	ssize_t n = -1;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
	    !(st.st_mode & 022) && st.st_size > 0 && (size_t)st.st_size < size)
		n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

// start forks the lower runtime with argv (argv[0] replaced) for the Go
// side to wait on. The child outlives this process if it dies: a delete
// that runc completes leaves nothing the next delete, create or GC cannot
// repair, and one killed half-way could. A failed fork leaves the call to
// the Go side entirely.
static void start(const char *lower, char **argv, char **envp)
{
	if (strlen(lower) >= sizeof(started_lower))
		return;
	pid_t pid = fork();
	if (pid < 0)
		return;
	if (pid == 0) {
		argv[0] = (char *)lower;
		execve(lower, argv, envp);
		_exit(127);
	}
	strcpy(started_lower, lower);
	started_pid = pid;
}

// go_env returns envp for a Go side, with the started runtime, if any,
// named in name ("<pid>:<path>"). What the caller's environment says of a
// started runtime is never passed on: only this process starts one. NULL
// when out of memory.
static char **go_env(char **envp, const char *name)
{
	static char started[64 + 24 + sizeof(started_lower)];
	size_t n = 0;
	while (envp[n])
		n++;
	char **env = malloc((n + 2) * sizeof(char *));
	if (!env)
		return NULL;
	size_t k = 0;
	if (started_pid > 0 && name) {
		snprintf(started, sizeof(started), "%s=%d:%s", name, (int)started_pid, started_lower);
		env[k++] = started;
	}
	for (size_t i = 0; i < n; i++) {
		if (strncmp(envp[i], STARTED_ENV "=", sizeof(STARTED_ENV)) &&
		    strncmp(envp[i], RELEASE_ENV "=", sizeof(RELEASE_ENV)))
			env[k++] = envp[i];
	}
	env[k] = NULL;
	return env;
}

// hand_over execs a Go side, prog, with argv as it is and, when the fast
// path started the lower runtime, the runtime named in STARTED_ENV. It
// returns only when exec fails.
static void hand_over(const char *prog, char **argv, char **envp)
{
	char **env = go_env(envp, STARTED_ENV);
	if (!env)
		return;
	char *argv0 = argv[0];
	argv[0] = (char *)prog;
	execve(prog, argv, env);
	argv[0] = argv0;
	free(env);
}

static void report(const char *msg);

// status is a wait status as the call's exit status: the runtime's code,
// or 128+n when signal n ended it, as a shell reports it (and as the Go
// side's wrapper.Started does).
static int status(int ws)
{
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

static void forward(int sig)
{
	if (started_pid > 0)
		kill(started_pid, sig);
}

// split runs the delete helper, prog, beside the started runtime, and
// returns the runtime's status to the engine itself (exit) once the
// runtime has exited and the helper has settled what the engine reads
// after delete (closed SETTLED_FD, or died). The helper gets a pidfd of
// the runtime, taken while it is this process's unreaped child, so it can
// only name that process, and finishes the release after this process has
// exited. A signal that stops a call is forwarded to the runtime, as the
// Go side does. It returns only when the helper could not be started, and
// the call then goes to a Go side as a started one.
static void split(const char *prog, char **argv, char **envp)
{
	int pidfd = (int)syscall(SYS_pidfd_open, started_pid, 0);
	if (pidfd < 0)
		return;
	int settled[2];
	if (pipe2(settled, O_CLOEXEC) < 0) {
		close(pidfd);
		return;
	}
	char **env = go_env(envp, RELEASE_ENV);
	pid_t helper = env ? fork() : -1;
	if (helper == 0) {
		// Above the two numbers first, so that dup2 makes fresh
		// descriptors without close-on-exec.
		int p = fcntl(pidfd, F_DUPFD_CLOEXEC, 10), w = fcntl(settled[1], F_DUPFD_CLOEXEC, 10);
		if (p < 0 || w < 0 || dup2(p, RELEASE_PIDFD) < 0 || dup2(w, SETTLED_FD) < 0)
			_exit(127);
		// The helper gives way to runc's delete, which the engine waits
		// for, and to the engine's own work after it: on two cores
		// this took 1.5 ms off `docker stop` (docs/userns.md).
		errno = 0;
		if (nice(HELPER_NICE) < 0 && errno)
			_exit(127);
		argv[0] = (char *)prog;
		execve(prog, argv, env);
		static char msg[4096 + 256];
		snprintf(msg, sizeof(msg), "hardened-runc: cannot run %s: %s: what the container holds is released by its next delete or create, or `hardenctl gc`", prog, strerror(errno));
		report(msg);
		_exit(127);
	}
	free(env);
	close(pidfd);
	close(settled[1]);
	if (helper < 0) {
		close(settled[0]);
		return;
	}
	struct sigaction sa = {.sa_handler = forward};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	int ws;
	while (waitpid(started_pid, &ws, 0) < 0) {
		if (errno != EINTR)
			exit(1);
	}
	started_pid = 0; // reaped: its pid may be another process's now
	for (;;) {
		char c;
		ssize_t r = read(settled[0], &c, 1);
		if (r == 0 || (r < 0 && errno != EINTR))
			break;
	}
	exit(status(ws));
}

// fill_id writes the recorded path template [tpl, end) with its "{id}"
// (fastpath.IDPlaceholder) replaced by id into out; -1 when the template
// has none or the path does not fit.
static int fill_id(const char *tpl, const char *end, const char *id, char *out, size_t size)
{
	const char *mark = strstr(tpl, "{id}");
	if (!mark || mark + 4 > end)
		return -1;
	int n = snprintf(out, size, "%.*s%s%.*s", (int)(mark - tpl), tpl, id, (int)(end - mark - 4), mark + 4);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

static void on_alarm(int sig) { (void)sig; }

// wait_release waits for a release of container id still in flight: the
// lock of the template lock ("{id}" replaced), taken shared and let go
// (package inflight). No lock file, nothing in flight. A release stuck
// for RELEASE_PATIENCE seconds is not waited for any longer
// (inflight.Patience): the call then finds the container still holding
// what it held, and the Go side releases it again.
static void wait_release(const char *lock, const char *id)
{
	char path[4096];
	if (!id || fill_id(lock, lock + strlen(lock), id, path, sizeof(path)) < 0)
		return;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	if (flock(fd, LOCK_SH | LOCK_NB) < 0) {
		// No SA_RESTART: the alarm interrupts flock.
		struct sigaction sa = {.sa_handler = on_alarm}, old;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGALRM, &sa, &old);
		alarm(RELEASE_PATIENCE);
		if (flock(fd, LOCK_SH) < 0) {
			// interrupted: waited long enough
		}
		alarm(0);
		sigaction(SIGALRM, &old, NULL);
	}
	close(fd);
}

// asks_help reports a verb's --help among its arguments (any of the forms
// Go's flag package reads): runc prints its usage and touches nothing, and
// the Go side records nothing for it.
static int asks_help(int argc, char **argv, int v)
{
	for (int i = v + 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-')
			continue;
		a += a[1] == '-' ? 2 : 1;
		if (!strncmp(a, "help", 4) && (a[4] == '\0' || a[4] == '='))
			return 1;
		if (a[0] == 'h' && (a[1] == '\0' || a[1] == '='))
			return 1;
	}
	return 0;
}

// delete_target returns the container ID of `delete [-f|--force] ID`, or
// NULL for any other command line, or an ID runc would refuse.
static const char *delete_target(int argc, char **argv, int v)
{
	const char *id = NULL;
	for (int i = v + 1; i < argc; i++) {
		const char *a = argv[i];
		if (!id && (!strcmp(a, "-f") || !strcmp(a, "--force")))
			continue;
		if (id || a[0] == '-')
			return NULL;
		id = a;
	}
	if (!id || !strcmp(id, ".") || !strcmp(id, "..") || strlen(id) > 1024)
		return NULL;
	for (const char *p = id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '_' || *p == '+' || *p == '-' || *p == '.'))
			return NULL;
	return id;
}

// absent reports whether path does not exist (and nothing else went wrong).
static int absent(const char *path)
{
	struct stat st;
	return lstat(path, &st) < 0 && errno == ENOENT;
}

// holds_nothing reports whether a delete of id has nothing for the Go side
// to release: none of the held paths ("{id}" replaced, ':'-separated; none
// recorded: unknown) exists. Whether runc still has the container does not
// matter: the Go side would record and exec runc as well.
static int holds_nothing(const char *id, const char *held)
{
	char path[4096];
	if (!id || !*held)
		return 0;
	for (const char *p = held; *p;) {
		const char *end = strchrnul(p, ':');
		if (fill_id(p, end, id, path, sizeof(path)) < 0 || !absent(path))
			return 0;
		p = *end ? end + 1 : end;
	}
	return 1;
}

#define SPOOL_NAME "SPOOL"
#define SPOOL_HEADER "hardened-runc spool 1"
#define SPOOL_MAX 65536
#define MAX_ANCESTORS 8

// line is one spool line being built; a line that would not fit is not
// written at all (the Go side records the call instead).
struct line {
	char data[SPOOL_MAX];
	size_t len;
	int full;
};

static void put(struct line *l, const char *s, size_t n)
{
	if (l->full || n > sizeof(l->data) - l->len) {
		l->full = 1;
		return;
	}
	memcpy(l->data + l->len, s, n);
	l->len += n;
}

static void puts_(struct line *l, const char *s) { put(l, s, strlen(s)); }

// put_enc percent-encodes every byte outside [A-Za-z0-9._~/+@-].
static void put_enc(struct line *l, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    (c && strchr("._~/+@-", c))) {
			put(l, (const char *)&c, 1);
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};
			put(l, e, 3);
		}
	}
}

static void put_num(struct line *l, long long v)
{
	char b[32];
	int n = snprintf(b, sizeof(b), "%lld", v);
	put(l, b, (size_t)n);
}

// read_proc reads /proc/<pid>/<name> into buf (NUL-terminated); -1 when
// it cannot be read.
static ssize_t read_proc(pid_t pid, const char *name, char *buf, size_t size)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t n = 0;
	for (;;) {
		ssize_t r = read(fd, buf + n, size - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		if (n == size - 1)
			break;
	}
	close(fd);
	buf[n] = '\0';
	return (ssize_t)n;
}

// put_exe appends the encoded target of /proc/<pid>/exe ("" if unreadable).
static void put_exe(struct line *l, pid_t pid)
{
	char path[64], exe[4096];
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(path, exe, sizeof(exe));
	if (n > 0 && (size_t)n < sizeof(exe))
		put_enc(l, exe, (size_t)n);
}

// put_chain appends the caller and its ancestors, nearest first, as
// pid:comm:exe, as forensics.ReadCaller walks them.
static void put_chain(struct line *l, pid_t pid)
{
	static char text[4096];
	for (int i = 0; pid > 1 && i < MAX_ANCESTORS; i++) {
		if (read_proc(pid, "stat", text, sizeof(text)) <= 0)
			break;
		// comm may hold spaces and parentheses: it runs from the first
		// '(' to the last ')'.
		char *lp = strchr(text, '('), *rp = strrchr(text, ')');
		if (!lp || !rp || rp < lp)
			break;
		int ppid;
		char state;
		if (sscanf(rp + 1, " %c %d", &state, &ppid) != 2)
			break;
		put_num(l, pid);
		puts_(l, ":");
		put_enc(l, lp + 1, (size_t)(rp - lp - 1));
		puts_(l, ":");
		put_exe(l, pid);
		puts_(l, ",");
		pid = ppid;
	}
}

// spool appends the call's facts to <forensics>/SPOOL and syncs them: 0
// when they are on stable storage, -1 (nothing is certain; the Go side
// records the call) otherwise.
static int spool(const char *forensics, const char *lower, int argc, char **argv)
{
	static struct line l;
	static char buf[32768];
	unsigned char id[16];
	struct timespec now;
	if (getrandom(id, sizeof(id), GRND_NONBLOCK) != (ssize_t)sizeof(id) ||
	    clock_gettime(CLOCK_REALTIME, &now) < 0)
		return -1;

	l.len = 0;
	l.full = 0;
	puts_(&l, SPOOL_HEADER " id=");
	for (size_t i = 0; i < sizeof(id); i++) {
		char h[3];
		snprintf(h, sizeof(h), "%02x", id[i]);
		put(&l, h, 2);
	}
	char t[48];
	snprintf(t, sizeof(t), " time=%lld.%09ld", (long long)now.tv_sec, now.tv_nsec);
	puts_(&l, t);
	puts_(&l, " lower=");
	put_enc(&l, lower, strlen(lower));
	puts_(&l, " argv=");
	for (int i = 1; i < argc; i++) {
		put_enc(&l, argv[i], strlen(argv[i]));
		puts_(&l, ",");
	}
	pid_t caller = getppid();
	puts_(&l, " caller=");
	put_num(&l, caller);
	puts_(&l, " caller-exe=");
	put_exe(&l, caller);
	puts_(&l, " caller-cmdline=");
	ssize_t n = read_proc(caller, "cmdline", buf, sizeof(buf));
	if (n == (ssize_t)sizeof(buf) - 1)
		return -1; // longer than the Go side would record here
	for (ssize_t i = 0; i < n;) {
		size_t len = strlen(buf + i);
		put_enc(&l, buf + i, len);
		puts_(&l, ",");
		i += (ssize_t)len + 1;
	}
	puts_(&l, " chain=");
	put_chain(&l, caller);
	puts_(&l, "\n");
	if (l.full)
		return -1;

	char path[4096];
	n = snprintf(path, sizeof(path), "%s/" SPOOL_NAME, forensics);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -1;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	struct stat st;
	int ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() && !(st.st_mode & 077);
	while (ok && flock(fd, LOCK_SH) < 0)
		ok = errno == EINTR;
	// One write(2): appends of other writers never interleave with it.
	ok = ok && write(fd, l.data, l.len) == (ssize_t)l.len && fdatasync(fd) == 0;
	close(fd);
	return ok ? 0 : -1;
}

// fastpath handles the call if a record says how (package fastpath), and
// returns when it did not exec: the call is the Go side's, and the lower
// runtime may have been started for it (started_pid). v is the verb's
// index (find_verb), dir this binary's directory and go its Go side there.
static void fastpath(int argc, char **argv, char **envp, int v, const char *dir, const char *go)
{
	static char record[RECORD_MAX];
	static char found[4096];

	if (v < 0)
		return;
	int fast = listed(fast_verbs, argv[v]);
	int spooled = listed(spooled_verbs, argv[v]);
	int overlap = listed(overlap_verbs, argv[v]);
	if (!fast && !spooled && !overlap)
		return;

	const char *off = getenv("HARDENED_RUNC_NO_FASTPATH");
	if (off && *off)
		return;
	const char *config = getenv("HARDENED_RUNC_CONFIG");
	if (!config || !*config)
		config = DEFAULT_CONFIG;
	if (config[0] != '/')
		return;
	const char *path = getenv("PATH");
	if (!path)
		path = "";

	char key[17];
	snprintf(key, sizeof(key), "%016llx",
		 fnv1a(fnv1a(fnv1a(14695981039346656037ULL, config), "\n"), path));
	if (read_record(key, record, sizeof(record)) < 0)
		return;

	char *c = record;
	char *header = field(&c, HEADER);
	char *rconfig = field(&c, "config=");
	char *config_id = field(&c, "config-id=");
	char *rpath = field(&c, "path=");
	char *runtime = field(&c, "runtime=");
	char *self_id = field(&c, "self-id=");
	char *go_id = field(&c, "go-id=");
	char *lower = field(&c, "lower=");
	char *lower_id = field(&c, "lower-id=");
	char *forensics = field(&c, "forensics=");
	char *held = field(&c, "held=");
	char *helper_id = field(&c, "delete-helper-id=");
	char *release_lock = field(&c, "release-lock=");
	if (!header || *header || !rconfig || !config_id || !rpath || !runtime ||
	    !self_id || !go_id || !lower || !lower_id || !forensics || !held || !helper_id ||
	    !release_lock || *c)
		return;
	if (strcmp(rconfig, config) || strcmp(rpath, path))
		return;

	if (!strcmp(config_id, "absent")) {
		struct stat st;
		if (stat(config, &st) == 0 || errno != ENOENT)
			return;
	} else if (!same_identity(config, config_id)) {
		return;
	}
	// A new hardened-runc, or a new Go side, may decide differently: let
	// it record.
	static char helper[4096];
	if (snprintf(helper, sizeof(helper), "%s/" HELPER_NAME, dir) >= (int)sizeof(helper))
		return;
	if (!same_identity("/proc/self/exe", self_id) || !same_identity(go, go_id))
		return;
	if (!strchr(runtime, '/')) {
		if (look_path(runtime, path, found, sizeof(found)) < 0 || strcmp(found, lower))
			return;
	}
	if (lower[0] != '/' || !same_identity(lower, lower_id))
		return;

	if (overlap) {
		const char *id = delete_target(argc, argv, v);
		wait_release(release_lock, id);
		spooled = spooled && holds_nothing(id, held);
	}
	if (spooled && !asks_help(argc, argv, v) && forensics[0] == '/' &&
	    spool(forensics, lower, argc, argv) == 0) {
		char *argv0 = argv[0];
		argv[0] = lower;
		execve(lower, argv, envp);
		argv[0] = argv0;
		return; // recorded in the spool, and the Go side records it again
	}
	if (overlap) {
		start(lower, argv, envp);
		if (started_pid > 0 && *helper_id && same_identity(helper, helper_id)) {
			if (*release_lock)
				split(helper, argv, envp);
			hand_over(helper, argv, envp);
		}
		return;
	}
	if (spooled)
		return;
	char *argv0 = argv[0];
	argv[0] = lower;
	execve(lower, argv, envp);
	argv[0] = argv0;
}

// report says msg on stderr and, where the engine asked for one, in runc's
// --log file in its --log-format, which is where containerd and Docker
// read the error they show.
static void report(const char *msg)
{
	fprintf(stderr, "%s\n", msg);
	if (!log_path || !*log_path)
		return;
	int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	char when[64];
	time_t now = time(NULL);
	struct tm tm;
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
	static char line[8192];
	size_t n = 0;
	int json = log_format && !strcmp(log_format, "json");
	n += (size_t)snprintf(line, sizeof(line), json ? "{\"level\":\"error\",\"msg\":\"" : "time=\"%s\" level=error msg=\"", when);
	for (const char *p = msg; *p && n < sizeof(line) - 64; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '"' || c == '\\')
			n += (size_t)snprintf(line + n, sizeof(line) - n, "\\%c", c);
		else if (c < 0x20)
			n += (size_t)snprintf(line + n, sizeof(line) - n, json ? "\\u%04x" : "\\x%02x", c);
		else
			line[n++] = (char)c;
	}
	if (json)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "\",\"time\":\"%s\"}\n", when);
	else
		n += (size_t)snprintf(line + n, sizeof(line) - n, "\"\n");
	if (write(fd, line, n) < 0) {
		// stderr has it
	}
	close(fd);
}

// self_dir writes the directory of this binary into dir.
static int self_dir(char *dir, size_t size)
{
	ssize_t n = readlink("/proc/self/exe", dir, size);
	if (n <= 0 || (size_t)n >= size)
		return -1;
	dir[n] = '\0';
	char *slash = strrchr(dir, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	return 0;
}

int main(int argc, char **argv, char **envp)
{
	static char dir[4096], go[4096], msg[8192 + 256];
	int v = find_verb(argc, argv);
	if (self_dir(dir, sizeof(dir)) < 0 || snprintf(go, sizeof(go), "%s/" GO_NAME, dir) >= (int)sizeof(go)) {
		snprintf(msg, sizeof(msg), "hardened-runc: cannot tell its own directory from /proc/self/exe: %s", strerror(errno));
		report(msg);
		return 127;
	}
	fastpath(argc, argv, envp, v, dir, go);
	hand_over(go, argv, envp);
	snprintf(msg, sizeof(msg), "hardened-runc: cannot run %s (installed beside hardened-runc): %s: install hardened-runc-go and hardened-runc-delete beside hardened-runc (install.sh does)", go, strerror(errno));
	report(msg);
	if (started_pid > 0) {
		// The lower runtime is deleting the container: its status is
		// the call's. What the Go side would have released is left for
		// the next delete, create or `hardenctl gc`.
		int ws;
		while (waitpid(started_pid, &ws, 0) < 0) {
			if (errno != EINTR)
				return 127;
		}
		return status(ws);
	}
	return 127;
}
