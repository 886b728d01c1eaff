#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# ivshmem end-to-end scenarios: vring-ivshmem-server, the host peer
# (vr-ivshmem-host) and Linux guests running vr-ivshmem-guest from a busybox
# initramfs, booted with the Debian cloud kernel under QEMU/TCG.
#
# usage: run.sh SCENARIO GUEST-PROG HOST-PROG SERVER WORKDIR
#   host-guest-split   host driver <-> guest device, split rings, doorbells +
#                      VFIO interrupts, VR_IVSHMEM_E2E_COUNT messages each way
#                      (default 100000)
#   host-guest-packed  guest driver <-> host device, packed rings, the same
#   guest-guest        two guests on one server: driver and device
#   kill-guest         the guest (device) QEMU is killed -9 mid-stream; the
#                      host reports the dead peer, resets, a new guest resumes
#                      at the oldest unacknowledged message
#   kill-host          the host (device) is killed -9 mid-stream; the guest
#                      driver reports the dead peer, resets, a restarted host
#                      resumes at the oldest unacknowledged message
#   kill-host-driver   the host as driver is killed -9 and restarted: a new
#                      session on the region the server kept; the guest
#                      device follows it from seq 0
#   no-iommu           a guest without an IOMMU: --require-irq is refused
#                      (VR_EDEVICE); without it the guest says it polls, and
#                      works, ringing the host through the Doorbell register
#   plain              ivshmem-plain: host <-> guest by polling
#   bad-input          a BAR smaller than the region and an inconsistent
#                      region header: the guest refuses each with its code
# Every step prints a progress line; every failure names what it saw. The
# guests' consoles and the host's output stay in WORKDIR.
set -u
scenario=$1 guest_prog=$2 host_prog=$3 server_prog=$4 work=$5
src=$(cd "$(dirname "$0")/../../.." && pwd)
# shellcheck source=../../../scripts/lib/qemu_guest.sh
. "$src/scripts/lib/qemu_guest.sh"

COUNT=${VR_IVSHMEM_E2E_COUNT:-100000}
# Liveness timeout of an end watching a native host process (the guest
# driver in kill-host: that is the detection the test measures) ...
LIVENESS_MS=1000
# ... and of an end watching an emulated guest, or anything on a loaded
# machine where a false death would fail the test: generous.
SLOW_MS=5000
# A dead peer must be reported within the documented bound (liveness
# timeout + a quarter of it, the waiter's slice, + a heartbeat period of
# 10 ms; through the server's announcement far sooner), measured from the
# peer's last progress, plus this slack for an emulated guest on a loaded
# machine.
DEAD_SLACK_MS=${VR_IVSHMEM_DEAD_SLACK_MS:-2000}
doc_bound() { echo $(($1 + $1 / 4 + 10)); }
pids=()
status=0

say() { printf '[ivshmem %s %3ds] %s\n' "$scenario" "$SECONDS" "$*"; }
fail() { say "FAIL: $*"; status=1; }

