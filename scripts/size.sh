#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# What libvring costs in flash on a microcontroller: builds the programs of
# examples/rtos_min with arm-none-eabi-gcc (-Os, -ffunction-sections,
# --gc-sections, no C library) and prints one line per program,
#
#   size: NAME TEXT_BYTES        (.text + .rodata: what goes to flash)
#
# then, per program, the functions that cost the most. Programs:
#   ring-split-device-m4, ring-packed-device-m4   the ring core alone: pop,
#       complete, notify decision, arm (examples/rtos_min/ring_only.c)
#   ring-split-device-min-m4                      the same without indirect
#       descriptors and cache hooks (the switches that concern the core)
#   chan-device-split-m4, chan-device-packed-m4   the device end of a channel
#       echoing messages over a polled transport (examples/rtos_min/main.c),
#       built with only that format, the device role and the default
#       notification and wait policy (vring/config.h: -DVR_CONFIG_PACKED=0
#       or -DVR_CONFIG_SPLIT=0, -DVR_CONFIG_DRIVER=0,
#       -DVR_CONFIG_NOTIFY_POLICIES=0)
#   chan-device-full-m4                           the same with the default
#       configuration (both formats, both roles, every feature)
#   chan-device-split-r5                          the split device on Cortex-R5
#   chan-device-split-m0p, chan-device-full-m0p   on Cortex-M0+ (armv6-m); the
#       default configuration there links the two read-modify-write helpers
#       an RTOS provides (examples/rtos_min/atomic_armv6m.c), the minimal
#       one needs none
#   chan-device-split-m4-lto                      chan-device-split-m4 with
#       -flto (an extra figure: the targets count the plain build)
# The minimal configurations leave out the packed format (or split), the
# driver role, the policies beyond the default, indirect descriptors,
# statistics and cache hooks (vring/config.h). Nothing is linked from
# libgcc or a C library: a helper the code would call fails the link.
# Usage: scripts/size.sh [OUT_DIR] [--top N]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build-size}
top=12
[ "${2:-}" = "--top" ] && top=${3:-12}
CC=${CC_ARM:-arm-none-eabi-gcc}
command -v "$CC" >/dev/null || { echo "size.sh: $CC not found (Debian: gcc-arm-none-eabi)" >&2; exit 1; }
prefix=${CC%gcc}
mkdir -p "$out"
ex=examples/rtos_min
core=(libvring/*.c)
common=(-std=c11 -ffreestanding -nostdlib -Os -ffunction-sections -fdata-sections
        -Wall -Wextra -Werror -Iinclude)
m4=(-mcpu=cortex-m4 -mthumb)
r5=(-mcpu=cortex-r5 -marm)
m0p=(-mcpu=cortex-m0plus -mthumb)
lto=()

# build NAME CPU_FLAGS... -- SOURCES... [-DDEFINES]
build() {
  local name=$1
  shift
  local cpu=() src=()
  while [ "$1" != "--" ]; do cpu+=("$1"); shift; done
  shift
  src=("$@")
  # The C library stand-in (memcpy, memset) outside any LTO: GCC would
  # otherwise fold its definitions into the builtins they implement.
  "$CC" "${common[@]}" "${cpu[@]}" -c examples/baremetal_virtio/libc.c -o "$out/$name.libc.o"
  "$CC" "${common[@]}" "${lto[@]}" "${cpu[@]}" -T "$ex/link.ld" -Wl,--gc-sections \
    -Wl,--no-warn-rwx-segments -Wl,-Map="$out/$name.map" \
    "$ex/startup.c" "$out/$name.libc.o" "${src[@]}" -o "$out/$name.elf"
  local text
  text=$("${prefix}size" "$out/$name.elf" | awk 'NR == 2 { print $1 }')
  echo "size: $name $text"
  # Largest functions and tables first: name, bytes, where from.
  "${prefix}nm" --size-sort -S --radix=d "$out/$name.elf" |
    awk '$3 ~ /[TtRr]/ { printf "%6d  %s\n", $2, $4 }' | sort -rn | head -n "$top" >"$out/$name.top"
}

minimal=(-DVR_CONFIG_DRIVER=0 -DVR_CONFIG_NOTIFY_POLICIES=0 -DVR_CONFIG_INDIRECT=0
         -DVR_CONFIG_STATS=0 -DVR_CONFIG_CACHE_HOOKS=0)
build ring-split-device-m4 "${m4[@]}" -- "$ex/ring_only.c" "${core[@]}"
build ring-packed-device-m4 "${m4[@]}" -- "$ex/ring_only.c" "${core[@]}" -DRING_PACKED
build ring-split-device-min-m4 "${m4[@]}" "${minimal[@]}" -- "$ex/ring_only.c" "${core[@]}"
split_dev=(-DVR_CONFIG_PACKED=0 "${minimal[@]}")
packed_dev=(-DVR_CONFIG_SPLIT=0 "${minimal[@]}")
build chan-device-split-m4 "${m4[@]}" "${split_dev[@]}" -- "$ex/main.c" "${core[@]}"
build chan-device-packed-m4 "${m4[@]}" "${packed_dev[@]}" -- "$ex/main.c" "${core[@]}"
build chan-device-full-m4 "${m4[@]}" -- "$ex/main.c" "${core[@]}"
build chan-device-split-r5 "${r5[@]}" "${split_dev[@]}" -- "$ex/main.c" "${core[@]}"
build chan-device-split-m0p "${m0p[@]}" "${split_dev[@]}" -- "$ex/main.c" "${core[@]}"
build chan-device-full-m0p "${m0p[@]}" -- "$ex/main.c" "$ex/atomic_armv6m.c" "${core[@]}"
lto=(-flto)
build chan-device-split-m4-lto "${m4[@]}" "${split_dev[@]}" -- "$ex/main.c" "${core[@]}"
lto=()

echo
for f in "$out"/*.top; do
  echo "== $(basename "$f" .top): largest functions (bytes)"
  sed 's/^/   /' "$f"
done
