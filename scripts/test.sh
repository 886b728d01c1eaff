#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Build libvring and run every test, on a fresh Debian 12 machine or here.
#
#   ./scripts/test.sh            everything (about 10 minutes on 2 cores)
#
# VR_STRESS_MESSAGES_{DEFAULT,ASAN,TSAN} set the stress tests' message
# counts per build (10M plain; fewer under the sanitizers, which are 10-50x
# slower per access).
#
# Three builds, each tested through ctest:
#   build/       RelWithDebInfo: unit, interop, stress, install, freestanding
#                (the ring core for Cortex-M4 and Cortex-R5 with
#                arm-none-eabi-gcc), model (the Promela model of the
#                notify/wait handshake, checked with spin: model/check.sh)
#   build-asan/  AddressSanitizer + UndefinedBehaviorSanitizer: unit, interop,
#                stress
#   build-tsan/  ThreadSanitizer: unit, interop, stress
#   build-fuzz/  clang: the fuzz targets (ctest -L fuzz-smoke): corpus
#                replay, and each libFuzzer target for
#                VR_FUZZ_SMOKE_SECONDS (default 20) seconds
# Missing packages are installed with apt-get first.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/setup.sh
source scripts/lib/setup.sh
vr_install_deps
vr_setup_hugetlbfs

jobs=$(vr_jobs)
passed=0
failed=0

# Message counts of the two-thread stress tests per build kind: the
# sanitizers slow every access down, so they run shorter streams.
: "${VR_STRESS_MESSAGES_DEFAULT:=10000000}"
: "${VR_STRESS_MESSAGES_ASAN:=6000000}"
: "${VR_STRESS_MESSAGES_TSAN:=3000000}"
# The two-process tests (tests/process): messages per stream configuration.
: "${VR_PROCESS_MESSAGES_DEFAULT:=1000000}"
: "${VR_PROCESS_MESSAGES_ASAN:=500000}"
: "${VR_PROCESS_MESSAGES_TSAN:=300000}"

# count_results LOG RC: add a ctest log's totals to passed/failed; a
# non-zero RC with no failed test counted (a build or ctest error) counts as
# one failure.
count_results() {
  local log=$1 rc=$2 p f
  p=$(grep -Eo '[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+' "$log" |
      awk '{ total += $NF; bad += $4 } END { print total - bad }')
  f=$(grep -Eo '[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+' "$log" |
      awk '{ bad += $4 } END { print bad + 0 }')
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
  if [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then failed=$((failed + 1)); fi
  return 0
}

# run_suite NAME DIR STRESS_MESSAGES EXCLUDE_LABELS -- CMAKE_ARGS...
# EXCLUDE_LABELS is a regex of ctest labels this build skips ('' for none).
run_suite() {
  local name=$1 dir=$2 messages=$3 exclude=$4
  shift 5
  vr_log "[$name] configure and build in $dir"
  cmake -S . -B "$dir" -DVR_WERROR=ON "$@" >"$dir.configure.log" 2>&1 ||
    { cat "$dir.configure.log"; return 1; }
  cmake --build "$dir" -j "$jobs"
  local log="$dir/ctest.log" rc=0
  vr_log "[$name] ctest (stress messages: $messages)"
  # Stress tests run alone (each uses both cores); the rest in parallel.
  # ctest honours only the last -LE, so the exclusions are one regex.
  local skip="stress${exclude:+|$exclude}"
  ( cd "$dir" &&
    VR_STRESS_MESSAGES=$messages ctest --output-on-failure -j "$jobs" -LE "$skip" &&
    if [ -n "$exclude" ]; then
      VR_STRESS_MESSAGES=$messages ctest --output-on-failure -L stress -LE "$exclude"
    else
      VR_STRESS_MESSAGES=$messages ctest --output-on-failure -L stress
    fi ) 2>&1 | tee "$log" || rc=1
  count_results "$log" "$rc"
}

VR_PROCESS_MESSAGES=$VR_PROCESS_MESSAGES_DEFAULT \
run_suite default build "$VR_STRESS_MESSAGES_DEFAULT" "" -- \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVR_REQUIRE_FREESTANDING_CHECK=ON

VR_PROCESS_MESSAGES=$VR_PROCESS_MESSAGES_ASAN \
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
run_suite asan+ubsan build-asan "$VR_STRESS_MESSAGES_ASAN" "install|freestanding|model" -- \
  -DCMAKE_BUILD_TYPE=Debug -DVR_SANITIZE=address,undefined -DVR_TEST_LABEL_EXTRA=sanitize \
  -DVR_BUILD_SHARED=OFF

VR_PROCESS_MESSAGES=$VR_PROCESS_MESSAGES_TSAN \
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
run_suite tsan build-tsan "$VR_STRESS_MESSAGES_TSAN" "install|freestanding|model" -- \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVR_SANITIZE=thread -DVR_TEST_LABEL_EXTRA=sanitize \
  -DVR_BUILD_SHARED=OFF

# Fuzz smoke runs: libFuzzer needs clang, so a fourth build of the core and
# the fuzz targets only (scripts/fuzz.sh runs longer campaigns there).
: "${VR_FUZZ_SMOKE_SECONDS:=20}"
fuzz_smoke() {
  local dir=build-fuzz rc=0
  vr_log "[fuzz] configure and build in $dir (clang, libFuzzer)"
  CC=clang cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVR_WERROR=ON \
    -DVR_BUILD_TESTS=OFF -DVR_BUILD_EXAMPLES=OFF -DVR_BUILD_BENCH=OFF \
    -DVR_BUILD_TRANSPORTS=OFF -DVR_BUILD_SHARED=OFF >"$dir.configure.log" 2>&1 &&
    cmake --build "$dir" -j "$jobs" --target fuzz_all ||
    { cat "$dir.configure.log"; failed=$((failed + 1)); return 0; }
  vr_log "[fuzz] ctest -L fuzz-smoke (${VR_FUZZ_SMOKE_SECONDS}s per libFuzzer target)"
  ( cd "$dir" && VR_FUZZ_SMOKE_SECONDS=$VR_FUZZ_SMOKE_SECONDS \
      ctest --output-on-failure -j "$jobs" -L fuzz-smoke ) 2>&1 | tee "$dir/ctest.log" || rc=1
  count_results "$dir/ctest.log" "$rc"
}
fuzz_smoke

echo
echo "libvring: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
