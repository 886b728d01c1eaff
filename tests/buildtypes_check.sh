#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Every build type a user may pick (Debug, Release, RelWithDebInfo,
# MinSizeRel) builds with gcc and with clang, without a warning: each
# configuration is configured with the project's warnings as errors
# (VR_WERROR=ON) and builds the libraries (core, transports, hosted) and
# every test executable. Nothing is run: the optimisation levels differ
# between the types (-O0, -O3, -O2, -Os) and so do the warnings the
# compilers give (-Wmaybe-uninitialized at -O3, clang's -Wcast-align).
# Examples, benchmarks, fuzz targets and vringctl are left out to keep the
# eight builds within a few minutes on two cores.
#
# Usage: tests/buildtypes_check.sh <source-dir> <scratch-dir>
# Environment: VR_BUILDTYPES ("Debug Release RelWithDebInfo MinSizeRel"),
# VR_BUILDTYPES_CC ("gcc clang"), VR_BUILDTYPES_JOBS (2), VR_BUILDTYPES_SKIP
# (compiler:type pairs a caller's own build already covers, e.g.
# "gcc:RelWithDebInfo" for scripts/test.sh's default build).
set -euo pipefail
src=$1 work=$2
types=${VR_BUILDTYPES:-Debug Release RelWithDebInfo MinSizeRel}
compilers=${VR_BUILDTYPES_CC:-gcc clang}
jobs=${VR_BUILDTYPES_JOBS:-2}
mkdir -p "$work"

# Ninja builds a list of targets in one parallel graph; the Makefile
# generator builds several goals one after the other, so with it the
# whole tree ("all") is built instead.
gen=()
if command -v ninja >/dev/null 2>&1; then
  gen=(-G Ninja)
fi

failed=()
for cc in $compilers; do
  if ! command -v "$cc" >/dev/null 2>&1; then
    echo "buildtypes: compiler $cc not found (Debian: gcc, clang)" >&2
    failed+=("$cc:missing")
    continue
  fi
  for bt in $types; do
    case " ${VR_BUILDTYPES_SKIP:-} " in
      *" $cc:$bt "*) echo "buildtypes: $cc $bt: built by the caller's own build, skipped"; continue ;;
    esac
    dir="$work/$cc-$bt"
    log="$dir.log"
    start=$(date +%s)
    rm -rf "$dir"
    # The C++ header test with the matching C++ compiler, where there is one.
    cxx=${cc/gcc/g++}; cxx=${cxx/clang/clang++}
    command -v "$cxx" >/dev/null 2>&1 || cxx=c++
    if ! CC=$cc CXX=$cxx cmake -S "$src" -B "$dir" "${gen[@]}" -DCMAKE_BUILD_TYPE="$bt" \
         -DVR_WERROR=ON -DVR_BUILD_SHARED=OFF -DVR_BUILD_EXAMPLES=OFF \
         -DVR_BUILD_BENCH=OFF -DVR_BUILD_FUZZ=OFF >"$log" 2>&1; then
      echo "buildtypes: $cc $bt: configure FAILED" >&2
      tail -n 30 "$log" >&2
      failed+=("$cc:$bt")
      continue
    fi
    targets=(all)
    if [ ${#gen[@]} -gt 0 ]; then
      mapfile -t targets < <(cmake --build "$dir" --target help 2>/dev/null |
        sed -n 's/^\([A-Za-z0-9_]*\): phony$/\1/p' | grep -E '^(vring_|vr_|test_)' | sort -u)
      [ ${#targets[@]} -gt 0 ] || targets=(all)
    fi
    keep=()
    [ ${#gen[@]} -gt 0 ] && keep=(-- -k 0) # every failing file, not the first
    if cmake --build "$dir" -j "$jobs" --target "${targets[@]}" "${keep[@]}" >>"$log" 2>&1; then
      echo "buildtypes: $cc $bt: ${#targets[@]} targets built, no warning ($(( $(date +%s) - start )) s)"
    else
      echo "buildtypes: $cc $bt: build FAILED; first diagnostics:" >&2
      grep -E '(error|warning):' "$log" | sort -u | head -n 20 >&2 || tail -n 30 "$log" >&2
      failed+=("$cc:$bt")
    fi
    # Keep the log, drop the objects (eight trees add up).
    rm -rf "$dir"
  done
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "buildtypes: FAILED: ${failed[*]} (logs in $work)" >&2
  exit 1
fi
echo "buildtypes: every build type builds with $compilers, warnings as errors"
