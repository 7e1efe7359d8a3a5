#!/usr/bin/env bash
# `sudo make demo`: one real container through hardened-runc and real runc,
# next to the same container under plain runc, and what was hardened.
# Everything lives in a temporary directory; nothing in /etc is touched.
set -euo pipefail

[ "$(id -u)" = 0 ] || { echo "demo: run as root (sudo make demo): it starts real containers" >&2; exit 1; }
cd "$(dirname "$0")/.."
BIN=$PWD/bin
RUNC=${RUNC:-$(command -v runc)}
work=$(mktemp -d /var/tmp/hardened-runc-demo.XXXXXX)
chmod 0711 "$work"
cleanup() {
	"$RUNC" --root "$work/state" delete --force demo-plain >/dev/null 2>&1 || true
	HARDENED_RUNC_CONFIG=$work/config.toml "$BIN/hardened-runc" --root "$work/state" delete --force demo-hardened >/dev/null 2>&1 || true
	umount -R -l "$work" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# A busybox-static root filesystem: no registry needed.
mk_bundle() {
	local b=$1
	mkdir -p "$b/rootfs"/{bin,etc,tmp,proc,sys,dev,root}
	cp "$(command -v busybox)" "$b/rootfs/bin/busybox"
	for a in sh cat grep id touch echo head; do ln -s busybox "$b/rootfs/bin/$a"; done
	echo 'root:x:0:0:root:/root:/bin/sh' >"$b/rootfs/etc/passwd"
	echo 'root:x:0:' >"$b/rootfs/etc/group"
	chmod 1777 "$b/rootfs/tmp"
	(cd "$b" && "$RUNC" spec)
	# The workload: report what it can see and try a few things.
	python3 - "$b/config.json" <<'PY'
import json, sys
p = sys.argv[1]
s = json.load(open(p))
s["process"]["terminal"] = False
s["process"]["args"] = ["sh", "-c",
  "echo \"  uid_map:      $(head -1 /proc/self/uid_map)\"; "
  "grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status | sed 's/^/  /'; "
  "touch /rootfs-write 2>/dev/null && echo '  write to /:   allowed' || echo '  write to /:   denied'; "
  "touch /tmp/ok 2>/dev/null && echo '  write /tmp:   allowed' || echo '  write /tmp:   denied'; "
  "cat /proc/kcore >/dev/null 2>&1 && echo '  /proc/kcore:  readable' || echo '  /proc/kcore:  masked'; "
  "echo \"  pids.max:     $(cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max 2>/dev/null)\""]
json.dump(s, open(p, "w"), indent=2)
PY
}

cat >"$work/config.toml" <<TOML
runtime = "$RUNC"
forensics_dir = "$work/forensics"
run_dir = "$work/run"
TOML
export HARDENED_RUNC_CONFIG=$work/config.toml
mkdir -p "$work/state"

echo "== hardened-runc demo: $("$BIN/hardened-runc" --version | sed -n 1p), lower runtime $("$RUNC" --version | sed -n 1p)"
mk_bundle "$work/plain"
mk_bundle "$work/hardened"

echo
echo "== 1. plain runc (runc spec defaults):"
"$RUNC" --root "$work/state" run --bundle "$work/plain" demo-plain

echo
echo "== 2. the same container through hardened-runc (built-in 'default' profile):"
"$BIN/hardened-runc" --root "$work/state" run --bundle "$work/hardened" demo-hardened

echo
echo "== 3. what hardened-runc changed, and why (hardenctl explain on a fresh copy):"
mk_bundle "$work/explain"
"$BIN/hardenctl" explain --bundle "$work/explain"

echo
echo "== 4. the forensic record of that launch (hardenctl forensics list):"
"$BIN/hardenctl" forensics list --dir "$work/forensics" 2>&1 || true
"$BIN/hardenctl" forensics verify --dir "$work/forensics" 2>&1 || true
