#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Line coverage of the parsing code by the checked-in fuzz corpus.
#
#   ./scripts/fuzz_coverage.sh [TARGET...]     default: every target
#
# Builds the corpus-replay binaries (fuzz_<target>_replay, no libFuzzer)
# with clang's source-based coverage (-fprofile-instr-generate
# -fcoverage-mapping) in build-fzcov/ (or VR_FUZZ_COV_BUILD_DIR), replays
# every file of fuzz/corpus/<target>/, merges the profiles and prints the
# line coverage of each parsing source file, for the targets together and
# for each target alone. The uncovered lines of each file are listed in
# build-fzcov/cov/missed-<file>.txt (llvm-cov show, only the lines whose
# count is 0), and an HTML report is written to build-fzcov/cov/html/.
#
# Two numbers per file: all its lines, and the lines of its parsing
# functions (see not_parsing below for what is left out, and why).
#
# Exit status: 0 when the parsing lines of every file reach
# VR_FUZZ_COV_MIN percent (default 0: report only; 95 is issue 6's bar).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/setup.sh
source scripts/lib/setup.sh
vr_install_deps clang llvm

all_targets=(split_device packed_device split_driver packed_driver region shm_handshake)
build=${VR_FUZZ_COV_BUILD_DIR:-build-fzcov}
min=${VR_FUZZ_COV_MIN:-0}
# The code that parses what the peer wrote: the ring cores (both sides,
# both formats) with their inline hot paths, the region header, and the
# shm transport's handshake parser.
files=(
  libvring/split_dev.c libvring/packed_dev.c
  libvring/split_drv.c libvring/packed_drv.c
  libvring/region.c
  include/vring/split.h include/vring/packed.h
  transports/shm/handshake.h
)
# Functions of those files that never look at anything the peer wrote;
# the "parsing" column leaves them out (the "file" column counts all):
#  - region.c: the owner's set-up (vr_region_bytes, vr_region_format and
#    their helpers) and its own writes (vr_region_store_features);
#  - split.h, packed.h: getters of this side's own counters, and the
#    complete + publish wrappers (both halves are fuzzed on their own).
# Everything else that a corpus input does not reach is listed, by
# function, in build-fzcov/cov/missed-*.txt and explained in
# docs/FUZZING.md.
not_parsing="vr_region_bytes vr_region_format plan align_up put16 put32 put64
  vr_region_store_features
  vr_split_drv_stats vr_split_dev_stats vr_packed_drv_stats vr_packed_dev_stats
  vr_split_dev_push vr_packed_dev_push"

if [ "$#" -gt 0 ]; then
  for t in "$@"; do
    case " ${all_targets[*]} " in
      *" $t "*) ;;
      *) vr_log "unknown target $t (${all_targets[*]})"; exit 2 ;;
    esac
  done
  targets=("$@")
else
  targets=("${all_targets[@]}")
fi

# The llvm tools of clang's own version (the raw profile format changes
# between versions); Debian names them llvm-cov-14 etc. as well as (with
# the llvm package) llvm-cov.
clang_major=$(clang --version | sed -n 's/.*clang version \([0-9]*\).*/\1/p' | head -1)
find_tool() {
  local name=$1 c
  for c in "$name-$clang_major" "/usr/lib/llvm-$clang_major/bin/$name" "$name"; do
    if command -v "$c" >/dev/null 2>&1; then
      echo "$c"
      return 0
    fi
  done
  vr_log "$name not found (install llvm or llvm-$clang_major)"
  return 1
}
profdata=$(find_tool llvm-profdata)
llvmcov=$(find_tool llvm-cov)

vr_log "configure and build $build (clang, coverage instrumentation)"
cov_flags="-fprofile-instr-generate -fcoverage-mapping"
CC=clang cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_C_FLAGS="$cov_flags" -DCMAKE_EXE_LINKER_FLAGS="$cov_flags" \
  -DVR_BUILD_TESTS=OFF -DVR_BUILD_EXAMPLES=OFF -DVR_BUILD_BENCH=OFF \
  -DVR_BUILD_TRANSPORTS=OFF -DVR_BUILD_SHARED=OFF \
  -DVR_REQUIRE_FREESTANDING_CHECK=OFF >"$build.configure.log" 2>&1 ||
  { cat "$build.configure.log"; exit 1; }
cmake --build "$build" -j "$(vr_jobs)" --target \
  $(printf 'fuzz_%s_replay ' "${targets[@]}") >"$build/build.log" 2>&1 ||
  { tail -40 "$build/build.log"; exit 1; }

out="$build/cov"
rm -rf "$out"
mkdir -p "$out/raw"
objects=()
for t in "${targets[@]}"; do
  bin="$build/fuzz/fuzz_${t}_replay"
  n=$(find "fuzz/corpus/$t" -maxdepth 1 -type f | wc -l)
  vr_log "[$t] replaying $n corpus files"
  LLVM_PROFILE_FILE="$out/raw/$t-%p.profraw" "$bin" "fuzz/corpus/$t" >"$out/$t.replay.log" 2>&1 ||
    { vr_log "[$t] replay failed:"; tail -20 "$out/$t.replay.log" >&2; exit 1; }
  "$profdata" merge -sparse "$out/raw/$t"-*.profraw -o "$out/$t.profdata"
  # llvm-cov takes the first binary as an argument, the others as -object.
  if [ "${#objects[@]}" -eq 0 ]; then objects+=("$bin"); else objects+=(-object "$bin"); fi
