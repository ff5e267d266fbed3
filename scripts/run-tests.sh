#!/bin/sh
# run-tests.sh BUILD TEST...: runs each test binary from the top of the tree,
# with SLUICE_BIN/SLUICE_GEN pointing at BUILD's programs, optionally under
# $VALGRIND.
#
# Quiet unless something fails: a test's own output (cmocka's lines, the
# diagnostics the self-tests expect, seeds) goes to BUILD/test-logs/NAME.log
# and is printed only when that test fails. One line per test program
# ("ok NAME" or "FAILED NAME" followed by its log), then a summary line,
# which is also written to BUILD/test-summary for `make test`'s last line.
# Exits 1 if any test failed.
set -u
build=$1; shift
SLUICE_BIN=$build/sluice SLUICE_GEN=$build/sluice-gen
export SLUICE_BIN SLUICE_GEN
logs=$build/test-logs
mkdir -p "$logs"
failed=""
n=0
nfail=0
for t in "$@"; do
	n=$((n + 1))
	name=$(basename "$t")
	# shellcheck disable=SC2086
	if ${VALGRIND:-} "$t" >"$logs/$name.log" 2>&1; then
		echo "ok     $name"
	else
		nfail=$((nfail + 1))
		failed="$failed $name"
		echo "FAILED $name (log: $logs/$name.log):"
		sed 's/^/    /' "$logs/$name.log"
	fi
done
if [ -n "$failed" ]; then
	summary="tests: $nfail of $n test programs FAILED:$failed"
else
	summary="tests: all $n test programs passed"
fi
echo "$summary" >"$build/test-summary"
echo "$summary"
[ -z "$failed" ]
