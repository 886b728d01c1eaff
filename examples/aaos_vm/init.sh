#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The AAOS guest's program (the first one in its initramfs, run by the
# libvring guest init after the virtio modules are loaded): name the virtio
# console port as udev's rule would (/dev/virtio-ports/NAME), run the
# seed's shell line verbatim, then aaos_app with the arguments given after
# "--" on the kernel command line.
name=my-ipc-port
dev=
for p in /sys/class/virtio-ports/*; do
  [ "$(cat "$p/name" 2>/dev/null)" = "$name" ] && dev=${p##*/}
done
if [ -z "$dev" ]; then
  echo "AAOS: no virtio console port named $name"
  exit 1
fi
mkdir -p /dev/virtio-ports
# A port QEMU adds as virtconsole is a console port: Linux serves it as an
# hvc terminal, and its /dev/vportNpM refuses open (ENXIO). Then the name
# points at that terminal (the first virtio console port is hvc0).
if ( exec 3<>"/dev/$dev" ) 2>/dev/null; then
  target=/dev/$dev
else
  target=/dev/hvc0
fi
busybox ln -sf "$target" "/dev/virtio-ports/$name"
echo "AAOS: /dev/virtio-ports/$name -> $target"
# A terminal echoes and edits lines unless told not to, and hvc resets its
# settings at every last close: hold it open (fd 3) for the whole session,
# raw, so that the echo and head below use it as it is.
exec 3<>"/dev/virtio-ports/$name"
busybox stty raw -echo <&3
# The seed's shell line, as users type it:
echo START_ADAS_PROCESSING > /dev/virtio-ports/my-ipc-port
answer=$(busybox timeout 20 busybox head -n 2 "/dev/virtio-ports/$name" | busybox tr -d '\r' | grep -v '^$')
echo "AAOS: echo START_ADAS_PROCESSING > /dev/virtio-ports/my-ipc-port -> \"$answer\""
if [ "$answer" != "OK START_ADAS_PROCESSING" ]; then
  echo "AAOS: FAIL the seed's shell line got no OK"
  exit 1
fi
exec /bin/aaos_app --port "/dev/virtio-ports/$name" "$@"
