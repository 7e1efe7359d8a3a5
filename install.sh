#!/usr/bin/env bash
# install.sh — install hardened-runc on a Debian/Ubuntu host (run as root).
#
#   sudo ./install.sh [--configure docker|containerd|crio|podman|all] [--set-default]
#   sudo ./install.sh --uninstall [--purge]
#
# Idempotent: running it again changes nothing that is already in place.
# Edited profiles are never overwritten (new defaults land beside them as
# <name>.toml.dist). Ends by printing `hardenctl doctor`.
#
# Paths can be redirected for packaging and tests (nothing else is touched):
#   PREFIX (or --prefix)  /usr/local     binaries go to $PREFIX/bin
#   SYSCONFDIR            /etc           hardened-runc, docker, containerd... configs
#   LOCALSTATEDIR         /var/lib       forensics records
set -euo pipefail

PREFIX="${PREFIX:-/usr/local}"
SYSCONFDIR="${SYSCONFDIR:-/etc}"
LOCALSTATEDIR="${LOCALSTATEDIR:-/var/lib}"
SRC_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# SRC_BIN holds the built hardened-runc and hardenctl (make build's bin/).
SRC_BIN="${SRC_BIN:-$SRC_DIR/bin}"
SRC_PROFILES="${SRC_PROFILES:-$SRC_DIR/profiles}"

SUBID_OWNER="hardened-runc"
SUBID_ALIGN=65536
SUBID_SIZE=$((65536 * 4096))
SUBID_MIN=$((65536 * 16)) # stay clear of login users' own ranges
SUBID_MAX=4294967295

configure=""
set_default=0
uninstall=0
purge=0
deps=1
build=1
dry_run=0
restart=1
run_doctor=1

usage() {
	sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
	cat <<'EOF'
Options:
  --configure ENGINES  docker, containerd, crio, podman, all (engines found on this host), comma-separated
  --set-default        make hardened-runc the configured engines' default runtime
  --uninstall          remove binaries and engine configuration (keeps /etc/hardened-runc and forensics)
  --purge              with --uninstall: also remove /etc/hardened-runc, forensics records and subordinate IDs
  --prefix DIR         install binaries into DIR/bin (default /usr/local)
  --no-deps            do not apt-get install anything
  --no-build           use the binaries already in ./bin
  --no-restart         do not restart engines after configuring them
  --no-doctor          do not run `hardenctl doctor` at the end
  --dry-run            print what would be done, change nothing
EOF
}

die() { echo "install.sh: $*" >&2; exit 1; }
log() { echo "==> $*"; }

# run prints and executes a command, or only prints it with --dry-run.
run() {
	if ((dry_run)); then
		printf '+ %s\n' "$*"
		return 0
	fi
	"$@"
}

while (($#)); do
	case "$1" in
	--configure) configure="${2:?--configure needs an engine}"; shift ;;
	--configure=*) configure="${1#*=}" ;;
	--set-default) set_default=1 ;;
	--uninstall) uninstall=1 ;;
	--purge) purge=1 ;;
	--prefix) PREFIX="${2:?--prefix needs a directory}"; shift ;;
	--prefix=*) PREFIX="${1#*=}" ;;
	--no-deps) deps=0 ;;
	--no-build) build=0 ;;
	--no-restart) restart=0 ;;
	--no-doctor) run_doctor=0 ;;
	--dry-run) dry_run=1 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown option $1" ;;
	esac
	shift
done

BIN_DIR="$PREFIX/bin"
ETC_DIR="$SYSCONFDIR/hardened-runc"
PROFILES_DIR="$ETC_DIR/profiles"
MANIFEST="$PROFILES_DIR/.installed.sha256"
FORENSICS_DIR="$LOCALSTATEDIR/hardened-runc/forensics"
HARDENCTL="$BIN_DIR/hardenctl"

((dry_run)) || [[ $(id -u) -eq 0 ]] || die "run as root (or use --dry-run)"
((purge)) && ((!uninstall)) && die "--purge goes with --uninstall"

