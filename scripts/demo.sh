#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Build libvring on a fresh Debian 12 machine (or here) and run the main demo:
# two processes over one shared region, as in a car. rtos (device role, the
# safety-island RTOS) is started in the background; aaos (driver role,
# Android Automotive) runs in the foreground, sends SET_SENSOR_GAIN_HIGH and
# START_ADAS_PROCESSING, streams sensor frames, and stops; rtos executes and
# acknowledges each. Both print progress every second while streaming, then
# messages/s, wall cycles/message (elapsed, not CPU cost), CPU time/message, latency
# percentiles and notifications/message.
#
#   scripts/demo.sh [aaos options]     e.g. --format packed --polling --frames N
#   scripts/demo.sh --threads [opts]   the single-process threads demo instead
#   scripts/demo.sh --help
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/setup.sh
source scripts/lib/setup.sh

threads=0
if [ "${1:-}" = "--threads" ]; then
  threads=1
  shift
fi
if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
  cat <<'EOF'
usage: scripts/demo.sh [aaos options]
       scripts/demo.sh --threads [threads demo options]
Builds libvring in ./build, then runs rtos in the background and aaos in the
foreground over a memfd region and a unix socket in a private temporary
directory. Common options (all go to aaos; see below):
  --format split|packed   ring format (default split)
  --polling               no doorbells, both sides poll
  --frames N              sensor frames to stream
EOF
  if [ -x build/examples/aaos_rtos/aaos ]; then
    echo
    build/examples/aaos_rtos/aaos --help
  fi
  exit 0
fi

vr_install_deps
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVR_WERROR=ON >build.configure.log 2>&1 ||
  { cat build.configure.log; exit 1; }

# Configured only where the transport builds (examples/aaos_rtos).
if [ "$threads" -eq 0 ] && [ ! -d build/examples/aaos_rtos ]; then
  vr_log "the two-process demo needs the host shared-memory transport (Linux); running the threads demo"
  threads=1
fi
if [ "$threads" -eq 1 ]; then
  cmake --build build -j "$(vr_jobs)" --target vring_threads_demo
  exec ./build/examples/threads_demo/vring_threads_demo "$@"
fi

cmake --build build -j "$(vr_jobs)" --target aaos rtos
bin=./build/examples/aaos_rtos

# The socket lives in a directory only we can enter.
dir=$(mktemp -d "${TMPDIR:-/tmp}/vring-demo.XXXXXX")
rtos_pid=
cleanup() {
  if [ -n "$rtos_pid" ] && kill -0 "$rtos_pid" 2>/dev/null; then
    kill "$rtos_pid" 2>/dev/null || true
    wait "$rtos_pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo
"$bin/rtos" --socket "$dir/vring.sock" --connect-timeout-ms 15000 &
rtos_pid=$!
aaos_rc=0
"$bin/aaos" --socket "$dir/vring.sock" "$@" || aaos_rc=$?
if [ "$aaos_rc" -ne 0 ]; then
  # aaos gave up (bad arguments, no region, rtos gone...): rtos may still be
  # waiting to connect.
  kill "$rtos_pid" 2>/dev/null || true
fi
rtos_rc=0
wait "$rtos_pid" || rtos_rc=$?
rtos_pid=
if [ "$aaos_rc" -ne 0 ]; then
  exit "$aaos_rc"
fi
if [ "$rtos_rc" -ne 0 ]; then
  vr_log "rtos exited with status $rtos_rc"
  exit 1
fi
