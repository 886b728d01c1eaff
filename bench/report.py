#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Turn vring_bench's Google Benchmark JSON into the markdown table of
medians (with every libvring figure as a ratio to ck_ring and to cacheline),
the check of the issue's targets, and gnuplot inputs for the plots.

    report.py RESULTS.json OUT_DIR [--load-after "0.10 0.20 0.30"]

Writes OUT_DIR/latest.md, OUT_DIR/plot.gp and OUT_DIR/plot-*.dat (run
gnuplot on plot.gp from OUT_DIR to get the PNGs); with --load-after, also
records that load average in RESULTS.json's context. Standard library only.
"""
import json
import os
import re
import sys

VRING = ["split", "packed", "split_inorder", "packed_inorder"]
PEERS = ["ck_ring", "urcu_wfcq", "dpdk_ring", "dpdk_ring16", "cacheline"]
# The same peers with a second queue that returns every buffer to the
# producer, checked in order (what libvring's used ring does): stream and
# local only.
PEERS_RET = ["ck_ring_ret", "urcu_wfcq_ret", "dpdk_ring_ret", "dpdk_ring16_ret"]
IMPLS = VRING + PEERS + PEERS_RET
BATCHES = [1, 8, 32, 256]
PAYLOADS = [8, 64, 1024]
NAME = re.compile(r"^BM_(?P<impl>.+)_(?P<pattern>stream|pingpong|local)/(?P<args>[0-9/]+)$")


def load(path):
    with open(path) as f:
        return json.load(f)


def medians(doc):
    """{(impl, pattern, args-tuple): counters} from the median aggregates
    (or the single run when there were no repetitions)."""
    out, single = {}, {}
    for b in doc.get("benchmarks", []):
        if b.get("error_occurred"):
            continue
        run = b.get("run_name", b["name"])
        m = NAME.match(run)
        if not m:
            continue
        key = (m.group("impl"), m.group("pattern"),
               tuple(int(x) for x in m.group("args").split("/")))
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                out[key] = b
        else:
            single.setdefault(key, b)
    for k, v in single.items():
        out.setdefault(k, v)
    return out


def minima(doc):
    """{key: {counter: smallest value over the repetitions}}: the run least
    disturbed by anything else on the machine."""
    out = {}
    for b in doc.get("benchmarks", []):
        if b.get("error_occurred") or b.get("run_type") == "aggregate":
            continue
        m = NAME.match(b.get("run_name", b["name"]))
        if not m:
            continue
        key = (m.group("impl"), m.group("pattern"),
               tuple(int(x) for x in m.group("args").split("/")))
        d = out.setdefault(key, {})
        for c in ("cycles_per_msg", "cycles_per_roundtrip"):
            if c in b:
                d[c] = min(float(b[c]), d.get(c, float("inf")))
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


def ratio_table(med, title, rows):
    lines = ["### " + title, "",
             "Each cell: libvring cycles/message ÷ ck_ring, ÷ cacheline, same "
             "arguments, same run (below 1: libvring is cheaper).", ""]
    lines.append("| | " + " | ".join(VRING) + " |")
    lines.append("|---|" + "---:|" * len(VRING))
    for label, pattern, args in rows:
        cells = []
        for i in VRING:
            v = cyc(med, i, pattern, args)
            cells.append("%s / %s" % (fmt_ratio(ratio(v, cyc(med, "ck_ring", pattern, args))),
                                      fmt_ratio(ratio(v, cyc(med, "cacheline", pattern, args)))))
        lines.append("| %s | %s |" % (label, " | ".join(cells)))
    lines.append("")
    return lines


def ret_ratio_table(med, title, rows):
    lines = ["### " + title, "",
             "Each cell: libvring cycles/message ÷ ck_ring_ret, ÷ dpdk_ring_ret: the "
             "peers with a return queue, so that both sides carry a buffer out and "
             "back and check it, as libvring's used ring does (same arguments, same "
             "run).", ""]
    lines.append("| | " + " | ".join(VRING) + " |")
    lines.append("|---|" + "---:|" * len(VRING))
    for label, pattern, args in rows:
        cells = []
        for i in VRING:
            v = cyc(med, i, pattern, args)
            cells.append("%s / %s" % (fmt_ratio(ratio(v, cyc(med, "ck_ring_ret", pattern, args))),
                                      fmt_ratio(ratio(v, cyc(med, "dpdk_ring_ret", pattern, args)))))
        lines.append("| %s | %s |" % (label, " | ".join(cells)))
    lines.append("")
    return lines


def targets(med):
    """The cost issue's targets, each as (text, value-text, met or None)."""
    def c(impl, pattern, args, counter="cycles_per_msg"):
        return cyc(med, impl, pattern, args, counter)

    res = []

    def check(text, num, den, limit, how):
        r = ratio(num, den)
        met = None if r is None else r <= limit
        res.append((text, "%s (%s vs %s)" % (fmt_ratio(r), fmt(num), fmt(den)) + how, met))

    s32 = ("stream", [32, 8])
    check("packed stream/32 ≤ 1.0 × ck_ring", c("packed", *s32), c("ck_ring", *s32), 1.0, "")
    check("packed stream/32 ≤ 2.0 × dpdk_ring", c("packed", *s32), c("dpdk_ring", *s32), 2.0, "")
    check("split stream/32 ≤ 1.0 × ck_ring", c("split", *s32), c("ck_ring", *s32), 1.0, "")
    check("packed_inorder stream/32 ≤ 1.5 × dpdk_ring", c("packed_inorder", *s32),
          c("dpdk_ring", *s32), 1.5, "")
    check("stretch: packed_inorder stream/32 ≤ 1.0 × dpdk_ring", c("packed_inorder", *s32),
          c("dpdk_ring", *s32), 1.0, "")
    rt = ("pingpong", [1], "cycles_per_roundtrip")
    check("packed pingpong/1 round trip ≤ 1.3 × cacheline", c("packed", *rt), c("cacheline", *rt), 1.3, "")
    check("split pingpong/1 round trip ≤ 1.6 × cacheline", c("split", *rt), c("cacheline", *rt), 1.6, "")
    # For reference: the same against the peers that also return buffers.
    check("(reference) packed stream/32 ÷ ck_ring_ret", c("packed", *s32),
          c("ck_ring_ret", *s32), 1.0, "")
    check("(reference) packed stream/32 ÷ dpdk_ring_ret", c("packed", *s32),
          c("dpdk_ring_ret", *s32), 2.0, "")
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
    impls = [i for i in IMPLS if any(k[0] == i for k in med)]
    lines = ["| cycles/message (median) | " + " | ".join(impls) + " |",
             "|---|" + "---:|" * len(impls)]
    for label, pattern, args in rows:
        lines.append("| %s | %s |" % (label, " | ".join(
            fmt(cyc(med, i, pattern, args)) for i in impls)))
    lines += ["", "| libvring ÷ ck_ring / ÷ cacheline | " + " | ".join(VRING) + " |",
              "|---|" + "---:|" * len(VRING)]
    for label, pattern, args in rows:
        cells = []
        for i in VRING:
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
            style = "lw 2.5" if impl in VRING else "lw 1.5 dt 2"
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
    med = medians(doc)
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
    impls = [i for i in IMPLS if any(k[0] == i for k in med)]
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
    lines += ratio_table(med, "libvring ÷ ck_ring / ÷ cacheline", rows)
    lines += ret_ratio_table(med, "libvring ÷ peers with a return queue",
                             [r for r in rows if r[1] != "pingpong"])
    lines += ["### Targets of the cost issue", "",
              "Instructions per message (callgrind, local/32) are in "
              "instructions.md (scripts/bench.sh --instructions).", "",
              "On the medians, and on the best repetition of each benchmark "
              "(the one least disturbed by the rest of the machine).", "",
              "| target | medians | | best repetitions | |", "|---|---|---|---|---|"]

    def verdict(met):
        return "–" if met is None else ("met" if met else "**missed**")

    for (text, val, met), (_, bval, bmet) in zip(targets(med), targets(minima(doc))):
        lines.append("| %s | %s | %s | %s | %s |" % (text, val, verdict(met), bval, verdict(bmet)))
    lines.append("")
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
