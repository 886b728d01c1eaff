/* SPDX-License-Identifier: BSD-3-Clause */
/* vringctl: the command table, the global help, signal handling. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <vring/vring.h>

#include "vringctl.h"

volatile int vc_interrupted;

static void on_signal(int sig)
{
	(void)sig;
	vc_interrupted = 1;
}

void vc_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

void vc_err(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	if (cmd)
		fprintf(stderr, VC_PROG " %s: ", cmd);
	else
		fprintf(stderr, VC_PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{"create", vc_cmd_create, "lay out a new region (file, hugetlbfs file or shm name)"},
	{"dump", vc_cmd_dump, "print the header and the state of every queue (--json)"},
	{"check", vc_cmd_check, "report every broken invariant; exit 1 if any"},
	{"watch", vc_cmd_watch, "live rates, pending counts, notifications, like top"},
	{"send", vc_cmd_send, "send messages as the driver or the device"},
	{"recv", vc_cmd_recv, "receive messages as the device or the driver"},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	size_t i;

	fprintf(out,
		"usage: vringctl COMMAND [options] REGION [args]\n"
		"       vringctl COMMAND --help\n"
		"Inspect, check and drive the rings of a libvring shared region.\n"
		"\n"
		"Commands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-7s %s\n", commands[i].name, commands[i].summary);
	fprintf(out,
		"\n"
		"REGION is one of:\n"
		"  PATH        a file (contains a '/': ./x, /dev/shm/x, /dev/hugepages/x,\n"
		"              /proc/PID/fd/N)\n"
		"  NAME        a POSIX shared memory object (/dev/shm/NAME); also shm:NAME\n"
		"  pid:PID     the libvring memfd that process PID holds (same user)\n"
		"\n"
		"Read-only commands (dump, check, watch) map the region read-only and\n"
		"work on a private copy: a peer cannot crash them.\n"
		"\n"
		"Exit status: 0 success (check: nothing broken); 1 check found broken\n"
		"invariants, or send/recv/create failed; 2 bad command line; 3 the region\n"
		"cannot be used (missing, not a libvring region, unsupported version,\n"
		"truncated, inconsistent header, I/O error); 4 send/recv timed out;\n"
		"130 send interrupted.\n"
		"Reference: docs/VRINGCTL.md.\n");
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		vc_err(NULL, "missing COMMAND (try vringctl --help)");
		return VC_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return VC_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("vringctl (libvring %d.%d.%d), region layout version %d\n",
		       VR_VERSION_MAJOR, VR_VERSION_MINOR, VR_VERSION_PATCH,
		       VR_REGION_VERSION);
		return VC_EXIT_OK;
	}
	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	vc_err(NULL, "unknown command \"%s\" (try vringctl --help)", argv[1]);
	return VC_EXIT_USAGE;
}
