#!/bin/sh
# bench.sh: time sluice against wc -l, mawk and goaccess on one generated log.
#
#   make bench                       (builds ./sluice and ./sluice-gen, then runs this)
#   BENCH_SIZE=50M bench/bench.sh    a quick run on a small log
#
# What it does, in order:
#   1. Generates a combined log with $request_time, Zipf clients and URLs,
#      once: the file lives in $SLUICE_BENCH_DIR (default bench/data/) under
#      a name holding every generator parameter plus a checksum of the
#      generator's first 2000 lines, so a changed generator or changed
#      parameters make a new file and an unchanged one is reused.
#      --ips 1200000 makes ~600k distinct clients appear in a 1 GiB log
#      (Zipf s=1 leaves part of the population unseen); --urls 200000.
#   2. Warms the page cache (cat > /dev/null), so every tool reads from RAM.
#   3. Runs each tool through run_tool NAME CMD...: wall time (date +%s%N
#      around the run), peak RSS (GNU time %M, KiB). The best wall time of
#      $BENCH_REPEAT runs (default 1) is kept, and the largest RSS.
#        wc -l FILE                   the floor: reading and counting lines
#        mawk PV/distinct IPs/statuses/bytes sum
#        sluice -m 1M FILE            the report at the seed's 1 MiB (the targets), and
#        sluice FILE                  at the default budget (16M)
#   4. Prints a table (wall s, MB/s with MB = 10^6 bytes, lines/s, peak RSS
#      MiB, wall time as a multiple of sluice's) and checks the targets:
#      sluice >= 6x faster than mawk, sluice peak RSS <= 4 MiB.
#   5. HLL error: unique IPs from sluice's JSON (default -j and -j 1)
#      against cut -d' ' -f1 | sort -u | wc -l, within the stated interval.
#   6. The request-time p99 and p999 against the true values (sort -n of
#      the request-time field), as relative errors (target: within 1%).
#   7. Budgets: -m 1M against -m 64M (and SLUICE_OLD beside -m 1M).
#   8. Formats, filters, vhosts (issue 14): -f json and -f csv at -j 1 on
#      the same requests (targets 400 and 600 MB/s), --where status>=500
#      --since T against the unfiltered report (ratio <= 1.0, interleaved
#      rounds), --by vhost over 10,000 vhosts within the default budget.
#   9. If goaccess is installed: goaccess --log-format=COMBINED against
#      sluice on a $BENCH_SLICE (default 100M) slice cut at a line end.
# Everything printed is computed from this run's measurements; the output
# goes to stdout only (record it in docs/benchmarks.md by hand).
#
# Environment:
#   SLUICE_BIN        sluice program (default ./sluice); e.g. /bin/cat as a stub
#   SLUICE_GEN        generator (default ./sluice-gen)
#   SLUICE_ARGS       extra arguments for sluice (e.g. "-m 4M"), word-split
#   SLUICE_OLD        an older sluice binary to time beside this one at -m 1M
#   SLUICE_BENCH_DIR  where generated logs are cached (default bench/data)
#   BENCH_SIZE        log size, K/M/G = 1024^k (default 1G)
#   BENCH_SEED        generator seed (default 1)
#   BENCH_SLICE       goaccess slice size (default 100M)
#   BENCH_FORMAT_SIZE size of the JSON, CSV and vhost logs (default BENCH_SIZE/4)
#   BENCH_REPEAT      runs per tool, best wall time kept (default 1; the
#                     budgets section runs its tools in this many interleaved rounds)
#   BENCH_BUDGET_ROUNDS  the fewest interleaved rounds of the budgets section
#                     (default 5)
set -eu
cd "$(dirname "$0")/.."

SLUICE=${SLUICE_BIN:-./sluice}
GEN=${SLUICE_GEN:-./sluice-gen}
SLUICE_ARGS=${SLUICE_ARGS:-}
DIR=${SLUICE_BENCH_DIR:-bench/data}
SIZE=${BENCH_SIZE:-1G}
SEED=${BENCH_SEED:-1}
SLICE=${BENCH_SLICE:-100M}
REPEAT=${BENCH_REPEAT:-1}
TIME=/usr/bin/time

die() { echo "bench: $*" >&2; exit 1; }
[ -x "$TIME" ] || die "$TIME missing (GNU time: scripts/deps.sh --bench)"
command -v mawk >/dev/null 2>&1 || die "mawk missing (scripts/deps.sh --bench)"
[ -x "$GEN" ] || die "$GEN missing: run make first"
command -v "$SLUICE" >/dev/null 2>&1 || die "$SLUICE missing: run make first (or set SLUICE_BIN)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sluice-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
results=$tmp/results
: >"$results"

# Arithmetic on decimals: calc 'EXPR' prints EXPR evaluated by awk. A
# comparison must be in parentheses (a bare > is awk's output redirection).
calc() { awk "BEGIN { print $1 }"; }
now_ns() { date +%s%N; }

