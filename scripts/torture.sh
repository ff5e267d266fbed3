#!/bin/bash
# torture.sh: issue 11's hostile families at scale (`make torture`; not part
# of `make test`). Prints one row per family: runs, failures. Exit 1 if any
# run failed; the failing commands are listed under the table.
#
#   longkeys  random logs whose URLs, referrers and user agents are long
#             (1 to 30 KB), through --exact on a grid of budgets and jobs;
#             every run must exit 0 and give the exact distinct counts and
#             top count that sort | uniq -c gives
#   pipes     random logs through /dev/stdin, <(...), a FIFO and a pipe,
#             at random -j; every line must be counted, none malformed
#   kills     SIGKILL at a random moment of a --state run (and of a --save
#             run), again and again; the state must always load, a final
#             run must count every line exactly once, and no temporary file
#             may be left beside the state
#   jobs      the same input, the same options, -j 2 and -j 3, repeated:
#             the JSON must be the same bytes every time
#   shrink    a file truncated while it is read: all its lines, the cut
#             file's, or exit 2 saying it shrank
#   exactbig  --exact at -m 1M on millions of distinct keys, against seq
#             and awk
#
# TORTURE_SCALE (default 1) multiplies the number of runs; TORTURE_SEED
# (default: the time) seeds the shell's choices and is printed.
set -u
BUILD=${BUILD:-build}
bin=$(pwd)/$BUILD/sluice
gen=$(pwd)/$BUILD/sluice-gen
scale=${TORTURE_SCALE:-1}
seed=${TORTURE_SEED:-$(date +%s)}
echo "torture: seed $seed (TORTURE_SEED=$seed to replay), scale $scale"
dir=$(mktemp -d /tmp/sluice-torture-XXXXXX)
trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 2
fails=""
# rnd N: a number in [0, N) from bash's generator, seeded once
RANDOM=$seed
rnd() { echo $(( (RANDOM * 32768 + RANDOM) % $1 )); }
fail() { fails="$fails
  $1"; }

# longlog N KEYLEN SEED: N combined lines, each URL (also the referrer) and
# user agent unique and KEYLEN bytes long, a few repeated for the top lists.
longlog() {
	awk -v n="$1" -v len="$2" -v s="$3" 'BEGIN {
		srand(s)
		for (i = 0; i < n; i++) {
			k = (rand() < 0.2) ? int(rand() * 5) : i
			u = sprintf("/%d/", k); while (length(u) < len) u = u "x"
			a = sprintf("agent-%d-", k); while (length(a) < len) a = a "y"
			printf "10.0.%d.%d - - [14/Nov/2023:22:13:20 +0000] \"GET %s HTTP/1.1\" 200 %d \"%s\" \"%s\"\n", \
				int(k / 250) % 250, k % 250, u, i, u, a
		}
	}'
}

t_longkeys=0 f_longkeys=0
for i in $(seq 1 $((6 * scale))); do
	n=$(( $(rnd 900) + 100 )); len=$(( $(rnd 19000) + 1000 ))
	longlog "$n" "$len" "$i$seed" > long.log
	want=$(awk '{print $1}' long.log | sort -u | wc -l)
	top=$(awk '{print $7}' long.log | sort | uniq -c | sort -rn | head -1 | awk '{print $1}')
	for m in 1M 4M 16M 64M; do
		for j in 1 2 3; do
			t_longkeys=$((t_longkeys + 1))
			"$bin" -q --exact -m "$m" -j "$j" --json long.log > out.json 2> err.txt
			rc=$?
			if [ $rc -ne 0 ]; then
				f_longkeys=$((f_longkeys + 1)); fail "longkeys: $n lines of $len B, -m $m -j $j: exit $rc ($(head -c 200 err.txt))"
				continue
			fi
			got=$(grep -o '"unique_ips": {"estimate": [0-9]*' out.json | grep -o '[0-9]*$')
			cnt=$(grep -A1 '^    "url": \[' out.json | grep -o '"count": [0-9]*' | head -1 | grep -o '[0-9]*$')
			if [ "$got" != "$want" ] || [ "$cnt" != "$top" ]; then
				f_longkeys=$((f_longkeys + 1)); fail "longkeys: $n lines of $len B, -m $m -j $j: unique IPs $got (want $want), top URL count $cnt (want $top)"
			fi
		done
	done
