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
                             previous run, and the targets of the
                             cost-per-message issue (local/32)

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
    base, _, batch = name.rpartition("/")
    impl = base[len("BM_"):] if base.startswith("BM_") else base
    impl = impl[: -len("_local")] if impl.endswith("_local") else impl
    return impl, int(batch)


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

    out = []
    out.append("# Instructions per message (callgrind)\n")
    out.append(f"Run {a.date} at commit {a.commit or '?'}"
               f"{', ' + a.compiler if a.compiler else ''}. Local pattern (both roles "
               "on one CPU, one after the other), harness included: callgrind's count of "
               "the measured loop divided by the messages it moved. Exact and "
               "machine-independent for the same binary; a change between runs is a "
               "change in the code or the compiler.\n")
    out.append("| instructions/message | " + " | ".join(f"batch {b}" for b in batches) + " |")
    out.append("|---|" + "---:|" * len(batches))
    prev = previous["instructions_per_msg"] if previous else {}
    for impl in impls:
        cells = []
        for b in batches:
            name = f"BM_{impl}_local/{b}"
            v = counts.get(name)
            if v is None:
                cells.append("")
                continue
            cell = f"{v:.1f}"
            if name in prev and prev[name] > 0 and abs(v - prev[name]) >= 0.05:
                cell += f" ({(v - prev[name]) / prev[name] * 100:+.1f}%)"
            cells.append(cell)
        out.append(f"| {impl} | " + " | ".join(cells) + " |")
    if previous:
        out.append(f"\nChanges in parentheses are against the previous run "
                   f"({previous.get('date', '?')}, commit {previous.get('commit', '?')}).")
    out.append("\n## Targets (local/32, instructions per message)\n")
    out.append("| target | measured | |")
    out.append("|---|---:|---|")
    for name, limit in TARGETS.items():
        v = counts.get(name)
        if v is None:
            out.append(f"| {name} <= {limit} | not run | |")
        else:
            out.append(f"| {name} <= {limit} | {v:.1f} | {'met' if v <= limit else '**missed**'} |")
    out.append("\n## History (local/32)\n")
    keys = [k for k in ("BM_split_local/32", "BM_packed_local/32",
                        "BM_split_inorder_local/32", "BM_packed_inorder_local/32",
                        "BM_ck_ring_local/32", "BM_dpdk_ring_local/32")
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
