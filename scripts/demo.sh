#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Build libvring on a fresh Debian 12 machine (or here) and run the main demo:
# two threads exchanging messages over one shared region, split then packed
# ring, with messages/s and cycles/message. Arguments go to the demo
# (try --help).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/setup.sh
source scripts/lib/setup.sh
vr_install_deps
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >build.configure.log 2>&1 ||
  { cat build.configure.log; exit 1; }
cmake --build build -j "$(vr_jobs)" --target vring_threads_demo
exec ./build/examples/threads_demo/vring_threads_demo "$@"
