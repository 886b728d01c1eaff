#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The ring core must build for a Cortex-M/R RTOS: compile include/vring/vring.h
# and every libvring/*.c with arm-none-eabi-gcc -std=c11 -ffreestanding
# -Wall -Wextra -Werror for cortex-m4 (thumb), cortex-r5 and cortex-m0plus
# (armv6-m), archive them, and allow no undefined symbol but memcpy, memset
# and memmove (so no 64-bit atomics on Cortex-M4, no libgcc division or
# multiplication helpers, no libc).
#
# Each target is built in the default configuration (-O0, -O2, -Os) and in
# the minimal ones of vring/config.h (split or packed device end only, no
# policies, indirect descriptors, statistics or cache hooks). One documented
# exception: Cortex-M0+ has no atomic read-modify-write instructions, and
# the default configuration's notification policies need two (the RTOS
# provides __atomic_fetch_add_4 and __atomic_exchange_4, see
# examples/rtos_min/atomic_armv6m.c); the minimal configurations need none.
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

minimal=(-DVR_CONFIG_DRIVER=0 -DVR_CONFIG_NOTIFY_POLICIES=0 -DVR_CONFIG_INDIRECT=0
         -DVR_CONFIG_STATS=0 -DVR_CONFIG_CACHE_HOOKS=0)
# name|optimisation levels|defines
configs=("default|-O0 -O2 -Os|"
         "min-split|-O0 -Os|-DVR_CONFIG_PACKED=0 ${minimal[*]}"
         "min-packed|-Os|-DVR_CONFIG_SPLIT=0 ${minimal[*]}")

# The public headers (and the ivshmem register layer, for RTOS guests too:
# freestanding, no library) compile on their own.
# check_headers NAME FLAGS OPT OUT
check_headers() {
  local name=$1 flags=$2 opt=$3 out=$4 external
  # shellcheck disable=SC2086
  printf '#include <vring/vring.h>\nint vr_header_check(void);\nint vr_header_check(void) { return VR_OK; }\n' |
    $CC -std=c11 -ffreestanding -Wall -Wextra -Werror $flags $opt -I"$src/include" \
        -x c -c - -o "$out/header$opt.o"
  # shellcheck disable=SC2086
  printf '#include <vring/ivshmem_regs.h>\nint vr_regs_check(volatile void *b);\nint vr_regs_check(volatile void *b)\n{\n\tuint32_t id = 0;\n\tint rc = vr_ivshmem_ring(b, 1, 0);\n\tvr_ivshmem_intx_enable(b, 1);\n\t(void)vr_ivshmem_intx_ack(b);\n\treturn rc + vr_ivshmem_read_position(b, 15, &id) + vr_ivshmem_check_bar(4096, 4096) + (int)id;\n}\n' |
    $CC -std=c11 -ffreestanding -Wall -Wextra -Werror $flags $opt -I"$src/include" \
        -I"$src/transports/ivshmem/include" -x c -c - -o "$out/ivshmem_regs$opt.o"
  external=$($NM -u "$out/ivshmem_regs$opt.o" | awk 'NF==2 && $1=="U" {print $2}' | grep -vE "$allowed" || true)
  if [ -n "$external" ]; then
    echo "FAIL: $name $opt: ivshmem_regs.h needs $(echo $external)"
    status=1
  fi
}

# The core, archived: nothing undefined but what ALLOWED names.
# check_core NAME CONFIG FLAGS OPT DEFINES ALLOWED OUT
check_core() {
  local name=$1 cname=$2 flags=$3 opt=$4 defs=$5 allowed_here=$6 out=$7
  local objs=() f o lib defined undefined external unexpected
  for f in "$src"/libvring/*.c "${extra_src[@]}"; do
    o="$out/$(basename "$f" .c)$opt.o"
    # shellcheck disable=SC2086
    $CC -std=c11 -ffreestanding -Wall -Wextra -Werror $flags $opt $defs \
        -I"$src/include" "${extra_inc[@]}" -c "$f" -o "$o"
    objs+=("$o")
  done
  lib="$out/libvring$opt.a"
  $AR rcs "$lib" "${objs[@]}"
  defined=$($NM -g --defined-only "$lib" | awk 'NF==3 {print $3}' | sort -u)
  undefined=$($NM -u "$lib" | awk 'NF==2 && $1=="U" {print $2}' | sort -u)
  external=$(comm -23 <(echo "$undefined") <(echo "$defined") | grep -v '^$' || true)
  unexpected=$(echo "$external" | grep -vE "$allowed_here" | grep -v '^$' || true)
  if [ -n "$unexpected" ]; then
    echo "FAIL: $name $cname $opt: undefined symbols beyond what is allowed: $(echo $unexpected)"
    status=1
  else
    echo "ok: $name $cname $opt: ${#objs[@]} objects, external symbols: $(echo $external)"
  fi
}

for target in "cortex-m4:-mcpu=cortex-m4 -mthumb" "cortex-r5:-mcpu=cortex-r5" \
              "cortex-m0plus:-mcpu=cortex-m0plus -mthumb"; do
  name=${target%%:*}
  flags=${target#*:}
  for config in "${configs[@]}"; do
    cname=${config%%|*}
    rest=${config#*|}
    opts=${rest%%|*}
    defs=${rest#*|}
    allowed_here=$allowed
    if [ "$name" = cortex-m0plus ] && [ "$cname" = default ]; then
      allowed_here='^(memcpy|memset|memmove|__atomic_fetch_add_4|__atomic_exchange_4)$'
    fi
    out="$work/$name/$cname"
    rm -rf "$out" && mkdir -p "$out"
    for opt in $opts; do
      [ "$cname" = default ] && check_headers "$name" "$flags" "$opt" "$out"
      check_core "$name" "$cname" "$flags" "$opt" "$defs" "$allowed_here" "$out"
    done
  done
done
exit $status
