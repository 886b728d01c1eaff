#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Check the Promela model of libvring's notify/wait handshake (notify.pml)
# with spin: every configuration with both full fences must verify with
# "errors: 0"; every configuration without one of them must produce a
# counterexample (a lost wakeup under TSO), one of which is printed.
#
# usage: model/check.sh [all|ok|fence] [-v]
#   ok     the configurations with both fences (F1 and F4) must verify,
#          and no run of the model may be endless
#   fence  the configurations without F1 or without F4 must fail
#   all    both (default)
#   -v     print the counterexample trail of every no-fence configuration,
#          not only the first one
#
# Exit status: 0 when every expectation holds, 1 when one does not, 77
# (ctest's SKIP_RETURN_CODE) when spin is not installed. Works from any
# directory; pan is built in a temporary directory removed at exit.
# Environment: CC (default gcc).

set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
model="$here/notify.pml"
mode=all
verbose=0
for arg in "$@"; do
	case "$arg" in
	all | ok | fence) mode=$arg ;;
	-v) verbose=1 ;;
	-h | --help)
		sed -n '4,21p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "check.sh: unknown argument '$arg' (all, ok, fence, -v)" >&2
		exit 2
		;;
	esac
done

if ! command -v spin >/dev/null 2>&1; then
	echo "SKIP: spin is not installed (Debian: apt-get install spin); the model was not checked"
	exit 77
fi
cc=${CC:-gcc}
if ! command -v "$cc" >/dev/null 2>&1; then
	echo "FAIL: no C compiler '$cc' to build spin's verifier (set CC)" >&2
	exit 1
fi
if [ ! -r "$model" ]; then
	echo "FAIL: $model not found" >&2
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vr-model.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# name | spin -D options | expectation | C optimisation
#   ok      safety: errors 0 (no lost wakeup, no stranded message)
#   finite  no cycle at all (pan -l with no progress label): every run ends,
#           so the end-of-run checker of notify.pml sees every run
#   fence   a counterexample: the lost wakeup
configs_ok=(
	"split-flags|-DQSIZE=2 -DNMSG=6|ok|-O0"
	"split-eventidx|-DEVENT_IDX -DQSIZE=2 -DNMSG=6|ok|-O0"
	"split-eventidx-wrap16|-DEVENT_IDX -DQSIZE=2 -DNMSG=6 -DSTART=65534|ok|-O0"
	"packed-flags|-DPACKED -DQSIZE=2 -DNMSG=6|ok|-O0"
	"packed-eventidx|-DPACKED -DEVENT_IDX -DQSIZE=2 -DNMSG=6|ok|-O1"
	"packed-eventidx-q3|-DPACKED -DEVENT_IDX -DQSIZE=3 -DNMSG=4|ok|-O1"
	"split-eventidx-coalesce|-DEVENT_IDX -DCOALESCE=2 -DQSIZE=2 -DNMSG=6|ok|-O0"
	"packed-eventidx-coalesce|-DPACKED -DEVENT_IDX -DCOALESCE=2 -DQSIZE=2 -DNMSG=4|ok|-O1"
	"split-flags-finite|-DQSIZE=2 -DNMSG=4|finite|-O0"
	"split-eventidx-finite|-DEVENT_IDX -DQSIZE=2 -DNMSG=4|finite|-O0"
	"packed-flags-finite|-DPACKED -DQSIZE=2 -DNMSG=4|finite|-O0"
	"packed-eventidx-finite|-DPACKED -DEVENT_IDX -DQSIZE=2 -DNMSG=3|finite|-O1"
)
configs_fence=()
for base in "split-flags|" "split-eventidx|-DEVENT_IDX" "packed-flags|-DPACKED" \
	"packed-eventidx|-DPACKED -DEVENT_IDX"; do
	name=${base%%|*}
	defs=${base#*|}
	configs_fence+=("$name-noF4|$defs -DQSIZE=2 -DNMSG=4 -DNO_FENCE_CONSUMER|fence|-O0")
	configs_fence+=("$name-noF1|$defs -DQSIZE=2 -DNMSG=4 -DNO_FENCE_PRODUCER|fence|-O0")
done

case "$mode" in
ok) configs=("${configs_ok[@]}") ;;
fence) configs=("${configs_fence[@]}") ;;
*) configs=("${configs_ok[@]}" "${configs_fence[@]}") ;;
esac

