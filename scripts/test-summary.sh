#!/usr/bin/env bash
# Passes `go test -v` output through, then prints a closing summary line
# ("N passed, N failed, N skipped") and the skip reasons, so a skipped test
# is never silent. Exits non-zero when go test reported a failure (the Makefile also
# runs the pipe with pipefail).
set -uo pipefail
log=$(mktemp)
tee "$log"
status=0
pass=$(grep -cE '^\s*--- PASS' "$log" || true)
fail=$(grep -cE '^\s*--- FAIL' "$log" || true)
skip=$(grep -cE '^\s*--- SKIP' "$log" || true)
if [ "$skip" -gt 0 ]; then
	echo "skipped tests and why:"
	# go test -v prints the t.Skip reason on the line before "--- SKIP".
	grep -B1 -E '^\s*--- SKIP' "$log" | grep -vE '^--$|^\s*--- SKIP' | sed 's/^ */  /'
fi
if grep -qE '^(FAIL|panic:)' "$log"; then status=1; fi
rm -f "$log"
echo "integration: ${pass} passed, ${fail} failed, ${skip} skipped"
exit "$status"
