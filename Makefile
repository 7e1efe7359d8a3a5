# hardened-runc — build, test, demo, benchmarks and the escape suite.
# Targets that start containers need root: `sudo make demo`, `sudo make test`.

# sudo's secure_path drops /usr/local/go/bin (where the Go tarball installs),
# so `sudo make test` would not find go or give it to the scripts.
export PATH := $(PATH):/usr/local/go/bin
GO       ?= go
PREFIX   ?= /usr/local
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X github.com/hardened-runc/hardened-runc/libhardening/version.Version=$(VERSION)
RUNC15   ?= /opt/hardened-runc-test/runc-1.5/runc
RUNC11   ?= $(shell command -v runc 2>/dev/null || echo /usr/sbin/runc)
# crun is the third lower runtime of the integration tests where installed
# (they print why not otherwise); HR_NO_CRUN=1 leaves it out.
CRUN     ?= $(shell command -v crun 2>/dev/null || echo /usr/bin/crun)
export CGO_ENABLED = 1
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c

.PHONY: all build deps test unit integration cri fuzz demo bench attack compat install clean

all: build

# hardened-runc, what engines run, is a small C program (cmd/hardened-runc)
# that decides the calls that need no policy and execs the Go side,
# hardened-runc-go, for every other. It is linked statically with musl
# where musl-gcc is installed (make deps): its start-up costs 0.03 ms of CPU
# here, a static glibc program's 0.3 ms (cpuid, which traps in this VM).
#
# hardened-runc-go is linked statically, as runc's releases are: without the
# dynamic loader it started 0.9 ms sooner (hyperfine, this VM), and an
# upgrade of libseccomp cannot break it. netgo and osusergo keep out
# glibc's NSS, which does not link statically.
#
# hardened-runc-delete is the same delete code without cgo (it links no
# libseccomp): a pure Go program starts sooner, beside runc's delete in
# every `docker stop` (cmd/hardened-runc-delete).
FRONT_CC ?= $(shell command -v musl-gcc 2>/dev/null || echo cc)
build:
	@mkdir -p bin
	$(FRONT_CC) -O2 -static -Wall -Wextra -Werror -o bin/hardened-runc cmd/hardened-runc/main.c
	$(GO) build -trimpath -tags 'netgo osusergo' -ldflags '$(LDFLAGS) -linkmode external -extldflags "-static"' \
		-o bin/hardened-runc-go ./cmd/hardened-runc-go
	CGO_ENABLED=0 $(GO) build -trimpath -tags 'netgo osusergo' -ldflags '$(LDFLAGS)' \
		-o bin/hardened-runc-delete ./cmd/hardened-runc-delete
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/hardenctl ./cmd/hardenctl

# deps installs what the tests need on a fresh Debian host (apt packages and
# runc 1.5.x from the Go module proxy); it skips what is already there.
deps:
	./scripts/deps.sh

# test = unit tests + integration tests against real runc 1.1 and 1.5,
# dockerd and containerd. It installs what it needs first.
test: deps build unit integration

unit:
	$(GO) vet ./...
	$(GO) vet -tags integration ./integration/
	$(GO) test -count=1 ./cmd/... ./libhardening/... ./profiles/...

integration:
	HR_BIN=$(CURDIR)/bin HR_RUNC_11=$(RUNC11) HR_RUNC_15=$(RUNC15) HR_CRUN=$(CRUN) \
		$(GO) test -tags integration -count=1 -timeout 25m -v ./integration/ 2>&1 | scripts/test-summary.sh

# cri = the Kubernetes CRI validation suite (cri-tools' critest) under the
# `hardened` handler with the default profile, against containerd 1.6 and
# 2.x, each over runc 1.1 and 1.5, with runc alone as the baseline that
# tells this host's limits from hardened-runc's. Every spec is classified
# (pass, intended denial, environment, known bug, FAIL); it fails on any
# FAIL or known bug. About 5-7 minutes per combination on 2 shared cores,
# so not part of `make test`. One combination: scripts/cri.sh -h.
cri: deps build
	@rc=0; for c in 1 2; do for l in $(RUNC11) $(RUNC15); do \
		HR_BIN=$(CURDIR)/bin ./scripts/cri.sh -c $$c -l $$l -b || rc=1; \
	done; done; exit $$rc

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzPipeline -fuzztime 60s ./libhardening/pipeline/

demo: deps build
	./scripts/demo.sh

bench: deps build
	HR_BIN=$(CURDIR)/bin HR_RUNC_11=$(RUNC11) HR_RUNC_15=$(RUNC15) ./scripts/bench.sh BENCHMARKS.md

attack: deps build
	HR_BIN=$(CURDIR)/bin HR_RUNC_11=$(RUNC11) HR_RUNC_15=$(RUNC15) ./scripts/attack.sh SECURITY.md

# compat builds server images from Debian's packages (debootstrap, cached
# in /var/cache/hardened-runc-compat) and runs each under runc and
# hardened-runc through its own dockerd; writes COMPAT.md. Not part of
# `make test`: the first run downloads and builds for several minutes.
compat: deps build
	HR_BIN=$(CURDIR)/bin HR_RUNC_11=$(RUNC11) HR_RUNC_15=$(RUNC15) ./scripts/compat.sh COMPAT.md

install: build
	./install.sh --no-deps --no-build

clean:
	rm -rf bin
