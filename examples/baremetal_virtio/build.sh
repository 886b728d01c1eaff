#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Build the bare-metal virtio example for qemu-system-aarch64 -M virt with
# the aarch64 cross compiler (freestanding, no libc), then print the image's
# size and libvring's share of it.
# Usage: build.sh SOURCE_DIR OUT_DIR   (CC defaults to aarch64-linux-gnu-gcc)
set -euo pipefail
export LC_ALL=C
src=$(cd "${1:?source dir}" && pwd)
out=${2:?output dir}
CC=${CC:-aarch64-linux-gnu-gcc}
prefix=${CC%gcc}
AR=${AR:-${prefix}ar}
NM=${NM:-${prefix}nm}
SIZE=${SIZE:-${prefix}size}
ex=$src/examples/baremetal_virtio
mkdir -p "$out/obj"

flags=(-std=c11 -ffreestanding -nostdlib -O2 -g0 -mgeneral-regs-only -mstrict-align
       -mno-outline-atomics -fno-pie -fno-stack-protector -ffunction-sections
       -fdata-sections -fno-tree-loop-distribute-patterns
       -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
       -Wcast-align -Wvla
       -I"$src/include" -I"$src/transports/virtio/include" -I"$src/transports/mmio/include")

compile() { # archive-name sources...
  local lib=$1; shift
  local objs=()
  for f in "$@"; do
    local o="$out/obj/${lib}_$(basename "$f" .c).o"
    "$CC" "${flags[@]}" -c "$f" -o "$o"
    objs+=("$o")
  done
  rm -f "$out/$lib.a"
  "$AR" rcs "$out/$lib.a" "${objs[@]}"
}

# libvring's ring core (the driver-side files and what they use), the
# virtio driver core with its mmio bus, and the example itself.
compile libvring "$src"/libvring/{errors,layout,mem,split_drv,packed_drv}.c
compile libvring_virtio "$src/transports/virtio/virtio_drv.c" "$src/transports/mmio/mmio_bus.c"
compile example "$ex/main.c" "$ex/libc.c"
"$CC" "${flags[@]}" -c "$ex/start.S" -o "$out/obj/start.o"
"$CC" "${flags[@]}" -static -no-pie -nostartfiles -T "$ex/link.ld" \
  -Wl,--gc-sections -Wl,--build-id=none -Wl,--no-warn-rwx-segments -Wl,-Map="$out/baremetal_virtio.map" \
  "$out/obj/start.o" "$out/example.a" "$out/libvring_virtio.a" "$out/libvring.a" \
  -o "$out/baremetal_virtio.elf"

# Nothing may stay undefined: no libc, no libgcc.
if "$NM" -u "$out/baremetal_virtio.elf" | grep -q .; then
  echo "baremetal_virtio: undefined symbols:" >&2
  "$NM" -u "$out/baremetal_virtio.elf" >&2
  exit 1
fi

# Sizes: the loaded bytes (text + rodata + data), then the bytes of the
# functions and constants each archive contributed (after --gc-sections;
# libvring's inline hot paths are counted in the code that inlines them).
share() { # archive
  "$NM" --defined-only "$1" 2>/dev/null | awk 'NF == 3 && $2 ~ /[TtRrDd]/ {print $3}' | sort -u >"$out/syms.$$"
  "$NM" -S -t d --defined-only "$out/baremetal_virtio.elf" |
    awk 'NF == 4 && $3 ~ /[TtRrDd]/ {print $4, $2}' | sort -k1,1 |
    join - "$out/syms.$$" | awk '{s += $2} END {print s + 0}'
  rm -f "$out/syms.$$"
}
read -r text data bss _ < <("$SIZE" "$out/baremetal_virtio.elf" | tail -1)
loaded=$((text + data))
core=$(share "$out/libvring.a")
drv=$(share "$out/libvring_virtio.a")
echo "baremetal_virtio.elf: text ${text} data ${data} bss ${bss} (loaded ${loaded} bytes)"
echo "  libvring ring core: ${core} bytes ($((100 * core / loaded))% of loaded)"
echo "  libvring virtio driver core + mmio bus: ${drv} bytes ($((100 * drv / loaded))% of loaded)"
echo "  bss: rings, buffers and stack are the example's own (static)"
