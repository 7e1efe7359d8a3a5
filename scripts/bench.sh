#!/usr/bin/env bash
# `sudo make bench`: measures hardened-runc against runc in one run and
# writes BENCHMARKS.md. Each section comes from a test that prints a
# markdown table into a file named by BENCH_OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-BENCHMARKS.md}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

section() { # name test-regex package
	local f="$tmp/$1.md"
	if BENCH_OUT=$f go test -tags integration -count=1 -timeout 30m -run "$2" -v "$3" >"$tmp/$1.log" 2>&1 && [ -s "$f" ]; then
		cat "$f"
	else
		echo "_$1: not measured in this run (see \`go test -run '$2' $3\`)._"
		tail -5 "$tmp/$1.log" | sed 's/^/    /'
	fi
	echo
}

# inprocess reports hardened-runc's own work without starting a process:
# the runtime's Go benchmarks with a fake lower runtime and recorder.
inprocess() {
	echo "## hardened-runc's own work, in process (no process start, fake lower runtime)"
	echo
	echo "| benchmark | time per invocation | allocations |"
	echo "|---|---|---|"
	go test -run '^$' -bench 'BenchmarkCreate$|BenchmarkPassThrough$' -benchtime 200x -benchmem ./libhardening/wrapper/ |
		awk '/^Benchmark/ {printf "| %s | %.2f ms | %s allocs, %s B |\n", $1, $3/1e6, $7, $5}'
	echo
	echo "BenchmarkCreate includes loading the profile, the whole pipeline and the atomic write (temporary file and rename; no fsync, see docs/durability.md) of the config that runc 1.5 spec writes; the forensic record is not written (fake recorder)."
	echo
}

# idmap_inprocess reports the idmapped root filesystem's own work per
# container, in process, by image layer count (libhardening/userns).
idmap_inprocess() {
	echo "### The idmapped root's own work, in process (no process start, no range allocation)"
	echo
	echo "| layers | setup (user namespace fd, idmapped clone, overlay replaced in place) | teardown (host IDs moved back, overlay left for the engine, directory removed) |"
	echo "|---|---|---|"
	go test -run '^$' -bench 'BenchmarkIdmappedRoot' -benchtime 200x ./libhardening/userns/ |
		awk '/^BenchmarkIdmappedRoot/ {split($1, a, "="); sub(/-[0-9]+$/, "", a[2]); printf "| %s | %.2f ms | %.2f ms |\n", a[2], $5, $7}'
	echo
}

# breakdown splits one real create into its phases (process start, config,
# spec, profile, pipeline, write, record, runc) by the runtime's own phase
# marks, and times the other Go-path verbs beside runc (scripts/breakdown).
breakdown() { # name runc
	local f="$tmp/breakdown-$1.md"
	if go run ./scripts/breakdown -bin "${HR_BIN:-bin}/hardened-runc" -runc "$2" -name "$1" >"$f" 2>"$tmp/breakdown-$1.log" && [ -s "$f" ]; then
		cat "$f"
	else
		echo "_breakdown ($1): not measured in this run (see \`go run ./scripts/breakdown -runc $2\`)._"
		tail -5 "$tmp/breakdown-$1.log" | sed 's/^/    /'
		echo
	fi
}

{
	echo "# hardened-runc benchmarks"
	echo
	echo "Measured by \`sudo make bench\` on $(uname -r), $(nproc) cores, $(date -u +%Y-%m-%d)."
	echo "Lower runtimes: $(${HR_RUNC_11:-runc} --version | sed -n 1p); $(${HR_RUNC_15:-/opt/hardened-runc-test/runc-1.5/runc} --version | sed -n 1p)."
	echo "Every ratio compares numbers taken in the same run, interleaved."
	echo
	cat <<'READ'
How to read the runtime table: every cell is a whole command as an engine
runs it, so it includes starting a process.

- Pass-through verbs (`state`, `list`, `ps`, `events`, `pause`, `resume`,
  `features`) take the fast path: hardened-runc, a small C program linked
  with musl, execs runc without starting any Go runtime; the Go side,
  hardened-runc-go, runs only for the calls it cannot decide alone
  (libhardening/fastpath). Compare it with the two floors
  measured in the same loop: a minimal C exec wrapper (what any wrapper
  costs: one more execve) and a minimal Go exec wrapper (what any Go program
  costs to start here). "fast path switched off" is the same call through
  the Go side.
- Create: "runc given the same hardened config" is hardened-runc's own cost
  (process start, policy, pipeline, the config.json write and the fsynced
  forensic record) with the cost of running a hardened container taken out; the
  "userns off" row adds that cost back, and the default-profile row adds the
  idmapped root filesystem of the user namespace.
READ
	echo
	section runtime '^TestBenchmarks$' ./integration/
	breakdown runc-1.1 "${HR_RUNC_11:-/usr/sbin/runc}"
	breakdown runc-1.5 "${HR_RUNC_15:-/opt/hardened-runc-test/runc-1.5/runc}"
	inprocess
	section seccomp '^TestSeccompNumbers$' ./integration/
	section forensics '^TestBenchTable$' ./libhardening/forensics/
	section idmap '^TestIdmapBenchmarks$' ./integration/
	idmap_inprocess
} >"$out"
echo "wrote $out"