# ---------------------------------------------------------------- machine
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
[ -n "$cpu" ] || cpu=$(uname -m)
mem_kib=$(sed -n 's/^MemTotal:[[:space:]]*\([0-9]*\).*/\1/p' /proc/meminfo 2>/dev/null || echo 0)
rev=$(git describe --always --dirty 2>/dev/null || echo unknown)
echo "sluice benchmark ($(date -u '+%Y-%m-%d %H:%M UTC'))"
echo "  machine: $cpu, nproc $(nproc), $(calc "int($mem_kib / 1048576 + 0.5)") GiB RAM, $(uname -srm)"
echo "  sluice:  $SLUICE${SLUICE_ARGS:+ $SLUICE_ARGS} (tree $rev)"
echo "  mawk:    $(mawk -W version 2>&1 | head -n 1)"

# ---------------------------------------------------------------- the log
gen_args="--size $SIZE --seed $SEED --format combined --request-time --ips 1200000 --urls 200000 --zipf 1.0"
# shellcheck disable=SC2086
sum=$("$GEN" $gen_args --lines 2000 | cksum | cut -d ' ' -f 1)
mkdir -p "$DIR"
[ "$DIR" = bench/data ] && [ ! -e "$DIR/.gitignore" ] && printf '*\n' >"$DIR/.gitignore"
log=$DIR/access-$SIZE-seed$SEED-combined-rt-ips1200000-urls200000-zipf1.0-$sum.log
if [ -s "$log" ]; then
	echo "  log:     $log (cached)"
else
	t0=$(now_ns)
	# shellcheck disable=SC2086
	"$GEN" $gen_args -o "$log.tmp.$$" || { rm -f "$log.tmp.$$"; die "generator failed"; }
	t1=$(now_ns)
	mv "$log.tmp.$$" "$log"
	gb=$(wc -c <"$log")
	echo "  log:     $log (generated in $(calc "sprintf(\"%.2f s, %.0f MB/s\", ($t1-$t0)/1e9, $gb/1e6/(($t1-$t0)/1e9))"))"
fi
echo "           $GEN $gen_args"
cat "$log" >/dev/null		# warm the page cache
bytes=$(wc -c <"$log")

# ---------------------------------------------------------------- runner
# run_tool NAME CMD...: runs CMD $REPEAT times with stdout to $OUT (default
# /dev/null), appends "NAME|best wall s|max RSS KiB" to $results. A failing
# tool stops the benchmark.
OUT=/dev/null
run_tool() {
	name=$1
	shift
	best="" rss=0 i=0
	while [ "$i" -lt "$REPEAT" ]; do
		t0=$(now_ns)
		if ! "$TIME" -f '%e %M' -o "$tmp/time" "$@" >"$OUT" 2>"$tmp/err"; then
			echo "bench: $name failed:" >&2
			cat "$tmp/err" "$tmp/time" >&2 2>/dev/null || true
			exit 1
		fi
		t1=$(now_ns)
		w=$(calc "($t1 - $t0) / 1e9")
		r=$(tail -n 1 "$tmp/time" | cut -d ' ' -f 2)
		if [ -z "$best" ] || [ "$(calc "($w < $best)")" = 1 ]; then best=$w; fi
		[ "$r" -gt "$rss" ] && rss=$r
		i=$((i + 1))
	done
	echo "$name|$best|$rss" >>"$results"
	OUT=/dev/null
}

# fold_results: one row per name in $results, in the order of first
# appearance, with the best wall time and the largest RSS of its rows (for
# tools run in interleaved rounds).
fold_results() {
	awk -F '|' '
	!($1 in wall) { order[++n] = $1; wall[$1] = $2; rss[$1] = $3; next }
	{ if ($2 < wall[$1]) wall[$1] = $2; if ($3 > rss[$1]) rss[$1] = $3 }
	END { for (i = 1; i <= n; i++) print order[i] "|" wall[order[i]] "|" rss[order[i]] }
	' "$results" >"$results.folded" && mv "$results.folded" "$results"
}

# field N of the result row named NAME
result() { awk -F '|' -v n="$1" -v f="$2" '$1 == n { print $f }' "$results"; }

# print_table BYTES LINES REFERENCE: the rows of $results, with wall time as a
# multiple of the REFERENCE row's.
print_table() {
	awk -F '|' -v bytes="$1" -v lines="$2" -v ref="$3" '
	{ name[NR] = $1; wall[NR] = $2; rss[NR] = $3; if ($1 == ref) rw = $2 }
	END {
		printf "  %-10s %9s %10s %12s %9s %9s\n", "tool", "wall s", "MB/s", "lines/s", "RSS MiB", "x " ref
		for (i = 1; i <= NR; i++) {
			w = (wall[i] > 0) ? wall[i] : 1e-9
			x = (rw > 0) ? wall[i] / rw : 0
			printf "  %-10s %9.3f %10.1f %12.0f %9.1f %9.2f\n", name[i], wall[i],
			    bytes / 1e6 / w, lines / w, rss[i] / 1024, x
		}
	}' "$results"
}