cleanup() {
  local p f
  for f in "$work"/*.qemupid; do
    [ -f "$f" ] && p=$(cat "$f" 2>/dev/null) && [ -n "$p" ] && kill -9 "$p" 2>/dev/null
  done
  for p in "${pids[@]}"; do
    kill "$p" 2>/dev/null
  done
  wait 2>/dev/null
  [ -n "${plain_name:-}" ] && rm -f "/dev/shm/$plain_name"
}
trap cleanup EXIT

rm -rf "$work"
mkdir -p "$work"
kernel=$(vr_qemu_kernel) || { echo "FAIL: no guest kernel"; exit 1; }
for p in "$guest_prog" "$host_prog" "$server_prog"; do
  [ -x "$p" ] || { echo "FAIL: $p missing (build first)"; exit 1; }
done
say "building the initramfs ($(basename "$kernel"), vr-ivshmem-guest, vfio modules)"
vr_qemu_initramfs "$work/initrd.gz" -m "vfio-pci vfio_iommu_type1" "$guest_prog" ||
  { echo "FAIL: initramfs"; exit 1; }

sock=$work/ivshmem.sock

start_server() { # REGION-FORMAT
  "$server_prog" -S "$sock" -l 1M -n 2 -p 4 -r "$1" -q 256 -c 256 -v 2>"$work/server.log" &
  pids+=($!)
  local i
  for i in $(seq 100); do
    [ -S "$sock" ] && return 0
    sleep 0.1
  done
  fail "the server did not listen: $(cat "$work/server.log")"
  return 1
}

# boot NAME SECONDS DEVICE-ARGS -- GUEST-ARGS: QEMU in the background; its
# pid in NAME.qemupid, its console in NAME.log.
boot() {
  local name=$1 secs=$2 dev
  shift 2
  dev=()
  while [ "$1" != "--" ]; do dev+=("$1"); shift; done
  shift
  rm -f "$work/$name.qemupid"
  # NO_IOMMU=1: a guest without an IOMMU (no VFIO interrupts possible).
  local iommu=(-device intel-iommu,intremap=on) kiommu=intel_iommu=on
  if [ "${NO_IOMMU:-0}" = 1 ]; then iommu=(); kiommu=""; fi
  vr_qemu_run "$secs" "$work/$name.log" -- -M q35 -cpu max -smp 2 -m 256 \
    -pidfile "$work/$name.qemupid" "${iommu[@]}" "${dev[@]}" \
    -kernel "$kernel" -initrd "$work/initrd.gz" \
    -append "$VR_QEMU_APPEND $kiommu -- $*" \
    >"$work/$name.qemu.out" 2>&1 &
  eval "qemu_job_$name=$!"
  say "booted guest $name: $*"
}

doorbell_dev() { echo "-chardev socket,path=$sock,id=ivsh -device ivshmem-doorbell,chardev=ivsh,vectors=2"; }

# wait_job PID: its exit status.
wait_job() { wait "$1"; }

# wait_guest NAME: until its QEMU has exited (at most 240 s).
wait_guest() {
  local i p
  wait "$(eval echo "\$qemu_job_$1")" 2>/dev/null
  p=$(cat "$work/$1.qemupid" 2>/dev/null)
  for i in $(seq 2400); do
    [ -n "$p" ] && kill -0 "$p" 2>/dev/null || return 0
    sleep 0.1
  done
}

# until_line FILE REGEX SECONDS: wait for a line to appear.
until_line() {
  local i
  for i in $(seq $(($3 * 10))); do
    grep -qE "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# The results line of a log.
# (A guest console ends its lines with CR LF.)
lines() { tr -d '\r' <"$1" 2>/dev/null; }
result() { lines "$1" | grep -a '^VR-RESULT' | tail -n 1; }
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

check_result() { # NAME FILE [require-vfio]
  local r
  r=$(result "$2")
  if [ -z "$r" ]; then
    fail "$1: no VR-RESULT line; last lines:"
    tail -n 15 "$2" | sed 's/^/    /'
    return 1
  fi
  say "$1: $r"
  case $r in
    *" ok") ;;
    *) fail "$1 reports failure"; lines "$2" | grep -a '^VR-FAIL' | head -n 5 | sed 's/^/    /'; return 1 ;;
  esac
  if [ "${3:-}" = vfio ]; then
    case $r in
      *irq=vfio*) ;;
      *) fail "$1: the doorbells did not arrive as VFIO interrupts"; return 1 ;;
    esac
  fi
  return 0
}

host_guest() { # FORMAT HOST-ROLE GUEST-ROLE
  local fmt=$1 hrole=$2 grole=$3 hid
  start_server "$fmt" || return
  "$host_prog" --socket "$sock" --role "$hrole" --count "$COUNT" --id-file "$work/host.id" \
    --liveness-ms "$SLOW_MS" --progress 20000 --timeout-s 200 >"$work/host.log" 2>&1 &
  local hjob=$!
  pids+=($hjob)
  until_line "$work/host.log" '^VR-HOST' 30 || { fail "host did not connect: $(cat "$work/host.log")"; return; }
  hid=$(cat "$work/host.id")
  say "host peer id $hid ($hrole); booting the guest ($grole)"
  # shellcheck disable=SC2046
  boot g1 220 $(doorbell_dev) -- --role "$grole" --peer "$hid" --count "$COUNT" \
    --liveness-ms "$SLOW_MS" --require-irq --progress 20000 --timeout-s 200
  wait_job "$hjob"
  local hrc=$?
  wait_guest g1
  say "host exited $hrc, guest program exited $(vr_qemu_guest_status "$work/g1.log")"
  grep -a '^VR-GUEST' "$work/g1.log" | sed 's/^/    /'
  check_result host "$work/host.log"
  check_result guest "$work/g1.log" vfio
  [ "$(vr_qemu_guest_status "$work/g1.log")" = 0 ] || fail "guest program failed"
  [ "$hrc" = 0 ] || fail "host program failed"
  local r
  r=$(result "$work/g1.log")
  say "guest: $(field "$r" rx_per_s) msg/s received, $(field "$r" tx_per_s) msg/s sent, $(field "$r" doorbells_per_msg) doorbells/message, interrupts $(field "$r" irqs)"
  r=$(result "$work/host.log")
  say "host:  $(field "$r" rx_per_s) msg/s received, $(field "$r" tx_per_s) msg/s sent, $(field "$r" doorbells_per_msg) doorbells/message"
}

guest_guest() {
  local n=${VR_IVSHMEM_GG_COUNT:-100000}
  start_server split || return
  # shellcheck disable=SC2046
  boot ga 220 $(doorbell_dev) -- --role driver --peer 1 --count "$n" --require-irq --liveness-ms "$SLOW_MS" \
    --progress 5000 --timeout-s 200
  until_line "$work/server.log" 'peer 0 joined' 30 || { fail "guest A did not join"; return; }
  # shellcheck disable=SC2046
  boot gb 220 $(doorbell_dev) -- --role device --peer 0 --count "$n" --require-irq --liveness-ms "$SLOW_MS" \
    --progress 5000 --timeout-s 200
  until_line "$work/server.log" 'peer 1 joined' 30 || { fail "guest B did not join"; return; }
  wait_guest ga
  wait_guest gb
  grep -a '^VR-GUEST' "$work/ga.log" "$work/gb.log" | sed 's/^/    /'
  check_result "guest A (driver)" "$work/ga.log" vfio
  check_result "guest B (device)" "$work/gb.log" vfio
  [ "$(vr_qemu_guest_status "$work/ga.log")" = 0 ] || fail "guest A failed"
  [ "$(vr_qemu_guest_status "$work/gb.log")" = 0 ] || fail "guest B failed"
}

# The after_ms of the VR-PEERDEAD line of FILE, checked against the bound.
check_dead() { # NAME FILE LIVENESS-MS-OF-THAT-END
  local line ms doc
  doc=$(doc_bound "$3")
  line=$(lines "$2" | grep -a '^VR-PEERDEAD' | head -n 1)
  if [ -z "$line" ]; then
    fail "$1 never reported the dead peer"
    return 1
  fi
  ms=$(sed -n 's/.*after_ms=\([0-9]*\).*/\1/p' <<<"$line")
  say "$1: $line"
  if [ -z "$ms" ] || [ "$ms" -gt $((doc + DEAD_SLACK_MS)) ]; then
    fail "$1 took ${ms:-?} ms to report the dead peer (documented bound $doc ms, + $DEAD_SLACK_MS ms slack)"
    return 1
  fi
  say "$1 reported VR_EPEERDEAD $ms ms after the peer's last progress (documented bound $doc ms)"
}