# One configuration in its own directory: spin -a, compile, run pan.
run_one() {
	local dir=$1 defs=$2 expect=$3 opt=$4 copts popts
	cp "$model" "$dir/notify.pml"
	# shellcheck disable=SC2086 # $defs is a list of -D options
	if ! (cd "$dir" && spin -a $defs notify.pml >spin.log 2>&1); then
		echo "spin -a $defs failed:" >"$dir/fail"
		cat "$dir/spin.log" >>"$dir/fail"
		return
	fi
	case "$expect" in
	ok) # exhaustive depth-first search of the safety properties
		copts="$opt -DSAFETY"
		popts="-m20000 -w22"
		;;
	finite) # any cycle is a non-progress cycle: there must be none
		copts="$opt -DNP"
		popts="-l -m20000 -w22"
		;;
	*) # breadth-first: the shortest counterexample, the easiest to read
		copts="$opt -DSAFETY -DBFS"
		popts="-m20000 -w20"
		;;
	esac
	# shellcheck disable=SC2086
	if ! (cd "$dir" && "$cc" $copts -w -o pan pan.c >cc.log 2>&1); then
		echo "compiling pan failed:" >"$dir/fail"
		cat "$dir/cc.log" >>"$dir/fail"
		return
	fi
	# shellcheck disable=SC2086
	(cd "$dir" && ./pan $popts >pan.out 2>&1)
}

jobs_max=$(nproc 2>/dev/null || echo 2)
[ "$jobs_max" -gt 4 ] && jobs_max=4
start_all=$(date +%s.%N)
for c in "${configs[@]}"; do
	IFS='|' read -r name defs expect opt <<<"$c"
	mkdir -p "$tmp/$name"
	while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do
		wait -n
	done
	run_one "$tmp/$name" "$defs" "$expect" "$opt" &
done
wait

failed=0
trails_shown=0
printf '%-30s %-7s %-8s %10s %12s %6s %8s\n' configuration expect result \
	states transitions depth seconds
for c in "${configs[@]}"; do
	IFS='|' read -r name defs expect opt <<<"$c"
	dir="$tmp/$name"
	if [ -e "$dir/fail" ]; then
		printf '%-30s %-7s %-8s\n' "$name" "$expect" FAIL
		sed 's/^/  /' "$dir/fail"
		failed=1
		continue
	fi
	out="$dir/pan.out"
	errors=$(sed -n 's/.*errors: \([0-9][0-9]*\).*/\1/p' "$out" | head -n1)
	states=$(awk '/states, stored/ { print $1; exit }' "$out")
	trans=$(awk '/ transitions \(= / { print $1; exit }' "$out")
	depth=$(sed -n 's/.*depth reached \([0-9][0-9]*\).*/\1/p' "$out" | head -n1)
	secs=$(sed -n 's/^pan: elapsed time \([0-9.e+-]*\) seconds.*/\1/p' "$out" | head -n1)
	result=FAIL
	if [ -z "$errors" ]; then
		result="FAIL(no result)"
	elif [ "$expect" = ok ] || [ "$expect" = finite ]; then
		# Also refuse a search that was cut short (depth or memory).
		if [ "$errors" -eq 0 ] && ! grep -q -e 'max search depth too small' \
			-e 'out of memory' -e 'search not completed' "$out"; then
			result=PASS
		fi
	elif [ "$errors" -gt 0 ] && grep -q 'assertion violated' "$out"; then
		result=PASS
	fi
	printf '%-30s %-7s %-8s %10s %12s %6s %8s\n' "$name" "$expect" \
		"$result" "${states:-?}" "${trans:-?}" "${depth:-?}" "${secs:-?}"
	if [ "$result" != PASS ]; then
		failed=1
		echo "--- pan output for $name ($defs):"
		sed 's/^/  /' "$out"
	fi
	if [ "$expect" = fence ] && [ "$result" = PASS ] &&
		{ [ "$trails_shown" -eq 0 ] || [ "$verbose" -eq 1 ]; }; then
		trails_shown=$((trails_shown + 1))
		echo "--- counterexample for $name (spin -t, shortest trail; stores"
		echo "    enter a store buffer and reach memory later, as on x86):"
		# shellcheck disable=SC2086
		(cd "$dir" && spin -T -t $defs notify.pml 2>&1) |
			sed -n 's/^ *MSC: /    /p'
		grep 'assertion violated' "$out" | head -n1 | sed 's/^/    /'
		echo "---"
	fi
done

end_all=$(date +%s.%N)
total=$(awk -v a="$start_all" -v b="$end_all" 'BEGIN { printf "%.1f", b - a }')
if [ "$failed" -ne 0 ]; then
	echo "model check FAILED ($mode, ${total}s)"
	exit 1
fi
echo "model check passed ($mode, ${#configs[@]} configurations, ${total}s)"
exit 0