# ---------------------------------------------------------------- main run
# shellcheck disable=SC2016
awk_prog='{ pv++; ip[$1]; st[$9]++; b += $10 }
END {
	for (k in ip) n++
	printf "pv %d, distinct IPs %d, bytes %.0f\nstatuses", pv, n, b
	for (s in st) printf " %s:%d", s, st[s]
	printf "\n"
}'

OUT=$tmp/wc.out
run_tool "wc -l" wc -l "$log"
OUT=$tmp/mawk.out
run_tool mawk mawk "$awk_prog" "$log"
# shellcheck disable=SC2086
run_tool "sluice -j1" "$SLUICE" -j 1 -m 1M $SLUICE_ARGS "$log"
# shellcheck disable=SC2086
run_tool sluice "$SLUICE" -m 1M $SLUICE_ARGS "$log"
# shellcheck disable=SC2086
run_tool "sluice 16M" "$SLUICE" $SLUICE_ARGS "$log"

lines=$(cut -d ' ' -f 1 <"$tmp/wc.out")
echo "  size:    $bytes bytes ($(calc "sprintf(\"%.1f\", $bytes / 1048576)") MiB), $lines lines"
sed -n '1s/^/  mawk:    /p; 2s/^/           /p' "$tmp/mawk.out"
echo "  sluice:  default jobs = $(nproc) (online cores); -m 1M (the seed's mode, which the"
echo "           targets below are for) and the default budget, 16M (a cap: what a run"
echo "           touches follows its data; on this log the tables fill it)"
echo
print_table "$bytes" "$lines" sluice

# check NAME VALUE OP LIMIT WHAT: prints one target line, met or not.
check() {
	printf '  %-52s %10s  (target %s %s): %s\n' "$1" "$2" "$3" "$4" \
	    "$(calc "($2 $3 $4) ? \"met\" : \"NOT met\"")"
}
sw=$(result sluice 2)
s1=$(result "sluice -j1" 2)
mw=$(result mawk 2)
ww=$(result "wc -l" 2)
srss=$(result sluice 3)
s1rss=$(result "sluice -j1" 3)
echo
check "sluice -j1 throughput, MB/s" "$(calc "sprintf(\"%.0f\", $bytes / 1e6 / $s1)")" ">=" 600
check "sluice -j1 speed-up over mawk, x" "$(calc "sprintf(\"%.1f\", $mw / $s1)")" ">=" 6
check "sluice speed-up over mawk, x" "$(calc "sprintf(\"%.1f\", $mw / $sw)")" ">=" 20
check "sluice wall time / wc -l wall time" "$(calc "sprintf(\"%.1f\", $sw / $ww)")" "<=" 7
check "sluice peak RSS, MiB" "$(calc "sprintf(\"%.2f\", $srss / 1024)")" "<=" 4
check "sluice -j1 peak RSS, MiB" "$(calc "sprintf(\"%.2f\", $s1rss / 1024)")" "<=" 4

# ---------------------------------------------------------------- HLL error
# Unique IPs as sluice estimates them (the JSON's unique_ips), at the default
# jobs and at -j 1, against the true count of distinct first fields
# (cut | sort -u | wc -l, bytewise). The default run's counters are merged
# (Ertl's estimator) and the -j 1 run's are one stream (HIP, issue 12): the
# two estimates differ, and each is checked against its own stated 95%
# half-width, (high - estimate) / estimate.
# shellcheck disable=SC2086
"$SLUICE" -q --json $SLUICE_ARGS "$log" >"$tmp/hll.json"
# shellcheck disable=SC2086
"$SLUICE" -q --json -j 1 $SLUICE_ARGS "$log" >"$tmp/hll1.json"
true_ips=$(cut -d ' ' -f 1 <"$log" | LC_ALL=C sort -u -S 64M -T "$tmp" | wc -l)
# field NAME of unique_ips in a JSON report
ips_field() { grep -o '"unique_ips": {[^}]*}' "$1" | sed "s/.*\"$2\": \([^,}]*\).*/\1/"; }
est=$(ips_field "$tmp/hll.json" estimate)
est1=$(ips_field "$tmp/hll1.json" estimate)
high=$(ips_field "$tmp/hll.json" high)
high1=$(ips_field "$tmp/hll1.json" high)
exact=$(ips_field "$tmp/hll.json" exact)
echo
echo "unique IPs: true $true_ips (cut | sort -u), sluice $est (-j 1: $est1), exact: $exact"
if [ "$exact" = false ]; then
	echo "  HLL error $(calc "sprintf(\"%+.3f%%, stated 95%% half-width %.3f%%\", \
	    100 * ($est - $true_ips) / $true_ips, 100 * ($high - $est) / $est)")"
	check "HLL |relative error| / stated 95% half-width" \
	    "$(calc "sprintf(\"%.2f\", (($est > $true_ips) ? $est - $true_ips : $true_ips - $est) / ($high - $est))")" "<=" 1
