#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Build the RTOS guest of the AAOS <-> RTOS scenario (examples/rtos_vm) for
# qemu-system-aarch64 -M virt with the aarch64 cross compiler: freestanding,
# no libc. It links libvring's ring core (driver side), the virtio driver
# core with its virtio-pci bus and console layer, the message protocol's
# framing core and nanopb glue, the nanopb-generated vrmsg.pb.c and
# nanopb's runtime (from Debian's source package, scripts/lib/nanopb_src.sh).
# The startup code, linker script and mem* functions are the bare-metal
# example's (examples/baremetal_virtio). Prints the image's size.
# Usage: build.sh SOURCE_DIR OUT_DIR NANOPB_GEN_DIR   (CC: aarch64-linux-gnu-gcc)
set -euo pipefail
export LC_ALL=C
src=$(cd "${1:?source dir}" && pwd)
out=${2:?output dir}
gen=$(cd "${3:?nanopb gen dir (vrmsg.pb.c)}" && pwd)
CC=${CC:-aarch64-linux-gnu-gcc}
prefix=${CC%gcc}
NM=${NM:-${prefix}nm}
SIZE=${SIZE:-${prefix}size}
bm=$src/examples/baremetal_virtio
ex=$src/examples/rtos_vm
npb=$("$src/scripts/lib/nanopb_src.sh") || { echo "rtos_vm: nanopb's runtime sources are missing" >&2; exit 1; }
mkdir -p "$out/obj"

flags=(-std=c11 -ffreestanding -nostdlib -O2 -g0 -mgeneral-regs-only -mstrict-align
       -mno-outline-atomics -fno-pie -fno-stack-protector -ffunction-sections
       -fdata-sections -fno-tree-loop-distribute-patterns
       -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wvla
       -DPB_SYSTEM_HEADER='"vr_pb_system.h"'
       -I"$src/msg/freestanding" -I"$src/include" -I"$src/transports/virtio/include"
       -I"$src/transports/mmio/include" -I"$src/transports/pci/include"
       -I"$src/msg/nanopb/include" -I"$gen" -I"$npb")
sources=(
  "$src"/libvring/{errors,layout,mem,split_drv,packed_drv}.c
  "$src/transports/virtio/virtio_drv.c" "$src/transports/virtio/virtio_console.c"
  "$src/transports/pci/pci.c" "$src/transports/pci/virtio_pci.c"
  "$src/msg/frame.c" "$src/msg/crc32c.c" "$src/msg/nanopb/msg_nanopb.c"
  "$gen/vrmsg.pb.c" "$npb/pb_common.c" "$npb/pb_encode.c" "$npb/pb_decode.c"
  "$ex/main.c" "$ex/gic.c" "$bm/libc.c")
objs=("$out/obj/start.o")
"$CC" "${flags[@]}" -c "$bm/start.S" -o "$out/obj/start.o"
for f in "${sources[@]}"; do
  o="$out/obj/$(basename "$(dirname "$f")")_$(basename "$f" .c).o"
  "$CC" "${flags[@]}" -c "$f" -o "$o"
  objs+=("$o")
done
"$CC" "${flags[@]}" -static -no-pie -nostartfiles -T "$bm/link.ld" \
  -Wl,--gc-sections -Wl,--build-id=none -Wl,--no-warn-rwx-segments \
  "${objs[@]}" -o "$out/rtos_vm.elf"
if "$NM" -u "$out/rtos_vm.elf" | grep -q .; then
  echo "rtos_vm: undefined symbols:" >&2
  "$NM" -u "$out/rtos_vm.elf" >&2
  exit 1
fi
"$SIZE" "$out/rtos_vm.elf" | awk 'NR == 2 { printf "rtos_vm.elf: %d bytes of code and data, %d bytes bss\n", $1 + $2, $3 }'
