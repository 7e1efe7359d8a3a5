#!/usr/bin/env bash
# Installs what building and testing hardened-runc needs on a fresh
# Debian/Ubuntu host, skipping whatever is already there:
#   - Debian packages: runc (the 1.1.x lower runtime), busybox-static (test
#     images), libseccomp-dev, libc6-dev + pkg-config (cgo; the static
#     hardened-runc-go links libseccomp.a and libc.a), musl-tools (the
#     hardened-runc program is linked with musl), docker.io, containerd,
#     apparmor (apparmor_parser), containernetworking-plugins (CRI test)
#   - runc 1.5.x built from the Go module proxy with seccomp support (the
#     current lower runtime), into $RUNC15_DIR.
#   - crun (a third lower runtime), podman (the Podman tests), and for
#     `make cri`: docker-registry (serves critest's images on 127.0.0.1),
#     skopeo (pushes them), jq.
#   - containerd 2.x (containerd, its runc shim and ctr) built from the Go
#     module proxy into $CONTAINERD2_DIR, and cri-tools' critest (`go test
#     -c`) into $CRITEST_DIR.
set -euo pipefail

RUNC15_VERSION=${RUNC15_VERSION:-v1.5.2}
RUNC15_DIR=${RUNC15_DIR:-/opt/hardened-runc-test/runc-1.5}
CONTAINERD2_VERSION=${CONTAINERD2_VERSION:-v2.4.2}
CONTAINERD2_DIR=${CONTAINERD2_DIR:-/opt/hardened-runc-test/containerd-2}
CRITEST_VERSION=${CRITEST_VERSION:-v1.37.0}
CRITEST_DIR=${CRITEST_DIR:-/opt/hardened-runc-test/critest}

need_pkgs=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for p in runc busybox-static libseccomp-dev libc6-dev pkg-config musl-tools docker.io containerd apparmor containernetworking-plugins iproute2 hyperfine \
	crun podman docker-registry skopeo jq; do
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
# containerd 2.x: the daemon, its runc shim (found in PATH by the daemon,
# so tests put this directory first) and ctr. no_btrfs: no btrfs headers.
if [ -x "$CONTAINERD2_DIR/containerd" ] && "$CONTAINERD2_DIR/containerd" --version | grep -q " ${CONTAINERD2_VERSION#v}"; then
	:
else
	echo "deps: building containerd ${CONTAINERD2_VERSION} into $CONTAINERD2_DIR"
	mkdir -p "$CONTAINERD2_DIR"
	for cmd in containerd containerd-shim-runc-v2 ctr; do
		GOBIN="$CONTAINERD2_DIR" GOFLAGS=-mod=mod go install -tags no_btrfs "github.com/containerd/containerd/v2/cmd/$cmd@${CONTAINERD2_VERSION}"
	done
fi

# critest is a Go test binary: built with `go test -c` in a scratch module
# that requires cri-tools.
if [ -x "$CRITEST_DIR/critest" ] && [ -f "$CRITEST_DIR/VERSION" ] && [ "$(cat "$CRITEST_DIR/VERSION")" = "$CRITEST_VERSION" ]; then
	:
else
	echo "deps: building critest ${CRITEST_VERSION} into $CRITEST_DIR"
	mkdir -p "$CRITEST_DIR"
	tmp=$(mktemp -d)
	(
		cd "$tmp"
		printf 'module critestbuild\n\ngo 1.24\n' >go.mod
		GOFLAGS=-mod=mod go get "sigs.k8s.io/cri-tools@${CRITEST_VERSION}"
		GOFLAGS=-mod=mod go test -c -o "$CRITEST_DIR/critest" sigs.k8s.io/cri-tools/cmd/critest
	)
	rm -rf "$tmp"
	echo "$CRITEST_VERSION" >"$CRITEST_DIR/VERSION"
fi

"$RUNC15_DIR/runc" --version | sed -n 1p
runc --version | sed -n 1p
crun --version | sed -n 1p
"$CONTAINERD2_DIR/containerd" --version