kill_guest() {
  local n=${VR_IVSHMEM_KILL_COUNT:-200000} hid acked first rx
  start_server split || return
  "$host_prog" --socket "$sock" --role driver --tx "$n" --rx 0 --deaths 1 --id-file "$work/host.id" \
    --liveness-ms "$SLOW_MS" --timeout-s 200 >"$work/host.log" 2>&1 &
  local hjob=$!
  pids+=($hjob)
  until_line "$work/host.log" '^VR-HOST' 30 || { fail "host did not connect"; return; }
  hid=$(cat "$work/host.id")
  # shellcheck disable=SC2046
  boot g1 220 $(doorbell_dev) -- --role device --peer "$hid" --rx "$n" --tx 0 \
    --liveness-ms "$SLOW_MS" --require-irq --progress 1000 --timeout-s 200
  until_line "$work/g1.log" "^VR-PROGRESS rx=$((n / 10 / 1000 * 1000 + 1000))([^0-9]|\$)" 120 ||
    { fail "guest 1 made no progress"; tail -n 5 "$work/g1.log"; return; }
  say "guest 1 has received $(grep -a '^VR-PROGRESS' "$work/g1.log" | tail -n 1 | cut -d' ' -f2); kill -9 of its QEMU"
  kill -9 "$(cat "$work/g1.qemupid")"
  wait_guest g1
  until_line "$work/host.log" '^VR-RESET' 30 || { fail "host did not reset"; tail -n 5 "$work/host.log"; return; }
  check_dead host "$work/host.log" "$SLOW_MS"
  # A QEMU that dies hangs up on the server, which announces it: the host
  # must have learnt it that way, not from the heartbeat.
  grep -q '^VR-PEERDEAD.*why="left the server"' "$work/host.log" ||
    fail "the host did not learn of the death from the server's announcement"
  acked=$(sed -n 's/^VR-RESET acked=\([0-9]*\).*/\1/p' "$work/host.log")
  say "host: $(grep -a '^VR-RESET' "$work/host.log"); booting guest 2"
  # shellcheck disable=SC2046
  boot g2 220 $(doorbell_dev) -- --role device --peer "$hid" --rx "$n" --tx 0 \
    --liveness-ms "$SLOW_MS" --require-irq --progress 5000 --timeout-s 200
  wait_job "$hjob"
  local hrc=$?
  wait_guest g2
  check_result host "$work/host.log"
  check_result "guest 2" "$work/g2.log" vfio
  [ "$hrc" = 0 ] || fail "host program failed"
  first=$(lines "$work/g2.log" | sed -n 's/^VR-SESSION first=\([0-9]*\).*/\1/p' | head -n 1)
  rx=$(field "$(result "$work/g2.log")" rx)
  # Guest 2 must start exactly at the oldest unacknowledged message: an
  # earlier start would deliver an acknowledged message twice, a later one
  # would lose an unacknowledged message that the host resubmitted. From
  # there it must have every message up to the last, once (the guest checks
  # no gap, no repeat, every byte).
  if [ "$first" != "$acked" ]; then
    fail "guest 2 started at seq ${first:-none}, the host had $acked acknowledged"
  elif [ "$rx" != "$((n - acked))" ]; then
    fail "guest 2 received $rx messages, expected $((n - acked))"
  else
    say "no acknowledged message lost or repeated: guest 1 took 0..$((acked - 1)) (acknowledged), guest 2 took $acked..$((n - 1)), each once"
  fi
}

