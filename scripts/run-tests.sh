#!/bin/sh
# run-tests.sh BUILD TEST...: runs each test binary from the top of the tree,
# with SLUICE_BIN/SLUICE_GEN pointing at BUILD's programs, optionally under
# $VALGRIND. Prints a summary line and exits 1 if any test failed.
set -u
build=$1; shift
SLUICE_BIN=$build/sluice SLUICE_GEN=$build/sluice-gen
export SLUICE_BIN SLUICE_GEN
failed=""
n=0
for t in "$@"; do
	n=$((n + 1))
	echo "== $t"
	# shellcheck disable=SC2086
	if ! ${VALGRIND:-} "$t"; then failed="$failed $t"; fi
done
if [ -n "$failed" ]; then
	echo "FAILED:$failed"
	exit 1
fi
echo "all $n test programs passed"