else
	check "unique IPs exact: |sluice - true|" \
	    "$(calc "(($est > $true_ips) ? $est - $true_ips : $true_ips - $est)")" "<=" 0
fi
if [ "$(ips_field "$tmp/hll1.json" exact)" = false ]; then
	echo "  -j 1 (HIP) error $(calc "sprintf(\"%+.3f%%, stated 95%% half-width %.3f%%\", \
	    100 * ($est1 - $true_ips) / $true_ips, 100 * ($high1 - $est1) / $est1)")"
	check "-j 1 HLL |relative error| / stated 95% half-width" \
	    "$(calc "sprintf(\"%.2f\", (($est1 > $true_ips) ? $est1 - $true_ips : $true_ips - $est1) / ($high1 - $est1))")" "<=" 1
fi

# ---------------------------------------------------------------- budgets
# The same report at -m 1M and at -m 64M, side by side: a larger budget may
# cost at most 1.5x the wall time (issue 12), and buys exactness (at 64M the
# unique IPs must be exact, against the true count above). When SLUICE_OLD
# names an older sluice binary, it runs beside the new one at -m 1M: the new
# one may not be more than 5% slower. The HLL's error at -m 1M is printed
# against the same true count. The tools run in interleaved rounds (1M,
# 64M, old; 1M, 64M, old; ...), each keeping its best wall time, so that a
# noisy stretch of the machine does not fall on one alone: $BENCH_REPEAT
# rounds, and at least $BENCH_BUDGET_ROUNDS (default 5), because these lines
# are ratios of two wall times, and on a shared machine a neighbour's
# memory traffic slows the 64M run, whose tables live in memory, far more
# than the 1M run, whose tables fit the caches (single runs of the same
# binary gave ratios from 1.45 to 1.75).
rounds=$REPEAT
[ "$rounds" -ge "${BENCH_BUDGET_ROUNDS:-5}" ] || rounds=${BENCH_BUDGET_ROUNDS:-5}
echo
echo "budgets (default jobs, $rounds interleaved rounds):"
: >"$results"
REPEAT=1
round=0
while [ "$round" -lt "$rounds" ]; do
	OUT=$tmp/m1.json
	run_tool "-m 1M" "$SLUICE" -q --json -m 1M "$log"
	OUT=$tmp/m64.json
	run_tool "-m 64M" "$SLUICE" -q --json -m 64M "$log"
	if [ -n "${SLUICE_OLD:-}" ]; then
		run_tool "old -m 1M" "$SLUICE_OLD" -q -m 1M "$log"
	fi
	round=$((round + 1))
done
REPEAT=$rounds
fold_results
print_table "$bytes" "$lines" "-m 1M"
ips_of() { grep -o '"unique_ips": {"estimate": [0-9]*' "$1" | grep -o '[0-9]*$'; }
exact_of() { grep -o '"unique_ips": {[^}]*}' "$1" | grep -o '"exact": [a-z]*' | cut -d ' ' -f 2; }
e1=$(ips_of "$tmp/m1.json")
e64=$(ips_of "$tmp/m64.json")
echo "  unique IPs: true $true_ips; -m 1M $e1 (exact: $(exact_of "$tmp/m1.json")," \
    "error $(calc "sprintf(\"%+.3f%%\", 100 * ($e1 - $true_ips) / $true_ips)")); -m 64M $e64" \
    "(exact: $(exact_of "$tmp/m64.json"))"
echo
check "-m 64M wall time / -m 1M wall time" \
    "$(calc "sprintf(\"%.2f\", $(result "-m 64M" 2) / $(result "-m 1M" 2))")" "<=" 1.5
check "-m 1M peak RSS, MiB" "$(calc "sprintf(\"%.2f\", $(result "-m 1M" 3) / 1024)")" "<=" 4
check "-m 64M unique IPs minus the true count" "$(calc "$e64 - $true_ips")" "==" 0
if [ -n "${SLUICE_OLD:-}" ]; then
	check "-m 1M wall time / the old binary's ($SLUICE_OLD)" \
	    "$(calc "sprintf(\"%.3f\", $(result "-m 1M" 2) / $(result "old -m 1M" 2))")" "<=" 1.05
fi