kill_host() {
  # The host peer is the device here, so that the survivor (the guest
  # driver) holds the unacknowledged messages and must resume exactly.
  local n=${VR_IVSHMEM_KILL_COUNT:-200000} hid acked first rx
  start_server split || return
  "$host_prog" --socket "$sock" --role device --rx "$n" --tx 0 --id-file "$work/host.id" \
    --liveness-ms "$SLOW_MS" --progress 1000 --timeout-s 200 >"$work/host1.log" 2>&1 &
  local h1=$!
  pids+=($h1)
  until_line "$work/host1.log" '^VR-HOST' 30 || { fail "host 1 did not connect"; return; }
  hid=$(cat "$work/host.id")
  say "host 1 is server peer $hid (device)"
  # shellcheck disable=SC2046
  # --peer auto: the restarted host may get another id from the server.
  boot g1 220 $(doorbell_dev) -- --role driver --peer auto --tx "$n" --rx 0 --deaths 1 \
    --liveness-ms "$LIVENESS_MS" --require-irq --timeout-s 200
  until_line "$work/host1.log" "^VR-PROGRESS rx=$((n / 10 / 1000 * 1000 + 1000))([^0-9]|\$)" 120 ||
    { fail "host 1 made no progress"; tail -n 5 "$work/host1.log"; return; }
  say "host 1 has received $(grep -a '^VR-PROGRESS' "$work/host1.log" | tail -n 1 | cut -d' ' -f2); kill -9 of the host peer"
  kill -9 "$h1"
  wait "$h1" 2>/dev/null
  until_line "$work/g1.log" '^VR-RESET' 30 || { fail "the guest did not reset"; tail -n 5 "$work/g1.log"; return; }
  check_dead guest "$work/g1.log" "$LIVENESS_MS"
  acked=$(lines "$work/g1.log" | sed -n 's/^VR-RESET acked=\([0-9]*\).*/\1/p')
  say "guest: $(lines "$work/g1.log" | grep -a '^VR-RESET'); restarting the host peer"
  "$host_prog" --socket "$sock" --role device --rx "$n" --tx 0 --id-file "$work/host2.id" \
    --liveness-ms "$SLOW_MS" --progress 5000 --timeout-s 200 >"$work/host2.log" 2>&1 &
  local h2=$!
  pids+=($h2)
  wait_job "$h2"
  local hrc=$?
  wait_guest g1
  check_result "host 2" "$work/host2.log"
  check_result guest "$work/g1.log" vfio
  [ "$hrc" = 0 ] || fail "host 2 failed"
  first=$(sed -n 's/^VR-SESSION first=\([0-9]*\).*/\1/p' "$work/host2.log" | head -n 1)
  rx=$(field "$(result "$work/host2.log")" rx)
  if [ "$first" != "$acked" ]; then
    fail "host 2 started at seq ${first:-none}, the guest had $acked acknowledged"
  elif [ "$rx" != "$((n - acked))" ]; then
    fail "host 2 received $rx messages, expected $((n - acked))"
  else
    say "no acknowledged message lost or repeated: host 1 took 0..$((acked - 1)) (acknowledged), host 2 took $acked..$((n - 1)), each once"
  fi
}

