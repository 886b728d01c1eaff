#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Instructions per message from callgrind, as a tracked figure.

    report_instructions.py COUNTS OUTDIR [--roles ROLECOUNTS] [--commit C] [--date D]

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
                             cheapest of the burst and _bufs bodies the
                             run has, else the single-call one)

With --roles, ROLECOUNTS holds lines "NAME ROLE MESSAGES COLLECTED" (ROLE
driver or device: vring_icount --roles ROLE NAME MESSAGES) and the report
also writes

  instructions_roles.json    {"BM_packed_local_burst/32": {"driver": 109.0,
                             "device": 96.6}, ...}: each role's
                             instructions per message

and the table "driver / device instructions per message" in
instructions.md, with per role, format, call kind and batch whether
IN_ORDER is cheaper than plain (issue 14 asks it for both roles).

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


# The call kinds of the libvring bodies, as name suffixes: the single-message
# calls (no suffix), the burst calls, the single-segment batch calls
# (add_bufs / pop_bufs).
KINDS = ["", "_burst", "_bufs"]


def split_kind(impl):
    """("packed_inorder_bufs") -> ("packed_inorder", "_bufs")."""
    for k in KINDS[1:]:
        if impl.endswith(k):
            return impl[: -len(k)], k
    return impl, ""


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
    """"BM_packed_local/32" -> ("packed", 32); the burst and _bufs bodies
    ("BM_packed_local_burst/32") -> ("packed_burst", 32); the harness
    measurements keep their "harness_" prefix."""
    base, _, batch = name.rpartition("/")
    impl = base[len("BM_"):] if base.startswith("BM_") else base
    impl, kind = split_kind(impl)
    impl = impl[: -len("_local")] if impl.endswith("_local") else impl
    return impl + kind, int(batch)


def name_of(impl, batch):
    """The inverse of impl_and_batch."""
    base, kind = split_kind(impl)
    return f"BM_{base}_local{kind}/{batch}"


def harness_of(impl):
    """The harness measurement of a benchmark: the libvring bodies share one
    per IN_ORDER-or-not and call kind (the format is in the ring calls
    only), each peer body has its own."""
    base, kind = split_kind(impl)
    if base in ("split", "packed"):
        h = "harness_vring"
    elif base in ("split_inorder", "packed_inorder"):
        h = "harness_vring_inorder"
    else:
        h = "harness_" + base
    return h + kind


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


def best_batch_body(counts, name):
    """The body a local/32 target takes: the cheapest of the burst and
    _bufs twins of @p name ("BM_packed_local/32") the run has, else @p name
    itself."""
    twins = [name.replace("_local/", f"_local{k}/") for k in KINDS[1:]]
    have = [t for t in twins if t in counts]
    if not have:
        return name
    return min(have, key=lambda t: (counts[t], twins.index(t)))


def read_roles(path):
    """{name: {"driver": per message, "device": per message}} from lines
    NAME ROLE MESSAGES COLLECTED."""
    roles = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            parts = line.split()
            if len(parts) != 4 or parts[1] not in ("driver", "device"):
                sys.exit(f"{path}:{n}: expected NAME driver|device MESSAGES COLLECTED, "
                         f"got {line!r}")
            name, role, msgs, ir = parts[0], parts[1], int(parts[2]), int(parts[3])
            if msgs <= 0:
                sys.exit(f"{path}:{n}: no messages for {name}")
            roles.setdefault(name, {})[role] = round(ir / msgs, 1)
    return roles


ROLES_NOTE = (
    "Each role of a local body counted alone (vring_icount --roles): the body "
    "switches callgrind's collection at each change of role, twice per batch. "
    "Driver: the batch's adds and kick_prepare, the collection (get_used) "
    "and its checks of every used buffer, the loop's control; device: pop "
    "and its checks of every chain, completion (complete, complete_burst or "
    "complete_in_order) and notify_prepare. Harness included on each side. "
    "The two runs execute the same instructions and each is counted in "
    "exactly one, so driver + device is the role-split body's whole loop; "
    "it exceeds the plain body's count (instructions.json) by the two "
    "switches per batch and what they cost the compiler (column split "
    "overhead), alike for plain and IN_ORDER. Verdict per role: IN_ORDER "
    "cheaper than plain, same format, call kind and batch.")


