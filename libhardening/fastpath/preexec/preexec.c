// The pass-through fast path, run before the Go runtime starts. The record
// format and the reasons are in ../fastpath.go; this file must stay in step
// with it (TestFastPath in cmd/hardened-runc checks both halves together).
//
// Every check here fails towards the Go side: when anything is not exactly
// as recorded, the constructor returns and hardened-runc runs as if it did
// not exist. It never writes, never prints and never exits.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

// glibc passes argc, argv and envp to constructors; other C libraries do
// not, and there the Go side handles every call.
#ifdef __GLIBC__

#define RECORD_DIR "/run/hardened-runc/fastpath/"
#define RECORD_MAX 8192
#define DEFAULT_CONFIG "/etc/hardened-runc/config.toml"
#define HEADER "hardened-runc fastpath 1"

// The verb table's Fast verbs (fastpath.Verbs); TestPreexecTables in
// package fastpath checks this copy, the flags below and the defines above.
static const char *const fast_verbs[] = {
	"state", "list", "ps", "events", "pause", "resume", "features", NULL,
};

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

// find_verb returns argv's index of runc's verb, read with Go's flag
// grammar as runc reads it (global flags until the first non-flag argument
// or "--"), or -1 when it is not certain.
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
		case FLAG_VALUE:
			i += eq ? 1 : 2;
			break;
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

__attribute__((constructor)) static void hardened_runc_fastpath(int argc, char **argv, char **envp)
{
	static char record[RECORD_MAX];
	static char found[4096];

	int v = find_verb(argc, argv);
	if (v < 0)
		return;
	int fast = 0;
	for (int i = 0; fast_verbs[i]; i++)
		fast |= !strcmp(argv[v], fast_verbs[i]);
	if (!fast)
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
	char *lower = field(&c, "lower=");
	char *lower_id = field(&c, "lower-id=");
	if (!header || *header || !rconfig || !config_id || !rpath || !runtime ||
	    !self_id || !lower || !lower_id || *c)
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
	// A new hardened-runc binary may decide differently: let it record.
	if (!same_identity("/proc/self/exe", self_id))
		return;
	if (!strchr(runtime, '/')) {
		if (look_path(runtime, path, found, sizeof(found)) < 0 || strcmp(found, lower))
			return;
	}
	if (lower[0] != '/' || !same_identity(lower, lower_id))
		return;

	char *argv0 = argv[0];
	argv[0] = lower;
	execve(lower, argv, envp);
	argv[0] = argv0;
}

#endif
