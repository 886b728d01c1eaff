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
# then the latency phase (bench/latency, docs/LATENCY.md): vring_latency
# measures request/response round trips between two processes over the
# shared-memory transport, per notification/wait policy and load, and
# bench/latency/report_latency.py writes
#
#   bench/results/latency.json   one record per (policy, load): p50 .. p99.99,
#                                max, doorbells and CPU per message, ...: the
#                                median of VB_LAT_ROUNDS rounds, each round
#                                and the spread in the record too
#   bench/results/latency.md     the table, the machine, the issue's targets
#   bench/results/latency-*.png  latency distribution per policy, one per load
#
# On a fresh Debian 12 machine it installs what is missing first (Google
# Benchmark, Concurrency Kit, liburcu, DPDK, gnuplot, python3, valgrind).
#
#   scripts/bench.sh --instructions
#
# does only the instruction counts (a few minutes, any machine): every local
# benchmark (both roles on one CPU) runs a fixed number of messages under
# callgrind (bench/bench_icount.c), and bench/report_instructions.py writes
#
#   bench/results/instructions.json          {"BM_packed_local/32": N, ...}:
#                                            instructions per message
#   bench/results/instructions-history.json  the last 30 such runs
#   bench/results/instructions.md            table, change against the
#                                            previous run, the harness
#                                            alone (BM_harness_*: each body
#                                            on a null ring) with ring cost
#                                            = total - harness, targets,
#                                            and the table "driver / device
#                                            instructions per message"
#   bench/results/instructions_roles.json    {"BM_packed_local_burst/32":
#                                            {"driver": N, "device": M}}:
#                                            each role of the libvring local
#                                            bodies counted alone, batches
#                                            1, 8, 32 (vring_icount --roles)
#
# Every name vring_icount --list prints is counted (the local bodies of
# libvring, _burst and _bufs ones when built, the peers and the harnesses),
# and every name of --list-roles once per role.
#
# The full run (no argument) does the instruction counts too, after the
# latency phase (VB_INSTRUCTIONS=0 skips them).
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
#   VB_SUITE        0: skip the Google Benchmark suite (only the latency
#                   phase: VB_SUITE=0 scripts/bench.sh)
#   VB_LATENCY      0: skip the latency phase
#   VB_LAT_ROUNDS   rounds of the latency matrix (default 3): vring_latency
#                   --rounds, every cell once per round, round after round;
#                   the report uses each cell's median and says whether a
#                   verdict holds in every round
#   VB_LAT_ARGS     extra arguments for vring_latency, e.g. "--seconds 1"
#                   or "--loads paced-100k --policy adaptive:spin_max_ns=20000"
#                   (see vring_latency --help); VB_CPUS applies to it too
#
# The full suite is 297 benchmarks (389 when the core has the burst calls:
# bench/CMakeLists.txt, VR_BENCH_BURSTS; 92 more with both formats' _bufs
# calls, bench_vring.c's VRB_HAVE_*_BUFS), the BM_harness_* ones (each
# body's harness on a null ring) short; with the defaults it takes about
# 12 (16) minutes on 2 cores, and the latency phase about 6 minutes more (3
# rounds of about 1.9 minutes). Run it
# on a quiet machine: every cross-core figure assumes both CPUs are free.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/setup.sh
source scripts/lib/setup.sh

: "${VB_REPETITIONS:=7}"
: "${VB_MIN_TIME:=0.15}"
: "${VB_FILTER:=.}"
: "${VB_BUILD_DIR:=build-bench}"
: "${VB_SUITE:=1}"
: "${VB_LATENCY:=1}"
: "${VB_LAT_ROUNDS:=3}"
: "${VB_INSTRUCTIONS:=1}"
case "${1:-}" in
  --instructions) VB_SUITE=0; VB_LATENCY=0; VB_INSTRUCTIONS=1 ;;
  "") ;;
  -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  *) echo "bench.sh: unknown argument '$1' (--instructions, --help)" >&2; exit 2 ;;
esac
if [ "$VB_SUITE" != 0 ] || [ "$VB_INSTRUCTIONS" != 0 ]; then
  vr_install_deps libdpdk-dev gnuplot-nox python3 valgrind
else
  vr_install_deps gnuplot-nox python3 valgrind
fi
out=bench/results
mkdir -p "$out"
targets=()
if [ "$VB_SUITE" != 0 ]; then targets+=(vring_bench); fi
if [ "$VB_LATENCY" != 0 ]; then targets+=(vring_latency); fi
if [ "$VB_INSTRUCTIONS" != 0 ]; then targets+=(vring_icount); fi
if [ "${#targets[@]}" -eq 0 ]; then
  vr_log "VB_SUITE=0, VB_LATENCY=0 and VB_INSTRUCTIONS=0: nothing to do"
  exit 0
fi

vr_log "configure and build in $VB_BUILD_DIR"
cmake -S . -B "$VB_BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DVR_BUILD_BENCH=ON -DVR_BUILD_TRANSPORTS=ON -DVR_BUILD_EXAMPLES=OFF >"$VB_BUILD_DIR.configure.log" 2>&1 ||
  { cat "$VB_BUILD_DIR.configure.log"; exit 1; }
grep -E '^-- bench:' "$VB_BUILD_DIR.configure.log" >&2 || true
for t in "${targets[@]}"; do
  cmake --build "$VB_BUILD_DIR" -j "$(vr_jobs)" --target "$t"
