#!/bin/sh
# fuzz.sh: builds the libFuzzer targets in fuzz/ and runs each one.
#
#   scripts/fuzz.sh [--smoke] [TARGET...]
#
# Targets: fuzz_state (state decoder), fuzz_access (access-log line parser),
# fuzz_input (compressed-input path), fuzz_framer (line framer), fuzz_jsonrec
# (JSON lines parser), fuzz_logformat (format strings and presets),
# fuzz_groups (group-by sketch decoder), fuzz_filter (filter expressions),
# fuzz_spill (external sort, dedup
# and the spill layer's run files, against naive references); default all.
# Each is built with `clang -fsanitize=fuzzer,address,undefined` from the
# library sources into $BUILD/fuzz (default build/fuzz) and run for
# FUZZ_SECONDS seconds (default 60) over its checked-in seed corpus
# fuzz/corpus/TARGET; with --smoke (what `make test` uses) for FUZZ_RUNS
# inputs (default 20000; fuzz_spill a tenth of that, its inputs being slow)
# from seed 1 instead, so that the test is the same on every machine.
# New inputs go to $BUILD/fuzz/corpus-TARGET, so the
# checked-in corpus is never modified; a crash is saved in $BUILD/fuzz as
# crash-* and the script exits 1. To keep a finding as a regression test,
# copy the crashing file into fuzz/corpus/TARGET/ (test_state also decodes
# every file of fuzz/corpus/fuzz_state under the sanitizers, and
# test_spill_corpus runs fuzz_spill over fuzz/corpus/fuzz_spill).
#
# Without clang (or its libFuzzer runtime), --smoke prints a notice and exits
# 0, so `make test` still passes on a machine without it; without --smoke it
# fails. scripts/deps.sh --fuzz installs clang and libclang-rt-14-dev.
#
# --smoke is quiet: the build and run steps are not announced, and only a
# failure prints the fuzzer's log; its one summary line is also written to
# $BUILD/fuzz-summary for `make test`'s last line.
set -u
smoke=0
targets=""
for arg in "$@"; do
	case "$arg" in
	--smoke) smoke=1 ;;
	-*) echo "fuzz.sh: unknown option '$arg'" >&2; exit 2 ;;
	*) targets="$targets $arg" ;;
	esac
done
[ -n "$targets" ] || targets="fuzz_state fuzz_access fuzz_input fuzz_framer fuzz_jsonrec fuzz_logformat fuzz_groups fuzz_spill fuzz_filter"
if [ "$smoke" = 1 ]; then seconds=${FUZZ_SECONDS:-5}; else seconds=${FUZZ_SECONDS:-60}; fi
build=${BUILD:-build}/fuzz
cc=""
for c in ${FUZZ_CC:-} clang clang-14; do
	if command -v "$c" >/dev/null 2>&1; then cc=$c; break; fi
done
summary_file=${BUILD:-build}/fuzz-summary
say() { [ "$smoke" = 1 ] || echo "$@"; }
missing() {
	if [ "$smoke" = 1 ]; then
		echo "fuzz.sh: $1; skipping the fuzz smoke test (scripts/deps.sh --fuzz installs clang)"
		mkdir -p "${BUILD:-build}"
		echo "fuzz smoke skipped ($1)" >"$summary_file"
		exit 0
	fi
	echo "fuzz.sh: $1 (scripts/deps.sh --fuzz installs clang)" >&2
	exit 1
}
[ -n "$cc" ] || missing "clang not found"

mkdir -p "$build"
# Library flags: every package that pkg-config knows (liblz4 may be absent
# from older trees).
pkg_cflags="" pkg_libs=""
for p in libzstd zlib libxxhash liblz4 libpcre2-8; do
	if pkg-config --exists "$p" 2>/dev/null; then
		pkg_cflags="$pkg_cflags $(pkg-config --cflags "$p")"
		pkg_libs="$pkg_libs $(pkg-config --libs "$p")"
	fi