def roles_section(roles, counts):
    """The table "driver / device instructions per message"."""
    def get(impl, batch, role):
        return roles.get(name_of(impl, batch), {}).get(role)

    batches = sorted({impl_and_batch(n)[1] for n in roles})
    out = ["\n## Driver / device instructions per message\n", ROLES_NOTE + "\n"]
    out.append("| format | calls | batch | driver plain | driver IN_ORDER | "
               "IN_ORDER cheaper (driver) | device plain | device IN_ORDER | "
               "IN_ORDER cheaper (device) | ring alone (− harness): IN_ORDER cheaper, "
               "driver / device | split overhead plain / IN_ORDER |")
    out.append("|---|---|---:|---:|---:|---|---:|---:|---|---|---:|")
    kind_name = {"": "single", "_burst": "burst", "_bufs": "bufs"}

    def verdict(io, plain):
        if io is None or plain is None:
            return "–"
        return "yes" if io < plain else "**no**"

    def f(v):
        return "–" if v is None else f"{v:.1f}"

    def overhead(impl, b):
        d, v = get(impl, b, "driver"), get(impl, b, "device")
        whole = counts.get(name_of(impl, b))
        return None if d is None or v is None or whole is None else d + v - whole

    for fmt in ("packed", "split"):
        for kind in KINDS:
            for b in batches:
                plain, io = fmt + kind, fmt + "_inorder" + kind
                cells = [get(plain, b, "driver"), get(io, b, "driver"),
                         get(plain, b, "device"), get(io, b, "device")]
                if all(c is None for c in cells):
                    continue
                op, oi = overhead(plain, b), overhead(io, b)
                ring = []
                for r in ("driver", "device"):
                    p, i = get(plain, b, r), get(io, b, r)
                    hp, hi = get(harness_of(plain), b, r), get(harness_of(io), b, r)
                    ring.append(verdict(None if i is None or hi is None else i - hi,
                                        None if p is None or hp is None else p - hp))
                out.append(f"| {fmt} | {kind_name[kind]} | {b} | {f(cells[0])} | "
                           f"{f(cells[1])} | {verdict(cells[1], cells[0])} | "
                           f"{f(cells[2])} | {f(cells[3])} | {verdict(cells[3], cells[2])} | "
                           f"{ring[0]} / {ring[1]} | {f(op)} / {f(oi)} |")
    hs = [(k, b) for k in KINDS for b in batches
          if any(get(h + k, b, r) is not None
                 for h in ("harness_vring", "harness_vring_inorder")
                 for r in ("driver", "device"))]
    if hs:
        out.append("\nThe harness's share of each role (the same split of the "
                   "null-ring bodies, BM_harness_vring*): a role's ring cost is "
                   "its figure above minus this.\n")
        out.append("| calls | batch | harness driver plain / IN_ORDER | "
                   "harness device plain / IN_ORDER |")
        out.append("|---|---:|---:|---:|")
        for k, b in hs:
            out.append(f"| {kind_name[k]} | {b} | "
                       f"{f(get('harness_vring' + k, b, 'driver'))} / "
                       f"{f(get('harness_vring_inorder' + k, b, 'driver'))} | "
                       f"{f(get('harness_vring' + k, b, 'device'))} / "
                       f"{f(get('harness_vring_inorder' + k, b, 'device'))} |")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("counts")
    ap.add_argument("outdir")
    ap.add_argument("--commit", default="")
    ap.add_argument("--date", default="")
    ap.add_argument("--compiler", default="")
    ap.add_argument("--roles", default="",
                    help="file of NAME ROLE MESSAGES COLLECTED (vring_icount --roles)")
    a = ap.parse_args()

    counts = read_counts(a.counts)
    if not counts:
        sys.exit("no counts")
    roles = read_roles(a.roles) if a.roles else {}
    os.makedirs(a.outdir, exist_ok=True)
    with open(os.path.join(a.outdir, "instructions.json"), "w") as f:
        json.dump(counts, f, indent=1, sort_keys=True)
        f.write("\n")
    if roles:
        with open(os.path.join(a.outdir, "instructions_roles.json"), "w") as f:
            json.dump(roles, f, indent=1, sort_keys=True)
            f.write("\n")

    hist_path = os.path.join(a.outdir, "instructions-history.json")
    history = []
    if os.path.exists(hist_path):
        with open(hist_path) as f:
            history = json.load(f)
    previous = history[-1] if history else None
    entry = {"date": a.date, "commit": a.commit, "compiler": a.compiler,
             "instructions_per_msg": counts}
    if roles:
        entry["roles_per_msg"] = roles
    history.append(entry)
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
    # libvring's single-call bodies, each followed by its burst and _bufs
    # twins, then the peers; the harness measurements in their own table.
    order = ["split", "packed", "split_inorder", "packed_inorder"]

    def rank(i):
        base, kind = split_kind(i)
        first = order.index(base) if base in order else len(order) + impls.index(i)
        return (first, KINDS.index(kind))

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
               "burst calls; `_bufs`: with the single-segment batch calls "
               "(vr_*_drv_add_bufs, vr_*_dev_pop_bufs; completion and collection "
               "by the burst calls).\n")
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
    vring = [i for i in benches if split_kind(i)[0] in order]
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
    out.append("The cheapest of the burst and `_bufs` bodies the run has (the "
               "issue's batch paths; the body used is named), else the "
               "single-call one.\n")
    out.append("| target | body | measured | |")
    out.append("|---|---|---:|---|")
    for name, limit in TARGETS.items():
        used = best_batch_body(counts, name)
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
                        "BM_split_local_bufs/32", "BM_packed_local_bufs/32",
                        "BM_split_inorder_local_bufs/32", "BM_packed_inorder_local_bufs/32",
                        "BM_ck_ring_local/32", "BM_dpdk_ring_local/32",
                        "BM_harness_vring_local/32", "BM_harness_ck_ring_ret_local/32")
            if any(k in h["instructions_per_msg"] for h in history)]
    out.append("| date | commit | " + " | ".join(k[3:] for k in keys) + " |")
    out.append("|---|---|" + "---:|" * len(keys))
    for h in history:
        c = h["instructions_per_msg"]
        out.append(f"| {h.get('date', '')} | {h.get('commit', '')} | " +
                   " | ".join(f"{c[k]:.1f}" if k in c else "" for k in keys) + " |")
    if roles:
        out += roles_section(roles, counts)
    with open(os.path.join(a.outdir, "instructions.md"), "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
