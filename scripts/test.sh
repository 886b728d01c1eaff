#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Build libvring and run every test, on a fresh Debian 12 machine or here.
#
#   ./scripts/test.sh                 every stage (about 15 minutes on 2 cores)
#   ./scripts/test.sh STAGE...        only these stages, in this order
#
# Stages (each is built and tested through ctest; every stage runs even when
# an earlier one failed, and every failure is listed at the end):
#   default   build/       RelWithDebInfo: unit, interop, install,
#                          freestanding (the ring core for Cortex-M4/R5 with
#                          arm-none-eabi-gcc), model (the Promela model of the
#                          notify/wait handshake, checked with spin), then the
#                          stress tests alone
#   qemu      build/       the tests that boot QEMU guests (label qemu), TCG
#   asan      build-asan/  AddressSanitizer + UndefinedBehaviorSanitizer
#   tsan      build-tsan/  ThreadSanitizer
#   fuzz      build-fuzz/  clang: corpus replay, and each libFuzzer target
#                          for VR_FUZZ_SMOKE_SECONDS (default 20) seconds
#
# Message counts: VR_STRESS_MESSAGES_{DEFAULT,ASAN,TSAN} for the two-thread
# stress tests, VR_PROCESS_MESSAGES_{DEFAULT,ASAN,TSAN} for the two-process
# tests (the sanitizers are 10-50x slower per access, so they run shorter
# streams). scripts/stress_long.sh runs the 100-million-message campaign.
#
# Progress: ctest prints a line as each test ends; while a stage runs, a line
# every VR_TEST_TICK_SECONDS (default 60) says what is still running.
# Missing packages are installed with apt-get first.
set -uo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/setup.sh
source scripts/lib/setup.sh
vr_install_deps || { vr_log "installing the packages failed"; exit 1; }
vr_setup_hugetlbfs

jobs=$(vr_jobs)
passed=0
failed=0
failures=()
start=$(date +%s)

: "${VR_STRESS_MESSAGES_DEFAULT:=4000000}"
: "${VR_STRESS_MESSAGES_ASAN:=2000000}"
: "${VR_STRESS_MESSAGES_TSAN:=1000000}"
: "${VR_PROCESS_MESSAGES_DEFAULT:=500000}"
: "${VR_PROCESS_MESSAGES_ASAN:=200000}"
: "${VR_PROCESS_MESSAGES_TSAN:=100000}"
: "${VR_FUZZ_SMOKE_SECONDS:=20}"
: "${VR_TEST_TICK_SECONDS:=60}"

elapsed() { echo "$(( $(date +%s) - start ))s"; }

# fail STAGE WHAT: record one failure (a test, a build, a configuration).
fail() {
  failed=$((failed + 1))
  failures+=("[$1] $2")
}