engine_config() {
	case "$1" in
	docker) echo "$SYSCONFDIR/docker/daemon.json" ;;
	containerd) echo "$SYSCONFDIR/containerd/config.toml" ;;
	crio) echo "$SYSCONFDIR/crio/crio.conf" ;;
	podman) echo "$SYSCONFDIR/containers/containers.conf" ;;
	*) die "unknown engine $1 (use docker, containerd, crio, podman or all)" ;;
	esac
}

engine_present() {
	case "$1" in
	docker) command -v dockerd >/dev/null ;;
	containerd) command -v containerd >/dev/null ;;
	crio) command -v crio >/dev/null ;;
	podman) command -v podman >/dev/null ;;
	esac
}

# engines_from expands --configure into a list of engine names.
engines_from() {
	local e
	if [[ $1 == all ]]; then
		for e in docker containerd crio podman; do
			engine_present "$e" && echo "$e"
		done
		return 0
	fi
	tr ',' '\n' <<<"$1" | while read -r e; do
		[[ -n $e ]] || continue
		engine_config "$e" >/dev/null
		echo "$e"
	done
}

install_deps() {
	local pkgs=(libseccomp-dev libc6-dev pkg-config musl-tools make gcc runc)
	command -v go >/dev/null || pkgs+=(golang-go)
	log "installing build and runtime dependencies: ${pkgs[*]}"
	run apt-get update -qq
	run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}"
	# AppArmor tooling and a static busybox (for `make demo`) are optional.
	run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq apparmor busybox-static ||
		echo "install.sh: optional packages apparmor, busybox-static not installed" >&2
}

# check_go fails early when the Go toolchain cannot build go.mod's version:
# Go >= 1.21 fetches the toolchain go.mod names (GOTOOLCHAIN=auto, from the
# Go module proxy); older ones (Debian 12's golang-go is 1.19) cannot.
check_go() {
	local v minor
	command -v go >/dev/null || die "go not found: install Go >= 1.21 (or drop --no-deps)"
	v="$(go env GOVERSION 2>/dev/null || true)"
	minor="$(sed -n 's/^go1\.\([0-9]*\).*/\1/p' <<<"$v")"
	if [[ -z $minor ]] || ((minor < 21)); then
		die "Go ${v:-unknown} cannot build this module ($(sed -n 's/^go //p' "$SRC_DIR/go.mod")): install Go >= 1.21 (on Debian 12 a golang-1.2x-go package from bookworm-backports, with /usr/lib/go-1.2x/bin first in PATH)"
	fi
}

build_binaries() {
	((dry_run)) || check_go
	log "building (make build)"
	run make -C "$SRC_DIR" build
}