done
# FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION makes the state decoder skip its
# checksum comparisons, so that mutations reach the section decoders.
flags="-std=c11 -D_GNU_SOURCE -O1 -g -fno-omit-frame-pointer \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION -Iinclude -Ilib"

# Does this clang link libFuzzer at all?
probe="$build/probe"
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n);\nint LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' >"$probe.c"
# shellcheck disable=SC2086
"$cc" $flags -o "$probe" "$probe.c" 2>/dev/null || missing "$cc cannot link -fsanitize=fuzzer (libclang-rt missing?)"

# The library once, in parallel, then each target against it.
say "fuzz.sh: building the library with $cc"
mkdir -p "$build/lib"
rm -f "$build/lib"/*.o "$build/libsluice-fuzz.a"
export cc flags pkg_cflags build
# shellcheck disable=SC2016
if ! ls lib/*/*.c | xargs -P "$(nproc 2>/dev/null || echo 2)" -I{} sh -c \
    'o="$build/lib/$(basename "{}" .c).o"; $cc $flags $pkg_cflags -c "{}" -o "$o"'; then
	echo "fuzz.sh: cannot build the library" >&2
	exit 1
fi
ar rcs "$build/libsluice-fuzz.a" "$build"/lib/*.o

status=0
ok_targets=""
bad_targets=""
for t in $targets; do
	src=fuzz/$t.c
	if [ ! -f "$src" ]; then echo "fuzz.sh: no $src" >&2; exit 2; fi
	bin=$build/$t
	say "fuzz.sh: building $t"
	# shellcheck disable=SC2086
	if ! "$cc" $flags $pkg_cflags -o "$bin" "$src" "$build/libsluice-fuzz.a" $pkg_libs \
	    -lpthread -lm; then
		echo "fuzz.sh: cannot build $t" >&2
		exit 1
	fi
	work=$build/corpus-$t
	if [ "$smoke" = 1 ]; then
		# make test must not depend on luck: a fixed seed, a fixed number
		# of runs and a fresh work corpus make the smoke run the same
		# everywhere; open-ended fuzzing is `make fuzz`'s job.
		rm -rf "$work"
		runs=${FUZZ_RUNS:-20000}
		# fuzz_spill's inputs sort and dedup up to a MiB through
		# temporary files (tens of ms each under the sanitizers): a
		# tenth as many keeps the smoke test short
		[ "$t" = fuzz_spill ] && runs=$(( (runs + 9) / 10 ))
		limits="-seed=1 -runs=$runs"
		say "fuzz.sh: running $t for $runs inputs (seed 1)"
	else
		limits="-max_total_time=$seconds"
		echo "fuzz.sh: running $t for ${seconds}s"
	fi
	mkdir -p "$work"
	# shellcheck disable=SC2086
	if ! ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
	    "$bin" $limits -timeout=10 -rss_limit_mb=2048 \
	    -max_len=65536 -print_final_stats=0 -artifact_prefix="$build/" \
	    "$work" "fuzz/corpus/$t" >"$build/$t.log" 2>&1; then
		tail -40 "$build/$t.log" >&2
		echo "fuzz.sh: $t FAILED; the input is saved in $build/ (crash-*)" >&2
		status=1
		bad_targets="$bad_targets $t"
	else
		[ "$smoke" = 1 ] ||
			grep -E '^#[0-9]+.*DONE' "$build/$t.log" | tail -1 | sed "s/^/fuzz.sh: $t: /"
		ok_targets="$ok_targets $t"
	fi
done
if [ "$smoke" = 1 ]; then
	n_ok=$(echo $ok_targets | wc -w)
	if [ -n "$bad_targets" ]; then
		summary="fuzz smoke FAILED:$bad_targets"
	else
		summary="fuzz smoke: $n_ok targets, ${FUZZ_RUNS:-20000} inputs each (fuzz_spill a tenth), no crash"
	fi
	echo "$summary" >"$summary_file"
	echo "fuzz.sh: $summary"
fi
exit $status
