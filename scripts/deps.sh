#!/usr/bin/env bash
# Installs what building and testing hardened-runc needs on a fresh
# Debian/Ubuntu host, skipping whatever is already there:
#   - Debian packages: runc (the 1.1.x lower runtime), busybox-static (test
#     images), libseccomp-dev, libc6-dev + pkg-config (cgo; the static
#     hardened-runc links libseccomp.a and libc.a), docker.io, containerd,
#     apparmor (apparmor_parser), containernetworking-plugins (CRI test)
#   - runc 1.5.x built from the Go module proxy with seccomp support (the
#     current lower runtime), into $RUNC15_DIR.
set -euo pipefail

RUNC15_VERSION=${RUNC15_VERSION:-v1.5.2}
RUNC15_DIR=${RUNC15_DIR:-/opt/hardened-runc-test/runc-1.5}

need_pkgs=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for p in runc busybox-static libseccomp-dev libc6-dev pkg-config docker.io containerd apparmor containernetworking-plugins iproute2 hyperfine; do
	have "$p" || need_pkgs+=("$p")
done
if ((${#need_pkgs[@]})); then
	echo "deps: installing ${need_pkgs[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${need_pkgs[@]}"
fi

if ! command -v go >/dev/null; then
	echo "deps: Go is required (install golang or put go in PATH)" >&2
	exit 1
fi

if [ -x "$RUNC15_DIR/runc" ] && "$RUNC15_DIR/runc" --version | grep -q "runc version ${RUNC15_VERSION#v}"; then
	:
else
	echo "deps: building runc ${RUNC15_VERSION} with seccomp into $RUNC15_DIR"
	mkdir -p "$RUNC15_DIR"
	GOBIN="$RUNC15_DIR" CGO_ENABLED=1 GOFLAGS=-mod=mod go install -tags seccomp "github.com/opencontainers/runc@${RUNC15_VERSION}"
fi
"$RUNC15_DIR/runc" --version | head -1
runc --version | head -1
