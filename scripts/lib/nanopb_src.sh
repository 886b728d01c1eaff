#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# nanopb's runtime C sources (pb_common.c, pb_encode.c, pb_decode.c) for
# the freestanding builds of the message protocol (msg/). No Debian binary
# package ships them (libnanopb-dev has only the headers and an x86-64
# static library), so they come from Debian's nanopb SOURCE package, the
# same version as the installed generator (package nanopb), unpacked with
# its Debian patches applied into a cache directory outside the git tree.
# nanopb's sources are never committed to libvring.
#
# Usage: scripts/lib/nanopb_src.sh [cache-root]
#   prints the directory that holds pb.h and pb_*.c on stdout (everything
#   else goes to stderr); exits non-zero when they cannot be had.
# Cache root: $1, else $VR_NANOPB_CACHE, else ${XDG_CACHE_HOME:-~/.cache}/libvring.
# Needs: apt-get, dpkg-source (dpkg-dev) and a deb-src entry; as root it
# adds /etc/apt/sources.list.d/libvring-deb-src.sources when apt has none.
set -euo pipefail

log() { printf '[nanopb_src] %s\n' "$*" >&2; }

root=${1:-${VR_NANOPB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/libvring}}
ver=$(dpkg-query -W -f='${Version}' nanopb 2>/dev/null || true)
if [ -z "$ver" ]; then
  log "the nanopb package (the generator) is not installed"
  exit 1
fi
dir="$root/nanopb-src-$ver"
have() { [ -f "$1/pb.h" ] && [ -f "$1/pb_common.c" ] && [ -f "$1/pb_encode.c" ] && [ -f "$1/pb_decode.c" ]; }
if have "$dir/src"; then
  echo "$dir/src"
  exit 0
fi

has_deb_src() {
  grep -rqsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null
}
if ! has_deb_src; then
  if [ "$(id -u)" -ne 0 ]; then
    log "apt has no deb-src entry and this is not root: add one (Types: deb-src) and run again"
    exit 1
  fi
  # shellcheck source=/dev/null
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
  log "adding a deb-src entry for $codename"
  cat > /etc/apt/sources.list.d/libvring-deb-src.sources <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $codename
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
fi

tmp=$(mktemp -d "$root/.nanopb-fetch.XXXXXX" 2>/dev/null || { mkdir -p "$root" && mktemp -d "$root/.nanopb-fetch.XXXXXX"; })
trap 'rm -rf "$tmp"' EXIT
log "fetching the nanopb $ver source package into $dir"
if ! (cd "$tmp" && apt-get source --download-only -q "nanopb=$ver" >&2); then
  # An older list: try whatever the sources offer, then insist on the version below.
  DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 || true
  (cd "$tmp" && apt-get source --download-only -q "nanopb=$ver" >&2)
fi
dsc=$(find "$tmp" -maxdepth 1 -name 'nanopb_*.dsc' | head -n 1)
# -x applies the Debian patches, so the sources match libnanopb-dev's headers.
(cd "$tmp" && dpkg-source -x "$dsc" unpacked >&2)
if ! have "$tmp/unpacked"; then
  log "the source package has no pb.h / pb_*.c at its top level"
  exit 1
fi
mkdir -p "$tmp/stage/src"
cp "$tmp"/unpacked/pb.h "$tmp"/unpacked/pb_common.[ch] "$tmp"/unpacked/pb_encode.[ch] \
   "$tmp"/unpacked/pb_decode.[ch] "$tmp"/unpacked/LICENSE.txt "$tmp/stage/src/"
# One rename: a second fetch running at the same time loses the race
# harmlessly (its rename fails, the winner's copy is the same).
rm -rf "$dir" 2>/dev/null || true
mv -T "$tmp/stage" "$dir" 2>/dev/null || true
if ! have "$dir/src"; then
  log "could not install the sources into $dir"
  exit 1
fi
echo "$dir/src"