kill_host_driver() {
  # The host peer is the driver: a restarted driver starts a new session on
  # the region the server kept; the guest device must follow it from seq 0.
  local n=${VR_IVSHMEM_KILL_COUNT:-200000} hid first
  start_server split || return
  "$host_prog" --socket "$sock" --role driver --tx "$n" --rx 0 --id-file "$work/host.id" \
    --liveness-ms "$SLOW_MS" --timeout-s 200 >"$work/host1.log" 2>&1 &
  local h1=$!
  pids+=($h1)
  until_line "$work/host1.log" '^VR-HOST' 30 || { fail "host 1 did not connect"; return; }
  hid=$(cat "$work/host.id")
  say "host 1 is server peer $hid (driver)"
  # shellcheck disable=SC2046
  boot g1 220 $(doorbell_dev) -- --role device --peer auto --rx "$n" --tx 0 --deaths 1 \
    --liveness-ms "$LIVENESS_MS" --require-irq --progress 1000 --timeout-s 200
  until_line "$work/g1.log" "^VR-PROGRESS rx=$((n / 10 / 1000 * 1000 + 1000))([^0-9]|\$)" 120 ||
    { fail "the guest made no progress"; return; }
  say "kill -9 of the host driver"
  kill -9 "$h1"
  wait "$h1" 2>/dev/null
  until_line "$work/g1.log" '^VR-PEERDEAD' 30 || { fail "the guest did not report the dead host"; return; }
  check_dead guest "$work/g1.log" "$LIVENESS_MS"
  "$host_prog" --socket "$sock" --role driver --tx "$n" --rx 0 --id-file "$work/host2.id" \
    --liveness-ms "$SLOW_MS" --timeout-s 200 >"$work/host2.log" 2>&1 &
  local h2=$!
  pids+=($h2)
  wait_job "$h2"
  local hrc=$?
  wait_guest g1
  check_result "host 2" "$work/host2.log"
  check_result guest "$work/g1.log" vfio
  [ "$hrc" = 0 ] || fail "host 2 failed"
  first=$(lines "$work/g1.log" | sed -n 's/^VR-SESSION first=\([0-9]*\).*/\1/p' | sed -n 2p)
  [ "$first" = 0 ] || fail "the guest's second session started at seq ${first:-none}, not 0"
}

