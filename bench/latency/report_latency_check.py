#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Check of report_latency.py's rounds (ctest bench-latency-report): on a
vring_latency JSON of three rounds made up here, the table shows each
cell's median p99 and CPU per message with the lowest and highest round
next to them; the domination verdicts use the medians (not the mean, not
one round); and each verdict says whether every round alone agrees
(robust) or not (median only, naming the round that differs). A record
whose spread does not hold its median, or a round without a figure, is
refused. Exit status 0 when every check holds.

    report_latency_check.py [PATH/TO/report_latency.py]
"""
import contextlib
import importlib.util
import io
import json
import os
import sys
import tempfile


def load_report(path):
    spec = importlib.util.spec_from_file_location("vl_report", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def figures(p99, cpu):
    """The figures of one run with this p99 (ns) and CPU per message (ns)."""
    return {"messages": 10000, "seconds": 1.0, "throughput": 10000.0,
            "p50": p99 // 2, "p90": p99 * 4 // 5, "p99": p99, "p999": 2 * p99,
            "p9999": 3 * p99, "max": 4 * p99, "min": 100, "mean": p99 / 2.0,
            "notifications_per_msg": 1.0, "cpu_per_msg": float(cpu), "cpu_cores": 1.0,
            "waits_per_msg": {"client_sleeps": 0.25, "client_spin_hits": 0.5,
                              "device_sleeps": 0.0, "device_spin_hits": 1.0}}


def median(v):
    s = sorted(v)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2.0


def record(policy, load, rounds, apart=()):
    """A record as vring_latency --rounds writes it: @rounds is a list of
    (p99, cpu) per round, the rounds numbered in @apart ran with the vCPUs
    apart; every figure the median over the others (over all when every
    one ran apart)."""
    runs = [dict(figures(p, c), round=i + 1, seq=0, apart=i + 1 in apart,
                 xcore_rt_ns=500 if i + 1 in apart else 130)
            for i, (p, c) in enumerate(rounds)]
    used = [x for x in runs if not x["apart"]] or runs
    r = {"policy": policy, "policy_base": policy, "params": "", "load": load,
         "load_kind": "saturation" if load == "saturation" else "single",
         "aggregate": "median of %d rounds" % len(used), "rounds_planned": len(runs),
         "rounds_passed": len(runs), "rounds_failed": [], "rounds": runs, "spread": {},
         "rounds_used": len(used), "rounds_apart": sorted(apart),
         "placement": "apart" if len(apart) == len(runs) else "usual"}
    for k, v in runs[0].items():
        if k in ("round", "seq", "apart", "xcore_rt_ns"):
            continue
        if isinstance(v, dict):
            r[k] = {kk: median([x[k][kk] for x in used]) for kk in v}
        else:
            r[k] = median([x[k] for x in used])
    for k in ("p50", "p90", "p99", "p999", "max", "cpu_per_msg", "throughput"):
        r["spread"][k] = [min(x[k] for x in used), max(x[k] for x in used)]
    return r


def document(recs):
    return {"tool": "vring_latency", "schema": 1, "rounds": 3,
            "machine": {"cpu_model": "made up", "cores": 2, "cpus_allowed": 2,
                        "load_before": [0, 0, 0], "load_after": [0, 0, 0],
                        "date": "2026-12-06T14:00:00Z", "kernel": "k", "cpuidle": "none",
                        "hypervisor": "no"},
            "config": {"qsize": 256, "format": "split", "msg_bytes": 64,
                       "warmup_seconds": 0.2, "cpu_client": 0, "cpu_device": 1,
                       "clock": "CLOCK_MONOTONIC", "rounds": 3},
            "calibration": {"rounds": 0}, "failed_runs": [], "failed_rounds": [],
            "records": recs}


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    rp = load_report(argv[1] if len(argv) > 1 else os.path.join(here, "report_latency.py"))
    fails = []

    def expect(what, got, want):
        if got != want:
            fails.append("%s: got %r, want %r" % (what, got, want))

    def contains(what, text, part):
        if part not in text:
            fails.append("%s: %r not in %r" % (what, part, text))

    # Saturation as on 2026-12-06 12:43 in small: adaptive disturbed in
    # round 2 (p99 226 us), event-idx in round 3. The medians: adaptive 60 us
    # at 0.50 us of CPU, nobody dominates it. Round 2 alone: event-idx and
    # polling dominate it; rounds 1 and 3: nobody. (The mean of adaptive's
    # rounds, 115 us at 0.55, would be dominated by polling.)
    sat = [record("adaptive", "saturation", [(60000, 500), (226000, 660), (58000, 480)]),
           record("event-idx", "saturation", [(62000, 440), (64000, 500), (193000, 450)]),
           record("polling", "saturation", [(54000, 530), (55000, 540), (74000, 530)])]
    # One at a time: polling dominates adaptive in every round.
    single = [record("adaptive", "single", [(8000, 4000), (8500, 4100), (9000, 4200)]),
              record("polling", "single", [(3000, 3600), (3200, 3700), (3100, 3800)])]
    recs = single + sat

    lines, verdicts = rp.domination(recs)
    got = {v[0]: (v[1], v[2]) for v in verdicts}
    expect("single: verdict", got.get("adaptive at single not dominated"),
           (False, " (median of 3 rounds; robust)"))
    expect("saturation: verdict from the medians",
           got.get("adaptive at saturation not dominated"),
           (True, " (median of 3 rounds; median only)"))
    row = [ln for ln in lines if ln.startswith("| saturation |")]
    expect("saturation: one row", len(row), 1)
    if row:
        contains("saturation row: median p99 and spread", row[0], "| 60.0 (58.0–226) |")
        contains("saturation row: median CPU and spread", row[0], "| 0.50 (0.48–0.66) |")
        contains("saturation row: the round that differs", row[0],
                 "median only (dominated in round 2 by event-idx, polling; "
                 "not dominated in rounds 1, 3)")
        contains("saturation row: medians' verdict", row[0], "| none | not dominated |")
        contains("saturation row: waits from waits_per_msg", row[0],
                 "| 0.25 / 0.50, 0.00 / 1.00 |")
    row = [ln for ln in lines if ln.startswith("| single |")]
    if row:
        contains("single row", row[0], "**dominated** | robust: every round agrees (3 of 3) |")
    else:
        fails.append("single: no row")

    table = rp.table_lines(recs)
    contains("table header", table[0], "| rounds |")
    contains("table header", table[0], "p99 (lowest–highest)")
    pol = [ln for ln in table if ln.startswith("| polling | saturation |")]
    expect("table: polling at saturation", len(pol), 1)
    if pol:
        contains("table: polling p99", pol[0], "| 55.0 (54.0–74.0) |")
        contains("table: polling CPU", pol[0], "| 0.53 (0.53–0.54) |")

    # A one-round record (no rounds list, as before --rounds): no spread,
    # no robustness claim.
    one = [dict(figures(8000, 4000), policy="adaptive", load="single"),
           dict(figures(3000, 3600), policy="polling", load="single")]
    one[0].pop("waits_per_msg")
    lines, verdicts = rp.domination(one)
    expect("one round: verdict", [(v[1], v[2]) for v in verdicts], [(False, "")])
    contains("one round: row", [ln for ln in lines if ln.startswith("| single |")][0],
             "| 8.00 | 4.00 |")
    expect("one round: table has no spread", "(" in rp.table_lines(one)[2], False)

    # Placement. Adaptive ran apart in round 1, polling in round 2, flags
    # in round 3, event-idx and coalesce in every round. Adaptive's
    # medians are of rounds 2 and 3 (61 us at 0.495). In the usual
    # placement: polling (50 us at 0.525, its rounds 1 and 3) 1.22x the
    # p99 but at 1.06x the CPU, flags (63.5 at 0.5025): neither dominates;
    # flags's apart round (100 at 0.48) would, against adaptive's apart
    # round, but both have usual rounds, and those are compared. Event-idx
    # and coalesce have no usual round: adaptive's apart round (177 us at
    # 0.50) against theirs: event-idx (180 at 0.45) does not dominate it,
    # coalesce (100 at 0.48, 1.77x better) does. At paced-10k
    # adaptive ran only in the usual placement, event-idx only apart:
    # not comparable, though its figures would dominate.
    pl = [record("adaptive", "saturation", [(177000, 500), (60000, 500), (62000, 490)],
                 apart=(1,)),
          record("polling", "saturation", [(49000, 530), (190000, 600), (51000, 520)],
                 apart=(2,)),
          record("event-idx", "saturation", [(180000, 450), (185000, 455), (175000, 445)],
                 apart=(1, 2, 3)),
          record("coalesce", "saturation", [(100000, 480), (101000, 470), (99000, 490)],
                 apart=(1, 2, 3)),
          record("flags", "saturation", [(64000, 500), (63000, 505), (100000, 480)],
                 apart=(3,)),
          record("adaptive", "paced-10k", [(90000, 5000), (91000, 5100), (92000, 5000)]),
          record("event-idx", "paced-10k", [(50000, 4000), (50000, 4000), (50000, 4000)],
                 apart=(1, 2, 3))]
    expect("placement: adaptive's rounds", [x["round"] for x in rp.used_rounds(pl[0])],
           [2, 3])
    expect("placement: by placement", rp.by_placement(pl[0]),
           {"usual": {"p99": 61000, "cpu_per_msg": 495},
            "apart": {"p99": 177000, "cpu_per_msg": 500}})
    expect("placement: per round", [(n, [r["policy"] for r, _ in d])
                                    for n, d in rp.per_round(pl, pl[0])],
           [(1, ["coalesce"]), (2, []), (3, [])])
    lines, verdicts = rp.domination(pl)
    expect("placement: verdicts", [(v[0], v[1], v[2]) for v in verdicts],
           [("adaptive at saturation not dominated", False,
             " (median of 2 rounds; median only)"),
            ("adaptive at paced-10k not dominated", True, "")])
    row = [ln for ln in lines if ln.startswith("| saturation |")]
    if row:
        contains("placement row: medians of the rounds in use", row[0],
                 "| 61.0 (60.0–62.0) | 0.49 (0.49–0.50) |")
        contains("placement row: coalesce dominates apart", row[0],
                 "| coalesce (p99 1.77x better at 0.96x the CPU, vCPUs apart) | **dominated** |")
        contains("placement row: rounds", row[0],
                 "median only (dominated in round 1 by coalesce; not dominated in rounds 2, 3)")
    else:
        fails.append("placement: no saturation row")
    row = [ln for ln in lines if ln.startswith("| paced-10k |")]
    if row:
        contains("placement row: event-idx not comparable", row[0],
                 "| none; event-idx not comparable (measured in no placement in common) "
                 "| not dominated | no round with a fixed policy in its placement |")
    else:
        fails.append("placement: no paced-10k row")
    pl = pl[:5]
    table = rp.table_lines(pl)
    for pol, cell in (("adaptive", "| 2 of 3 (1 apart) |"), ("event-idx", "| 3 (all apart) |"),
                      ("flags", "| 2 of 3 (1 apart) |")):
        ln = [x for x in table if x.startswith("| %s | saturation |" % pol)]
        contains("placement: table rounds of " + pol, ln[0] if ln else "", cell)
    doc = document(pl)
    doc["placement"] = {"probe": "probe", "apart_factor": 1.6, "usual_ns": 130,
                        "runs_probed": 12, "runs_apart": 5, "apart_retries": 2,
                        "runs_repeated": 7}
    par = " ".join(rp.placement_lines(doc, pl))
    contains("placement paragraph: counts", par, "above 1.6x the usual one (130 ns, the "
             "10th percentile of the probes) ran with the vCPUs apart, where every policy "
             "runs several times slower, and was measured again, up to 2 times: 7 runs "
             "were. Of the 12 runs kept, 5 ran apart.")
    contains("placement paragraph: cells", par, "adaptive/saturation round 1; "
             "polling/saturation round 2; event-idx/saturation rounds 1, 2, 3 (all); "
             "coalesce/saturation rounds 1, 2, 3 (all); flags/saturation round 3.")

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "latency.json")
        with open(path, "w") as f:
            json.dump(document(recs), f)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            rc = rp.main(["report_latency.py", path, tmp, "--no-plot", "--expect", "5"])
        expect("main: exit", rc, 0)
        contains("main: verdict line", " ".join(out.getvalue().split()),
                 "adaptive at saturation not dominated met (median of 3 rounds; median only)")
        with open(os.path.join(tmp, "latency.md")) as f:
            md = f.read()
        contains("latency.md: rounds paragraph", md, "measured 3 times, round after round")
        contains("latency.md: row", md, "| adaptive | saturation | 3 | 10000 |")

        # Refused: a spread that does not hold the median; a round without p99.
        for what, change in (
                ("spread", lambda d: d["records"][0]["spread"].update(p99=[1, 2])),
                ("round", lambda d: d["records"][1]["rounds"][2].pop("p99"))):
            doc = document([record(r["policy"], r["load"],
                                   [(x["p99"], x["cpu_per_msg"]) for x in r["rounds"]])
                            for r in recs])
            change(doc)
            with open(path, "w") as f:
                json.dump(doc, f)
            err = io.StringIO()
            try:
                with contextlib.redirect_stderr(err):
                    rp.load(path)
                fails.append("a bad %s was accepted" % what)
            except SystemExit as e:
                expect("bad %s: exit" % what, e.code, 1)

    for f in fails:
        print("report_latency_check: " + f, file=sys.stderr)
    if not fails:
        print("report_latency_check: all checks hold")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
