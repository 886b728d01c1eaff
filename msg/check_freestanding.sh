#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The message protocol's RTOS side builds freestanding (ctest
# freestanding_msg): the framing core (msg/frame.c, crc32c.c, req.c), the
# nanopb glue (msg/nanopb/msg_nanopb.c), the nanopb-generated vrmsg.pb.c and
# nanopb's runtime (from Debian's source package: scripts/lib/nanopb_src.sh)
# are compiled with -std=c11 -ffreestanding -Werror and no libc headers for
#  - aarch64 (aarch64-linux-gnu-gcc, -mgeneral-regs-only -mstrict-align):
#    linked with msg/freestanding/selftest.c into a bare-metal image that
#    runs on qemu-system-aarch64 -M virt (TCG) and must print
#    "vrmsg selftest: ok";
#  - Cortex-M4 (arm-none-eabi-gcc -mthumb): archived and linked the same
#    way (not run);
# and the only symbols they need from outside are memcpy and memset (plus,
# on Cortex-M4, libgcc's helpers for 64-bit shifts, listed).
# Usage: msg/check_freestanding.sh NANOPB_GEN_DIR [WORK_DIR]
#   NANOPB_GEN_DIR holds vrmsg.pb.c/.pb.h (the build generates them).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
gen=${1:?usage: check_freestanding.sh NANOPB_GEN_DIR [WORK_DIR]}
work=${2:-$(mktemp -d)}
status=0

if [ ! -f "$gen/vrmsg.pb.c" ]; then
  echo "FAIL: $gen/vrmsg.pb.c is missing (build the vring_msgpb target first)"
  exit 1
fi
if ! npb=$("$src/scripts/lib/nanopb_src.sh"); then
  echo "FAIL: nanopb's runtime sources could not be fetched (scripts/lib/nanopb_src.sh)"
  exit 1
fi

sources=("$src/msg/frame.c" "$src/msg/crc32c.c" "$src/msg/req.c"
         "$src/msg/nanopb/msg_nanopb.c" "$gen/vrmsg.pb.c"
         "$npb/pb_common.c" "$npb/pb_encode.c" "$npb/pb_decode.c")
incs=(-I"$here/freestanding" -I"$src/include" -I"$src/msg/nanopb/include" -I"$gen" -I"$npb")
common=(-std=c11 -ffreestanding -fno-builtin -fno-tree-loop-distribute-patterns
        -Wall -Wextra -Werror -DPB_SYSTEM_HEADER='"vr_pb_system.h"')

# build NAME CC AR NM FLAGS...: objects, archive, undefined-symbol check.
build() {
  local name=$1 cc=$2 ar=$3 nm=$4
  shift 4
  local out="$work/$name" objs=() f o
  rm -rf "$out" && mkdir -p "$out"
  for f in "${sources[@]}" "$here/freestanding/selftest.c"; do
    o="$out/$(basename "$f" .c).o"
    "$cc" "${common[@]}" "$@" "${incs[@]}" -c "$f" -o "$o"
    [ "$(basename "$f")" = selftest.c ] || objs+=("$o")
  done
  "$ar" rcs "$out/libvrmsg_fs.a" "${objs[@]}"
  local defined undefined external unexpected
  defined=$("$nm" -g --defined-only "$out/libvrmsg_fs.a" | awk 'NF==3 {print $3}' | sort -u)
  undefined=$("$nm" -u "$out/libvrmsg_fs.a" | awk 'NF==2 && $1=="U" {print $2}' | sort -u)
  external=$(comm -23 <(echo "$undefined") <(echo "$defined") | grep -v '^$' || true)
  unexpected=$(echo "$external" | grep -vE '^(memcpy|memset|__aeabi_ll(sl|sr)|__aeabi_lasr)$' | grep -v '^$' || true)
  if [ -n "$unexpected" ]; then
    echo "FAIL: $name: undefined symbols beyond memcpy/memset: $(echo "$unexpected" | tr '\n' ' ')"
    status=1
  else
    echo "ok: $name: ${#objs[@]} objects, external symbols: $(echo "$external" | tr '\n' ' ')"
  fi
}

ran=0
if command -v aarch64-linux-gnu-gcc >/dev/null; then
  ran=1
  build aarch64 aarch64-linux-gnu-gcc aarch64-linux-gnu-ar aarch64-linux-gnu-nm \
    -O2 -mgeneral-regs-only -mstrict-align -fno-pie
  img="$work/aarch64/selftest.elf"
  aarch64-linux-gnu-gcc -nostdlib -nostartfiles -static -no-pie -fno-pie \
    -Wl,--build-id=none -Wl,--no-warn-rwx-segments -T "$here/freestanding/link.ld" -o "$img" "$here/freestanding/start.S" \
    "$work/aarch64/selftest.o" "$work/aarch64/libvrmsg_fs.a"
  if command -v qemu-system-aarch64 >/dev/null; then
    log="$work/aarch64/uart.log"
    timeout 60 qemu-system-aarch64 -M virt -accel tcg -cpu cortex-a57 -m 128 \
      -nographic -monitor none -serial "file:$log" -kernel "$img" </dev/null || true
    cat "$log" 2>/dev/null || true
    if grep -q '^vrmsg selftest: ok' "$log" 2>/dev/null; then
      echo "ok: aarch64 bare-metal self-test passed on qemu-system-aarch64"
    else
      echo "FAIL: aarch64 bare-metal self-test did not report ok"
      status=1
    fi
  else
    echo "note: qemu-system-aarch64 missing: the aarch64 image was linked, not run"
  fi
fi
if command -v arm-none-eabi-gcc >/dev/null; then
  ran=1
  build cortex-m4 arm-none-eabi-gcc arm-none-eabi-ar arm-none-eabi-nm \
    -Os -mcpu=cortex-m4 -mthumb -mfloat-abi=soft -DVR_FS_NO_UART
  arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -nostdlib -nostartfiles -static \
    -Wl,-e,vr_fs_main -Wl,--gc-sections -o "$work/cortex-m4/selftest.elf" \
    "$work/cortex-m4/selftest.o" "$work/cortex-m4/libvrmsg_fs.a" -lgcc
  echo "ok: cortex-m4: self-test image linked ($(arm-none-eabi-size "$work/cortex-m4/selftest.elf" | awk 'NR==2 {print $1 " bytes text, " $3 " bytes bss"}'))"
fi
if [ "$ran" -eq 0 ]; then
  echo "FAIL: neither aarch64-linux-gnu-gcc nor arm-none-eabi-gcc is installed"
  exit 1
fi
exit $status
