#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Check of report.py's placement filter (ctest bench-report): on a
Google Benchmark JSON made up here, the medians of the two-thread bodies
leave out the repetitions whose xcore_rt_cycles (the bare cross-core round
trip probed around each repetition) is above report.APART times the run's
lowest; a body with no other repetition keeps all of its own and is named
in the note; --all-placements, and bodies without the counter (local),
keep the plain medians; a target whose two sides ran in different
placements gets no verdict. Exit status 0 when every check holds.

    report_check.py [PATH/TO/report.py]
"""
import importlib.util
import json
import os
import sys
import tempfile


def load_report(path):
    spec = importlib.util.spec_from_file_location("vb_report", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def reps(name, cycles, xrt, roundtrip=False):
    """The iteration entries of one body, then Google Benchmark's median
    aggregate over all of them (what report.py used before the filter)."""
    out = []
    for i, (c, x) in enumerate(zip(cycles, xrt)):
        b = {"name": name, "run_name": name, "run_type": "iteration",
             "repetition_index": i, "cycles_per_msg": float(c)}
        if roundtrip:
            b["cycles_per_roundtrip"] = float(c)
        if x is not None:
            b["xcore_rt_cycles"] = float(x)
        out.append(b)
    s = sorted(cycles)
    med = {"name": name + "_median", "run_name": name, "run_type": "aggregate",
           "aggregate_name": "median", "cycles_per_msg": float(s[len(s) // 2])}
    if roundtrip:
        med["cycles_per_roundtrip"] = med["cycles_per_msg"]
    return out + [med]


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    rp = load_report(argv[1] if len(argv) > 1 else os.path.join(here, "report.py"))
    fails = []

    def expect(what, got, want):
        if got != want:
            fails.append("%s: got %r, want %r" % (what, got, want))

    # The run of 2026-12-06 in small: the bare round trip 290 cycles in the
    # usual placement, about 700 apart; three of five repetitions of one
    # body apart (its plain median was the slow one), one of five of
    # another, all of a third; a local body has no probe.
    doc = {"context": {}, "benchmarks":
           reps("BM_split_inorder_pingpong_burst/1", [1912, 453, 477, 1967, 1975],
                [700, 290, 312, 710, 690], roundtrip=True) +
           reps("BM_split_pingpong_burst/1", [509, 516, 2100, 525, 520],
                [300, 290, 720, 300, 312], roundtrip=True) +
           reps("BM_cacheline_pingpong/1", [1032, 1074, 1050], [700, 700, 720],
                roundtrip=True) +
           reps("BM_split_local/1", [80, 81, 79], [None, None, None])}

    low, apart = rp.placement(doc)
    expect("usual round trip", low, 290.0)
    expect("repetitions apart", len(apart), 3 + 1 + 3)
    # One probe of a rarer, faster placement (180 cycles) among them does
    # not make the usual 290 to 312 look apart (they would, against it).
    odd = {"benchmarks": doc["benchmarks"] +
           reps("BM_split_pingpong/1", [400], [180], roundtrip=True)}
    low, apart = rp.placement(odd)
    expect("usual round trip, one faster probe among them", low, 290.0)
    expect("repetitions apart, one faster probe among them", len(apart), 3 + 1 + 3)

    med = rp.medians(doc)
    expect("in-order burst pingpong/1, usual placement",
           rp.cyc(med, "split_inorder_burst", "pingpong", [1]), 465.0)
    expect("its round trip counter too",
           rp.cyc(med, "split_inorder_burst", "pingpong", [1], "cycles_per_roundtrip"),
           465.0)
    expect("plain burst pingpong/1, usual placement",
           rp.cyc(med, "split_burst", "pingpong", [1]), 518.0)
    expect("a body run apart every time keeps its own median",
           rp.cyc(med, "cacheline", "pingpong", [1]), 1050.0)
    expect("a body without the probe keeps Google Benchmark's median",
           rp.cyc(med, "split", "local", [1]), 80.0)

    # A target set against a body whose every repetition ran apart, from a
    # body with usual-placement ones, is not a ratio of like with like: no
    # verdict (the packed pingpong/1 target against the bare cache line).
    tdoc = {"benchmarks": doc["benchmarks"] +
            reps("BM_packed_pingpong/1", [230, 228, 226], [290, 300, 295],
                 roundtrip=True) +
            reps("BM_split_pingpong/1", [1500, 1520, 1480], [700, 710, 690],
                 roundtrip=True)}
    verdicts = {t[0]: (t[1], t[2]) for t in rp.targets(rp.medians(tdoc))}
    packed_rt = verdicts.get("packed pingpong/1 round trip ≤ 1.3 × cacheline")
    split_rt = verdicts.get("split pingpong/1 round trip ≤ 1.6 × cacheline")
    expect("placements differ: no verdict", packed_rt and packed_rt[1], None)
    if packed_rt and "not comparable" not in packed_rt[0]:
        fails.append("the mixed-placement target does not say so: %s" % packed_rt[0])
    expect("both apart: a verdict", split_rt and split_rt[1], True)
    # The best repetitions too: packed's best (226, usual) against the bare
    # cache line's only usual one (it has none: 1032, apart) gets no verdict;
    # a body's best is of its usual repetitions (34), even when one run
    # apart came out smaller (30).
    best = rp.minima({"benchmarks": tdoc["benchmarks"] +
                      reps("BM_packed_stream_bufs/32/8", [30, 34, 35], [700, 290, 300])})
    bv = {t[0]: (t[1], t[2]) for t in rp.targets(best, rp.medians(tdoc))}
    expect("best repetitions, placements differ: no verdict",
           bv.get("packed pingpong/1 round trip ≤ 1.3 × cacheline", (0, 0))[1], None)
    expect("best repetition of the usual placement",
           rp.cyc(best, "packed_bufs", "stream", [32, 8]), 34.0)
    expect("best of a body run apart every time is marked",
           best.get(("cacheline", "pingpong", (1,)), {}).get("_apart"), True)

    allp = rp.medians(doc, all_placements=True)
    expect("--all-placements: the plain median",
           rp.cyc(allp, "split_inorder_burst", "pingpong", [1]), 1912.0)

    note = " ".join(rp.placement_note(doc))
    for text in ("7 of 13 repetitions", "(290 cycles,", "`BM_cacheline_pingpong/1`"):
        if text not in note:
            fails.append("note lacks %r: %s" % (text, note))
    if "BM_split_pingpong_burst/1" in note:
        fails.append("note names a body that had usual-placement repetitions")
    expect("no note without the probe",
           rp.placement_note({"benchmarks": reps("BM_split_local/1", [1], [None])}), [])

    # The whole report runs on it and says the same.
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "run.json")
        with open(path, "w") as f:
            json.dump(doc, f)
        saved = sys.stdout
        sys.stdout = open(os.devnull, "w")
        try:
            rc = rp.main(["report.py", path, d])
        finally:
            sys.stdout.close()
            sys.stdout = saved
        expect("report.py exit status", rc, 0)
        with open(os.path.join(d, "latest.md")) as f:
            md = f.read()
        if "7 of 13 repetitions" not in md:
            fails.append("latest.md lacks the placement note")

    for f in fails:
        print("FAIL " + f)
    print("report_check: %d failure(s)" % len(fails))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