# count_results STAGE LOG RC: add a ctest log's totals to passed/failed and
# its failed tests to the list; a non-zero RC with no failed test counted (a
# ctest error) counts as one failure.
count_results() {
  local stage=$1 log=$2 rc=$3 p f name
  p=$(grep -Eo '[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+' "$log" |
      awk '{ total += $NF; bad += $4 } END { print total - bad }')
  f=$(grep -Eo '[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+' "$log" |
      awk '{ bad += $4 } END { print bad + 0 }')
  passed=$((passed + ${p:-0}))
  # The names ctest lists after "The following tests FAILED:".
  while read -r name; do
    [ -n "$name" ] && fail "$stage" "$name"
  done < <(awk '/The following tests FAILED:/ { on = 1; next }
                on && /^[[:space:]]+[0-9]+ - / { sub(/^[[:space:]]+[0-9]+ - /, ""); print; next }
                on { on = 0 }' "$log")
  if [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then
    fail "$stage" "ctest exited with status $rc (see $log)"
  fi
  return 0
}

# ticker STAGE LOG: in the background, every VR_TEST_TICK_SECONDS print how
# long the stage has run and which tests started without ending yet.
ticker_pid=
ticker_start() {
  local stage=$1 log=$2
  (
    t0=$(date +%s)
    while sleep "$VR_TEST_TICK_SECONDS"; do
      running=$(awk '/Start +[0-9]+: / { s[$NF] = 1 }
                     /Test +#[0-9]+: / { n = $0; sub(/.*Test +#[0-9]+: /, "", n); sub(/ .*/, "", n); delete s[n] }
                     END { for (k in s) printf "%s ", k }' "$log" 2>/dev/null)
      vr_log "[$stage] still running after $(( $(date +%s) - t0 ))s (total $(elapsed)): ${running:-building or between tests}"
    done
  ) &
  ticker_pid=$!
}
ticker_stop() {
  if [ -n "$ticker_pid" ]; then
    kill "$ticker_pid" 2>/dev/null
    wait "$ticker_pid" 2>/dev/null
    ticker_pid=
  fi
}
trap 'ticker_stop' EXIT

# build STAGE DIR CMAKE_ARGS...: configure and build; 0 on success.
build() {
  local stage=$1 dir=$2
  shift 2
  vr_log "[$stage] configure and build in $dir ($(elapsed))"
  if ! cmake -S . -B "$dir" "$@" >"$dir.configure.log" 2>&1; then
    cat "$dir.configure.log"
    fail "$stage" "configuration of $dir"
    return 1
  fi
  if ! cmake --build "$dir" -j "$jobs" >"$dir.build.log" 2>&1; then
    grep -E 'error|Error' "$dir.build.log" | head -40
    fail "$stage" "build of $dir (see $dir.build.log)"
    return 1
  fi
}

# run_ctest STAGE DIR LOGNAME CTEST_ARGS...: one ctest run, counted.
run_ctest() {
  local stage=$1 dir=$2 log="$2/$3"
  shift 3
  local rc=0
  : >"$log"
  ticker_start "$stage" "$log"
  ( cd "$dir" && ctest --output-on-failure "$@" ) >"$log" 2>&1 &
  local ctest_pid=$!
  # Echo the log as it grows (the ticker reads the same file).
  tail -n +1 -f --pid="$ctest_pid" "$log" &
  local tail_pid=$!
  wait "$ctest_pid" || rc=$?
  wait "$tail_pid" 2>/dev/null
  ticker_stop
  count_results "$stage" "$log" "$rc"
}

# suite STAGE DIR STRESS PROCESS EXCLUDE -- CMAKE_ARGS...: build, then the
# parallel tests, then the stress tests alone (each uses both cores). Both
# ctest runs happen whatever the first one found. EXCLUDE is a regex of
# labels this build skips (ctest honours only the last -LE, so one regex).
suite() {
  local stage=$1 dir=$2 stress=$3 process=$4 exclude=$5
  shift 6 # the five arguments and the --
  build "$stage" "$dir" "$@" || return 0
  vr_log "[$stage] ctest: everything but stress and qemu ($(elapsed))"
  VR_STRESS_MESSAGES=$stress VR_PROCESS_MESSAGES=$process \
    run_ctest "$stage" "$dir" ctest.log -j "$jobs" -LE "stress|qemu${exclude:+|$exclude}"
  vr_log "[$stage] ctest: stress tests, one at a time (stress messages: $stress) ($(elapsed))"
  VR_STRESS_MESSAGES=$stress VR_PROCESS_MESSAGES=$process \
    run_ctest "$stage" "$dir" ctest-stress.log -L stress ${exclude:+-LE "$exclude"}
}

stage_default() {
  suite default build "$VR_STRESS_MESSAGES_DEFAULT" "$VR_PROCESS_MESSAGES_DEFAULT" "" -- \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVR_WERROR=ON -DVR_REQUIRE_FREESTANDING_CHECK=ON
}

# The QEMU guests run in the default build; one test at a time (each guest
# keeps a core busy under TCG).
stage_qemu() {
  if [ ! -f build/CTestTestfile.cmake ]; then
    build qemu build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVR_WERROR=ON || return 0
  fi
  vr_log "[qemu] ctest -L qemu ($(elapsed))"
  run_ctest qemu build ctest-qemu.log -L qemu
}

stage_asan() {
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  suite asan build-asan "$VR_STRESS_MESSAGES_ASAN" "$VR_PROCESS_MESSAGES_ASAN" \
    "install|freestanding|model|buildtypes" -- \
    -DCMAKE_BUILD_TYPE=Debug -DVR_WERROR=ON -DVR_SANITIZE=address,undefined \
    -DVR_TEST_LABEL_EXTRA=sanitize -DVR_BUILD_SHARED=OFF -DVR_BUILD_BENCH=OFF
}

stage_tsan() {
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
  suite tsan build-tsan "$VR_STRESS_MESSAGES_TSAN" "$VR_PROCESS_MESSAGES_TSAN" \
    "install|freestanding|model|buildtypes" -- \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVR_WERROR=ON -DVR_SANITIZE=thread \
    -DVR_TEST_LABEL_EXTRA=sanitize -DVR_BUILD_SHARED=OFF -DVR_BUILD_BENCH=OFF
}

# libFuzzer needs clang: a build of the core and the fuzz targets only
# (scripts/fuzz.sh runs longer campaigns there).
stage_fuzz() {
  local dir=build-fuzz
  vr_log "[fuzz] configure and build in $dir (clang, libFuzzer) ($(elapsed))"
  if ! CC=clang cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVR_WERROR=ON \
      -DVR_BUILD_TESTS=OFF -DVR_BUILD_EXAMPLES=OFF -DVR_BUILD_BENCH=OFF \
      -DVR_BUILD_TRANSPORTS=OFF -DVR_BUILD_SHARED=OFF >"$dir.configure.log" 2>&1; then
    cat "$dir.configure.log"
    fail fuzz "configuration of $dir"
    return 0
  fi
  if ! cmake --build "$dir" -j "$jobs" --target fuzz_all >"$dir.build.log" 2>&1; then
    grep -E 'error|Error' "$dir.build.log" | head -40
    fail fuzz "build of $dir (see $dir.build.log)"
    return 0
  fi
  vr_log "[fuzz] ctest -L fuzz-smoke (${VR_FUZZ_SMOKE_SECONDS}s per libFuzzer target)"
  VR_FUZZ_SMOKE_SECONDS=$VR_FUZZ_SMOKE_SECONDS run_ctest fuzz "$dir" ctest.log -j "$jobs" -L fuzz-smoke
}

stages=("$@")
if [ "${#stages[@]}" -eq 0 ]; then
  stages=(default qemu asan tsan fuzz)
fi
for s in "${stages[@]}"; do
  case "$s" in
    default|qemu|asan|tsan|fuzz) "stage_$s" ;;
    *) vr_log "unknown stage '$s' (default, qemu, asan, tsan, fuzz)"; exit 2 ;;
  esac
  vr_log "[$s] done: $passed passed, $failed failed so far ($(elapsed))"
done

echo
if [ "$failed" -ne 0 ]; then
  echo "Failures:"
  for f in "${failures[@]}"; do
    echo "  $f"
  done
fi
echo "Total time: $(elapsed)"
echo "libvring: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
