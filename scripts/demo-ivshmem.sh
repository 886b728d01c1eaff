#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Host <-> guest messaging over QEMU's ivshmem, in one command: installs what
# is missing (QEMU, the Debian cloud kernel, busybox; scripts/lib/setup.sh),
# builds libvring in ./build, starts vring-ivshmem-server, a host process
# (vr-ivshmem-host, the channel's driver) and a Linux guest under QEMU/TCG
# whose initramfs runs vr-ivshmem-guest (the device). Both sides send
# --count messages, check every byte, and print what they saw and the rates;
# the guest takes its doorbells as MSI-X interrupts through VFIO (emulated
# intel-iommu) and rings the host through the ivshmem Doorbell register.
#
#   scripts/demo-ivshmem.sh [--format split|packed] [--count N] [--plain]
#
#   --plain   ivshmem-plain instead: no server, no doorbells, both poll
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/setup.sh
source scripts/lib/setup.sh
# shellcheck source=lib/qemu_guest.sh
source scripts/lib/qemu_guest.sh

format=split
count=20000
plain=0
while [ $# -gt 0 ]; do
  case $1 in
    --format) format=$2; shift 2 ;;
    --count) count=$2; shift 2 ;;
    --plain) plain=1; shift ;;
    -h|--help) sed -n '3,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
case $format in split|packed) ;; *) echo "--format split|packed" >&2; exit 2 ;; esac
case $count in ''|*[!0-9]*) echo "--count takes a number of messages" >&2; exit 2 ;; esac

vr_install_deps
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >build.configure.log 2>&1 ||
  { cat build.configure.log; exit 1; }
dir=$(mktemp -d "${TMPDIR:-/tmp}/vring-ivshmem-demo.XXXXXX")
vr_log "building vr-ivshmem-guest (static), vr-ivshmem-host and vring-ivshmem-server"
cmake --build build -j "$(vr_jobs)" --target vr-ivshmem-guest vr-ivshmem-host vring-ivshmem-server \
  >"$dir/build.log" 2>&1 || { tail -n 30 "$dir/build.log"; rm -rf "$dir"; exit 1; }
bin=build/tests/qemu/ivshmem
server=build/transports/vring-ivshmem-server
pids=()
shm_name=""
cleanup() {
  local p
  [ -f "$dir/qemu.pid" ] && kill "$(cat "$dir/qemu.pid")" 2>/dev/null
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  [ -n "$shm_name" ] && rm -f "/dev/shm/$shm_name"
  rm -rf "$dir"
}
trap cleanup EXIT

kernel=$(vr_qemu_kernel)
vr_log "guest: $(basename "$kernel") with a busybox initramfs running vr-ivshmem-guest"
vr_qemu_initramfs "$dir/initrd.gz" -m "vfio-pci vfio_iommu_type1" "$bin/vr-ivshmem-guest"

if [ "$plain" -eq 1 ]; then
  shm_name="vring-demo-$$"
  vr_log "host: $bin/vr-ivshmem-host --plain /$shm_name --role driver --count $count"
  "$bin/vr-ivshmem-host" --plain "/$shm_name" --role driver --count "$count" --size 1048576 \
    --format "$format" --liveness-ms 5000 >"$dir/host.log" 2>&1 &
  pids+=($!)
  host_job=$!
  until grep -q '^VR-HOST\|^VR-FAIL' "$dir/host.log" 2>/dev/null; do
    kill -0 "$host_job" 2>/dev/null || { cat "$dir/host.log"; exit 1; }
    sleep 0.1
  done
  dev=(-object "memory-backend-file,id=hostmem,mem-path=/dev/shm/$shm_name,size=1M,share=on"
       -device ivshmem-plain,memdev=hostmem)
  gargs="--role device --count $count --liveness-ms 5000"
else
  sock=$dir/ivshmem.sock
  vr_log "server: $server -S $sock -l 1M -n 2 -r $format -q 256 -c 256 -v"
  "$server" -S "$sock" -l 1M -n 2 -r "$format" -q 256 -c 256 -v 2>"$dir/server.log" &
  pids+=($!)
  until [ -S "$sock" ]; do
    kill -0 "${pids[0]}" 2>/dev/null || { cat "$dir/server.log"; exit 1; }
    sleep 0.1
  done
  vr_log "host: $bin/vr-ivshmem-host --socket $sock --role driver --count $count"
  "$bin/vr-ivshmem-host" --socket "$sock" --role driver --count "$count" \
    --id-file "$dir/host.id" --liveness-ms 5000 >"$dir/host.log" 2>&1 &
  pids+=($!)
  host_job=$!
  until [ -s "$dir/host.id" ]; do
    kill -0 "$host_job" 2>/dev/null || { cat "$dir/host.log"; exit 1; }
    sleep 0.1
  done
  dev=(-chardev "socket,path=$sock,id=ivsh" -device ivshmem-doorbell,chardev=ivsh,vectors=2)
  gargs="--role device --peer $(cat "$dir/host.id") --count $count --require-irq --liveness-ms 5000"
fi

qemu=(-M q35 -cpu max -smp 2 -m 256 -pidfile "$dir/qemu.pid" -device intel-iommu,intremap=on
      "${dev[@]}" -kernel "$kernel" -initrd "$dir/initrd.gz"
      -append "$VR_QEMU_APPEND intel_iommu=on -- $gargs")
vr_log "guest: qemu-system-x86_64 -accel tcg -nodefaults -display none -no-reboot -serial file:console.log ${qemu[*]:0:$((${#qemu[@]} - 1))} \"${qemu[-1]}\""
vr_qemu_run 300 "$dir/console.log" -- "${qemu[@]}" >"$dir/qemu.out" 2>&1 || true
wait "$host_job" || true

echo
echo "== the host process saw =="
grep -a '^VR-' "$dir/host.log" || cat "$dir/host.log"
echo
echo "== the guest program saw (serial console) =="
tr -d '\r' <"$dir/console.log" | grep -a '^VR-' || tail -n 20 "$dir/console.log"
if [ "$plain" -eq 0 ]; then
  echo
  echo "== the server saw =="
  cat "$dir/server.log"
fi
echo
ok=1
for f in "$dir/host.log" "$dir/console.log"; do
  tr -d '\r' <"$f" | grep -q '^VR-RESULT.* ok$' || ok=0
done
rate() { tr -d '\r' <"$1" | sed -n "s/^VR-RESULT.* $2=\([^ ]*\).*/\1/p"; }
printf '%-6s %14s %14s %18s\n' side "received/s" "sent/s" "doorbells/message"
printf '%-6s %14s %14s %18s\n' host "$(rate "$dir/host.log" rx_per_s)" "$(rate "$dir/host.log" tx_per_s)" \
  "$(rate "$dir/host.log" doorbells_per_msg)"
printf '%-6s %14s %14s %18s\n' guest "$(rate "$dir/console.log" rx_per_s)" \
  "$(rate "$dir/console.log" tx_per_s)" "$(rate "$dir/console.log" doorbells_per_msg)"
echo "(messages per second of wall clock over the whole exchange, each side's own count;"
echo " doorbells/message: doorbells that side rang per message it sent or received)"
if [ "$ok" -eq 1 ]; then
  echo "demo ok: $count messages each way, every byte checked on both sides"
else
  echo "demo FAILED"
  exit 1
fi
