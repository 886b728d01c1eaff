# SPDX-License-Identifier: BSD-3-Clause
# Sourced by the QEMU tests and demos: builds a small busybox initramfs that
# runs static programs inside a Linux guest, and boots it with the Debian
# cloud kernel under QEMU's TCG (KVM is not reliable on the machines CI runs
# on; see docs/TRANSPORT_IVSHMEM.md and the README).
#
#   vr_qemu_kernel                 path of the newest /boot/vmlinuz-*-cloud-amd64
#   vr_qemu_kver [KERNEL]          its module directory name (6.1.0-...-cloud-amd64)
#   vr_qemu_initramfs OUT [-m "mod1 mod2"] [-k KVER] PROG...
#                                  build OUT (gzip'd newc cpio): busybox, an /init
#                                  that mounts proc/sys/devtmpfs, loads the modules
#                                  (with their dependencies, depmod -b), runs
#                                  /bin/$(basename PROG1) with the words after "--"
#                                  on the kernel command line, prints
#                                  "VR-GUEST-EXIT <code>" and powers off
#   vr_qemu_run SECONDS LOG -- QEMU-ARGS...
#                                  run qemu-system-x86_64 under TCG, killed after
#                                  SECONDS, its console (ttyS0) to LOG; returns
#                                  QEMU's status (124 on timeout)
#   vr_qemu_guest_status LOG       the guest program's exit code from LOG, or 255
#   VR_QEMU_APPEND                 the kernel command line every boot starts with:
#                                  console on ttyS0, reboot = exit, and
#                                  no_timer_check (on a loaded host TCG is slow
#                                  enough for the kernel's IO-APIC timer test to
#                                  fail and panic with interrupt remapping on)
#
# Needs: busybox-static, cpio, kmod (depmod), gzip, qemu-system-x86 and
# linux-image-cloud-amd64 (in VR_PACKAGES of scripts/lib/setup.sh).

VR_QEMU_APPEND="console=ttyS0 quiet panic=-1 no_timer_check"

vr_qemu_kernel() {
  local k
  k=$(ls -1 /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$k" ]; then
    echo "vr_qemu_kernel: no /boot/vmlinuz-*-cloud-amd64 (install linux-image-cloud-amd64)" >&2
    return 1
  fi
  if [ ! -r "$k" ]; then
    echo "vr_qemu_kernel: $k is not readable (run as root or make it readable)" >&2
    return 1
  fi
  echo "$k"
}

vr_qemu_kver() {
  local k=${1:-}
  [ -n "$k" ] || k=$(vr_qemu_kernel) || return 1
  k=$(basename "$k")
  echo "${k#vmlinuz-}"
}

# The busybox binary to copy: it must be static (the initramfs has no libc).
vr__qemu_busybox() {
  local b
  for b in /bin/busybox /usr/bin/busybox; do
    if [ -x "$b" ] && ! ldd "$b" >/dev/null 2>&1; then
      echo "$b"
      return 0
    fi
  done
  echo "vr_qemu_initramfs: no static busybox (install busybox-static)" >&2
  return 1
}

# Copy module NAME and everything it depends on (from modules.dep) into the
# tree at $1, listing each relative path once.
vr__qemu_add_module() {
  local root=$1 kver=$2 name=$3 src=/lib/modules/$2 rel dep line
  line=$(awk -v n="$name" '
    { f = $1; sub(":$", "", f); b = f; sub(".*/", "", b); sub("\\.ko(\\.[a-z]+)?$", "", b);
      gsub("-", "_", b); m = n; gsub("-", "_", m);
      if (b == m) { print; exit } }' "$src/modules.dep")
  if [ -z "$line" ]; then
    echo "vr_qemu_initramfs: module $name not found in $src/modules.dep" >&2
    return 1
  fi
  for rel in $line; do
    rel=${rel%:}
    [ -e "$root/lib/modules/$kver/$rel" ] && continue
    mkdir -p "$root/lib/modules/$kver/$(dirname "$rel")"
    cp "$src/$rel" "$root/lib/modules/$kver/$rel"
  done
}

vr_qemu_initramfs() {
  local out=$1 mods="" kver="" root bb p first="" opt
  shift
  OPTIND=1
  while getopts "m:k:" opt; do
    case $opt in
      m) mods=$OPTARG ;;
      k) kver=$OPTARG ;;
      *) echo "vr_qemu_initramfs: bad option" >&2; return 1 ;;
    esac
  done
  shift $((OPTIND - 1))
  if [ $# -eq 0 ]; then
    echo "vr_qemu_initramfs: no program given" >&2
    return 1
  fi
  [ -n "$kver" ] || kver=$(vr_qemu_kver) || return 1
  bb=$(vr__qemu_busybox) || return 1
  root=$(mktemp -d "${TMPDIR:-/tmp}/vr-initramfs.XXXXXX") || return 1
  mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,run,etc,lib/modules/"$kver"}
  cp "$bb" "$root/bin/busybox"
  for p in sh mount umount mkdir cat echo ls poweroff modprobe insmod sleep dmesg \
           grep sed head tail tr cut lspci kill ps true false; do
    ln -s busybox "$root/bin/$p"
  done
  for p in "$@"; do
    if [ ! -x "$p" ]; then
      echo "vr_qemu_initramfs: $p is not an executable" >&2
      rm -rf "$root"
      return 1
    fi
    if ldd "$p" >/dev/null 2>&1; then
      echo "vr_qemu_initramfs: $p is not static (build it with -static)" >&2
      rm -rf "$root"
      return 1
    fi
    cp "$p" "$root/bin/"
    [ -n "$first" ] || first=$(basename "$p")
  done
  if [ -n "$mods" ]; then
    for p in $mods; do
      vr__qemu_add_module "$root" "$kver" "$p" || { rm -rf "$root"; return 1; }
    done
    cp /lib/modules/"$kver"/modules.{order,builtin,builtin.modinfo} "$root/lib/modules/$kver/" 2>/dev/null || true
    if ! depmod -b "$root" "$kver"; then
      echo "vr_qemu_initramfs: depmod -b failed" >&2
      rm -rf "$root"
      return 1
    fi
  fi
  cat >"$root/init" <<EOF
#!/bin/sh
# libvring guest init: mount, load modules, run the program, power off.
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
for m in $mods; do
  modprobe "\$m" || echo "VR-GUEST-WARN modprobe \$m failed"
done
/bin/$first "\$@"
echo "VR-GUEST-EXIT \$?"
poweroff -f
EOF
  chmod 755 "$root/init"
  (cd "$root" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 >"$out"
  local rc=$?
  rm -rf "$root"
  return $rc
}

# The accelerator: TCG. (KVM stalls on this machine kind; see the README.)
vr_qemu_run() {
  local secs=$1 log=$2
  shift 2
  [ "${1:-}" = "--" ] && shift
  timeout -k 5 "$secs" qemu-system-x86_64 -accel tcg -nodefaults -display none \
    -no-reboot -serial "file:$log" "$@" </dev/null
}

vr_qemu_guest_status() {
  local code
  code=$(sed -n 's/^VR-GUEST-EXIT \([0-9][0-9]*\).*/\1/p' "$1" 2>/dev/null | tail -n 1)
  echo "${code:-255}"
}