install_binaries() {
	local b
	# hardened-runc-go and hardened-runc-delete go beside hardened-runc,
	# which runs them from there (README, "What is installed").
	for b in hardened-runc hardened-runc-go hardened-runc-delete hardenctl; do
		[[ -x $SRC_BIN/$b ]] || ((dry_run)) || die "$SRC_BIN/$b missing: run make build (or drop --no-build)"
		if [[ -f $BIN_DIR/$b ]] && cmp -s "$SRC_BIN/$b" "$BIN_DIR/$b"; then
			continue
		fi
		log "installing $BIN_DIR/$b"
		run install -D -m 0755 "$SRC_BIN/$b" "$BIN_DIR/$b"
	done
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

# recorded_sha prints the hash the manifest holds for a profile file.
recorded_sha() {
	[[ -f $MANIFEST ]] || return 0
	awk -v f="$1" '$2 == f { print $1 }' "$MANIFEST"
}

record_sha() {
	((dry_run)) && return 0
	local tmp
	tmp="$(mktemp "$MANIFEST.XXXXXX")"
	{ [[ -f $MANIFEST ]] && awk -v f="$2" '$2 != f' "$MANIFEST"; echo "$1 $2"; } >"$tmp"
	mv "$tmp" "$MANIFEST"
}

# install_profile installs one shipped file without losing an admin's edit:
# a file still equal to what we installed last time is updated; an edited
# one is kept and the new default goes beside it as <file>.dist.
install_profile() {
	local src="$1" rel="$2" dst="$PROFILES_DIR/$2" new old
	new="$(sha "$src")"
	if [[ ! -e $dst ]]; then
		log "installing profile $rel"
		run install -D -m 0644 "$src" "$dst"
		record_sha "$new" "$rel"
		return 0
	fi
	old="$(sha "$dst")"
	if [[ $old == "$new" ]]; then
		record_sha "$new" "$rel"
		[[ -e $dst.dist ]] && run rm -f "$dst.dist"
		return 0
	fi
	if [[ $old == "$(recorded_sha "$rel")" ]]; then
		log "updating profile $rel (unchanged since the last install)"
		run install -m 0644 "$src" "$dst"
		record_sha "$new" "$rel"
		return 0
	fi
	if [[ -e $dst.dist ]] && [[ $(sha "$dst.dist") == "$new" ]]; then
		return 0
	fi
	log "keeping edited $dst; the new default is $dst.dist (diff them)"
	run install -m 0644 "$src" "$dst.dist"
}

install_profiles() {
	local f rel
	run install -d -m 0755 "$ETC_DIR" "$PROFILES_DIR"
	while IFS= read -r -d '' f; do
		rel="${f#"$SRC_PROFILES/"}"
		install_profile "$f" "$rel"
	done < <(find "$SRC_PROFILES" -type f \( -name '*.toml' -o -name '*.json' -o -name '*.tmpl' \) -print0 | sort -z)
}

write_config() {
	local cfg="$ETC_DIR/config.toml" lower
	[[ -e $cfg ]] && return 0
	lower="$(command -v runc || echo /usr/sbin/runc)"
	log "writing $cfg (lower runtime $lower)"
	((dry_run)) && return 0
	cat >"$cfg" <<EOF
# hardened-runc host configuration. Reference: docs/policy.md.
# The lower runtime hardened-runc execs after hardening the spec.
runtime = "$lower"
profiles_dir = "$PROFILES_DIR"
forensics_dir = "$FORENSICS_DIR"
default_profile = "default"

# Selection rules pick a profile per container; the first match wins.
# Kubernetes pods can be matched on the annotations containerd passes:
# [[select]]
# profile = "restricted"
# annotations = { "io.kubernetes.cri.sandbox-namespace" = "prod-*" }
EOF
	chmod 0644 "$cfg"
}

make_forensics_dir() {
	[[ -d $FORENSICS_DIR ]] || log "creating $FORENSICS_DIR (0700)"
	run install -d -m 0700 "$FORENSICS_DIR"
}

# taken_ranges prints "start end" (end exclusive) for every subordinate range
# and every passwd UID/GID, so the new range overlaps none of them.
taken_ranges() {
	local f
	for f in "$SYSCONFDIR/subuid" "$SYSCONFDIR/subgid"; do
		[[ -f $f ]] || continue
		awk -F: 'NF == 3 && $2 ~ /^[0-9]+$/ && $3 ~ /^[0-9]+$/ { print $2, $2 + $3 }' "$f"
	done
	for f in "$SYSCONFDIR/passwd" "$SYSCONFDIR/group"; do
		[[ -f $f ]] || continue
		awk -F: '$3 ~ /^[0-9]+$/ { print $3, $3 + 1 }' "$f"
	done
}

# free_subid_start prints the first SUBID_ALIGN-aligned start at or above
# SUBID_MIN whose SUBID_SIZE IDs overlap nothing taken.
free_subid_start() {
	local start=$SUBID_MIN moved s e
	local -a ranges
	mapfile -t ranges < <(taken_ranges | sort -n)
	while :; do
		moved=0
		for r in "${ranges[@]}"; do
			read -r s e <<<"$r"
			if ((s < start + SUBID_SIZE && start < e)); then
				start=$(((e + SUBID_ALIGN - 1) / SUBID_ALIGN * SUBID_ALIGN))
				moved=1
			fi
		done
		((moved)) || break
	done
	((start + SUBID_SIZE <= SUBID_MAX)) || die "no free $SUBID_SIZE-ID range left in $SYSCONFDIR/subuid/subgid"
	echo "$start"
}

ensure_subids() {
	local f have start=""
	for f in "$SYSCONFDIR/subuid" "$SYSCONFDIR/subgid"; do
		have=0
		[[ -f $f ]] && grep -q "^$SUBID_OWNER:" "$f" && have=1
		((have)) && continue
		[[ -n $start ]] || start="$(free_subid_start)"
		log "adding $SUBID_OWNER:$start:$SUBID_SIZE to $f"
		if ((!dry_run)); then
			[[ -f $f ]] || install -m 0644 /dev/null "$f"
			echo "$SUBID_OWNER:$start:$SUBID_SIZE" >>"$f"
		fi
	done
}

remove_subids() {
	local f
	for f in "$SYSCONFDIR/subuid" "$SYSCONFDIR/subgid"; do
		[[ -f $f ]] && grep -q "^$SUBID_OWNER:" "$f" || continue
		log "removing $SUBID_OWNER from $f"
		run sed -i "/^$SUBID_OWNER:/d" "$f"
	done
}

restart_engine() {
	local e="$1" unit="$1"
	((restart)) && ((!dry_run)) || return 0
	[[ $e == podman ]] && return 0
	command -v systemctl >/dev/null || { echo "install.sh: restart $e yourself for the change to take effect" >&2; return 0; }
	systemctl is-active --quiet "$unit" || return 0
	log "restarting $unit"
	systemctl restart "$unit"
}

# hardenctl_engine runs `hardenctl runtime configure|unconfigure` for one engine.
hardenctl_engine() {
	local verb="$1" e="$2" out
	local -a args=(runtime "$verb" --runtime "$e" --config "$(engine_config "$e")" --runtime-path "$BIN_DIR/hardened-runc")
	((set_default)) && args+=(--set-as-default)
	if [[ $e == crio ]]; then
		args+=(--drop-in "$SYSCONFDIR/crio/crio.conf.d/99-hardened-runc.conf")
	fi
	if ((dry_run)); then
		[[ -x $HARDENCTL ]] && { "$HARDENCTL" "${args[@]}" --dry-run; return 0; }
		printf '+ %s\n' "$HARDENCTL ${args[*]}"
		return 0
	fi
	out="$("$HARDENCTL" "${args[@]}")"
	echo "$out"
	grep -q "nothing to do" <<<"$out" || restart_engine "$e"
}

do_install() {
	((deps)) && install_deps
	((build)) && build_binaries
	install_binaries
	install_profiles
	write_config
	make_forensics_dir
	ensure_subids
	local e
	if [[ -n $configure ]]; then
		for e in $(engines_from "$configure"); do
			hardenctl_engine configure "$e"
		done
	fi
}

do_uninstall() {
	local e
	if [[ -x $HARDENCTL ]]; then
		for e in docker containerd crio podman; do
			[[ -e $(engine_config "$e") ]] || [[ $e == crio ]] || continue
			hardenctl_engine unconfigure "$e"
		done
	fi
	for e in hardened-runc hardened-runc-go hardened-runc-delete hardenctl; do
		[[ -e $BIN_DIR/$e ]] && { log "removing $BIN_DIR/$e"; run rm -f "$BIN_DIR/$e"; }
	done
	if ((purge)); then
		log "purging $ETC_DIR and $LOCALSTATEDIR/hardened-runc"
		run rm -rf "$ETC_DIR" "$LOCALSTATEDIR/hardened-runc"
		remove_subids
	else
		echo "kept $ETC_DIR (profiles, config) and $FORENSICS_DIR; --purge removes them"
	fi
}

if [[ -n $configure && $configure != all ]]; then
	for e in ${configure//,/ }; do engine_config "$e" >/dev/null; done
fi
if ((uninstall)); then
	do_uninstall
	exit 0
fi
do_install
if ((run_doctor)) && ((!dry_run)); then
	log "hardenctl doctor"
	HARDENED_RUNC_CONFIG="$ETC_DIR/config.toml" "$HARDENCTL" doctor ||
		echo "install.sh: hardenctl doctor reports requirements this host does not meet (see above)" >&2
fi
