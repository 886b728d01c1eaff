#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# ctest bench-icount: vring_icount's measured region holds the message loop
# and nothing else. Each body runs N and 2N messages under callgrind: the
# second count must be twice the first (set-up and tear-down, outside the
# region, would break the ratio), and a message must cost a plausible number
# of instructions. BM_harness_vring_local (the harness alone, on the null
# ring) is held to the same, and so is one role-split figure (vring_icount
# --roles: the driver's steps alone and the device's steps alone), whose
# two roles must moreover add up to at least the whole body's count and
# exceed it by no more than the two collection switches per batch can
# cost.
#   icount_check.sh VRING_ICOUNT
set -euo pipefail
bin=$1
n=8192
# count [--roles ROLE] NAME MESSAGES: callgrind's Collected total.
count() {
  local out
  out=$(valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file=/dev/null \
    "$bin" "$@" 2>&1) || { echo "$out" >&2; return 1; }
  sed -n 's/.*Collected : \([0-9]*\).*/\1/p' <<<"$out" | tail -n1
}
rc=0
# linear LABEL ARGS...: N and 2N messages of "vring_icount ARGS... N";
# returns 1 when the check fails, else sets last to the count of N.
linear() {
  local label=$1 a b verdict
  shift
  a=$(count "$@" "$n") || a=
  b=$(count "$@" $((2 * n))) || b=
  if [ -z "$a" ] || [ -z "$b" ]; then
    echo "FAIL $label: no callgrind count"
    rc=1
    return 1
  fi
  verdict=$(awk -v a="$a" -v b="$b" -v n="$n" 'BEGIN {
    r = b / (2 * a); ipm = a / n
    if (r < 0.995 || r > 1.005) { printf "FAIL ratio %.4f (2N/2xN)", r; exit }
    if (ipm < 20 || ipm > 5000) { printf "FAIL %.1f instructions/message", ipm; exit }
    printf "ok %.1f instructions/message, ratio %.4f", ipm, r }')
  echo "$label: $verdict"
  case "$verdict" in ok*) ;; *) rc=1; return 1 ;; esac
  last=$a
}
for name in BM_split_local/32 BM_packed_local/8 BM_harness_vring_local/32; do
  linear "$name" "$name" || true
done
# One role-split figure: each role linear on its own, and the two together
# the whole body plus the switches (2 per batch of 8, each a few dozen
# instructions at most).
role_name=BM_packed_inorder_local/8
whole='' drv='' dev=''
linear "$role_name" "$role_name" && whole=$last
linear "$role_name driver" --roles driver "$role_name" && drv=$last
linear "$role_name device" --roles device "$role_name" && dev=$last
if [ -n "$whole" ] && [ -n "$drv" ] && [ -n "$dev" ]; then
  verdict=$(awk -v w="$whole" -v d="$drv" -v v="$dev" -v n="$n" 'BEGIN {
    over = (d + v - w) / (n / 8)
    if (d + v < w || over > 100) { printf "FAIL driver + device - whole = %.1f per batch", over; exit }
    if (d < 20 * n || v < 20 * n) { printf "FAIL a role counted almost nothing"; exit }
    printf "ok driver %.1f + device %.1f = whole %.1f + %.1f per batch", d / n, v / n, w / n, over }')
  echo "$role_name roles: $verdict"
  case "$verdict" in ok*) ;; *) rc=1 ;; esac
else
  rc=1
fi
exit "$rc"
