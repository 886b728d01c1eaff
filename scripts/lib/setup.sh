# SPDX-License-Identifier: BSD-3-Clause
# Sourced by the scripts in scripts/: installs what a fresh Debian 12 machine
# lacks for building and testing libvring, with apt-get (update first).

# Packages the build and the default test run need.
VR_PACKAGES=(
  build-essential cmake pkg-config g++
  ninja-build # the buildtypes test builds its eight trees with Ninja
  libcmocka-dev
  libbenchmark-dev libck-dev liburcu-dev
  linux-libc-dev
  gcc-arm-none-eabi binutils-arm-none-eabi libnewlib-arm-none-eabi
  clang libclang-rt-14-dev
  spin valgrind
  # The QEMU tests (ctest label qemu): guests under TCG, their kernels,
  # initramfs tools and cross compilers (see shared qemu-facts).
  qemu-system-x86 qemu-system-arm qemu-utils
  linux-image-cloud-amd64 busybox-static cpio kmod socat
  gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu libc6-dev
  # The message protocol (msg/): vrmsg.proto compiled for nanopb (RTOS
  # side) and protobuf-c (Linux side) at build time; dpkg-dev unpacks
  # nanopb's source package for the freestanding build (lib/nanopb_src.sh).
  protobuf-compiler nanopb libnanopb-dev protobuf-c-compiler libprotobuf-c-dev
  dpkg-dev
)

vr_log() { printf '[libvring] %s\n' "$*" >&2; }

vr_as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    vr_log "need root (or sudo) to run: $*"
    return 1
  fi
}

# vr_install_deps [extra packages...]: install whatever is missing.
vr_install_deps() {
  local missing=() pkg
  for pkg in "${VR_PACKAGES[@]}" "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$pkg")
    fi
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    vr_log "all packages present"
    return 0
  fi
  vr_log "installing: ${missing[*]}"
  vr_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  vr_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

vr_jobs() { nproc 2>/dev/null || echo 2; }

# vr_setup_hugetlbfs: so that the shared-memory transport's hugetlbfs path is
# tested, make sure a hugetlbfs mount with a few free 2 MiB pages exists.
# Best effort: needs root; without it the test skips (and says so).
vr_setup_hugetlbfs() {
  local free mnt
  free=$(awk '/^HugePages_Free:/ {print $2}' /proc/meminfo 2>/dev/null)
  mnt=$(awk '$3 == "hugetlbfs" {print $2; exit}' /proc/mounts 2>/dev/null)
  if [ -n "$mnt" ] && [ "${free:-0}" -ge 2 ]; then
    return 0
  fi
  if [ "$(id -u)" -ne 0 ]; then
    vr_log "no hugetlbfs mount with free huge pages (needs root): the hugetlbfs test will skip"
    return 0
  fi
  if [ "${free:-0}" -lt 2 ]; then
    echo $(( $(cat /proc/sys/vm/nr_hugepages) + 8 )) > /proc/sys/vm/nr_hugepages 2>/dev/null || true
  fi
  if [ -z "$mnt" ]; then
    mkdir -p /run/libvring-hugetlbfs &&
      mount -t hugetlbfs none /run/libvring-hugetlbfs 2>/dev/null || true
  fi
  free=$(awk '/^HugePages_Free:/ {print $2}' /proc/meminfo 2>/dev/null)
  vr_log "hugetlbfs: $(awk '$3 == "hugetlbfs" {print $2; exit}' /proc/mounts) with ${free:-0} free huge pages"
}
