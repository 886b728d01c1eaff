/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared by the two-process tests and their peer executable (vr_peer):
 * what a message contains (a function of the seed and its sequence number,
 * so the receiver checks every byte without being told), its checksum, the
 * small control messages going back, and process and file helpers.
 *
 * Message seq has pc_len() bytes: the little-endian 64-bit words
 * pc_word(key, seq, 0), pc_word(key, seq, 1), ... cut to that length. Word 0
 * holds seq in its low 32 bits, so a message of 4 bytes or more names
 * itself (a resuming receiver reads seq from bytes 0..3). The checksum of a
 * message mixes its length and every word as received; checksums of a run
 * of messages add up modulo 2^64, so the sender checks a reply about
 * [first, next) as prefix[next] - prefix[first].
 *
 * Both processes run on one host; control messages are in host order.
 */
#ifndef VR_PROCESS_COMMON_H
#define VR_PROCESS_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <vring/region.h>

#define PC_MS 1000000ull
#define PC_SEC 1000000000ull

/* splitmix64's finaliser: a cheap, well-mixed 64-bit hash. */
static inline uint64_t pc_mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

/* Per-message key: everything about message seq derives from it. */
static inline uint64_t pc_key(uint64_t seed, uint32_t seq)
{
	return pc_mix(seed ^ ((uint64_t)seq * 0x9e3779b97f4a7c15ull));
}

/* Length of message seq: uniform in [min_len, max_len]. */
static inline uint32_t pc_len(uint64_t seed, uint32_t seq, uint32_t min_len,
			      uint32_t max_len)
{
	return min_len + (uint32_t)(pc_mix(pc_key(seed, seq) + 1) %
				    ((uint64_t)max_len - min_len + 1));
}

/* Word k of the message with key @key. One multiply: the generator must
 * not be the bottleneck of a throughput test. */
static inline uint64_t pc_word(uint64_t key, uint32_t seq, uint32_t k)
{
	uint64_t x;

	if (k == 0)
		return seq | (key << 32);
	x = key + (uint64_t)k * 0x9e3779b97f4a7c15ull;
	x ^= x >> 32;
	x *= 0xd6e8feb86659fd93ull;
	return x ^ (x >> 29);
}

static inline uint64_t pc_hstep(uint64_t h, uint64_t w)
{
	return (h ^ w) * 0x100000001b3ull + (h >> 41);
}

/* Fill @dst with message seq (@len bytes); returns its checksum. */
uint64_t pc_fill(void *dst, uint64_t seed, uint32_t seq, uint32_t len);

/* Check @len bytes at @src against message seq. Returns its checksum (of
 * the bytes as received) and sets *bad to the first wrong byte offset, or
 * UINT32_MAX when every byte is right. */
uint64_t pc_check(const void *src, uint64_t seed, uint32_t seq, uint32_t len,
		  uint32_t *bad);

/* Sequence number a message names in its bytes 0..3 (len >= 4). */
uint32_t pc_seq_of(const void *src);

/* ---- Region ------------------------------------------------------------------- */

/* Ring features the region offers. */
#define PC_OFFERED                                                         \
	(VR_FEATURE(VR_F_EVENT_IDX) | VR_FEATURE(VR_F_VERSION_1) |           \
	 VR_FEATURE(VR_F_IN_ORDER) | VR_FEATURE(VR_F_INDIRECT_DESC))

/* What a driver asks for: EVENT_IDX with doorbells; IN_ORDER when polling,
 * where notifications do not matter, so that both ways of completing
 * buffers are covered by every test. */
static inline uint64_t pc_driver_features(bool polling)
{
	return polling ? VR_FEATURE(VR_F_IN_ORDER) | VR_FEATURE(VR_F_VERSION_1)
		       : VR_FEATURE(VR_F_EVENT_IDX) | VR_FEATURE(VR_F_VERSION_1);
}

/* The region of every test: two queues of @qsize in @format, a pool of
 * @buf_count buffers of @buf_bytes. */
void pc_region_cfg(struct vr_region_cfg *rc, uint32_t format, uint32_t qsize,
		   uint32_t buf_bytes, uint32_t buf_count);

/* ---- Control messages (device -> driver) ---------------------------------- */

#define PC_CTL_MAGIC 0x4c544356u /* "VCTL" */

enum pc_kind {
	PC_PROGRESS = 1, /* device: received [first, next), checksum sum */
	PC_DONE = 2,     /* device: as PROGRESS, and that was the last one */
	PC_RESUME = 3    /* device to a new driver: send from seq next on */
};

struct pc_ctl {
	uint32_t magic;
	uint32_t kind;
	uint32_t first;
	uint32_t next;
	uint64_t sum;
	uint32_t pid;
	uint32_t pad;
};

/* Device logs: a u32 per record, seq when a message is received (before
 * it is released), seq | PC_LOG_ACKED after the release returned. */
#define PC_LOG_ACKED 0x80000000u

/* ---- Time, randomness, environment ---------------------------------------- */

uint64_t pc_now_ns(void);
void pc_sleep_ns(uint64_t ns);

/* xorshift64*: the tests' own choices (kill points), seeded. */
static inline uint64_t pc_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

/* An unsigned number from the environment, @def when unset or invalid. */
uint64_t pc_env_u64(const char *name, uint64_t def);

/* The stream length: VR_PROCESS_MESSAGES, default 1,000,000. */
uint32_t pc_messages(void);

/* The kill tests' stream: a quarter of pc_messages(), at least 2000. */
uint32_t pc_kill_messages(void);

/* ---- Processes -------------------------------------------------------------- */

/*
 * fork + execv(@path, @argv). The child gets SIGKILL when the forking
 * thread dies (PR_SET_PDEATHSIG), so a test that crashes or is killed by
 * ctest leaves no peer behind. Returns the pid, or -1.
 */
pid_t pc_spawn(const char *path, char *const argv[]);

/*
 * Wait at most @timeout_ns for @pid to end. Returns 0 with *status set,
 * or -1 (still running after the timeout, or not our child).
 */
int pc_wait(pid_t pid, uint64_t timeout_ns, int *status);

/* SIGKILL @pid if it is > 0 and reap it; sets *pid to 0. */
void pc_kill_reap(pid_t *pid);

/* "exited 0", "exited 3", "killed by signal 9": for messages. */
const char *pc_status_str(int status, char *buf, size_t cap);

/* ---- Files ------------------------------------------------------------------- */

/* A fresh private directory (mode 0700) under $TMPDIR or /tmp; @buf gets
 * its path. Returns 0 or -1. */
int pc_mkdtemp(char *buf, size_t cap, const char *tag);

/* Unlink every entry of @dir (no subdirectories expected), then rmdir. */
void pc_rmdir_all(const char *dir);

/* Read a whole file of 32-bit values; *out is malloc'd (free it), *n the
 * count. Returns 0 or -1. */
int pc_read_u32_file(const char *path, uint32_t **out, size_t *n);

#endif /* VR_PROCESS_COMMON_H */