# ---------------------------------------------------------------- quantile error
# The request-time p99 and p999 of the default run's JSON against the true
# values: the request-time field (the last one of every line) sorted with
# sort -n, read at rank ceil(q n) (nearest rank, as sl_relq_rank defines it).
# sluice states each quantile within relative_error (0.005) of the truth.
# shellcheck disable=SC2086
"$SLUICE" -q --json $SLUICE_ARGS "$log" >"$tmp/q.json"
rt=$(sed -n 's/^ *"request_time": {\(.*\)}.*$/\1/p' "$tmp/q.json")
jget() { printf '%s\n' "$rt" | tr ',' '\n' | sed -n "s/^ *\"$1\": *//p"; }
awk '$NF ~ /^[0-9]+(\.[0-9]+)?$/ { print $NF }' "$log" | LC_ALL=C sort -n >"$tmp/rt.sorted"
rn=$(wc -l <"$tmp/rt.sorted")
echo
echo "request-time quantiles against sort -n ($rn values; sluice counted $(jget count)," \
    "relative_error $(jget relative_error)):"
for q in 0.99 0.999; do
	name=p$(echo "$q" | sed 's/^0\.//')
	r=$(calc "(int($q * $rn) < $q * $rn * (1 - 1e-12)) ? int($q * $rn) + 1 : int($q * $rn)")
	truth=$(sed -n "${r}p" "$tmp/rt.sorted")
	est=$(jget "$name")
	err=$(calc "sprintf(\"%.4f\", ($est - $truth) / $truth * 100)")
	printf '  %-5s sluice %-12s true %-10s error %s%%\n' "$name" "$est" "$truth" "$err"
	check "request-time $name relative error, |%|" "$(calc "($err < 0) ? 0 - ($err) : $err")" "<=" 1
done
rm -f "$tmp/rt.sorted"

# ---------------------------------------------------------------- formats, filters, vhosts
# Issue 14's figures, side by side (one run):
#   - JSON lines and CSV at -j 1 -m 1M (the budget of the main run's
#     throughput target): the same requests as the main log (same seed and
#     options, sluice-gen --format json / csv), $BENCH_FORMAT_SIZE each
#     (default a quarter of $BENCH_SIZE), MB/s = that file's bytes / wall s;
#     targets 400 (JSON) and 600 (CSV) MB/s on one core. The vhost log (a
#     classic format, the same requests with a vhost) is timed beside them.
#   - --where status>=500 --since T against the unfiltered report, on the
#     main log at the default jobs, T a tenth into the log's time range (so
#     the filtered run still reads every line): in $BENCH_REPEAT interleaved
#     rounds (unfiltered, filtered; ...), each keeping its best wall time;
#     target ratio <= 1.0. With one round the ratio carries the machine's
#     noise, a few percent either way on a shared host.
#   - --by vhost over 10,000 vhosts (sluice-gen --format vcombined --vhosts
#     10000, Zipf s=1 like the clients) at the default budget: the run must
#     succeed, its JSON's peak memory must be within the budget, and the
#     group table says whether it is exact; of the groups listed (-n 10000,
#     the report lists the largest ones), those with max_error 0 and not
#     partial are counted as exact.
size_bytes() { # K/M/G/T = 1024^k, as sluice-gen reads them
	awk -v s="$1" 'BEGIN { n = s + 0; u = toupper(substr(s, length(s), 1))
		m = u == "K" ? 1024 : u == "M" ? 1048576 : u == "G" ? 1073741824 : u == "T" ? 1099511627776 : 1
		printf "%.0f\n", n * m }'
}
fsize=${BENCH_FORMAT_SIZE:-$(calc "sprintf(\"%.0f\", $(size_bytes "$SIZE") / 4)")}
# cached_log STEM GENERATOR-ARGS...: the path of the log the generator makes
# with these arguments, generated once into $DIR (its name holds a checksum
# of the first 2000 lines, as the main log's does).
cached_log() {
	stem=$1
	shift
	c=$("$GEN" "$@" --lines 2000 | cksum | cut -d ' ' -f 1)
	f=$DIR/$stem-$c.log
	if [ ! -s "$f" ]; then
		"$GEN" "$@" -o "$f.tmp.$$" || { rm -f "$f.tmp.$$"; die "generator failed ($stem)"; }
		mv "$f.tmp.$$" "$f"
	fi
	echo "$f"
}
fmt_args="--size $fsize --seed $SEED --request-time --ips 1200000 --urls 200000 --zipf 1.0"
# shellcheck disable=SC2086
jlog=$(cached_log "access-$fsize-seed$SEED-json-rt" $fmt_args --format json)
# shellcheck disable=SC2086
clog=$(cached_log "access-$fsize-seed$SEED-csv-rt" $fmt_args --format csv)
# shellcheck disable=SC2086
vlog=$(cached_log "access-$fsize-seed$SEED-vcombined-vhosts10000" $fmt_args \
    --format vcombined --vhosts 10000)
