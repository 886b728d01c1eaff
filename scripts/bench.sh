#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Build and run the benchmark suite (bench/), then write the results:
#
#   bench/results/latest.json   Google Benchmark JSON (every repetition and
#                               the mean/median/stddev/cv aggregates)
#   bench/results/latest.md     markdown tables of medians, every libvring
#                               figure as a ratio to ck_ring and to
#                               cacheline, and the issue's targets met/missed
#   bench/results/cycles-*.png  cycles/message against batch size per
#                               implementation (gnuplot), one per pattern
#
# On a fresh Debian 12 machine it installs what is missing first (Google
# Benchmark, Concurrency Kit, liburcu, DPDK, gnuplot, python3).
#
# Environment:
#   VB_REPETITIONS  repetitions of every benchmark (default 7), interleaved
#                   at random with the other benchmarks' (Google Benchmark's
#                   --benchmark_enable_random_interleaving), so that a
#                   passing disturbance hits every implementation alike
#   VB_MIN_TIME     seconds per repetition (default 0.15)
#   VB_FILTER       regex of benchmarks to run (default: all)
#   VB_CPUS         "A,B": producer and consumer CPUs (default: the first two
#                   this process may use)
#   VB_BUILD_DIR    build directory (default build-bench)
#   VB_PROFILE      1: afterwards, record where the time goes in packed
#                   local/32 and packed stream/32/8 (perf, software clock
#                   sampling, per thread: the main thread is the producer)
#                   into bench/results/profile-*.txt
#
# The full suite is 189 benchmarks; with the defaults it takes about 8
# minutes on 2 cores. Run it on a quiet machine: every cross-core figure
# assumes both CPUs are free.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/setup.sh
source scripts/lib/setup.sh
vr_install_deps libdpdk-dev gnuplot-nox python3

: "${VB_REPETITIONS:=7}"
: "${VB_MIN_TIME:=0.15}"
: "${VB_FILTER:=.}"
: "${VB_BUILD_DIR:=build-bench}"
out=bench/results
mkdir -p "$out"

vr_log "configure and build in $VB_BUILD_DIR"
cmake -S . -B "$VB_BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DVR_BUILD_BENCH=ON -DVR_BUILD_EXAMPLES=OFF >"$VB_BUILD_DIR.configure.log" 2>&1 ||
  { cat "$VB_BUILD_DIR.configure.log"; exit 1; }
grep -E '^-- bench:' "$VB_BUILD_DIR.configure.log" >&2 || true
cmake --build "$VB_BUILD_DIR" -j "$(vr_jobs)" --target vring_bench
bin="$VB_BUILD_DIR/bench/vring_bench"
[ -x "$bin" ] || { vr_log "vring_bench was not built (Google Benchmark missing?)"; exit 1; }

model=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n1 | tr ',' ' ')
cores=$(lscpu | sed -n 's/^CPU(s):[[:space:]]*//p' | head -n1)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
vr_log "running (repetitions $VB_REPETITIONS, ${VB_MIN_TIME}s each; load average $load_before)"
args=(
  --benchmark_repetitions="$VB_REPETITIONS"
  --benchmark_min_time="$VB_MIN_TIME"
  --benchmark_filter="$VB_FILTER"
  --benchmark_out="$out/latest.json"
  --benchmark_out_format=json
  --benchmark_enable_random_interleaving=true
  --benchmark_context="vb_cpu_model=$model,vb_cores=$cores,vb_load_before=$load_before,vb_repetitions=$VB_REPETITIONS,vb_min_time=$VB_MIN_TIME"
)
if [ -n "${VB_CPUS:-}" ]; then
  args+=(--vb_cpus="$VB_CPUS")
fi
rc=0
"$bin" "${args[@]}" || rc=$?
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
vr_log "done (load average $load_after)"

python3 bench/report.py "$out/latest.json" "$out" --load-after "$load_after" >/dev/null
rm -f "$out"/cycles-*.png
( cd "$out" && gnuplot plot.gp )
rm -f "$out"/plot-*.dat "$out/plot.gp"
vr_log "wrote $out/latest.json, $out/latest.md and $(cd "$out" && ls cycles-*.png | tr '\n' ' ')"
if [ "${VB_PROFILE:-0}" = 1 ]; then
  if perf record -q -e cpu-clock -o /dev/null true >/dev/null 2>&1; then
    for b in 'BM_packed_local/32$' 'BM_packed_stream/32/8$'; do
      name=$(echo "$b" | tr -d '$' | tr '/' '-' | sed 's/^BM_//')
      perf record -q -e cpu-clock -F 10000 -o "$VB_BUILD_DIR/perf.data" \
        "$bin" --benchmark_min_time=2 --benchmark_filter="$b" >/dev/null 2>&1
      perf report -i "$VB_BUILD_DIR/perf.data" --no-children --sort pid,sym \
        --percent-limit 0.5 --stdio 2>/dev/null | grep -v '^$' >"$out/profile-$name.txt"
    done
    vr_log "wrote $out/profile-*.txt"
  else
    vr_log "perf does not work here: no profile"
  fi
fi
if [ "$rc" -ne 0 ]; then
  vr_log "some benchmarks failed (see 'Runs that failed' in $out/latest.md)"
fi
exit "$rc"
