// SPDX-License-Identifier: BSD-3-Clause
//
// The only C++ in the benchmark suite: it maps the C calls of bench_shim.h
// onto Google Benchmark and registers the C bodies. The libvring library
// and every benchmark body stay C.
//
// A struct vb_state carries a benchmark::State; the calls map one to one:
//   vb_run      -> State::KeepRunningBatch
//   vb_last     -> State::iterations() >= State::max_iterations
//   vb_arg      -> State::range
//   vb_pause    -> State::PauseTiming, vb_resume -> State::ResumeTiming
//   vb_counter  -> State::counters
//   vb_items    -> State::SetItemsProcessed
//   vb_fail     -> State::SkipWithError
//   vb_context  -> benchmark::AddCustomContext
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "bench_shim.h"

// What a C body holds: the State, and how many arguments the instance has
// (State::range asserts on a missing one and does not expose the count).
struct vb_state {
	benchmark::State *state;
	unsigned nargs;
};

namespace {

// Runs that failed (vb_fail): main() exits non-zero if there was any, so
// that the bench-smoke test catches a body that stopped verifying.
int g_failures;

// Argument sets, as the issue lists them.
const int64_t kBatches[] = {1, 8, 32, 256};
const int64_t kPayloads[] = {8, 64, 1024};

benchmark::internal::Benchmark *register_fn(const struct vb_bench *b,
					    unsigned nargs)
{
	void (*fn)(struct vb_state *) = b->fn;
	benchmark::internal::Benchmark *r = benchmark::RegisterBenchmark(
		b->name, [fn, nargs](benchmark::State &state) {
			struct vb_state s = {&state, nargs};
			fn(&s);
		});

	// Time per iteration is time per message (vb_run counts messages).
	// Not UseRealTime(): it would append "/real_time" to every name, and
	// the producer thread spins for the whole run, so its CPU time is its
	// wall-clock time; the counters come from the suite's own clocks.
	return r->Unit(benchmark::kNanosecond);
}

void register_one(const struct vb_bench *b)
{
	benchmark::internal::Benchmark *r;

	switch (b->pattern) {
	case VB_STREAM:
		r = register_fn(b, 2);
		for (int64_t batch : kBatches)
			for (int64_t payload : kPayloads)
				r->Args({batch, payload});
		// The small-ring run: queue size 256, batch 32, 8-byte payload.
		register_fn(b, 3)->Args({32, 8, 256});
		break;
	case VB_PINGPONG:
	case VB_LOCAL:
		r = register_fn(b, 1);
		for (int64_t batch : kBatches)
			r->Arg(batch);
		break;
	}
}

void register_list(const struct vb_bench *list)
{
	for (; list->name; list++)
		register_one(list);
}

} // namespace

extern "C" {

bool vb_run(struct vb_state *s, uint64_t n)
{
	return s->state->KeepRunningBatch(static_cast<benchmark::IterationCount>(n));
}

bool vb_last(const struct vb_state *s)
{
	return s->state->iterations() >= s->state->max_iterations;
}

int64_t vb_arg(const struct vb_state *s, unsigned i, int64_t dflt)
{
	return i < s->nargs ? s->state->range(i) : dflt;
}

void vb_pause(struct vb_state *s)
{
	s->state->PauseTiming();
}

void vb_resume(struct vb_state *s)
{
	s->state->ResumeTiming();
}

void vb_counter(struct vb_state *s, const char *name, double value)
{
	s->state->counters[name] = benchmark::Counter(value);
}

void vb_items(struct vb_state *s, uint64_t n)
{
	s->state->SetItemsProcessed(static_cast<int64_t>(n));
}

void vb_fail(struct vb_state *s, const char *msg)
{
	g_failures++;
	s->state->SkipWithError(msg);
}

void vb_context(const char *key, const char *value)
{
	benchmark::AddCustomContext(key, value);
}

} // extern "C"

int main(int argc, char **argv)
{
	if (vb_setup(&argc, argv) != 0)
		return 2;
	register_list(vb_vring_benches);
	register_list(vb_cacheline_benches);
#ifdef VB_HAVE_CK
	register_list(vb_ck_ring_list);
#endif
#ifdef VB_HAVE_URCU
	register_list(vb_urcu_wfcq_list);
#endif
#ifdef VB_HAVE_DPDK
	register_list(vb_dpdk_ring_list);
	register_list(vb_dpdk_ring16_list);
#endif
	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 2;
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	if (g_failures)
		std::fprintf(stderr, "vring_bench: %d run(s) failed\n", g_failures);
	return g_failures ? 1 : 0;
}
