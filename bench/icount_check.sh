#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# ctest bench-icount: vring_icount's measured region holds the message loop
# and nothing else. Each body runs N and 2N messages under callgrind: the
# second count must be twice the first (set-up and tear-down, outside the
# region, would break the ratio), and a message must cost a plausible number
# of instructions. BM_harness_vring_local (the harness alone, on the null
# ring) is held to the same.
#   icount_check.sh VRING_ICOUNT
set -euo pipefail
bin=$1
n=8192
count() {
  local out
  out=$(valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file=/dev/null \
    "$bin" "$1" "$2" 2>&1) || { echo "$out" >&2; return 1; }
  sed -n 's/.*Collected : \([0-9]*\).*/\1/p' <<<"$out" | tail -n1
}
rc=0
for name in BM_split_local/32 BM_packed_local/8 BM_harness_vring_local/32; do
  a=$(count "$name" "$n")
  b=$(count "$name" $((2 * n)))
  if [ -z "$a" ] || [ -z "$b" ]; then
    echo "FAIL $name: no callgrind count"
    rc=1
    continue
  fi
  verdict=$(awk -v a="$a" -v b="$b" -v n="$n" 'BEGIN {
    r = b / (2 * a); ipm = a / n
    if (r < 0.995 || r > 1.005) { printf "FAIL ratio %.4f (2N/2xN)", r; exit }
    if (ipm < 20 || ipm > 5000) { printf "FAIL %.1f instructions/message", ipm; exit }
    printf "ok %.1f instructions/message, ratio %.4f", ipm, r }')
  echo "$name: $verdict"
  case "$verdict" in ok*) ;; *) rc=1 ;; esac
done
exit "$rc"