done

t_pipes=0 f_pipes=0
for i in $(seq 1 $((10 * scale))); do
	n=$(( $(rnd 50000) + 1 )); j=$(( $(rnd 3) + 1 ))
	"$gen" --lines "$n" --seed "$i" > p.log
	for how in stdin devstdin procsub fifo; do
		t_pipes=$((t_pipes + 1))
		case $how in
		stdin) cat p.log | "$bin" -q -j "$j" --json > out.json ;;
		devstdin) cat p.log | "$bin" -q -j "$j" --json /dev/stdin > out.json ;;
		procsub) bash -c "'$bin' -q -j $j --json <(cat p.log)" > out.json ;;
		fifo) rm -f f.fifo; mkfifo f.fifo; (cat p.log > f.fifo &); timeout 60 "$bin" -q -j "$j" --json f.fifo > out.json ;;
		esac
		rc=$?
		lines=$(grep -o '"lines": [0-9]*' out.json | head -1 | grep -o '[0-9]*$')
		bad=$(grep -o '"malformed": [0-9]*' out.json | head -1 | grep -o '[0-9]*$')
		if [ $rc -ne 0 ] || [ "$lines" != "$n" ] || [ "$bad" != 0 ]; then
			f_pipes=$((f_pipes + 1)); fail "pipes: $how, $n lines, -j $j: exit $rc, lines $lines, malformed $bad"
		fi
	done
done

t_kills=0 f_kills=0
for i in $(seq 1 $((20 * scale))); do
	t_kills=$((t_kills + 1))
	rm -f k.st k.st.* .k.st.* k.log; total=0
	for step in 1 2 3 4; do
		add=$(( $(rnd 60000) + 1000 ))
		"$gen" --lines "$add" --seed "$i$step" --start $((1700000000 + step * 100000)) >> k.log
		total=$((total + add))
		for opt in --state --save; do
			"$bin" -q -j $(( $(rnd 3) + 1 )) $opt k.st k.log > /dev/null 2>&1 &
			pid=$!
			sleep "0.0$(rnd 9)$(rnd 9)"
			kill -9 $pid 2> /dev/null
			wait $pid 2> /dev/null
		done
		if [ -e k.st ] && ! "$bin" report -q k.st > /dev/null 2> err.txt; then
			f_kills=$((f_kills + 1)); fail "kills: run $i step $step: the state does not load ($(head -c 200 err.txt))"
			continue 2
		fi
	done
	"$bin" -q --state k.st --json k.log > out.json 2> err.txt
	lines=$(grep -o '"lines": [0-9]*' out.json | head -1 | grep -o '[0-9]*$')
	left=$(ls -a | grep -c 'k\.st\..*tmp\|\.k\.st\..*tmp')
	if [ "$lines" != "$total" ] || [ "$left" != 0 ]; then
		f_kills=$((f_kills + 1)); fail "kills: run $i: $lines lines counted of $total, $left temporary files left"
	fi
done

t_jobs=0 f_jobs=0
"$gen" --lines 150000 --seed "$seed" --request-time > d.log
for j in 2 3; do
	"$bin" -q -j $j --json d.log > first.json
	for k in $(seq 1 $((5 * scale))); do
		t_jobs=$((t_jobs + 2))
		"$bin" -q -j $j --json d.log > again.json
		cmp -s first.json again.json || { f_jobs=$((f_jobs + 1)); fail "jobs: -j $j file run $k differs"; }
		cat d.log | "$bin" -q -j $j --json > pipe$k.json
		[ "$k" = 1 ] || cmp -s pipe1.json pipe$k.json || { f_jobs=$((f_jobs + 1)); fail "jobs: -j $j pipe run $k differs"; }
	done