cat "$jlog" "$clog" "$vlog" >/dev/null
echo
echo "formats, filters and vhosts (issue 14; logs of $fsize bytes: $GEN $fmt_args"
echo "  --format json | csv | vcombined --vhosts 10000):"
: >"$results"
# shellcheck disable=SC2086
run_tool "json -j1" "$SLUICE" -q -j 1 -m 1M -f json $SLUICE_ARGS "$jlog"
# shellcheck disable=SC2086
run_tool "csv -j1" "$SLUICE" -q -j 1 -m 1M -f csv $SLUICE_ARGS "$clog"
# shellcheck disable=SC2086
run_tool "vcomb -j1" "$SLUICE" -q -j 1 -m 1M -f vcombined $SLUICE_ARGS "$vlog"
jbytes=$(wc -c <"$jlog")
cbytes=$(wc -c <"$clog")
vbytes=$(wc -c <"$vlog")
"$SLUICE" -q --json -f json "$jlog" >"$tmp/fj.json"
"$SLUICE" -q --json -f csv "$clog" >"$tmp/fc.json"
jnum() { sed -n "s/^  \"$2\": \([0-9]*\),*$/\1/p" "$1"; }
jw=$(result "json -j1" 2)
cw=$(result "csv -j1" 2)
printf '  %-10s %9.3f s %10.1f MB/s %9.1f MiB RSS  %s lines, %s malformed\n' \
    "json -j1" "$jw" "$(calc "$jbytes / 1e6 / $jw")" "$(calc "$(result "json -j1" 3) / 1024")" \
    "$(jnum "$tmp/fj.json" lines)" "$(jnum "$tmp/fj.json" malformed)"
printf '  %-10s %9.3f s %10.1f MB/s %9.1f MiB RSS  %s lines, %s malformed\n' \
    "csv -j1" "$cw" "$(calc "$cbytes / 1e6 / $cw")" "$(calc "$(result "csv -j1" 3) / 1024")" \
    "$(jnum "$tmp/fc.json" lines)" "$(jnum "$tmp/fc.json" malformed)"
vw=$(result "vcomb -j1" 2)
printf '  %-10s %9.3f s %10.1f MB/s %9.1f MiB RSS  (vcombined, for comparison)\n' \
    "vcomb -j1" "$vw" "$(calc "$vbytes / 1e6 / $vw")" "$(calc "$(result "vcomb -j1" 3) / 1024")"

# the filter, T a tenth into the main log's time range
# shellcheck disable=SC2086
"$SLUICE" -q --json $SLUICE_ARGS "$log" >"$tmp/unf.json"
tget() { sed -n "s/^  \"$2\": \"\([^\"]*\)\",*$/\1/p" "$1"; }
t_first=$(date -u -d "$(tget "$tmp/unf.json" first_time)" +%s)
t_last=$(date -u -d "$(tget "$tmp/unf.json" last_time)" +%s)
since=$(date -u -d "@$(calc "int($t_first + ($t_last - $t_first) / 10)")" +%Y-%m-%dT%H:%M:%SZ)
: >"$results"
rounds=$REPEAT
REPEAT=1
round=0
while [ "$round" -lt "$rounds" ]; do
	# shellcheck disable=SC2086
	run_tool "unfiltered" "$SLUICE" -q --json $SLUICE_ARGS "$log"
	OUT=$tmp/filt.json
	# shellcheck disable=SC2086
	run_tool "filtered" "$SLUICE" -q --json --where 'status>=500' --since "$since" \
	    $SLUICE_ARGS "$log"
	round=$((round + 1))
done
REPEAT=$rounds
fold_results
echo "  --where status>=500 --since $since (log $(tget "$tmp/unf.json" first_time) .." \
    "$(tget "$tmp/unf.json" last_time)), default jobs, $rounds interleaved round(s):"
print_table "$bytes" "$lines" unfiltered
fratio=$(calc "sprintf(\"%.3f\", $(result filtered 2) / $(result unfiltered 2))")
echo "  filtered run: $(jnum "$tmp/filt.json" requests) requests kept," \
    "$(jnum "$tmp/filt.json" filtered) filtered out"

# --by vhost over 10,000 vhosts at the default budget
: >"$results"
OUT=$tmp/vh.json
# shellcheck disable=SC2086
run_tool "by vhost" "$SLUICE" -q --json -n 10000 --by vhost $SLUICE_ARGS "$vlog"
mem=$(grep -o '"memory": {[^}]*}' "$tmp/vh.json")
vbudget=$(printf '%s\n' "$mem" | sed 's/.*"budget": \([0-9]*\).*/\1/')
vpeak=$(printf '%s\n' "$mem" | sed 's/.*"peak": \([0-9]*\).*/\1/')
vinfo=$(grep -o '"by_vhost": {"field": "vhost", "exact": [a-z]*, "capacity": [0-9]*' "$tmp/vh.json")
vexact=$(printf '%s\n' "$vinfo" | sed 's/.*"exact": \([a-z]*\).*/\1/')
vcap=$(printf '%s\n' "$vinfo" | sed 's/.*"capacity": //')
counts=$(awk '/"by_vhost"/ { f = 1 } f && /"partial"/ { n++; if ($0 ~ /"max_error": 0, "partial": false/) e++ }
	f && /^  \]/ { f = 0 } END { printf "%d %d\n", n, e }' "$tmp/vh.json")
