#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The ring core must build for a Cortex-M/R RTOS: compile include/vring/vring.h
# and every libvring/*.c with arm-none-eabi-gcc -std=c11 -ffreestanding
# -Wall -Wextra -Werror for cortex-m4 (thumb) and cortex-r5, archive them, and
# allow no undefined symbol but memcpy, memset and memmove (so no 64-bit
# atomics on Cortex-M4, no libgcc division helpers, no libc).
# Usage: scripts/check_freestanding.sh [work-dir]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$(mktemp -d)}
CC=${ARM_CC:-arm-none-eabi-gcc}
AR=${ARM_AR:-arm-none-eabi-ar}
NM=${ARM_NM:-arm-none-eabi-nm}
allowed='^(memcpy|memset|memmove)$'
status=0
# The virtio driver core and its virtio-mmio bus are freestanding too.
extra_src=()
for f in "$src"/transports/virtio/virtio_drv.c "$src"/transports/mmio/mmio_bus.c; do
  [ -f "$f" ] && extra_src+=("$f")
done
extra_inc=(-I"$src/transports/virtio/include" -I"$src/transports/mmio/include")

# The core may include only the freestanding headers.
bad=$(grep -hoE '^[[:space:]]*#[[:space:]]*include[[:space:]]*<[^>]+>' \
        "$src"/libvring/*.c "$src"/libvring/*.h "$src"/include/vring/*.h "$src"/include/vring/detail/*.h \
        "${extra_src[@]}" "$src"/transports/ivshmem/include/vring/ivshmem_regs.h |
      sed -E 's/.*<([^>]+)>.*/\1/' | sort -u |
      grep -vxE 'stdint\.h|stddef\.h|stdbool\.h|stdatomic\.h|atomic|vring/.*' || true)
if [ -n "$bad" ]; then
  echo "FAIL: the core includes non-freestanding headers: $bad"
  status=1
fi

for target in "cortex-m4:-mcpu=cortex-m4 -mthumb" "cortex-r5:-mcpu=cortex-r5"; do
  name=${target%%:*}
  flags=${target#*:}
  out="$work/$name"
  rm -rf "$out" && mkdir -p "$out"
  for opt in -O0 -O2 -Os; do
    # shellcheck disable=SC2086
    printf '#include <vring/vring.h>\nint vr_header_check(void);\nint vr_header_check(void) { return VR_OK; }\n' |
      $CC -std=c11 -ffreestanding -Wall -Wextra -Werror $flags $opt -I"$src/include" \
          -x c -c - -o "$out/header$opt.o"
    # The ivshmem register layer (transports/ivshmem/include/vring/
    # ivshmem_regs.h) is for RTOS guests too: freestanding, no library.
    # shellcheck disable=SC2086
    printf '#include <vring/ivshmem_regs.h>\nint vr_regs_check(volatile void *b);\nint vr_regs_check(volatile void *b)\n{\n\tuint32_t id = 0;\n\tint rc = vr_ivshmem_ring(b, 1, 0);\n\tvr_ivshmem_intx_enable(b, 1);\n\t(void)vr_ivshmem_intx_ack(b);\n\treturn rc + vr_ivshmem_read_position(b, 15, &id) + vr_ivshmem_check_bar(4096, 4096) + (int)id;\n}\n' |
      $CC -std=c11 -ffreestanding -Wall -Wextra -Werror $flags $opt -I"$src/include" \
          -I"$src/transports/ivshmem/include" -x c -c - -o "$out/ivshmem_regs$opt.o"
    external=$($NM -u "$out/ivshmem_regs$opt.o" | awk 'NF==2 && $1=="U" {print $2}' | grep -vE "$allowed" || true)
    if [ -n "$external" ]; then
      echo "FAIL: $name $opt: ivshmem_regs.h needs $(echo $external)"
      status=1
    fi
    objs=()
    for f in "$src"/libvring/*.c "${extra_src[@]}"; do
      o="$out/$(basename "$f" .c)$opt.o"
      # shellcheck disable=SC2086
      $CC -std=c11 -ffreestanding -Wall -Wextra -Werror $flags $opt \
          -I"$src/include" "${extra_inc[@]}" -c "$f" -o "$o"
      objs+=("$o")
    done
    lib="$out/libvring$opt.a"
    $AR rcs "$lib" "${objs[@]}"
    defined=$($NM -g --defined-only "$lib" | awk 'NF==3 {print $3}' | sort -u)
    undefined=$($NM -u "$lib" | awk 'NF==2 && $1=="U" {print $2}' | sort -u)
    external=$(comm -23 <(echo "$undefined") <(echo "$defined") | grep -v '^$' || true)
    unexpected=$(echo "$external" | grep -vE "$allowed" | grep -v '^$' || true)
    if [ -n "$unexpected" ]; then
      echo "FAIL: $name $opt: undefined symbols beyond memcpy/memset/memmove: $(echo $unexpected)"
      status=1
    else
      echo "ok: $name $opt: ${#objs[@]} objects, external symbols: $(echo $external)"
    fi
  done
done
exit $status