done
"$profdata" merge -sparse "$out"/*.profdata -o "$out/all.profdata"

# Line coverage from llvm-cov's lcov export: a line counts when some
# instantiation has a count for it (DA record), and is covered when any of
# them ran it. (llvm-cov report's own per-file line totals count a header's
# lines again for each binary and translation unit that compiles it, so
# they understate headers such as split.h.)
lcov() { # PROFDATA OBJECT-ARGS... -> lcov text of the parsing files
  local prof=$1
  shift
  "$llvmcov" export -format=lcov -instr-profile="$prof" "$@" "${files[@]}" 2>/dev/null
}
# line_cov LCOV-FILE FILE -> "covered total percent pcovered ptotal ppercent":
# the whole file, then its parsing functions (not in $not_parsing); "-"
# for a file no binary compiled.
line_cov() {
  awk -v f="$PWD/$2" -v skip="$not_parsing" '
    BEGIN { ns = split(skip, s); for (i = 1; i <= ns; i++) excl[s[i]] = 1 }
    /^SF:/ { on = (substr($0, 4) == f) }
    on && /^FN:/ {
      split(substr($0, 4), a, ",")
      name = a[2]
      sub(/^.*:/, "", name) # static functions: "file.c:name"
      fn[a[1] + 0] = name
    }
    on && /^DA:/ {
      split(substr($0, 4), a, ",")
      seen[a[1] + 0] = 1
      if (a[2] + 0 > 0) hit[a[1] + 0] = 1
    }
    END {
      for (l in seen) if (l + 0 > last) last = l + 0
      for (l = 1; l <= last; l++) {
        if (l in fn) cur = fn[l]
        if (!(l in seen)) continue
        n++; c += (l in hit)
        if (!(cur in excl)) { pn++; pc += (l in hit) }
      }
      if (n == 0) print "- - - - - -"
      else printf "%d %d %.2f%% %d %d %.2f%%\n", c, n, 100 * c / n, pc, pn, 100 * pc / pn
    }' "$1"
}
missed_lines() { # LCOV-FILE FILE -> "line function | source" for each uncovered line
  awk -v f="$PWD/$2" -v src="$2" '
    /^SF:/ { on = (substr($0, 4) == f) }
    on && /^FN:/ {
      split(substr($0, 4), a, ",")
      name = a[2]
      sub(/^.*:/, "", name) # static functions: "file.c:name"
      fn[a[1] + 0] = name
    }
    on && /^DA:/ {
      split(substr($0, 4), a, ",")
      seen[a[1] + 0] = 1
      if (a[2] + 0 > 0) hit[a[1] + 0] = 1
    }
    END {
      while ((getline line < src) > 0)
        text[++nl] = line
      for (l = 1; l <= nl; l++) {
        if (l in fn) cur = fn[l]
        if ((l in seen) && !(l in hit))
          printf "%5d  %-34s | %s\n", l, cur, text[l]
      }
    }' "$1"
}

lcov "$out/all.profdata" "${objects[@]}" >"$out/all.lcov"
for t in "${targets[@]}"; do
  lcov "$out/$t.profdata" "$build/fuzz/fuzz_${t}_replay" >"$out/$t.lcov"
done

status=0
commit=$(git rev-parse --short HEAD 2>/dev/null || echo "?")
dirty=$(git status --porcelain -- fuzz libvring include transports 2>/dev/null | grep -q . &&
  echo " with local changes" || true)
echo
echo "Line coverage of the parsing code by fuzz/corpus ($(date -u +%Y-%m-%d), commit $commit$dirty)"
echo "  (all targets' corpora together: the whole file, then its parsing functions;"
echo "  then each target's own corpus, whole file)"
printf '  %-28s %20s %20s' "file" "file" "parsing"
for t in "${targets[@]}"; do printf ' %14s' "$t"; done
echo
for f in "${files[@]}"; do
  read -r c n p pc pn pp <<<"$(line_cov "$out/all.lcov" "$f")"
  if [ "$c" = "-" ]; then
    printf '  %-28s %20s %20s' "$f" "not built" "-"
  else
    printf '  %-28s %6s/%-5s %7s %6s/%-5s %7s' "$f" "$c" "$n" "$p" "$pc" "$pn" "$pp"
    if awk -v p="${pp%\%}" -v m="$min" 'BEGIN { exit !(p < m) }'; then
      status=1
    fi
  fi
  for t in "${targets[@]}"; do
    read -r c n p pc pn pp <<<"$(line_cov "$out/$t.lcov" "$f")"
    printf ' %14s' "$p"
  done
  echo
  # The lines no corpus input reaches, with their function: for
  # FUZZING.md and for new seeds.
  missed_lines "$out/all.lcov" "$f" >"$out/missed-$(echo "$f" | tr / _).txt"
done
"$llvmcov" show -format=html -output-dir="$out/html" -instr-profile="$out/all.profdata" \
  "${objects[@]}" "${files[@]}" >/dev/null 2>&1 || true
echo
echo "Uncovered lines by function: $out/missed-*.txt; HTML: $out/html/index.html"
if [ "$status" -ne 0 ]; then
  vr_log "some file is below ${min}% line coverage"
fi
exit "$status"
