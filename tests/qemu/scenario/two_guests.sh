#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The AAOS <-> RTOS scenario with two real guests at once, as users run it:
#   AAOS: qemu-system-x86_64 (TCG), the Debian cloud kernel and a busybox
#         initramfs; Linux's own virtio_console driver serves the port
#         -device virtio-serial-pci -chardev socket,id=c0,path=SOCK,server=on,wait=off
#         -device virtconsole,chardev=c0,name=my-ipc-port
#   RTOS: qemu-system-aarch64 -M virt, the bare-metal image examples/rtos_vm
#         with libvring as its virtio-pci driver
#         -device virtio-serial-pci -chardev socket,id=c1,path=SOCK
#         -device virtconsole,chardev=c1,name=my-ipc-port
# The two consoles are joined by the one socket. In the AAOS guest,
# examples/aaos_vm/init.sh names the port /dev/virtio-ports/my-ipc-port,
# runs `echo START_ADAS_PROCESSING > /dev/virtio-ports/my-ipc-port`, then
# aaos_app (SET_SENSOR_GAIN_HIGH, typed commands, garbage, and with
# --restart the RTOS killed and restarted under it). Prints what each side
# saw; exits 0 when every check of both passed.
#
# Usage: two_guests.sh SOURCE_DIR BUILD_DIR WORK_DIR [--commands N] [--restart] [--packed]
set -uo pipefail
src=$(cd "${1:?source dir}" && pwd)
build=$(cd "${2:?build dir}" && pwd)
work=${3:?work dir}
shift 3
commands=1000 restart=0 packed=0
while [ $# -gt 0 ]; do
  case $1 in
    --commands) commands=$2; shift 2 ;;
    --restart) restart=1; shift ;;
    --packed) packed=1; shift ;;
    *) echo "two_guests.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
# shellcheck source=../../../scripts/lib/qemu_guest.sh
source "$src/scripts/lib/qemu_guest.sh"
rtos_img=$build/examples/rtos_vm/rtos_vm.elf
app=$build/examples/aaos_vm/aaos_app
for f in "$rtos_img" "$app"; do
  [ -e "$f" ] || { echo "FAIL: $f is missing (build the rtos_vm and aaos_app targets)"; exit 1; }
done
rm -rf "$work" && mkdir -p "$work"
sock=$work/ipc.sock
aaos_log=$work/aaos.log
rtos_log=$work/rtos.log
aaos_pid= rtos_pid=
cleanup() {
  [ -n "$rtos_pid" ] && kill -9 "$rtos_pid" 2>/dev/null
  [ -n "$aaos_pid" ] && kill -9 "$aaos_pid" 2>/dev/null
  wait 2>/dev/null
}
trap cleanup EXIT

echo "== building the AAOS initramfs (busybox, aaos_app, virtio_pci + virtio_console modules)"
vr_qemu_initramfs "$work/aaos.cpio.gz" -m "virtio_pci virtio_console" \
  "$src/examples/aaos_vm/init.sh" "$app" || { echo "FAIL: initramfs"; exit 1; }
kernel=$(vr_qemu_kernel) || exit 1

args="--commands $commands --power-off-rtos"
[ "$restart" -eq 1 ] && args="$args --restart-phase"
dev=virtio-serial-pci
[ "$packed" -eq 1 ] && dev=virtio-serial-pci,packed=on

start_rtos() {
  qemu-system-aarch64 -M virt -cpu cortex-a57 -m 128 -accel tcg -nographic -nodefaults \
    -monitor none -serial "file:$rtos_log.$1" -kernel "$rtos_img" \
    -device "$dev" -chardev "socket,id=c1,path=$sock" \
    -device virtconsole,chardev=c1,name=my-ipc-port </dev/null >"$work/rtos-qemu.$1.log" 2>&1 &
  rtos_pid=$!
}

echo "== AAOS guest: qemu-system-x86_64 (TCG), $(basename "$kernel"), $dev + virtconsole my-ipc-port (chardev server)"
t0=$(date +%s%N)
vr_qemu_run 240 "$aaos_log" -- -M q35 -cpu max -smp 1 -m 512 -kernel "$kernel" \
  -initrd "$work/aaos.cpio.gz" -append "$VR_QEMU_APPEND -- $args" \
  -device "$dev" -chardev "socket,id=c0,path=$sock,server=on,wait=off" \
  -device virtconsole,chardev=c0,name=my-ipc-port &
aaos_pid=$!
for _ in $(seq 1 200); do [ -S "$sock" ] && break; sleep 0.05; done
[ -S "$sock" ] || { echo "FAIL: the AAOS guest's chardev socket never appeared"; exit 1; }
echo "== RTOS guest: qemu-system-aarch64 -M virt, rtos_vm.elf, $dev + virtconsole my-ipc-port (chardev client)"
start_rtos 1

restarted=0
while kill -0 "$aaos_pid" 2>/dev/null; do
  if [ "$restart" -eq 1 ] && [ "$restarted" -eq 0 ] && grep -q "AAOS: RTOS-RESTART-NOW" "$aaos_log" 2>/dev/null; then
    sleep 2
    echo "== kill -9 of the RTOS guest; restarting it in 3 s"
    kill -9 "$rtos_pid" 2>/dev/null
    wait "$rtos_pid" 2>/dev/null
    sleep 3
    start_rtos 2
    restarted=1
  fi
  sleep 0.2
done
wait "$aaos_pid"
aaos_rc=$?
aaos_pid=
t1=$(date +%s%N)
# The RTOS powers off after POWER_OFF.
for _ in $(seq 1 100); do kill -0 "$rtos_pid" 2>/dev/null || break; sleep 0.1; done
rtos_alive=0
kill -0 "$rtos_pid" 2>/dev/null && rtos_alive=1

echo "== what the AAOS guest saw (its console)"
grep -E "^(AAOS|   |FAIL|VR-GUEST)" "$aaos_log" | sed 's/^/   aaos | /'
for f in "$rtos_log".*; do
  echo "== what the RTOS guest saw ($(basename "$f"))"
  sed 's/^/   rtos | /' "$f"
done
printf '== both guests: %.1f s wall from the AAOS start to its power-off (TCG)\n' \
  "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print (b - a) / 1e9 }')"

fails=0
status=$(vr_qemu_guest_status "$aaos_log")
[ "$aaos_rc" -eq 0 ] || { echo "FAIL: the AAOS QEMU exited with status $aaos_rc"; fails=$((fails + 1)); }
[ "$status" = 0 ] || { echo "FAIL: the AAOS guest program exited with $status"; fails=$((fails + 1)); }
grep -q '^AAOS: ok' "$aaos_log" || { echo "FAIL: the AAOS checks did not pass"; fails=$((fails + 1)); }
grep -q 'my-ipc-port -> "OK START_ADAS_PROCESSING"' "$aaos_log" ||
  { echo "FAIL: the seed's shell line got no OK"; fails=$((fails + 1)); }
last=$(ls "$rtos_log".* | tail -n 1)
grep -q '^rtos: power off' "$last" || { echo "FAIL: the RTOS did not power off after POWER_OFF"; fails=$((fails + 1)); }
[ "$rtos_alive" -eq 0 ] || { echo "FAIL: the RTOS QEMU is still running"; fails=$((fails + 1)); }
if [ "$restart" -eq 1 ] && [ "$restarted" -ne 1 ]; then
  echo "FAIL: the restart phase never began"; fails=$((fails + 1))
fi
if [ "$fails" -ne 0 ]; then
  echo "two_guests: $fails check(s) failed"
  exit 1
fi
echo "two_guests: every check passed"