no_iommu() {
  # Without an IOMMU there is no VFIO: the guest must say so, refuse under
  # --require-irq, and otherwise still work, ringing through the Doorbell
  # register and waiting by polling.
  local n=${VR_IVSHMEM_NOIOMMU_COUNT:-20000} hid r
  start_server split || return
  # shellcheck disable=SC2046
  NO_IOMMU=1 boot strict 60 $(doorbell_dev) -- --role device --peer 0 --require-irq \
    --expect-error VR_EDEVICE
  wait_guest strict
  lines "$work/strict.log" | grep -a '^VR-EXPECTED\|^VR-FAIL' | sed 's/^/    /'
  if [ "$(vr_qemu_guest_status "$work/strict.log")" = 0 ]; then
    say "--require-irq without an IOMMU: refused with VR_EDEVICE, as it must"
  else
    fail "--require-irq without an IOMMU was not refused with VR_EDEVICE"
  fi
  "$host_prog" --socket "$sock" --role driver --count "$n" --id-file "$work/host.id" \
    --liveness-ms "$SLOW_MS" --timeout-s 200 >"$work/host.log" 2>&1 &
  local hjob=$!
  pids+=($hjob)
  until_line "$work/host.log" '^VR-HOST' 30 || { fail "host did not connect"; return; }
  hid=$(cat "$work/host.id")
  # shellcheck disable=SC2046
  NO_IOMMU=1 boot g1 220 $(doorbell_dev) -- --role device --peer "$hid" --count "$n" \
    --liveness-ms "$SLOW_MS" --timeout-s 200
  wait_job "$hjob"
  local hrc=$?
  wait_guest g1
  lines "$work/g1.log" | grep -a '^VR-GUEST ' | sed 's/^/    /'
  check_result host "$work/host.log"
  check_result guest "$work/g1.log"
  [ "$hrc" = 0 ] || fail "host failed"
  r=$(lines "$work/g1.log" | grep -a '^VR-GUEST ')
  case $r in
    *irq=poll*"no IOMMU group"*) say "the guest fell back to polling and said why" ;;
    *) fail "the guest did not report its fall-back to polling: $r" ;;
  esac
  case $(result "$work/g1.log") in
    *rings=0*) fail "the guest never rang the Doorbell register" ;;
  esac
}