done

# ---- The Google Benchmark suite ---------------------------------------------
# (Functions called plainly, so that set -e holds inside; failures of the
# measured programs are kept in suite_rc / latency_rc.)
suite_rc=0
run_suite() {
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
  "$bin" "${args[@]}" || suite_rc=$?
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
  if [ "$suite_rc" -ne 0 ]; then
    vr_log "some benchmarks failed (see 'Runs that failed' in $out/latest.md)"
  fi
}

# ---- The latency phase --------------------------------------------------------
latency_rc=0
run_latency() {
  local lat="$VB_BUILD_DIR/bench/latency/vring_latency"
  local -a largs=(--json "$out/latency.json" --rounds "$VB_LAT_ROUNDS")
  [ -x "$lat" ] || { vr_log "vring_latency was not built"; exit 1; }
  if [ -n "${VB_CPUS:-}" ]; then
    largs+=(--cpus "$VB_CPUS")
  fi
  if [ -n "${VB_LAT_ARGS:-}" ]; then
    # shellcheck disable=SC2206 # split the extra arguments into words
    largs+=($VB_LAT_ARGS)
  fi
  rm -f "$out/latency.json"
  vr_log "latency: vring_latency ${largs[*]} (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  "$lat" "${largs[@]}" || latency_rc=$?
  if [ -s "$out/latency.json" ]; then
    rm -f "$out"/latency-*.png
    python3 bench/latency/report_latency.py "$out/latency.json" "$out"
    vr_log "wrote $out/latency.json, $out/latency.md and $(cd "$out" && ls latency-*.png | tr '\n' ' ')"
  fi
  if [ "$latency_rc" -ne 0 ]; then
    vr_log "the latency phase failed (vring_latency exit $latency_rc): see above"
  fi
}

# ---- Instruction counts (callgrind) ---------------------------------------------
: "${VB_ICOUNT_BATCHES:=2048}"
icount_rc=0
# icount_one NAME [driver|device]: "MESSAGES COLLECTED" of one callgrind run
# of vring_icount (with --roles ROLE when given); 1 after printing the log.
icount_one() {
  local bin="$VB_BUILD_DIR/bench/vring_icount" name=$1 role=${2:-} batch msgs
  local log="$VB_BUILD_DIR/icount.log" collected
  local -a args=()
  [ -z "$role" ] || args=(--roles "$role")
  batch=${name##*/}
  msgs=$((batch * VB_ICOUNT_BATCHES))
  if ! valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file=/dev/null \
      "$bin" "${args[@]}" "$name" "$msgs" >"$log" 2>&1; then
    cat "$log" >&2
    vr_log "instructions: $name${role:+ ($role)} failed"
    return 1
  fi
  collected=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$log" | tail -n1)
  msgs=$(sed -n "s|^$name messages \([0-9]*\)\$|\1|p" "$log")
  if [ -z "$collected" ] || [ -z "$msgs" ]; then
    cat "$log" >&2
    vr_log "instructions: no count for $name${role:+ ($role)}"
    return 1
  fi
  echo "$msgs $collected"
}

run_instructions() {
  local bin="$VB_BUILD_DIR/bench/vring_icount" counts="$VB_BUILD_DIR/icount.txt"
  local roles="$VB_BUILD_DIR/icount-roles.txt"
  local name role mc n=0 nr=0
  [ -x "$bin" ] || { vr_log "vring_icount was not built (valgrind headers missing?)"; exit 1; }
  : >"$counts"
  : >"$roles"
  vr_log "instructions: each local benchmark for $VB_ICOUNT_BATCHES batches under callgrind"
  while read -r name; do
    mc=$(icount_one "$name") || { icount_rc=1; continue; }
    echo "$name $mc" >>"$counts"
    n=$((n + 1))
    printf '[libvring] instructions: %-40s %8.1f per message\n' "$name" \
      "$(awk -v mc="$mc" 'BEGIN { split(mc, a, " "); print a[2] / a[1] }')" >&2
  done < <("$bin" --list)
  vr_log "instructions per role: the driver's and the device's steps of each libvring local body"
  while read -r name; do
    for role in driver device; do
      mc=$(icount_one "$name" "$role") || { icount_rc=1; continue; }
      echo "$name $role $mc" >>"$roles"
      nr=$((nr + 1))
      printf '[libvring] instructions: %-40s %-6s %8.1f per message\n' "$name" "$role" \
        "$(awk -v mc="$mc" 'BEGIN { split(mc, a, " "); print a[2] / a[1] }')" >&2
    done
  done < <("$bin" --list-roles)
  python3 bench/report_instructions.py "$counts" "$out" --roles "$roles" \
    --date "$(date -u +%Y-%m-%dT%H:%MZ)" \
    --commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo +dirty)" \
    --compiler "$(${CC:-cc} --version | head -n1)"
  vr_log "wrote $out/instructions.json, $out/instructions_roles.json, $out/instructions-history.json, $out/instructions.md ($n benchmarks, $nr role counts)"
}

if [ "$VB_SUITE" != 0 ]; then
  run_suite
fi
if [ "$VB_LATENCY" != 0 ]; then
  run_latency
fi
if [ "$VB_INSTRUCTIONS" != 0 ]; then
  run_instructions
fi
[ "$suite_rc" -eq 0 ] || exit "$suite_rc"
[ "$latency_rc" -eq 0 ] || exit "$latency_rc"
exit "$icount_rc"
