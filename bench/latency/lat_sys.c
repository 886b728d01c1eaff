/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the tool asks of the operating system: CPUs to run on, CPU time
 * used, timer slack, a watchdog, and the facts about the machine that go
 * into the report.
 */
#include "lat.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

int vl_cpu_pick(unsigned index)
{
	cpu_set_t set;
	unsigned n = 0, i, count;

	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return -1;
	count = (unsigned)CPU_COUNT(&set);
	if (count < 2)
		return -1;
	for (i = 0; i < CPU_SETSIZE; i++) {
		if (CPU_ISSET(i, &set) && n++ == index % count)
			return (int)i;
	}
	return -1;
}

int vl_pin(int cpu)
{
	cpu_set_t one;

	if (cpu < 0)
		return 0;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	return sched_setaffinity(0, sizeof(one), &one);
}

uint64_t vl_cpu_ns(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ull +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
}

void vl_timer_slack_min(void)
{
	/* Best effort: without it timed waits are up to 50 us late. */
	(void)prctl(PR_SET_TIMERSLACK, 1ul, 0ul, 0ul, 0ul);
}

int vl_realtime(int prio)
{
	struct sched_param sp;

	memset(&sp, 0, sizeof(sp));
	sp.sched_priority = prio;
	return sched_setscheduler(0, SCHED_FIFO, &sp) == 0 ? 0 : errno;
}

static const char *watchdog_who = "";
/* What the watchdog removes before it ends the process (the run's socket
 * and its directory); fixed buffers: the handler may not allocate. */
static char watchdog_sock[256], watchdog_dir[256];

void vl_watchdog_files(const char *sock, const char *dir)
{
	snprintf(watchdog_sock, sizeof(watchdog_sock), "%s", sock ? sock : "");
	snprintf(watchdog_dir, sizeof(watchdog_dir), "%s", dir ? dir : "");
}

static void on_alarm(int sig)
{
	char msg[160];
	int n;

	(void)sig;
	/* unlink and rmdir are async-signal-safe. */
	if (watchdog_sock[0])
		(void)unlink(watchdog_sock);
	if (watchdog_dir[0])
		(void)rmdir(watchdog_dir);
	n = snprintf(msg, sizeof(msg),
		     VL_PROG " (%s): watchdog: the run did not finish in time "
			     "(a wait without an end?); giving up\n",
		     watchdog_who);
	if (n > 0)
		(void)!write(2, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
	_exit(VL_EXIT_FAIL);
}

void vl_watchdog(const char *who, unsigned seconds)
{
	watchdog_who = who;
	signal(SIGALRM, seconds ? on_alarm : SIG_DFL);
	alarm(seconds);
}

void vl_loadavg(double out[3])
{
	FILE *f = fopen("/proc/loadavg", "r");

	out[0] = out[1] = out[2] = -1;
	if (!f)
		return;
	if (fscanf(f, "%lf %lf %lf", &out[0], &out[1], &out[2]) != 3)
		out[0] = out[1] = out[2] = -1;
	fclose(f);
}

/* The first line of @path, without its newline, into @out. */
static void read_line(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "r");

	if (!f)
		return;
	if (fgets(out, (int)len, f))
		out[strcspn(out, "\n")] = '\0';
	fclose(f);
}

void vl_machine_probe(struct vl_machine *m)
{
	char line[4096];
	struct utsname u;
	cpu_set_t set;
	time_t now = time(NULL);
	struct tm tm;
	FILE *f;

	memset(m, 0, sizeof(*m));
	snprintf(m->cpu_model, sizeof(m->cpu_model), "unknown");
	snprintf(m->hypervisor, sizeof(m->hypervisor), "unknown");
	f = fopen("/proc/cpuinfo", "r");
	while (f && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (strncmp(line, "model name", 10) == 0 && colon) {
			colon++;
			while (*colon == ' ' || *colon == '\t')
				colon++;
			colon[strcspn(colon, "\n")] = '\0';
			snprintf(m->cpu_model, sizeof(m->cpu_model), "%s", colon);
		} else if (strncmp(line, "flags", 5) == 0) {
			/* x86 lists the model name before the flags. */
			snprintf(m->hypervisor, sizeof(m->hypervisor), "%s",
				 strstr(line, " hypervisor") ? "yes" : "no");
			break;
		}
	}
	if (f)
		fclose(f);
	m->cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
	m->cpus_allowed = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : -1;
	vl_loadavg(m->load_before);
	gmtime_r(&now, &tm);
	strftime(m->date, sizeof(m->date), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (uname(&u) == 0)
		snprintf(m->kernel, sizeof(m->kernel), "%s %s %s", u.sysname, u.release,
			 u.machine);
	snprintf(m->cpuidle, sizeof(m->cpuidle), "unknown");
	read_line("/sys/devices/system/cpu/cpuidle/current_driver", m->cpuidle,
		  sizeof(m->cpuidle));
}
