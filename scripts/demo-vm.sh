#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The AAOS <-> RTOS scenario with two real guests, in one command:
#   AAOS  qemu-system-x86_64 (TCG), the Debian cloud kernel, a busybox
#         initramfs; Linux's virtio_console serves /dev/virtio-ports/my-ipc-port
#   RTOS  qemu-system-aarch64 -M virt, a bare-metal image whose virtio-pci
#         driver is libvring (examples/rtos_vm)
# their virtconsoles joined by one chardev socket. The AAOS side runs
# `echo START_ADAS_PROCESSING > /dev/virtio-ports/my-ipc-port`, then a C
# program that writes SET_SENSOR_GAIN_HIGH and 1,000 typed commands (the
# message protocol, docs/PROTOCOL.md); the RTOS executes and answers each.
# Installs what is missing (apt-get), builds, runs, prints what each side saw.
#
#   scripts/demo-vm.sh [--commands N] [--restart] [--packed]
#     --restart   kill -9 the RTOS guest mid-run and start it again: the
#                 AAOS program sees timeouts, then answers, never reopening
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/setup.sh
source scripts/lib/setup.sh
vr_install_deps
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >build.configure.log 2>&1 ||
  { cat build.configure.log; exit 1; }
cmake --build build -j "$(vr_jobs)" --target rtos_vm aaos_app
exec tests/qemu/scenario/two_guests.sh . build build/demo-vm "$@"
