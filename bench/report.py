#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Turn vring_bench's Google Benchmark JSON into the markdown table of
medians (with every libvring figure, single-call, burst and _bufs bodies, as a
ratio to ck_ring, dpdk_ring, their _ret variants and cacheline),
the check of the issue's targets, and gnuplot inputs for the plots.

    report.py RESULTS.json OUT_DIR [--load-after "0.10 0.20 0.30"] [--all-placements]

Writes OUT_DIR/latest.md, OUT_DIR/plot.gp and OUT_DIR/plot-*.dat (run
gnuplot on plot.gp from OUT_DIR to get the PNGs); with --load-after, also
records that load average in RESULTS.json's context. The medians of the
two-thread bodies leave out the repetitions run while the host had placed
the two CPUs apart (see APART), unless --all-placements. Standard library
only.
"""
import json
import os
import re
import sys

VRING = ["split", "packed", "split_inorder", "packed_inorder"]
# The same bodies with the burst calls (BM_<impl>_<pattern>_burst/...),
# when vring_bench was built with them.
VRING_BURST = [i + "_burst" for i in VRING]
# The same bodies with the single-segment batch calls (add_bufs / pop_bufs;
# BM_<impl>_<pattern>_bufs/...), when vring_bench was built with them.
VRING_BUFS = [i + "_bufs" for i in VRING]
# Suffixes of libvring's batch-call bodies, in table order after the
# single-call body.
BATCH_KINDS = ["_burst", "_bufs"]
PEERS = ["ck_ring", "urcu_wfcq", "dpdk_ring", "dpdk_ring16", "cacheline"]
# The same peers with a second queue that returns every buffer to the
# producer, checked in order (what libvring's used ring does): stream and
# local only.
PEERS_RET = ["ck_ring_ret", "urcu_wfcq_ret", "dpdk_ring_ret", "dpdk_ring16_ret"]
IMPLS = VRING + VRING_BURST + VRING_BUFS + PEERS + PEERS_RET
BATCHES = [1, 8, 32, 256]
PAYLOADS = [8, 64, 1024]
NAME = re.compile(r"^BM_(?P<impl>.+?)_(?P<pattern>stream|pingpong|local)(?P<burst>_burst|_bufs)?"
                  r"/(?P<args>[0-9/]+)$")


def key_of(name):
    """(impl, pattern, args) of a benchmark name, the burst and _bufs
    bodies as impl "<impl>_burst", "<impl>_bufs"; None for a name that is
    not a body."""
    m = NAME.match(name)
    if not m:
        return None
    return (m.group("impl") + (m.group("burst") or ""), m.group("pattern"),
            tuple(int(x) for x in m.group("args").split("/")))


def load(path):
    with open(path) as f:
        return json.load(f)


# A repetition of a two-thread body ran "apart" when the bare cache-line
# round trip between its two CPUs, probed before and after it
# (xcore_rt_cycles, bench_common.c), was above this many times the run's
# usual one: on a VM the host moves the two vCPUs between cores that share
# a cache and cores that do not, for seconds at a time, and every
# two-thread body is then several times slower (the probe reads about 290
# cycles against 570 to 990 on the AMD EPYC VM, nothing in between). The
# usual round trip is the 10th percentile of the probes, not their
# minimum: one probe of a rarer, faster placement (182 cycles on
# 2026-12-06, two SMT threads of one core perhaps) made the usual 312 look
# apart.
APART = 1.6
USUAL_QUANTILE = 0.1


def placement(doc):
    """(the usual xcore_rt_cycles of the run, its 10th percentile, or
    None; the set of ids of the repetitions that ran apart)."""
    reps = [b for b in doc.get("benchmarks", [])
            if b.get("run_type") != "aggregate" and not b.get("error_occurred")
            and float(b.get("xcore_rt_cycles", 0)) > 0]
    if not reps:
        return None, set()
    xs = sorted(float(b["xcore_rt_cycles"]) for b in reps)
    usual = xs[int(len(xs) * USUAL_QUANTILE)]
    return usual, {id(b) for b in reps if float(b["xcore_rt_cycles"]) > APART * usual}


def _median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2.0


def medians(doc, all_placements=False):
    """{(impl, pattern, args-tuple): counters} from the median aggregates
    (or the single run when there were no repetitions). Bodies whose
    repetitions carry xcore_rt_cycles: the median of the repetitions not
    run apart (placement()), or of all when every one was, unless
    @p all_placements."""
    out, single, reps = {}, {}, {}
    _, apart = placement(doc)
    for b in doc.get("benchmarks", []):
        if b.get("error_occurred"):
            continue
        key = key_of(b.get("run_name", b["name"]))
        if key is None:
            continue
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                out[key] = b
        else:
            single.setdefault(key, b)
            if "xcore_rt_cycles" in b and not all_placements:
                reps.setdefault(key, []).append(b)
    for k, v in single.items():
        out.setdefault(k, v)
    for k, bs in reps.items():
        usual = [b for b in bs if id(b) not in apart]
        kept = usual or bs
        out[k] = {c: _median([float(b[c]) for b in kept])
                  for c in ("cycles_per_msg", "cycles_per_roundtrip") if c in kept[0]}
        # Every repetition ran apart: its median is of the other placement
        # (targets() does not set it against one of the usual placement).
        out[k]["_apart"] = not usual
    return out


def placement_note(doc):
    """The lines of latest.md that say how many repetitions ran apart and
    which bodies had no other."""
    low, apart = placement(doc)
    if low is None:
        return []
    reps = {}
    for b in doc.get("benchmarks", []):
        if (b.get("run_type") != "aggregate" and not b.get("error_occurred")
                and "xcore_rt_cycles" in b):
            reps.setdefault(b.get("run_name", b["name"]), []).append(id(b) in apart)
    n = sum(len(v) for v in reps.values())
    only = sorted(k for k, v in reps.items() if all(v))
    line = ("Placement of the two CPUs: %d of %d repetitions of the two-thread "
            "bodies ran while a bare cache line took more than %.1f× the run's "
            "usual round trip between them (%.0f cycles, the 10th percentile of "
            "xcore_rt_cycles, probed before and after each repetition): the host had "
            "moved the two vCPUs apart. The medians below leave those repetitions out"
            % (len(apart), n, APART, low))
    line += ("; these bodies had no other and are shown as measured: %s."
             % ", ".join("`%s`" % k for k in only) if only else ".")
    return [line, ""]


def minima(doc):
    """{key: {counter: smallest value over the repetitions}}: the run least
    disturbed by anything else on the machine. A body with repetitions in
    the usual placement (placement()) takes the smallest of those, and one
    whose every probed repetition ran apart is marked "_apart", as in
    medians(): its best is of the other placement."""
    out, usual = {}, {}
    _, apart = placement(doc)
    for b in doc.get("benchmarks", []):
        if b.get("error_occurred") or b.get("run_type") == "aggregate":
            continue
        key = key_of(b.get("run_name", b["name"]))
        if key is not None:
            usual.setdefault(key, []).append(b)
    for key, bs in usual.items():
        kept = [b for b in bs if id(b) not in apart] or bs
        d = out.setdefault(key, {})
        for c in ("cycles_per_msg", "cycles_per_roundtrip"):
            if c in kept[0]:
                d[c] = min(float(b[c]) for b in kept)
        if "xcore_rt_cycles" in bs[0] and kept is bs and any(id(b) in apart for b in bs):
            d["_apart"] = True
    return out


def errors(doc):
    return [(b["name"], b.get("error_message", "")) for b in doc.get("benchmarks", [])
            if b.get("error_occurred")]


def cyc(med, impl, pattern, args, counter="cycles_per_msg"):
    b = med.get((impl, pattern, tuple(args)))
    if b is None or counter not in b:
        return None
    return float(b[counter])


def fmt(v, digits=1):
    if v is None:
        return "–"
    if v >= 1000:
        return "%.0f" % v
    return "%.*f" % (digits, v)


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ratio(r):
    return "–" if r is None else "%.2f" % r


def table(med, title, rows, impls, note=None):
    """rows: [(label, pattern, args)]"""
    lines = ["### " + title, ""]
    if note:
        lines += [note, ""]
    lines.append("| | " + " | ".join(impls) + " |")
    lines.append("|---|" + "---:|" * len(impls))
    for label, pattern, args in rows:
        cells = [fmt(cyc(med, i, pattern, args)) for i in impls]
        lines.append("| %s | %s |" % (label, " | ".join(cells)))
    lines.append("")
    return lines


def vring_impls(med):
    """libvring's implementations in the run: each single-call body, then
    its burst and _bufs twins when the run has them."""
    out = []
    for i in VRING:
        for j in [i] + [i + k for k in BATCH_KINDS]:
            if any(k[0] == j for k in med):
                out.append(j)
    return out


def all_impls(med):
    """Every implementation in the run, in table order: libvring's bodies
    (each single-call body with its batch-call twins), then the peers."""
    return vring_impls(med) + [i for i in PEERS + PEERS_RET
                               if any(k[0] == i for k in med)]


def ratio_table(med, title, rows, refs, note):
    """Each libvring body (single-call, burst, _bufs) ÷ each of @p refs."""
    impls = vring_impls(med)
    lines = ["### " + title, "",
             "Each cell: libvring cycles/message ÷ " + ", ÷ ".join(refs) +
             ", same arguments, same run (below 1: libvring is cheaper). " + note, ""]
    lines.append("| | " + " | ".join(impls) + " |")
    lines.append("|---|" + "---:|" * len(impls))
    for label, pattern, args in rows:
        cells = []
        for i in impls:
            v = cyc(med, i, pattern, args)
            cells.append(" / ".join(fmt_ratio(ratio(v, cyc(med, r, pattern, args)))
                                    for r in refs))
        lines.append("| %s | %s |" % (label, " | ".join(cells)))
    lines.append("")
    return lines


def targets(med, pick=None):
    """The cost issue's targets, each as (text, value-text, met or None).
    @p pick: the figures that choose the body of a target (default @p med):
    the best-repetition column takes the body the medians chose."""
    def c(impl, pattern, args, counter="cycles_per_msg"):
        return cyc(med, impl, pattern, args, counter)

    res = []

    def best(impl, pattern, args, counter="cycles_per_msg"):
        """The cheapest of the burst and _bufs bodies the run has, else the
        single-call one: (figure, name shown)."""
        have = [(cyc(pick or med, impl + k, pattern, args, counter), impl + k)
                for k in BATCH_KINDS]
        have = [h for h in have if h[0] is not None]
        if have:
            used = min(have, key=lambda h: h[0])[1]
            return c(used, pattern, args, counter), used
        return c(impl, pattern, args, counter), impl

    def apart(impl, pattern, args):
        b = med.get((impl, pattern, tuple(args)))
        return bool(b and b.get("_apart"))

    def check(text, num, den, limit, how, mixed=False):
        r = ratio(num, den)
        met = None if r is None or mixed else r <= limit
        if mixed:
            # One side's median is of repetitions run with the vCPUs apart,
            # the other's of the usual placement: not a ratio of like with
            # like, so no verdict.
            how += "; not comparable: only one side ran in the usual placement"
        res.append((text, "%s (%s vs %s)" % (fmt_ratio(r), fmt(num), fmt(den)) + how, met))

    def target(text, impl, pattern, args, ref, limit, counter="cycles_per_msg"):
        v, used = best(impl, pattern, args, counter)
        check(text % used, v, c(ref, pattern, args, counter), limit, "",
              apart(used, pattern, args) != apart(ref, pattern, args))

    # Stream targets take the cheapest of the burst and _bufs bodies the run
    # has (the batch paths), named in the row; pingpong/1 is one
    # message, where batch calls do not apply.
    s32 = ("stream", [32, 8])
    target("%s stream/32 ≤ 1.0 × ck_ring", "packed", *s32, "ck_ring", 1.0)
    target("%s stream/32 ≤ 2.0 × dpdk_ring", "packed", *s32, "dpdk_ring", 2.0)
    target("%s stream/32 ≤ 1.0 × ck_ring", "split", *s32, "ck_ring", 1.0)
    target("%s stream/32 ≤ 1.5 × dpdk_ring", "packed_inorder", *s32, "dpdk_ring", 1.5)
    target("stretch: %s stream/32 ≤ 1.0 × dpdk_ring", "packed_inorder", *s32, "dpdk_ring", 1.0)
    rt = ("pingpong", [1], "cycles_per_roundtrip")
    for fmt_, lim in (("packed", 1.3), ("split", 1.6)):
        check("%s pingpong/1 round trip ≤ %.1f × cacheline" % (fmt_, lim),
              c(fmt_, *rt), c("cacheline", *rt), lim, "",
              apart(fmt_, "pingpong", [1]) != apart("cacheline", "pingpong", [1]))
    # For reference: the same against the peers that also return buffers.
    target("(reference) %s stream/32 ÷ ck_ring_ret", "packed", *s32, "ck_ring_ret", 1.0)
    target("(reference) %s stream/32 ÷ dpdk_ring_ret", "packed", *s32, "dpdk_ring_ret", 2.0)
    return res


def summary(med):
    """The compact table for the README: key rows, every implementation,
    then each libvring figure ÷ ck_ring and ÷ cacheline."""
    rows = ([("stream/%d/8" % b, "stream", [b, 8]) for b in BATCHES] +
            [("stream/32/8, queue 256", "stream", [32, 8, 256]),
             ("stream/32/64", "stream", [32, 64]),
             ("stream/32/1024", "stream", [32, 1024]),
             ("pingpong/1 (round trip)", "pingpong", [1]),
             ("pingpong/32", "pingpong", [32]),
             ("local/1", "local", [1]),
             ("local/32", "local", [32])])
    impls = all_impls(med)
    lines = ["| cycles/message (median) | " + " | ".join(impls) + " |",
             "|---|" + "---:|" * len(impls)]
    for label, pattern, args in rows:
        lines.append("| %s | %s |" % (label, " | ".join(
            fmt(cyc(med, i, pattern, args)) for i in impls)))
    vimpls = vring_impls(med)
    lines += ["", "| libvring ÷ ck_ring / ÷ cacheline | " + " | ".join(vimpls) + " |",
              "|---|" + "---:|" * len(vimpls)]
    for label, pattern, args in rows:
        cells = []
        for i in vimpls:
            v = cyc(med, i, pattern, args)
            cells.append("%s / %s" % (fmt_ratio(ratio(v, cyc(med, "ck_ring", pattern, args))),
                                      fmt_ratio(ratio(v, cyc(med, "cacheline", pattern, args)))))
        lines.append("| %s | %s |" % (label, " | ".join(cells)))
    lines.append("")
    return lines


def write_plots(med, out_dir):
    """One .dat per (pattern, implementation): batch vs cycles/message;
    and plot.gp drawing one PNG per pattern."""
    panels = [
        ("stream", "stream, 8-byte payload, queue 1024", lambda b: [b, 8]),
        ("stream64", "stream, 64-byte payload, queue 1024", lambda b: [b, 64]),
        ("stream1024", "stream, 1024-byte payload, queue 1024", lambda b: [b, 1024]),
        ("pingpong", "pingpong (cycles per message; round trip = batch x this)", lambda b: [b]),
        ("local", "local (both sides on one CPU)", lambda b: [b]),
    ]
    gp = ["set terminal pngcairo size 900,560 noenhanced font ',10'",
          "set logscale xy", "set xtics (1, 8, 32, 256)", "set xrange [0.8:320]",
          "set xlabel 'batch (messages per publish)'",
          "set ylabel 'TSC cycles per message (median)'",
          "set key outside right", "set grid"]
    for tag, title, args in panels:
        pattern = "stream" if tag.startswith("stream") else tag
        plots = []
        for impl in IMPLS:
            pts = [(b, cyc(med, impl, pattern, args(b))) for b in BATCHES]
            pts = [(b, v) for b, v in pts if v is not None]
            if not pts:
                continue
            dat = "plot-%s-%s.dat" % (tag, impl)
            with open(os.path.join(out_dir, dat), "w") as f:
                for b, v in pts:
                    f.write("%d %.3f\n" % (b, v))
            style = ("lw 2.5" if impl in VRING else "lw 2.5 dt 3" if impl in VRING_BURST
                     else "lw 2.5 dt 4" if impl in VRING_BUFS else "lw 1.5 dt 2")
            plots.append("'%s' using 1:2 with linespoints %s title '%s'" % (dat, style, impl))
        if not plots:
            continue
        gp.append("set output 'cycles-%s.png'" % tag)
        gp.append("set title '%s'" % title)
        gp.append("plot " + ", \\\n     ".join(plots))
    with open(os.path.join(out_dir, "plot.gp"), "w") as f:
        f.write("\n".join(gp) + "\n")


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    doc = load(argv[1])
    out_dir = argv[2]
    load_after = None
    if "--load-after" in argv:
        # Recorded in the JSON too, beside the load before the run.
        load_after = argv[argv.index("--load-after") + 1]
        doc.setdefault("context", {})["vb_load_after"] = load_after
        with open(argv[1], "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
    med = medians(doc, all_placements="--all-placements" in argv)
    ctx = doc.get("context", {})
    lines = ["# vring_bench results", ""]
    lines.append("Medians of %s repetitions; TSC cycles per message (clock: %s at %.3f GHz, "
                 "measured at start-up). Producer and consumer pinned to CPUs %s. "
                 "Host: %s, %s CPUs. Load average before the run: %s; after: %s. "
                 "Date: %s." % (
                     ctx.get("vb_repetitions", "?"), ctx.get("vb_clock", "?"),
                     float(ctx.get("vb_clock_hz", "0")) / 1e9, ctx.get("vb_cpus", "?"),
                     ctx.get("vb_cpu_model", "?"), ctx.get("num_cpus", "?"),
                     ctx.get("vb_load_before", "?"), load_after or "?",
                     ctx.get("date", "?")))
    lines.append("")
    if "--all-placements" not in argv:
        lines += placement_note(doc)
    impls = all_impls(med)
    lines += table(med, "stream (one way), 8-byte payload, cycles/message",
                   [("batch %d" % b, "stream", [b, 8]) for b in BATCHES] +
                   [("batch 32, queue 256", "stream", [32, 8, 256])], impls)
    lines += table(med, "stream (one way) by payload, cycles/message",
                   [("batch %d, %d B" % (b, p), "stream", [b, p])
                    for p in (64, 1024) for b in BATCHES], impls)
    lines += table(med, "pingpong (round trip per batch), cycles/message",
                   [("batch %d" % b, "pingpong", [b]) for b in BATCHES], impls,
                   note="At batch 1 a message is a round trip: one request and one "
                        "reply (for libvring: a descriptor out, a used entry back).")
    lines += table(med, "local (one CPU), cycles/message",
                   [("batch %d" % b, "local", [b]) for b in BATCHES], impls)
    rows = ([("stream/%d/8" % b, "stream", [b, 8]) for b in BATCHES] +
            [("stream/32/8, queue 256", "stream", [32, 8, 256])] +
            [("stream/32/%d" % p, "stream", [32, p]) for p in (64, 1024)] +
            [("pingpong/%d" % b, "pingpong", [b]) for b in BATCHES] +
            [("local/%d" % b, "local", [b]) for b in BATCHES])
    lines += ratio_table(med, "libvring ÷ one-way peers (ck_ring / dpdk_ring)", rows,
                         ["ck_ring", "dpdk_ring"],
                         "The peers carry a pointer one way; their ring's capacity "
                         "is the flow control.")
    lines += ratio_table(med, "libvring ÷ peers with a return queue "
                              "(ck_ring_ret / dpdk_ring_ret)",
                         [r for r in rows if r[1] != "pingpong"],
                         ["ck_ring_ret", "dpdk_ring_ret"],
                         "Each peer returns every buffer to the producer through a "
                         "second queue and the producer checks it, as libvring's used "
                         "ring does.")
    lines += ratio_table(med, "libvring ÷ cacheline (a bare cache-line exchange)",
                         [r for r in rows if r[1] == "pingpong"], ["cacheline"], "")
    lines += ["### Targets of the cost issue", "",
              "Instructions per message (callgrind, local/32) are in "
              "instructions.md (scripts/bench.sh --instructions).", "",
              "On the medians, and on the best repetition of each benchmark "
              "(the one least disturbed by the rest of the machine), each of the "
              "repetitions in the usual placement when the body has any; a ratio of a "
              "body measured only apart to one measured in the usual placement gets no "
              "verdict.", "",
              "| target | medians | | best repetitions | |", "|---|---|---|---|---|"]

    def verdict(met):
        return "–" if met is None else ("met" if met else "**missed**")

    for (text, val, met), (_, bval, bmet) in zip(targets(med), targets(minima(doc), med)):
        lines.append("| %s | %s | %s | %s | %s |" % (text, val, verdict(met), bval, verdict(bmet)))
    lines.append("")
    # Why each missed target is missed: an analysis written by hand
    # (bench/results/why-missed.md), kept beside the generated tables so
    # that a new run does not drop it; it says which run it was written for.
    why = os.path.join(out_dir, "why-missed.md")
    if os.path.exists(why):
        with open(why) as f:
            lines += [f.read().rstrip("\n"), ""]
    errs = errors(doc)
    if errs:
        lines += ["### Runs that failed", ""]
        lines += ["- `%s`: %s" % e for e in errs]
        lines.append("")
    lines += ["### Summary (as in the README)", ""] + summary(med)
    with open(os.path.join(out_dir, "latest.md"), "w") as f:
        f.write("\n".join(lines))
    write_plots(med, out_dir)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