true_vh=$(cut -d ' ' -f 1 <"$vlog" | cut -d : -f 1 | LC_ALL=C sort -u | wc -l)
echo "  --by vhost: $true_vh distinct vhosts in $(wc -c <"$vlog") bytes;" \
    "$(calc "sprintf(\"%.3f\", $(result "by vhost" 2))") s," \
    "$(calc "sprintf(\"%.1f\", $(result "by vhost" 3) / 1024)") MiB RSS;"
echo "    group table exact: $vexact (capacity $vcap groups); groups listed ${counts% *}," \
    "exact ${counts#* } (max_error 0, not partial); peak $vpeak of budget $vbudget bytes"
echo
check "JSON lines -j1 -m 1M throughput, MB/s" "$(calc "sprintf(\"%.0f\", $jbytes / 1e6 / $jw)")" ">=" 400
check "CSV -j1 -m 1M throughput, MB/s" "$(calc "sprintf(\"%.0f\", $cbytes / 1e6 / $cw)")" ">=" 600
check "--where status>=500 --since / unfiltered wall time" "$fratio" "<=" 1.0
check "--by vhost (10,000 vhosts) peak / budget" \
    "$(calc "sprintf(\"%.3f\", $vpeak / $vbudget)")" "<=" 1.0

# ---------------------------------------------------------------- goaccess
if command -v goaccess >/dev/null 2>&1; then
	slice=$tmp/slice.log
	head -c "$SLICE" "$log" >"$slice"
	if [ -s "$slice" ] && [ "$(tail -c 1 "$slice" | od -An -c | tr -d ' ')" != '\n' ]; then
		truncate -s "-$(tail -n 1 "$slice" | wc -c)" "$slice"
	fi
	sbytes=$(wc -c <"$slice")
	slines=$(wc -l <"$slice")
	: >"$results"
	run_tool goaccess goaccess --no-global-config --no-progress \
	    --log-format=COMBINED -o "$tmp/goaccess.json" "$slice"
	# shellcheck disable=SC2086
	run_tool sluice "$SLUICE" $SLUICE_ARGS "$slice"
	echo
	echo "goaccess ($(goaccess --version 2>/dev/null | head -n 1 | sed 's/ *$//')) on a slice:" \
	    "$sbytes bytes, $slines lines"
	print_table "$sbytes" "$slines" sluice
	gw=$(result goaccess 2)
	sw=$(result sluice 2)
	echo
	check "sluice speed-up over goaccess, x" "$(calc "sprintf(\"%.0f\", $gw / $sw)")" ">=" 200
else
	echo
	echo "goaccess not installed: comparison skipped (scripts/deps.sh --bench)"
fi

# ---------------------------------------------------------------- stress streams
# The generic line mode (-f lines) on the generator's four stress streams.
# Each is generated once into $DIR (the bursty one is piped live, with
# pauses, so its memory must stay flat however the bytes arrive).
echo
echo "stress streams through 'sluice -f lines -m 1M' (default jobs):"
: >"$results"
stream() { # NAME SIZE GENERATOR-ARGS...
	name=$1 size=$2
	shift 2
	f=$DIR/stream-$name-$size-seed$SEED.txt
	if [ ! -s "$f" ]; then
		"$GEN" --seed "$SEED" --size "$size" "$@" -o "$f.tmp.$$" && mv "$f.tmp.$$" "$f"
	fi
	cat "$f" >/dev/null
	# shellcheck disable=SC2086
	run_tool "$name" "$SLUICE" -f lines -m 1M $SLUICE_ARGS "$f"
	echo "$name|$(wc -c <"$f")|$(wc -l <"$f")" >>"$tmp/sizes"
}
: >"$tmp/sizes"
stream high-speed "${STREAM_BIG:-1G}" --stream random-lines --line-len 1048576
stream high-entropy "${STREAM_SIZE:-400M}" --stream random-lines --line-len 4096
stream low-entropy "${STREAM_SIZE:-400M}" --stream low-entropy
# bursty: generated into a pipe with pauses, read as stdin
t0=$(now_ns)
# shellcheck disable=SC2086
"$GEN" --seed "$SEED" --size "${STREAM_SIZE:-400M}" --stream bursty |
	"$TIME" -f '%e %M' -o "$tmp/time" "$SLUICE" -f lines -m 1M $SLUICE_ARGS - >/dev/null
