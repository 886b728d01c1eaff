/* SPDX-License-Identifier: BSD-3-Clause */
/* The command line of vring-ivshmem-server (docs/TRANSPORT_IVSHMEM.md). */
#ifndef VR_IVSHMEM_SERVER_USAGE_H
#define VR_IVSHMEM_SERVER_USAGE_H

static const char vr_ivs_usage[] =
"usage: vring-ivshmem-server -S SOCKET [options]\n"
"\n"
"An ivshmem server (QEMU protocol version 0) for ivshmem-doorbell guests\n"
"(-chardev socket,path=SOCKET,id=ivsh -device ivshmem-doorbell,chardev=ivsh,\n"
"vectors=N) and libvring host peers (vr_ivshmem_connect). It creates the\n"
"shared memory, gives each peer an id (the lowest that is free and that no\n"
"connected peer saw leave: QEMU cannot take a departed id back), the memory\n"
"fd and every peer's eventfds, and announces joins and leaves.\n"
"\n"
"  -S, --socket PATH       unix socket to listen on (required; a stale socket\n"
"                          is replaced, a live server's is not)\n"
"  -l, --size BYTES        shared memory size, a power of two (K, M, G\n"
"                          suffixes; default 1M, or the region rounded up)\n"
"  -n, --vectors N         eventfds per peer, 1..64 (default 2)\n"
"  -p, --max-peers N       peers at once, 1..64 (default 16); more are refused\n"
"                          (connection closed)\n"
"  -m, --memfd             the memory is an anonymous memfd, sealed against\n"
"                          shrinking and growing (default)\n"
"  -s, --shm NAME          a named POSIX shm object /NAME (/dev/shm/NAME, for\n"
"                          ivshmem-plain users too); created, removed on exit\n"
"  -f, --file PATH         a regular file; created, removed on exit\n"
"  -k, --keep              leave the named object or file behind on exit\n"
"  -r, --region FORMAT     lay out a libvring region (docs/REGION.md) in the\n"
"                          memory up front: split, packed, or none (default)\n"
"  -q, --queue-size N      region: size of each of the 2 queues (default 256)\n"
"  -b, --buf-bytes N       region: bytes per pool buffer (default 2048)\n"
"  -c, --buf-count N       region: pool buffers (default 2 x queue size)\n"
"  -F, --foreground        stay in the foreground (the default)\n"
"  -D, --daemon            detach once listening\n"
"  -v, --verbose           one line per join, leave and refusal on stderr\n"
"  -R, --ready-fd FD       write \"ready\\n\" to FD once listening, then close it\n"
"  -P, --pidfile PATH      write the pid to PATH once listening (removed on exit)\n"
"  -h, --help              this text\n"
"\n"
"SIGINT or SIGTERM: close every connection, remove the socket, the pidfile\n"
"and the named object or file (unless --keep), exit 0. Exit 1: set-up failed\n"
"(one line on stderr); 2: bad command line.\n";

#endif /* VR_IVSHMEM_SERVER_USAGE_H */
