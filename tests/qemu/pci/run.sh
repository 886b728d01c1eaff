#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# ctest qemu_pci_rng: build tests/qemu/pci/pci_rng.c for aarch64 bare metal
# (libvring's ring core, the virtio driver core and its virtio-pci bus) and
# boot it under qemu-system-aarch64 -M virt (TCG) with QEMU's own
# virtio-rng-pci, three ways:
#   split    the default device: split ring, EVENT_IDX, INTx interrupts
#   packed   packed=on: RING_PACKED must be negotiated
#   legacy   disable-modern=on: no virtio structures, a clear VR_ENODEV
# Usage: run.sh SOURCE_DIR WORK_DIR
set -uo pipefail
src=$(cd "${1:?source dir}" && pwd)
work=${2:?work dir}
CC=${CC_AARCH64:-aarch64-linux-gnu-gcc}
QEMU=${QEMU_AARCH64:-qemu-system-aarch64}
mkdir -p "$work"
ex=$src/examples/baremetal_virtio
flags=(-std=c11 -ffreestanding -nostdlib -O2 -mgeneral-regs-only -mstrict-align
       -mno-outline-atomics -fno-pie -fno-stack-protector -ffunction-sections
       -fdata-sections -fno-tree-loop-distribute-patterns
       -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla
       -I"$src/include" -I"$src/transports/virtio/include"
       -I"$src/transports/mmio/include" -I"$src/transports/pci/include"
       -I"$src/examples/rtos_vm")
echo "building pci_rng.elf"
"$CC" "${flags[@]}" -c "$ex/start.S" -o "$work/start.o" &&
"$CC" "${flags[@]}" -static -no-pie -nostartfiles -T "$ex/link.ld" -Wl,--gc-sections \
  -Wl,--build-id=none -Wl,--no-warn-rwx-segments \
  "$work/start.o" "$src/tests/qemu/pci/pci_rng.c" "$ex/libc.c" \
  "$src/transports/pci/pci.c" "$src/transports/pci/virtio_pci.c" \
  "$src/transports/virtio/virtio_drv.c" \
  "$src"/libvring/{errors,layout,mem,split_drv,packed_drv}.c \
  -o "$work/pci_rng.elf" || { echo "FAIL: build"; exit 1; }

fails=0
# boot NAME DEVICE-OPTIONS: run the image, keep its UART output in the log.
boot() {
  local name=$1 dev=$2 log="$work/$1.log"
  echo "== $name: -device virtio-rng-pci$dev"
  timeout 30 "$QEMU" -M virt -cpu cortex-a57 -m 128 -accel tcg -nographic \
    -nodefaults -serial stdio -monitor none -kernel "$work/pci_rng.elf" \
    -device "virtio-rng-pci$dev" </dev/null >"$log" 2>&1
  local rc=$?
  sed 's/^/   /' "$log"
  if [ "$rc" -ne 0 ]; then
    echo "FAIL $name: qemu exited with status $rc (a timeout is 124)"
    fails=$((fails + 1))
    return 1
  fi
}
expect() { # NAME REGEX WHAT
  if grep -Eq "$2" "$work/$1.log"; then
    echo "ok   $1: $3"
  else
    echo "FAIL $1: $3 (no line matching '$2')"
    fails=$((fails + 1))
  fi
}

if boot split ""; then
  expect split '^pci_rng: ok requests 64 bytes 2048 interrupts (6[4-9]|[7-9][0-9]|[0-9]{3,})' "64 reads, each by interrupt"
  expect split 'format split event_idx 1' "split ring with EVENT_IDX"
  expect split 'bad_accesses 0' "no access outside the virtio structures"
fi
if boot packed ",packed=on"; then
  expect packed '^pci_rng: ok requests 64 bytes 2048' "64 reads over a packed ring"
  expect packed 'format packed' "RING_PACKED negotiated"
fi
if boot legacy ",disable-modern=on,disable-legacy=off"; then
  expect legacy 'FAIL probe virtio-rng-pci: VR_ENODEV' "a legacy-only function is refused with VR_ENODEV"
fi
if [ "$fails" -ne 0 ]; then
  echo "qemu_pci_rng: $fails check(s) failed"
  exit 1
fi
echo "qemu_pci_rng: every check passed"