t1=$(now_ns)
echo "bursty (pipe)|$(calc "($t1 - $t0) / 1e9")|$(tail -n 1 "$tmp/time" | cut -d ' ' -f 2)" >>"$results"
"$GEN" --seed "$SEED" --size "${STREAM_SIZE:-400M}" --stream bursty --pause-ms 0 | wc -c >"$tmp/bursty.bytes"
echo "bursty (pipe)|$(cat "$tmp/bursty.bytes")|0" >>"$tmp/sizes"
awk -F '|' 'NR == FNR { size[$1] = $2; next }
	{ w = ($2 > 0) ? $2 : 1e-9
	  printf "  %-16s %9.3f s %10.1f MB/s %9.1f MiB RSS\n", $1, $2, size[$1] / 1e6 / w, $3 / 1024 }' \
	"$tmp/sizes" "$results"
he=$(result high-entropy 2)
hb=$(awk -F '|' '$1 == "high-entropy" { print $2 }' "$tmp/sizes")
echo
check "high-entropy 4 KiB lines, GB/s" "$(calc "sprintf(\"%.2f\", $hb / 1e9 / $he)")" ">=" 2
check "bursty pipe peak RSS, MiB (flat: within budget)" \
    "$(calc "sprintf(\"%.2f\", $(result "bursty (pipe)" 3) / 1024)")" "<=" 4

# ---------------------------------------------------------------- exact tools
# sluice sort against GNU sort with the same 1 MiB budget (GNU sort with
# one thread, then its default), outputs compared; sluice dedup against
# awk '!seen[$0]++' on a log of which half the lines are repeats; the
# --exact report against the approximate one.
echo
echo "exact tools (sort, dedup, --exact) on the same log:"
: >"$results"
sort_tmp=$tmp/sorttmp
mkdir -p "$sort_tmp"
OUT=$tmp/gnu.sorted
run_tool "sort -S1M 1t" env LC_ALL=C sort -S 1M --parallel=1 -T "$sort_tmp" "$log"
OUT=$tmp/gnu2.sorted
run_tool "sort -S1M" env LC_ALL=C sort -S 1M -T "$sort_tmp" "$log"
OUT=$tmp/sluice.sorted
run_tool "sluice sort" "$SLUICE" sort -m 1M -T "$sort_tmp" "$log"
if cmp -s "$tmp/gnu.sorted" "$tmp/sluice.sorted"; then same=identical; else same=DIFFERENT; fi
rm -f "$tmp/gnu.sorted" "$tmp/gnu2.sorted" "$tmp/sluice.sorted"
if "$SLUICE" dedup --help >/dev/null 2>&1; then
	half=$tmp/dup50.log # every line twice, the copy further on
	{ head -n 1000000 "$log"; head -n 1000000 "$log"; } >"$half"
	OUT=$tmp/awk.dedup
	run_tool "awk dedup" mawk '!seen[$0]++' "$half"
	OUT=$tmp/sluice.dedup
	run_tool "sluice dedup" "$SLUICE" dedup -m 1M --tmp "$sort_tmp" "$half"
	if cmp -s "$tmp/awk.dedup" "$tmp/sluice.dedup"; then dsame=identical; else dsame=DIFFERENT; fi
	rm -f "$tmp/awk.dedup" "$tmp/sluice.dedup"
	dbytes=$(wc -c <"$half")
	rm -f "$half"
fi
if "$SLUICE" --exact -q /dev/null >/dev/null 2>&1; then
	# shellcheck disable=SC2086
	run_tool "report" "$SLUICE" -q $SLUICE_ARGS "$log"
	# shellcheck disable=SC2086
	run_tool "report --exact" "$SLUICE" -q --exact -m 1M --tmp "$sort_tmp" $SLUICE_ARGS "$log"
fi
awk -F '|' '{ printf "  %-16s %9.3f s %9.1f MiB RSS\n", $1, $2, $3 / 1024 }' "$results"
echo
gs=$(result "sort -S1M 1t" 2)
ss=$(result "sluice sort" 2)
check "sluice sort time / GNU sort -S 1M (one thread)" "$(calc "sprintf(\"%.2f\", $ss / $gs)")" "<=" 1
check "sluice sort time / GNU sort -S 1M (default threads)" \
    "$(calc "sprintf(\"%.2f\", $ss / $(result "sort -S1M" 2))")" "<=" 1
echo "  sluice sort output vs GNU sort: $same"
if [ -n "${dsame:-}" ]; then
	check "sluice dedup peak RSS, MiB" "$(calc "sprintf(\"%.2f\", $(result "sluice dedup" 3) / 1024)")" "<=" 4
	echo "  dedup: awk $(calc "sprintf(\"%.2f\", $(result "awk dedup" 3) / 1024)") MiB RSS;" \
	    "$dbytes bytes in; output vs awk: $dsame"
fi
if [ -n "$(result "report --exact" 2)" ]; then
	check "--exact report time / approximate report" \
	    "$(calc "sprintf(\"%.1f\", $(result "report --exact" 2) / $(result report 2))")" "<=" 10
fi