done

# shrink: a file truncated while it is read (in ranges at -j 2, or by the
# reader at -j 1): the run must end with every line of the file as it was
# (read before the cut), or of the file as cut (opened after it), or exit 2
# saying the file shrank; never another status, count or message.
t_shrink=0 f_shrink=0
full=$(wc -l < d.log)
for i in $(seq 1 $((10 * scale))); do
	t_shrink=$((t_shrink + 1))
	cp d.log s.log
	j=$(( $(rnd 2) + 1 ))
	"$bin" -q -j $j --json s.log > out.json 2> err.txt &
	pid=$!
	sleep "0.0$(rnd 9)"
	truncate -s $(( $(wc -c < d.log) / 2 )) s.log
	wait $pid
	rc=$?
	cut=$(wc -l < s.log)
	lines=$(grep -o '"lines": [0-9]*' out.json | head -1 | grep -o '[0-9]*$')
	case $rc in
	0) [ "$lines" = "$full" ] || [ "$lines" = "$cut" ] || [ "$lines" = "$((cut + 1))" ] ||
		{ f_shrink=$((f_shrink + 1)); fail "shrink: -j $j: exit 0 with $lines lines (file $full, cut $cut)"; } ;;
	2) grep -q 'shrank while it was read' err.txt ||
		{ f_shrink=$((f_shrink + 1)); fail "shrink: -j $j: exit 2 without saying the file shrank ($(head -c 200 err.txt))"; } ;;
	*) f_shrink=$((f_shrink + 1)); fail "shrink: -j $j: exit $rc ($(head -c 200 err.txt))" ;;
	esac
done

# exactbig: --exact at -m 1M on millions of distinct keys (issue 12 item
# 5): 3 million distinct lines, and an access log of 1.5 million lines with
# about half a million distinct clients, against seq's and awk's counts.
t_exactbig=0 f_exactbig=0
for j in 1 2; do
	t_exactbig=$((t_exactbig + 1))
	seq 1 3000000 > many.txt
	"$bin" -q --exact -f lines -m 1M -j $j --json many.txt > out.json 2> err.txt
	got=$(grep -o '"distinct_lines": {"estimate": [0-9]*' out.json | grep -o '[0-9]*$')
	ex=$(grep -o '"distinct_lines": {[^}]*}' out.json | grep -o '"exact": [a-z]*' | cut -d ' ' -f 2)
	[ "$got" = 3000000 ] && [ "$ex" = true ] ||
		{ f_exactbig=$((f_exactbig + 1)); fail "exactbig: -f lines -j $j: $got distinct (exact: $ex) of 3000000 ($(head -c 200 err.txt))"; }
done
"$gen" --lines 1500000 --seed "$seed" --ips 16000000 > ips.log
want=$(awk '{print $1}' ips.log | sort -u | wc -l)
for j in 1 2; do
	t_exactbig=$((t_exactbig + 1))
	"$bin" -q --exact -m 1M -j $j --json ips.log > out.json 2> err.txt
	got=$(grep -o '"unique_ips": {"estimate": [0-9]*' out.json | grep -o '[0-9]*$')
	[ "$got" = "$want" ] ||
		{ f_exactbig=$((f_exactbig + 1)); fail "exactbig: -j $j: $got unique IPs, awk counts $want ($(head -c 200 err.txt))"; }
done
rm -f many.txt ips.log

printf '\n%-10s %6s %9s\n' family runs failures
printf '%-10s %6d %9d\n' longkeys $t_longkeys $f_longkeys pipes $t_pipes $f_pipes \
	kills $t_kills $f_kills jobs $t_jobs $f_jobs shrink $t_shrink $f_shrink \
	exactbig $t_exactbig $f_exactbig
total=$((f_longkeys + f_pipes + f_kills + f_jobs + f_shrink + f_exactbig))
if [ $total -ne 0 ]; then
	printf '\nfailures:%s\n' "$fails"
	exit 1
fi
echo "torture: 0 failures"