plain() {
  local n=${VR_IVSHMEM_PLAIN_COUNT:-20000}
  plain_name="vr-ivshmem-test-$$"
  "$host_prog" --plain "/$plain_name" --role driver --count "$n" --size 1048576 \
    --liveness-ms "$SLOW_MS" --timeout-s 200 >"$work/host.log" 2>&1 &
  local hjob=$!
  pids+=($hjob)
  until_line "$work/host.log" '^VR-HOST' 30 || { fail "host did not create the object: $(cat "$work/host.log")"; return; }
  boot g1 220 -object "memory-backend-file,id=hostmem,mem-path=/dev/shm/$plain_name,size=1M,share=on" \
    -device ivshmem-plain,memdev=hostmem -- --role device --count "$n" --progress 5000 \
    --liveness-ms "$SLOW_MS" --timeout-s 200
  wait_job "$hjob"
  local hrc=$?
  wait_guest g1
  grep -a '^VR-GUEST' "$work/g1.log" | sed 's/^/    /'
  check_result host "$work/host.log"
  check_result guest "$work/g1.log"
  case $(result "$work/g1.log") in
    *irq=none*) ;;
    *) fail "ivshmem-plain should poll (irq=none)" ;;
  esac
  [ "$hrc" = 0 ] || fail "host failed"
}

# A region header in a file QEMU maps with ivshmem-plain: little-endian
# fields written with printf.
le() { # VALUE BYTES
  local v=$1 n=$2 i out=""
  for ((i = 0; i < n; i++)); do
    out+=$(printf '\\x%02x' $(((v >> (8 * i)) & 255)))
  done
  printf '%b' "$out"
}

bad_one() { # NAME EXPECTED-CODE REGION-BYTES QUEUE-COUNT
  local f=$work/$1.mem
  {
    printf 'LIBVRING'
    le 1 2; le 4096 2; le "$4" 4; le "$3" 8
  } >"$f"
  truncate -s 1M "$f"
  boot "$1" 60 -object "memory-backend-file,id=hostmem,mem-path=$f,size=1M,share=on" \
    -device ivshmem-plain,memdev=hostmem -- --role device --expect-error "$2"
  wait_guest "$1"
  grep -a '^VR-EXPECTED\|^VR-FAIL' "$work/$1.log" | sed 's/^/    /'
  if [ "$(vr_qemu_guest_status "$work/$1.log")" = 0 ]; then
    say "$1: refused with $2, as it must"
  else
    fail "$1: expected $2"
  fi
}

bad_input() {
  # The header says 2 MiB, the BAR is 1 MiB.
  bad_one bar_too_small VR_ETRUNC 2097152 2
  # A header with no queues.
  bad_one no_queues VR_EREGION 65536 0
}

say "start"
case $scenario in
  host-guest-split) host_guest split driver device ;;
  host-guest-packed) host_guest packed device driver ;;
  guest-guest) guest_guest ;;
  kill-guest) kill_guest ;;
  kill-host) kill_host ;;
  kill-host-driver) kill_host_driver ;;
  no-iommu) no_iommu ;;
  plain) plain ;;
  bad-input) bad_input ;;
  *) echo "unknown scenario $scenario"; exit 2 ;;
esac
# A QEMU that crashed fails the scenario even when the messages made it.
# Known cause: QEMU 7.2's ivshmem frees a departed peer's eventfd array
# without forgetting it, so a server that gives the same id to a new peer
# makes QEMU write into freed memory and free it twice (glibc then aborts
# with "double free or corruption"); QEMU's own ivshmem-server never
# reuses an id for that reason.
for f in "$work"/*.qemu.out; do
  [ -f "$f" ] || continue
  if grep -qE 'Aborted|Segmentation|double free|corruption|malloc' "$f"; then
    fail "QEMU $(basename "$f" .qemu.out) crashed: $(grep -m1 -vE '^\s*$' "$f")"
    if grep -q 'joined' "$work/server.log" 2>/dev/null; then
      say "  server ids: $(grep -oE 'peer [0-9]+ (joined|left)' "$work/server.log" | tr '\n' ',' | sed 's/,$//')"
      say "  (an id that left and joined again while this QEMU was attached triggers QEMU 7.2's"
      say "   use-after-free in ivshmem: the server must not hand out a departed peer's id again)"
    fi
  fi
done
if [ "$status" = 0 ]; then
  say "PASS (${SECONDS}s)"
else
  say "FAILED (${SECONDS}s); logs in $work"
fi
exit "$status"
