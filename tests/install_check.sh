#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Install the build into a scratch prefix, then use it as a new user would:
#  1. every installed library has its header, archive, CMake target and
#     pkg-config module (vring, vring-shm, vring-mp), and the pkg-config
#     Cflags carry include paths and defines only (no -std=...);
#  2. the consumer project (tests/install_consumer) with find_package, and
#     consumer.c with pkg-config, static (vring) and shared (vring-shared);
#  3. every C snippet of README.md marked
#       <!-- snippet name=NAME cmake=TARGET[,TARGET] pkg-config=MOD[,MOD] run=HOW -->
#     compiles and links as printed, both ways: with the CMake line
#     "target_link_libraries(NAME PRIVATE TARGETS)" and with the command
#     "cc NAME.c -o NAME $(pkg-config --cflags --libs MODS)", both of which
#     the README must print; then runs (HOW: alone, pair = "NAME driver S"
#     with "NAME device S", peer:OTHER = "NAME S" with "OTHER device S").
#     Both ways link the static libraries (no libvring.so needed at run
#     time). A ```c block without such a marker must be marked
#     <!-- fragment: why --> (an excerpt that is not a whole program).
# Usage: tests/install_check.sh <source-dir> <build-dir> <scratch-dir>
set -euo pipefail
src=$1 build=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
prefix=$work/prefix
cc=${CC:-cc}
fail() { echo "install check: $*" >&2; exit 1; }
step() { echo "install check: $*"; }

cmake --install "$build" --prefix "$prefix" >/dev/null
test -f "$prefix/include/vring/vring.h" || fail "vring/vring.h not installed"
# vringctl is installed with the library when the hosted code is built.
if [ -f "$build/tools/vringctl/vringctl" ] || [ -f "$build/tools/vringctl" ]; then
  "$prefix/bin/vringctl" --version
  "$prefix/bin/vringctl" dump --help >/dev/null
fi

