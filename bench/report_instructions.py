#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Instructions per message from callgrind, as a tracked figure.

    report_instructions.py COUNTS OUTDIR [--commit C] [--date D]

COUNTS is a file of lines "NAME MESSAGES COLLECTED" (scripts/bench.sh
--instructions writes it: callgrind's Collected total of the measured loop
of vring_icount NAME MESSAGES). Writes into OUTDIR:

  instructions.json          {"BM_packed_local/32": 359.6, ...}
  instructions-history.json  the last 30 runs: date, commit and counts
  instructions.md            the table with the change against the
                             previous run, the harness table (each
                             harness alone, and ring cost = total -
                             harness per benchmark) and the targets of
                             the cost-per-message issue (local/32; the
                             burst body when there is one)

Callgrind counts instructions, not time: the figures are the same on any
x86-64 machine for the same binary, so a change between two runs is a
change in the code (or the compiler), never noise.
"""
import argparse
import json
import os
import sys

HISTORY_KEEP = 30

# Targets of the cost issue: instructions per message at local/32, harness
# included.
TARGETS = {
    "BM_packed_local/32": 150,
    "BM_split_local/32": 130,
    "BM_packed_inorder_local/32": 110,
    "BM_split_inorder_local/32": 110,
}


def read_counts(path):
    counts = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            parts = line.split()
            if len(parts) != 3:
                sys.exit(f"{path}:{n}: expected NAME MESSAGES COLLECTED, got {line!r}")
            name, msgs, ir = parts[0], int(parts[1]), int(parts[2])
            if msgs <= 0:
                sys.exit(f"{path}:{n}: no messages for {name}")
            counts[name] = round(ir / msgs, 1)
    return counts


def impl_and_batch(name):
    """"BM_packed_local/32" -> ("packed", 32); the burst bodies
    ("BM_packed_local_burst/32") -> ("packed_burst", 32); the harness
    measurements keep their "harness_" prefix."""
    base, _, batch = name.rpartition("/")
    impl = base[len("BM_"):] if base.startswith("BM_") else base
    burst = impl.endswith("_burst")
    if burst:
        impl = impl[: -len("_burst")]
    impl = impl[: -len("_local")] if impl.endswith("_local") else impl
    return impl + ("_burst" if burst else ""), int(batch)


def name_of(impl, batch):
    """The inverse of impl_and_batch."""
    if impl.endswith("_burst"):
        return f"BM_{impl[:-len('_burst')]}_local_burst/{batch}"
    return f"BM_{impl}_local/{batch}"


def harness_of(impl):
    """The harness measurement of a benchmark: the libvring bodies share one
    per IN_ORDER-or-not and single-or-burst (the format is in the ring
    calls only), each peer body has its own."""
    burst = impl.endswith("_burst")
    base = impl[: -len("_burst")] if burst else impl
    if base in ("split", "packed"):
        h = "harness_vring"
    elif base in ("split_inorder", "packed_inorder"):
        h = "harness_vring_inorder"
    else:
        h = "harness_" + base
    return h + ("_burst" if burst else "")


# What the empty loops measure, besides the harness (bench_vring.c's null
# ring, bench_peer.h's null queue).
HARNESS_NOTE = (
    "Each harness row is the local body with its ring calls replaced by "
    "stand-ins that do the least that lets every check pass (bench_vring.c's "
    "null ring, bench_peer.h's null queue): the loops, sequence numbers, "
    "segments or elements built, cookies and every check of what comes back "
    "run as in the real body. The stand-ins' own work is included: for "
    "libvring they record each message's segment and cookie and hand them "
    "back (about 15 instructions per message at batch 32 with gcc 12, "
    "callgrind's per-line counts), for the peers one memcpy of the elements "
    "per batch (about 1). Ring cost = the benchmark's count minus its "
    "harness's: as the harness figure holds the stand-ins' work, a ring's "
    "cost is that much more than shown (it does at least what its "
    "stand-in does).")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("counts")
    ap.add_argument("outdir")
    ap.add_argument("--commit", default="")
    ap.add_argument("--date", default="")
    ap.add_argument("--compiler", default="")
    a = ap.parse_args()

    counts = read_counts(a.counts)
    if not counts:
        sys.exit("no counts")
    os.makedirs(a.outdir, exist_ok=True)
    with open(os.path.join(a.outdir, "instructions.json"), "w") as f:
        json.dump(counts, f, indent=1, sort_keys=True)
        f.write("\n")

    hist_path = os.path.join(a.outdir, "instructions-history.json")
    history = []
    if os.path.exists(hist_path):
        with open(hist_path) as f:
            history = json.load(f)
    previous = history[-1] if history else None
    history.append({"date": a.date, "commit": a.commit, "compiler": a.compiler,
                    "instructions_per_msg": counts})
    history = history[-HISTORY_KEEP:]
    with open(hist_path, "w") as f:
        json.dump(history, f, indent=1)
        f.write("\n")

    impls, batches = [], []
    for name in counts:
        impl, batch = impl_and_batch(name)
        if impl not in impls:
            impls.append(impl)
        if batch not in batches:
            batches.append(batch)
    batches.sort()
    # libvring's single-call bodies, each followed by its burst twin, then
    # the peers; the harness measurements in their own table.
    order = ["split", "packed", "split_inorder", "packed_inorder"]

    def rank(i):
        burst = i.endswith("_burst")
        base = i[: -len("_burst")] if burst else i
        first = order.index(base) if base in order else len(order) + impls.index(i)
        return (first, burst)

    harnesses = [i for i in impls if i.startswith("harness_")]
    benches = sorted((i for i in impls if not i.startswith("harness_")), key=rank)
    prev = previous["instructions_per_msg"] if previous else {}

    def row(impl, value_of):
        cells = []
        for b in batches:
            name = name_of(impl, b)
            v = value_of(name, impl, b)
            if v is None:
                cells.append("")
                continue
            cell = f"{v:.1f}"
            if name in prev and name in counts and value_of is count_of and \
                    prev[name] > 0 and abs(v - prev[name]) >= 0.05:
                cell += f" ({(v - prev[name]) / prev[name] * 100:+.1f}%)"
            cells.append(cell)
        return f"| {impl} | " + " | ".join(cells) + " |"

    def count_of(name, impl, b):
        return counts.get(name)

    def ring_cost(name, impl, b):
        h = counts.get(name_of(harness_of(impl), b))
        v = counts.get(name)
        return None if v is None or h is None else v - h

    out = []
    out.append("# Instructions per message (callgrind)\n")
    out.append(f"Run {a.date} at commit {a.commit or '?'}"
               f"{', ' + a.compiler if a.compiler else ''}. Local pattern (both roles "
               "on one CPU, one after the other), harness included: callgrind's count of "
               "the measured loop divided by the messages it moved. Exact and "
               "machine-independent for the same binary; a change between runs is a "
               "change in the code or the compiler. `_burst`: the same body with the "
               "burst calls.\n")
    out.append("| instructions/message | " + " | ".join(f"batch {b}" for b in batches) + " |")
    out.append("|---|" + "---:|" * len(batches))
    for impl in benches:
        out.append(row(impl, count_of))
    if previous:
        out.append(f"\nChanges in parentheses are against the previous run "
                   f"({previous.get('date', '?')}, commit {previous.get('commit', '?')}).")
    if harnesses:
        out.append("\n## The harness alone\n")
        out.append(HARNESS_NOTE + "\n")
        out.append("| harness, instructions/message | " +
                   " | ".join(f"batch {b}" for b in batches) + " |")
        out.append("|---|" + "---:|" * len(batches))
        for h in harnesses:
            out.append(row(h, count_of))
        out.append("\n| ring cost = total − harness | harness | " +
                   " | ".join(f"batch {b}" for b in batches) + " |")
        out.append("|---|---|" + "---:|" * len(batches))
        for impl in benches:
            out.append(row(impl, ring_cost).replace(f"| {impl} |",
                                                    f"| {impl} | {harness_of(impl)} |", 1))
    refs = [r for r in ("ck_ring", "ck_ring_ret", "dpdk_ring", "dpdk_ring_ret") if r in impls]
    vring = [i for i in benches if i.split("_burst")[0] in order]
    if refs and vring:
        out.append("\n## libvring ÷ the peers (instructions per message)\n")
        out.append("Each cell: the libvring body's count ÷ the peer's, same batch. ck_ring and "
                   "dpdk_ring carry a pointer one way; the _ret peers also return every "
                   "buffer to the producer through a second queue and check it, as "
                   "libvring's used ring does.\n")
        out.append("| batch | body | " + " | ".join(f"÷ {r}" for r in refs) + " |")
        out.append("|---|---|" + "---:|" * len(refs))
        for b in batches:
            for impl in vring:
                v = counts.get(name_of(impl, b))
                if v is None:
                    continue
                cells = []
                for r in refs:
                    d = counts.get(name_of(r, b))
                    cells.append(f"{v / d:.2f}" if d else "")
                out.append(f"| {b} | {impl} | " + " | ".join(cells) + " |")
    out.append("\n## Targets (local/32, instructions per message)\n")
    out.append("The burst body when the run has one (the issue's primary path), "
               "else the single-call one.\n")
    out.append("| target | body | measured | |")
    out.append("|---|---|---:|---|")
    for name, limit in TARGETS.items():
        burst = name.replace("_local/", "_local_burst/")
        used = burst if burst in counts else name
        v = counts.get(used)
        if v is None:
            out.append(f"| {name} <= {limit} | | not run | |")
        else:
            out.append(f"| {name} <= {limit} | {used} | {v:.1f} | "
                       f"{'met' if v <= limit else '**missed**'} |")
    out.append("\n## History (local/32)\n")
    keys = [k for k in ("BM_split_local/32", "BM_packed_local/32",
                        "BM_split_inorder_local/32", "BM_packed_inorder_local/32",
                        "BM_split_local_burst/32", "BM_packed_local_burst/32",
                        "BM_split_inorder_local_burst/32", "BM_packed_inorder_local_burst/32",
                        "BM_ck_ring_local/32", "BM_dpdk_ring_local/32",
                        "BM_harness_vring_local/32", "BM_harness_ck_ring_ret_local/32")
            if any(k in h["instructions_per_msg"] for h in history)]
    out.append("| date | commit | " + " | ".join(k[3:] for k in keys) + " |")
    out.append("|---|---|" + "---:|" * len(keys))
    for h in history:
        c = h["instructions_per_msg"]
        out.append(f"| {h.get('date', '')} | {h.get('commit', '')} | " +
                   " | ".join(f"{c[k]:.1f}" if k in c else "" for k in keys) + " |")
    with open(os.path.join(a.outdir, "instructions.md"), "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
