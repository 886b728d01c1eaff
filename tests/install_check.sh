#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Install the build into a scratch prefix, then build and run a consumer
# with find_package(libvring) and another with pkg-config.
# Usage: tests/install_check.sh <source-dir> <build-dir> <scratch-dir>
set -euo pipefail
src=$1 build=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
cmake --install "$build" --prefix "$work/prefix" >/dev/null
test -f "$work/prefix/include/vring/vring.h"
# vringctl is installed with the library when the hosted code is built.
if [ -f "$build/tools/vringctl/vringctl" ] || [ -f "$build/tools/vringctl" ]; then
  "$work/prefix/bin/vringctl" --version
  "$work/prefix/bin/vringctl" dump --help >/dev/null
fi
# vring-ivshmem-server is installed with the library when the ivshmem
# transport is built, with the host peer's header.
if [ -f "$build/transports/vring-ivshmem-server" ]; then
  "$work/prefix/bin/vring-ivshmem-server" --help >/dev/null
  test -f "$work/prefix/include/vring/ivshmem.h"
fi
cmake -S "$src/tests/install_consumer" -B "$work/consumer" \
  -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/consumer" >/dev/null
"$work/consumer/consumer"
pcdir=$(find "$work/prefix" -name vring.pc -printf '%h\n' | head -1)
export PKG_CONFIG_PATH="$pcdir"
# shellcheck disable=SC2046
cc $(pkg-config --cflags vring) "$src/tests/install_consumer/consumer.c" \
   $(pkg-config --libs vring) -o "$work/consumer_pc"
LD_LIBRARY_PATH="$(pkg-config --variable=libdir vring)" "$work/consumer_pc"
echo "install check passed (find_package, pkg-config, vringctl)"
