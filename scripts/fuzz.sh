#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Fuzz campaigns with libFuzzer (clang).
#
#   ./scripts/fuzz.sh [TARGET|all] [SECONDS]    fuzz, then merge the new
#                                               coverage into fuzz/corpus/
#   ./scripts/fuzz.sh --gen                     regenerate the seed corpus
#                                               (fuzz_gen_corpus) into
#                                               fuzz/corpus/
#
# Coverage of the parsing code by the corpus: scripts/fuzz_coverage.sh;
# targets, input formats and campaign history: docs/FUZZING.md.
#
# TARGET is one of split_device packed_device split_driver packed_driver
# region shm_handshake ivshmem_client (default all); SECONDS per target (default 60). Builds in
# build-fuzz/ (or VR_FUZZ_BUILD_DIR) with CC=clang. Every target runs with its dictionary, on
# VR_FUZZ_JOBS workers (default 1); new inputs go to build-fuzz/fuzz/
# work-<target>/, crashes to build-fuzz/fuzz/crash-<target>/, and after
# the run only inputs that add coverage are merged into the checked-in
# corpus (-merge=1). At the end: executions per second and edges covered
# per target.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/setup.sh
source scripts/lib/setup.sh
vr_install_deps clang llvm

targets=(split_device packed_device split_driver packed_driver region shm_handshake ivshmem_client
         mmio_device frame nanopb_decode)
build=${VR_FUZZ_BUILD_DIR:-build-fuzz}

configure() {
  vr_log "configure and build $build (clang, libFuzzer)"
  CC=clang cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DVR_BUILD_TESTS=OFF -DVR_BUILD_EXAMPLES=OFF -DVR_BUILD_BENCH=OFF \
    -DVR_BUILD_TRANSPORTS=OFF -DVR_BUILD_SHARED=OFF \
    -DVR_REQUIRE_FREESTANDING_CHECK=OFF >"$build.configure.log" 2>&1 ||
    { cat "$build.configure.log"; exit 1; }
  cmake --build "$build" -j "$(vr_jobs)" --target fuzz_all
}

if [ "${1:-}" = "--gen" ]; then
  configure
  vr_log "regenerating the seed corpus in fuzz/corpus"
  "$build/fuzz/fuzz_gen_corpus" fuzz/corpus
  exit 0
fi

which=${1:-all}
seconds=${2:-60}
jobs=${VR_FUZZ_JOBS:-1}
if [ "$which" != all ]; then
  found=0
  for t in "${targets[@]}"; do [ "$t" = "$which" ] && found=1; done
  [ "$found" -eq 1 ] || { vr_log "unknown target $which (${targets[*]})"; exit 2; }
  targets=("$which")
fi

configure
summary=()
status=0
for t in "${targets[@]}"; do
  bin="$build/fuzz/fuzz_$t"
  work="$build/fuzz/work-$t"
  crash="$build/fuzz/crash-$t"
  log="$build/fuzz/fuzz-$t.log"
  mkdir -p "$work" "$crash"
  vr_log "[$t] fuzzing for ${seconds}s on $jobs worker(s)"
  rc=0
  args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048
        -print_final_stats=1 -dict="fuzz/dict/$t.dict"
        -artifact_prefix="$crash/")
  if [ "$jobs" -gt 1 ]; then
    args+=(-fork="$jobs" -ignore_crashes=1)
  fi
  "$bin" "${args[@]}" "$work" "fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
  execs=$(grep -Eo 'stat::average_exec_per_sec: *[0-9]+' "$log" | awk '{print $2}' | tail -1)
  edges=$(grep -Eo 'cov: [0-9]+' "$log" | awk '{print $2}' | tail -1)
  if [ "$rc" -ne 0 ] || ls "$crash" | grep -q .; then
    vr_log "[$t] FAILED (exit $rc); reproducers in $crash; log $log"
    grep -E 'invariant failed|ERROR: |SUMMARY' "$log" | head -5 >&2 || true
    status=1
  fi
  vr_log "[$t] merging new coverage into fuzz/corpus/$t"
  "$bin" -merge=1 "fuzz/corpus/$t" "$work" >"$log.merge" 2>&1 ||
    { vr_log "[$t] merge failed, see $log.merge"; status=1; }
  summary+=("$(printf '%-14s %10s exec/s %6s edges  %4d corpus files' "$t" \
    "${execs:-?}" "${edges:-?}" "$(ls "fuzz/corpus/$t" | wc -l)")")
done

echo
echo "libvring fuzz (${seconds}s per target):"
printf '  %s\n' "${summary[@]}"
exit "$status"