# ---- 1. What is installed: one header, archive, target, module each -------
pcdir=$(find "$prefix" -name vring.pc -printf '%h\n' | head -1)
[ -n "$pcdir" ] || fail "vring.pc not installed"
libdir=$(dirname "$pcdir")
cmakedir=$libdir/cmake/libvring
export PKG_CONFIG_PATH="$pcdir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
have_shm=0 have_mp=0
# Every problem of this part is listed before the test stops.
problems=()
problem() { echo "install check: $*" >&2; problems+=("$*"); }
# name, build-tree archive, header, CMake target, pkg-config module
check_lib() {
  local name=$1 built=$2 header=$3 target=$4 module=$5
  if [ -z "$(find "$build" -name "$built" -not -path '*/install_check/*' -print -quit)" ]; then
    step "$name was not built here: not checked"
    return 1
  fi
  test -f "$prefix/include/vring/$header" || problem "$name: vring/$header not installed"
  test -f "$libdir/$built" || problem "$name: $built not installed in $libdir"
  grep -q "vring::${target#vring::}\b" "$cmakedir"/libvringTargets*.cmake ||
    problem "$name: CMake target $target not exported"
  if [ ! -f "$pcdir/$module.pc" ]; then
    problem "$name: pkg-config module $module not installed"
  elif ! pkg-config --exists "$module"; then
    problem "$name: pkg-config $module: $(pkg-config --print-errors --exists "$module" 2>&1)"
  fi
  return 0
}
check_lib "the core" libvring.a vring.h vring::vring_static vring
check_lib "the shm transport" libvring_shm.a shm.h vring::shm vring-shm && have_shm=1
check_lib "the multi-producer sender" libvring_mp.a mp_send.h vring::mp vring-mp && have_mp=1
# Cflags: include paths and defines only; the consumer picks its -std.
for pc in "$pcdir"/*.pc; do
  m=$(basename "$pc" .pc)
  for w in $(pkg-config --cflags "$m"); do
    case $w in
      -I*|-D*) ;;
      *) problem "pkg-config --cflags $m has '$w': only -I and -D belong there" ;;
    esac
  done
done
[ ${#problems[@]} -eq 0 ] || fail "${#problems[@]} packaging problem(s), listed above"
step "modules $(cd "$pcdir" && ls -- *.pc | tr '\n' ' ')with include-only Cflags"

# The binary needs no libvring.so: CMake's vring::vring and pkg-config's
# vring link the same (static) library.
static_only() {
  if readelf -d "$1" | grep -q 'NEEDED.*libvring'; then
    fail "$1 needs $(readelf -d "$1" | grep -o 'libvring[^]]*'), expected the static library"
  fi
}

# ---- 2. The consumer project ----------------------------------------------

# vring-ivshmem-server is installed with the library when the ivshmem
# transport is built, with the host peer's header.
if [ -f "$build/transports/vring-ivshmem-server" ]; then
  "$prefix/bin/vring-ivshmem-server" --help >/dev/null
  test -f "$prefix/include/vring/ivshmem.h"
fi
cmake -S "$src/tests/install_consumer" -B "$work/consumer" \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/consumer" >/dev/null
"$work/consumer/consumer"
static_only "$work/consumer/consumer"
# shellcheck disable=SC2046
$cc $(pkg-config --cflags vring) "$src/tests/install_consumer/consumer.c" \
   $(pkg-config --libs vring) -o "$work/consumer_pc"
"$work/consumer_pc"
static_only "$work/consumer_pc"
if [ -f "$pcdir/vring-shared.pc" ]; then
  # The shared library, as the README says to choose it.
  # shellcheck disable=SC2046
  $cc "$src/tests/install_consumer/consumer.c" -o "$work/consumer_shared" \
    $(pkg-config --cflags --libs vring-shared) \
    -Wl,-rpath,"$(pkg-config --variable=libdir vring-shared)"
  "$work/consumer_shared"
  readelf -d "$work/consumer_shared" | grep -q 'NEEDED.*libvring\.so' ||
    fail "pkg-config vring-shared did not link libvring.so"
  "$work/consumer/consumer_shared"
  readelf -d "$work/consumer/consumer_shared" | grep -q 'NEEDED.*libvring\.so' ||
    fail "CMake vring::shared did not link libvring.so"
fi

# ---- 3. The README's snippets ---------------------------------------------
readme=$src/README.md
snip=$work/snippets
mkdir -p "$snip"
# Writes NAME.c per snippet and one line per snippet in index:
# "NAME CMAKE_TARGETS PKG_MODULES RUN" (lists comma-separated).
awk -v dir="$snip" '
  function attr(line, key,   m) {
    if (match(line, "(^| )" key "=[^ ]+")) {
      m = substr(line, RSTART, RLENGTH); sub(/^ /, "", m); sub(/^[^=]*=/, "", m)
      return m
    }
    return ""
  }
  /^```c[ \t]*$/ {
    if (prev ~ /^<!-- snippet .*-->$/) {
      name = attr(prev, "name"); cm = attr(prev, "cmake")
      pc = attr(prev, "pkg-config"); run = attr(prev, "run")
      if (name == "" || cm == "" || pc == "" || run == "") {
        printf "README.md:%d: snippet marker needs name, cmake, pkg-config and run\n", NR - 1 > "/dev/stderr"
        bad = 1
      }
      out = dir "/" name ".c"; inside = 1
      print name, cm, pc, run > (dir "/index")
    } else if (prev !~ /^<!-- fragment:.*-->$/) {
      printf "README.md:%d: a C block with neither a snippet nor a fragment marker on the line before\n", NR > "/dev/stderr"
      bad = 1
    }
    prev = $0
    next
  }
  /^```/ { if (inside) { inside = 0; close(out) } }
  { if (inside) print > out; prev = $0 }
  END { exit bad }
' "$readme" || fail "README.md: unmarked or badly marked C snippets (see above)"
[ -s "$snip/index" ] || fail "README.md: no marked snippet"

# One CMake project builds them all, each with the targets its marker names.
{
  echo "cmake_minimum_required(VERSION 3.16)"
  echo "project(readme_snippets LANGUAGES C)"
  echo "find_package(libvring 0.1 REQUIRED)"
  echo "add_compile_options(-Wall -Wextra -Werror)"
} >"$snip/CMakeLists.txt"
while read -r name cm pc run; do
  case $cm$pc in *vring::shm*|*vring-shm*) [ $have_shm = 1 ] || continue ;; esac
  case $cm$pc in *vring::mp*|*vring-mp*) [ $have_mp = 1 ] || continue ;; esac
  targets=${cm//,/ } modules=${pc//,/ }
  line="target_link_libraries($name PRIVATE $targets)"
  cmd="cc $name.c -o $name \$(pkg-config --cflags --libs $modules)"
  grep -qF "$line" "$readme" || fail "README.md does not print '$line' for snippet $name"
  grep -qF "$cmd" "$readme" || fail "README.md does not print '$cmd' for snippet $name"
  { echo "add_executable($name $name.c)"; echo "$line"; } >>"$snip/CMakeLists.txt"
  echo "$name $run" >>"$snip/built"
done <"$snip/index"
[ -s "$snip/built" ] || fail "no README snippet could be built"
cmake -S "$snip" -B "$snip/cmake" -DCMAKE_PREFIX_PATH="$prefix" >"$snip/cmake.log" 2>&1 ||
  { cat "$snip/cmake.log"; fail "README snippets: find_package(libvring) failed"; }
cmake --build "$snip/cmake" >>"$snip/cmake.log" 2>&1 ||
  { cat "$snip/cmake.log"; fail "README snippets: the CMake build failed"; }
mkdir -p "$snip/pc"
while read -r name cm pc run; do
  grep -q "^$name " "$snip/built" || continue
  modules=${pc//,/ }
  # As printed, with the project's warnings as errors; then under
  # -std=c11 too, which nothing in the package may impose or break.
  # shellcheck disable=SC2046,SC2086
  (cd "$snip" && $cc -Wall -Wextra -Werror $name.c -o pc/$name $(pkg-config --cflags --libs $modules)) ||
    fail "README snippet $name: the pkg-config build failed"
  # shellcheck disable=SC2046,SC2086
  (cd "$snip" && $cc -std=c11 -Wall -Wextra -Werror -c $name.c -o pc/$name.o $(pkg-config --cflags $modules)) ||
    fail "README snippet $name: does not compile with -std=c11"
  static_only "$snip/pc/$name"
  static_only "$snip/cmake/$name"
done <"$snip/index"
step "README snippets built with find_package and pkg-config: $(cut -d' ' -f1 "$snip/built" | tr '\n' ' ')"

# Run them, both builds.
sockdir=$(mktemp -d "${TMPDIR:-/tmp}/vring-install.XXXXXX")
trap 'rm -rf "$sockdir"' EXIT
run_pair() { # driver-command... -- device-command...
  local drv=() dev=() rc_drv=0 rc_dev=0
  while [ "$1" != -- ]; do drv+=("$1"); shift; done
  shift
  dev=("$@")
  timeout 60 "${drv[@]}" >"$sockdir/drv.out" 2>&1 &
  local pid=$!
  timeout 60 "${dev[@]}" >"$sockdir/dev.out" 2>&1 || rc_dev=$?
  wait "$pid" || rc_drv=$?
  if [ $rc_drv -ne 0 ] || [ $rc_dev -ne 0 ]; then
    cat "$sockdir/drv.out" "$sockdir/dev.out" >&2
    return 1
  fi
  cat "$sockdir/drv.out"
}
while read -r name run; do
  for kind in cmake pc; do
    bin=$snip/$kind/$name
    sock=$sockdir/$name-$kind.sock
    case $run in
      alone) timeout 60 "$bin" >/dev/null || fail "README snippet $name ($kind) failed" ;;
      pair) run_pair "$bin" driver "$sock" -- "$bin" device "$sock" ||
              fail "README snippet $name ($kind): the two processes failed" ;;
      peer:*) run_pair "$bin" "$sock" -- "$snip/$kind/${run#peer:}" device "$sock" ||
                fail "README snippet $name ($kind) with ${run#peer:} failed" ;;
      *) fail "README snippet $name: unknown run=$run" ;;
    esac
  done
done <"$snip/built"
echo "install check passed (find_package, pkg-config, vringctl, README snippets)"
