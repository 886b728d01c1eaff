#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Turn vring_latency's JSON into the markdown report and the plots.

    report_latency.py LATENCY.json OUT_DIR [--no-plot] [--expect N]

Writes OUT_DIR/latency.md (machine, calibration, one table row per policy
and load, the issue's targets met or missed with the numbers, and per load
whether a fixed policy dominates the adaptive one) and, unless --no-plot,
OUT_DIR/latency-<load>.png: the latency distribution, one line per policy,
and OUT_DIR/latency-p99-cpu.png: each load's policies on one (CPU per
message, p99) scatter plot (gnuplot; its inputs are removed afterwards).
--expect N fails unless there are N records. Exits non-zero when the JSON
is malformed. Standard library only.

When vring_latency ran several rounds (--rounds N), every figure of a
record is the median over its rounds: the table, the targets and the
domination verdicts use the medians, the table shows the lowest and highest
p99 and CPU per message of the rounds next to them, and each domination
verdict says whether every round on its own gives the same verdict
(robust) or only the medians do.

Each run's placement was probed (vring_latency's lat_place.c): a run made
with the two vCPUs apart on the host (its cross-core round trip above
--apart times the usual one) is left out of its cell's medians, unless every
round of the cell was. The domination verdicts compare like with like:
each placement's medians (of the rounds in it) against the same
placement's, and each round against the rounds of the same placement; a
fixed policy measured in no placement adaptive was measured in is not
comparable.
"""
import json
import math
import os
import shutil
import subprocess
import sys

FIELDS = ["policy", "load", "messages", "p50", "p90", "p99", "p999", "p9999",
          "max", "notifications_per_msg", "cpu_per_msg", "throughput"]

# Targets of issue 5 (docs/LATENCY.md discusses them).
EVIDX_SAT_MAX = 0.05       # doorbells per message under saturation, event-idx
ADAPT_P99_RATIO = 2.0      # adaptive p99 <= 2 x polling p99 at 100k/s ...
ADAPT_CPU_RATIO = 0.5      # ... with < 1/2 of polling's CPU
TARGET_LOAD = "paced-100k"

# Issue 14: at each load, no fixed policy may dominate adaptive by a margin:
# none with a p99 more than DOM_MARGIN times better at no more than DOM_TOL
# times adaptive's CPU per message, none with a CPU per message more than
# DOM_MARGIN times lower at no more than DOM_TOL times adaptive's p99.
DOM_MARGIN = 1.2
DOM_TOL = 1.05


def fail(msg):
    print("report_latency.py: " + msg, file=sys.stderr)
    sys.exit(1)


def load(path):
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        fail("%s: %s" % (path, e))
    for key in ("machine", "config", "calibration", "records"):
        if key not in doc:
            fail("%s: no '%s'" % (path, key))
    for i, r in enumerate(doc["records"]):
        check_figures(path, "record %d" % i, r, FIELDS)
        rounds = r.get("rounds", [])
        if not isinstance(rounds, list):
            fail("%s: record %d: 'rounds' is not a list" % (path, i))
        for j, x in enumerate(rounds):
            if not isinstance(x, dict) or not isinstance(x.get("round"), int):
                fail("%s: record %d, round %d: no round number" % (path, i, j))
            check_figures(path, "record %d, round %d" % (i, x["round"]),
                          dict(x, policy=r["policy"], load=r["load"]), FIELDS)
        if rounds and r.get("rounds_passed", len(rounds)) != len(rounds):
            fail("%s: record %d: rounds_passed %r but %d rounds"
                 % (path, i, r.get("rounds_passed"), len(rounds)))
        for k in ("p99", "cpu_per_msg"):
            sp = r.get("spread", {}).get(k)
            if sp is not None and not (isinstance(sp, list) and len(sp) == 2
                                       and sp[0] <= r[k] <= sp[1]):
                fail("%s: record %d: spread of '%s' %r does not hold its median %r"
                     % (path, i, k, sp, r[k]))
    return doc


def check_figures(path, what, r, fields):
    for k in fields:
        if k not in r:
            fail("%s: %s has no '%s'" % (path, what, k))
    for k in fields[2:]:
        if not isinstance(r[k], (int, float)) or r[k] < 0:
            fail("%s: %s: '%s' is not a number >= 0" % (path, what, k))
    if r["messages"] == 0:
        fail("%s: %s (%s/%s) measured nothing" % (path, what, r["policy"], r["load"]))
    if not (r["p50"] <= r["p90"] <= r["p99"] <= r["p999"] <= r["p9999"] <= r["max"]):
        fail("%s: %s: percentiles out of order" % (path, what))


def us(ns):
    v = ns / 1000.0
    if v >= 100:
        return "%.0f" % v
    if v >= 10:
        return "%.1f" % v
    return "%.2f" % v


def used_rounds(r):
    """The rounds a record's medians are taken over: those not run with the
    vCPUs apart, or all when every one was."""
    rounds = r.get("rounds", [])
    return [x for x in rounds if not x.get("apart")] or rounds


def nrounds(r):
    """How many rounds a record's medians are taken over (1 before --rounds)."""
    return len(used_rounds(r)) or 1


def is_apart(r):
    """Every round of the record ran with the vCPUs apart."""
    return r.get("placement") == "apart"


def multi_round(recs):
    return any(nrounds(r) > 1 or r.get("rounds_planned", 1) > 1 for r in recs)


def spread(r, key):
    """(lowest, highest) of @key over the record's rounds, or None."""
    if nrounds(r) < 2:
        return None
    sp = r.get("spread", {}).get(key)
    if sp:
        return sp[0], sp[1]
    vals = [x[key] for x in used_rounds(r)]
    return min(vals), max(vals)


def with_spread(r, key, fmt):
    """The median as @fmt formats it, then "(lowest–highest)" of the rounds."""
    sp = spread(r, key)
    if sp is None:
        return fmt(r[key])
    return "%s (%s–%s)" % (fmt(r[key]), fmt(sp[0]), fmt(sp[1]))


def cpu_us(ns):
    return "%.2f" % (ns / 1000.0)


def loads_in_order(recs):
    seen = []
    for r in recs:
        if r["load"] not in seen:
            seen.append(r["load"])
    return seen


def machine_lines(doc):
    m, c = doc["machine"], doc["config"]
    lb, la = m["load_before"], m["load_after"]
    return [
        "- **Machine:** %s, %d CPUs (%d usable), %s; hypervisor: %s; cpuidle driver: %s"
        % (m["cpu_model"], m["cores"], m["cpus_allowed"], m["kernel"], m["hypervisor"],
           m["cpuidle"]),
        "- **When:** %s; load average before %.2f %.2f %.2f, after %.2f %.2f %.2f"
        % (m["date"], lb[0], lb[1], lb[2], la[0], la[1], la[2]),
        "- **Set-up:** client (driver) on CPU %d, device on CPU %d; %s%s; %s rings of %d; "
        "%d-byte requests and replies; %.1f s warm-up per run; clock %s; timer slack 1 ns"
        % (c["cpu_client"], c["cpu_device"], c.get("sched", "SCHED_OTHER"),
           " priority %d" % c["rt_priority"] if c.get("rt_priority") else
           " (time-shared with the machine's other work)",
           c["format"], c["qsize"], c["msg_bytes"], c["warmup_seconds"], c["clock"]),
    ]


def placement_lines(doc, recs):
    """The Placement paragraph: how many runs ran with the vCPUs apart."""
    pl = doc.get("placement")
    if not pl or not pl.get("runs_probed"):
        return []
    apart = [(r, x["round"]) for r in recs for x in r.get("rounds", []) if x.get("apart")]
    factor = pl.get("apart_factor", 0)
    text = ("**Placement.** Before and after every run, a short spin ping-pong between "
            "the two CPUs (%s) measured where the host had put the two vCPUs. A run with "
            "a cross-core round trip above %gx the usual one (%d ns, the 10th percentile "
            "of the probes) ran with the vCPUs apart, where every policy runs several "
            "times slower, and was measured again, up to %d times: %d runs were. Of the "
            "%d runs kept, %d ran apart. "
            % (pl.get("probe", "the probe"), factor, pl.get("usual_ns", 0),
               pl.get("apart_retries", 0), pl.get("runs_repeated", 0), pl["runs_probed"],
               pl.get("runs_apart", len(apart)))
            if factor else
            "**Placement.** The runs' placement was probed (usual cross-core round trip "
            "%d ns), but `--apart 0` kept every run. " % pl.get("usual_ns", 0))
    if apart:
        cells = []
        for r in recs:
            ns = [x["round"] for x in r.get("rounds", []) if x.get("apart")]
            if ns:
                cells.append("%s/%s %s%s" % (r["policy"], r["load"], rounds_list(ns),
                                             " (all)" if is_apart(r) else ""))
        text += ("Their cells' medians leave them out, unless every round of a cell ran "
                 "apart (all): %s." % "; ".join(cells))
    return [text, ""]


def calibration_lines(doc):
    k = doc["calibration"]
    if not k.get("rounds"):
        return ["(calibration not run)"]
    return [
        "| primitive (between the two CPUs) | p50 | p99 | max |",
        "|---|---:|---:|---:|",
        "| eventfd ping-pong, blocking reads (round trip, 2 wakeups) | %s | %s | %s |"
        % (us(k["eventfd_rtt_p50"]), us(k["eventfd_rtt_p99"]), us(k["eventfd_rtt_max"])),
        "| shared-memory spin ping-pong (round trip) | %s | %s | %s |"
        % (us(k["spin_rtt_p50"]), us(k["spin_rtt_p99"]), us(k["spin_rtt_max"])),
        "| ppoll() 10 us timeout: how late it returns | %s | %s | %s |"
        % (us(k["timer10us_late_p50"]), us(k["timer10us_late_p99"]),
           us(k["timer10us_late_max"])),
        "",
        "All in microseconds, %d rounds each. One eventfd round trip (two wakeups) costs "
        "%s us of CPU, both processes together; one eventfd write that wakes nobody "
        "costs %s us." % (k["rounds"], us(k.get("eventfd_rtt_cpu_ns", 0)),
                          us(k["eventfd_write_ns"])),
    ]


def rounds_cell(r):
    planned = r.get("rounds_planned", nrounds(r))
    cell = "%d" % nrounds(r) if nrounds(r) == planned else "%d of %d" % (nrounds(r), planned)
    napart = len(r.get("rounds_apart", []))
    if is_apart(r):
        return cell + " (all apart)"
    return cell + (" (%d apart)" % napart if napart else "")


def table_lines(recs):
    multi = multi_round(recs)
    out = ["| policy | load | %smsgs | msgs/s | p50 | p90 | p99%s | p99.9 | p99.99 | max "
           "| doorbells/msg | CPU us/msg%s | CPUs busy |"
           % ("rounds | " if multi else "", " (lowest–highest)" if multi else "",
              " (lowest–highest)" if multi else ""),
           "|---|---|%s---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
           % ("---:|" if multi else "")]
    for r in recs:
        out.append("| %s | %s | %s%d | %.0f | %s | %s | %s | %s | %s | %s | %.3f | %s | %.2f |"
                   % (r["policy"], r["load"], rounds_cell(r) + " | " if multi else "",
                      r["messages"], r["throughput"], us(r["p50"]),
                      us(r["p90"]), with_spread(r, "p99", us), us(r["p999"]), us(r["p9999"]),
                      us(r["max"]), r["notifications_per_msg"],
                      with_spread(r, "cpu_per_msg", cpu_us), r.get("cpu_cores", 0.0)))
    return out


def find(recs, base, load):
    return [r for r in recs if r.get("policy_base", r["policy"]) == base and r["load"] == load]


def targets(recs):
    """Lines of the targets section, and a list of (name, met) verdicts."""
    out, verdicts = [], []
    sat_ev = find(recs, "event-idx", "saturation")
    sat_al = find(recs, "notify-always", "saturation")
    if sat_ev:
        for r in sat_ev:
            ok = r["notifications_per_msg"] < EVIDX_SAT_MAX
            verdicts.append(("event-idx saturation", ok))
            out.append("- **Event-idx under saturation, doorbells per message < %.2f: %s.** "
                       "%s: %.4f doorbells per message (%.5f per published buffer) at %.0f "
                       "messages/s%s."
                       % (EVIDX_SAT_MAX, "met" if ok else "MISSED", r["policy"],
                          r["notifications_per_msg"], r.get("notifications_per_publish", 0),
                          r["throughput"],
                          "; notify-always: %.3f per message (%.3f per published buffer)"
                          % (sat_al[0]["notifications_per_msg"],
                             sat_al[0].get("notifications_per_publish", 0))
                          if sat_al else ""))
    else:
        out.append("- Event-idx under saturation: not measured in this run.")
    polls = find(recs, "polling", TARGET_LOAD)
    adapts = find(recs, "adaptive", TARGET_LOAD)
    if polls and adapts:
        p = polls[0]
        for a in adapts:
            rp99 = a["p99"] / p["p99"] if p["p99"] else float("inf")
            rcpu = a["cpu_per_msg"] / p["cpu_per_msg"] if p["cpu_per_msg"] else float("inf")
            ok_lat, ok_cpu = rp99 <= ADAPT_P99_RATIO, rcpu < ADAPT_CPU_RATIO
            verdicts.append(("%s at %s" % (a["policy"], TARGET_LOAD), ok_lat and ok_cpu))
            out.append("- **%s at %s: p99 within %gx polling (%s) with under %g of its CPU "
                       "(%s): %s.** p99 %s us vs polling %s us (%.2fx); CPU %.2f vs %.2f us "
                       "per message (%.2fx). [%s]"
                       % (a["policy"], TARGET_LOAD, ADAPT_P99_RATIO,
                          "met" if ok_lat else "missed", ADAPT_CPU_RATIO,
                          "met" if ok_cpu else "missed",
                          "met" if ok_lat and ok_cpu else "MISSED",
                          us(a["p99"]), us(p["p99"]), rp99, a["cpu_per_msg"] / 1000.0,
                          p["cpu_per_msg"] / 1000.0, rcpu, a["params"]))
        if p.get("cpu_cores", 2.0) < 1.8:
            out.append("  - Polling, which never sleeps, got only %.2f of its 2 CPUs in this run: "
                       "the machine was shared, and at %s its latency is the scheduler's time "
                       "slices, not the ring's; a p99 ratio against it proves little (see "
                       "docs/LATENCY.md)." % (p["cpu_cores"], TARGET_LOAD))
    else:
        out.append("- Adaptive versus polling at %s: not measured in this run." % TARGET_LOAD)
    return out, verdicts


def is_adaptive(r):
    return r.get("policy_base", r["policy"]) == "adaptive"


def median(v):
    s = sorted(v)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2.0


def by_placement(r):
    """{"usual" or "apart": {"p99", "cpu_per_msg"}}: the medians of the
    record's rounds in each placement it was measured in; a round alone, or
    a record without rounds, in its own placement."""
    rounds = r.get("rounds")
    if not rounds:
        apart = r.get("apart", is_apart(r))
        return {"apart" if apart else "usual": r}
    out = {}
    for key, flag in (("usual", False), ("apart", True)):
        xs = [x for x in rounds if bool(x.get("apart")) == flag]
        if xs:
            out[key] = {"p99": median([x["p99"] for x in xs]),
                        "cpu_per_msg": median([x["cpu_per_msg"] for x in xs])}
    return out


def comparable(r, a):
    """@r and @a were measured in a common placement."""
    return bool(set(by_placement(r)) & set(by_placement(a)))


def apart_fixed(recs, a):
    """The fixed policies at @a's load not compared with it: measured in no
    placement @a was measured in."""
    return [r for r in recs if r["load"] == a["load"] and not is_adaptive(r)
            and not comparable(r, a)]


def dominance(f, a):
    """Why figures @f dominate adaptive's figures @a (p99 and CPU per
    message), or None."""
    if f["p99"] * DOM_MARGIN < a["p99"] and f["cpu_per_msg"] <= DOM_TOL * a["cpu_per_msg"]:
        return "p99 %.2fx better at %.2fx the CPU" % (
            a["p99"] / max(f["p99"], 1), f["cpu_per_msg"] / max(a["cpu_per_msg"], 1))
    if f["cpu_per_msg"] * DOM_MARGIN < a["cpu_per_msg"] and f["p99"] <= DOM_TOL * a["p99"]:
        return "CPU %.2fx lower at %.2fx the p99" % (
            a["cpu_per_msg"] / max(f["cpu_per_msg"], 1), f["p99"] / max(a["p99"], 1))
    return None


def dominators(recs, a):
    """The fixed policies that dominate adaptive record (or round) @a at its
    load, each as (record, why): the medians of its rounds in the usual
    placement against @a's, when both have such rounds; else of those with
    the vCPUs apart, when both have those. (A run is apart when either of
    its probes was: some moved in the middle, so apart is a mixture, and
    the usual placement is the one to compare in.)"""
    out = []
    pa = by_placement(a)
    for r in recs:
        if r["load"] != a["load"] or is_adaptive(r):
            continue
        pr = by_placement(r)
        key = "usual" if "usual" in pr and "usual" in pa else "apart"
        why = dominance(pr[key], pa[key]) if key in pr and key in pa else None
        if why:
            out.append((r, why + (", vCPUs apart" if key == "apart" else "")))
    return out


def waits_of(r):
    """Sleeps and spin hits per message of the client's RX and the device's TX
    queue (the two that wait): the record's waits_per_msg (the medians over
    the rounds), or from its counters."""
    w = r.get("waits_per_msg")
    if isinstance(w, dict):
        try:
            return "%.2f / %.2f, %.2f / %.2f" % (w["client_sleeps"], w["client_spin_hits"],
                                                 w["device_sleeps"], w["device_spin_hits"])
        except (KeyError, TypeError):
            pass
    n = max(r["messages"], 1)
    try:
        c, d = r["client_counters"], r["device_counters"]
        return "%.2f / %.2f, %.2f / %.2f" % (c["waits"][1] / n, c["spin_hits"][1] / n,
                                             d["waits"][0] / n, d["spin_hits"][0] / n)
    except (KeyError, IndexError, TypeError):
        return "(no counters)"


def round_records(recs, n):
    """Round @n of every record that has one: its figures in that round
    (with its "apart"), with the record's policy, base and load."""
    out = []
    for r in recs:
        for x in r.get("rounds", []):
            if x["round"] == n:
                out.append(dict(x, policy=r["policy"],
                                policy_base=r.get("policy_base", r["policy"]),
                                load=r["load"]))
    return out


def per_round(recs, a):
    """[(round, dominators)] of adaptive record @a: each round on its own,
    its figures against the fixed policies' figures of the same round (the
    cells of one load run close together in a round) measured in the same
    placement; a round in which every fixed policy failed or ran in the
    other placement is left out."""
    out = []
    for n in sorted({x["round"] for x in a.get("rounds", [])}):
        rr = [x for x in round_records(recs, n) if x["load"] == a["load"]]
        mine = [x for x in rr if x["policy"] == a["policy"]]
        if mine and any(not is_adaptive(x) and comparable(x, mine[0]) for x in rr):
            out.append((n, dominators(rr, mine[0])))
    return out


def rounds_list(ns):
    return ("round %d" % ns[0]) if len(ns) == 1 else \
        "rounds " + ", ".join("%d" % n for n in ns)


def robustness(recs, a, dominated):
    """(robust, text): whether each round on its own gives the median's
    verdict (@dominated), in words; robust is None with one round."""
    rounds = per_round(recs, a)
    if not rounds:
        return None, "no round with a fixed policy in its placement"
    if len(rounds) < 2:
        return None, "one round"
    agree = [n for n, d in rounds if bool(d) == dominated]
    if len(agree) == len(rounds):
        return True, "robust: every round agrees (%d of %d)" % (len(rounds), len(rounds))
    dom = [(n, d) for n, d in rounds if d]
    free = [n for n, d in rounds if not d]
    parts = []
    if dom:
        parts.append("dominated in " + "; ".join(
            "round %d by %s" % (n, ", ".join(r["policy"] for r, _ in d)) for n, d in dom))
    if free:
        parts.append("not dominated in " + rounds_list(free))
    return False, "median only (%s)" % "; ".join(parts)


def domination(recs):
    """Lines of the adaptive-versus-fixed section, and (name, met) verdicts."""
    out = ["A fixed policy *dominates* adaptive at a load when its p99 is more than %gx "
           "better at no more than %gx adaptive's CPU per message, or its CPU per message "
           "more than %gx lower at no more than %gx adaptive's p99 (issue 14). Computed "
           "from the table above; the plot below shows the same points."
           % (DOM_MARGIN, DOM_TOL, DOM_MARGIN, DOM_TOL), "",
           "*Adaptive's waits* are what its two waiting queues did per message (the "
           "client waiting for replies, the device for requests): sleeps on the doorbell, "
           "and waits a spin ended (spin hits). A regime shows in them: spinning (hits "
           "near 1, no sleeps), blocking (sleeps, no hits), or in between.", "",
           "*In every round?* Every figure here is the median over the rounds (when "
           "the run had several: `vring_latency --rounds N`); the verdict is then "
           "decided again in each round alone, adaptive's figures of that round against "
           "the fixed policies' of the same round. *Robust*: every round gives the "
           "median's verdict; *median only*: some round does not (named), so the "
           "verdict rests on which cells a disturbance caught. *Placement* (see above): "
           "each comparison is made within one placement: the medians of a policy's "
           "rounds with the vCPUs in their usual places against the same of adaptive's; "
           "only when one of the two has no such round, those of the rounds with the "
           "vCPUs apart against the same. One measured in no placement that adaptive "
           "was measured in is *not comparable*, and named.", "",
           "| load | adaptive p99 (us) | adaptive CPU us/msg | adaptive's waits per msg: "
           "client sleeps / hits, device sleeps / hits | nearest fixed policies | "
           "dominated by | verdict | in every round? |",
           "|---|---:|---:|---|---|---|---|---|"]
    verdicts = []
    for ld in loads_in_order(recs):
        for a in [r for r in recs if r["load"] == ld and is_adaptive(r)]:
            fixed = [r for r in recs if r["load"] == ld and not is_adaptive(r)]
            if not fixed:
                continue
            doms = dominators(recs, a)
            # The two fixed policies closest to adaptive in (log p99, log CPU).
            def dist(r, a=a):
                return (math.log(max(r["p99"], 1) / max(a["p99"], 1)) ** 2 +
                        math.log(max(r["cpu_per_msg"], 1) / max(a["cpu_per_msg"], 1)) ** 2)
            near = sorted(fixed, key=dist)[:2]
            robust, how = robustness(recs, a, bool(doms))
            verdicts.append(("%s at %s not dominated" % (a["policy"], ld), not doms,
                             "" if robust is None else
                             " (median of %d rounds; %s)"
                             % (nrounds(a), "robust" if robust else "median only")))
            out.append("| %s | %s | %s | %s | %s | %s | %s | %s |"
                       % (ld if a["policy"] == "adaptive" else "%s (%s)" % (ld, a["policy"]),
                          with_spread(a, "p99", us), with_spread(a, "cpu_per_msg", cpu_us),
                          waits_of(a),
                          "; ".join("%s %s us, %.2f" % (r["policy"], us(r["p99"]),
                                                         r["cpu_per_msg"] / 1000.0)
                                    for r in near),
                          ("; ".join("%s (%s)" % (r["policy"], why) for r, why in doms)
                           or "none") +
                          "".join("; %s not comparable (measured in no placement in "
                                  "common)" % r["policy"]
                                  for r in apart_fixed(recs, a)),
                          "**dominated**" if doms else "not dominated", how))
    if not verdicts:
        out.append("| (adaptive and a fixed policy were not both measured) | | | | | | | |")
    return out, verdicts


def plot_tradeoff(doc, recs, out_dir):
    """latency-p99-cpu.png: per load, every policy at (CPU per message, p99),
    the medians over the rounds, with bars from the lowest to the highest
    round; returns the file name, or None."""
    loads = loads_in_order(recs)
    if not loads:
        return None
    png, tmp = "latency-p99-cpu.png", []
    cols = 2 if len(loads) > 1 else 1
    rows = (len(loads) + cols - 1) // cols
    gp = ["set terminal pngcairo size %d,%d noenhanced font ',9'" % (520 * cols, 400 * rows),
          "set output '%s'" % png,
          "set multiplot layout %d,%d title 'libvring: p99 round trip against CPU per "
          "message, per load (%s%s); adaptive in red, lower left is better'"
          % (rows, cols, doc["machine"]["date"][:10],
             "; median of %d rounds, bars lowest to highest" % max(nrounds(r) for r in recs)
             if multi_round(recs) else ""),
          "set logscale xy", "set grid", "set key off",
          "set xlabel 'CPU per message (us, both processes)'",
          "set ylabel 'p99 round trip (us)'",
          "set offsets graph 0.08, graph 0.25, graph 0.15, graph 0.08"]
    for i, ld in enumerate(loads):
        dat = os.path.join(out_dir, "latency-plot-tradeoff-%d.dat" % i)
        tmp.append(dat)
        with open(dat, "w") as f:
            for r in recs:
                if r["load"] == ld:
                    cs = spread(r, "cpu_per_msg") or (r["cpu_per_msg"],) * 2
                    ps = spread(r, "p99") or (r["p99"],) * 2
                    f.write("%.6g %.6g \"%s\" %d %.6g %.6g %.6g %.6g\n"
                            % (max(r["cpu_per_msg"], 1) / 1000.0, max(r["p99"], 1) / 1000.0,
                               r["policy"], 1 if is_adaptive(r) else 0,
                               max(cs[0], 1) / 1000.0, max(cs[1], 1) / 1000.0,
                               max(ps[0], 1) / 1000.0, max(ps[1], 1) / 1000.0))
        name = os.path.basename(dat)
        gp += ["set title '%s'" % ld,
               "plot '%s' using 1:($4 == 0 ? $2 : 1/0):5:6:7:8 with xyerrorbars pt 7 ps 1.2 "
               "lc rgb '#1f4e99', "
               "'%s' using 1:($4 == 0 ? $2 : 1/0):3 with labels "
               "offset char 0.8,0.7 left tc rgb '#1f4e99', "
               "'%s' using 1:($4 == 1 ? $2 : 1/0):5:6:7:8 with xyerrorbars pt 5 ps 1.4 "
               "lc rgb '#c00000', "
               "'%s' using 1:($4 == 1 ? $2 : 1/0):3 with labels "
               "offset char 0.8,-0.7 left tc rgb '#c00000'" % (name, name, name, name)]
    gp += ["unset multiplot", ""]
    script = os.path.join(out_dir, "latency-plot-tradeoff.gp")
    tmp.append(script)
    with open(script, "w") as f:
        f.write("\n".join(gp))
    try:
        subprocess.run(["gnuplot", os.path.basename(script)], cwd=out_dir, check=True)
    finally:
        for t in tmp:
            if os.path.exists(t):
                os.remove(t)
    return png


def plot(doc, recs, out_dir):
    """latency-<load>.png per load; returns the file names."""
    if not shutil.which("gnuplot"):
        print("report_latency.py: gnuplot not found: no plots", file=sys.stderr)
        return []
    pngs, tmp = [], []
    for ld in loads_in_order(recs):
        rows = [r for r in recs if r["load"] == ld]
        png = "latency-%s.png" % ld
        series = []
        for i, r in enumerate(rows):
            dat = os.path.join(out_dir, "latency-plot-%s-%d.dat" % (ld, i))
            tmp.append(dat)
            with open(dat, "w") as f:
                for p, ns in r.get("distribution", []):
                    # x: 1/(1-p), so that 90%, 99%, 99.9% ... are evenly
                    # spaced; the maximum sits at x = the sample count.
                    x = 1.0 / (1.0 - p) if p < 1 else float(r["messages"])
                    f.write("%.6g %.6g\n" % (x, max(ns, 1) / 1000.0))
            series.append("'%s' using 1:2 with linespoints pt 7 ps 0.5 lw 2 title '%s'"
                          % (os.path.basename(dat), r["policy"]))
        what = ("from the scheduled send time" if rows[0].get("load_kind") == "paced"
                else "from the send call")
        gp = os.path.join(out_dir, "latency-plot.gp")
        tmp.append(gp)
        with open(gp, "w") as f:
            f.write("\n".join([
                "set terminal pngcairo size 900,560 noenhanced font ',10'",
                "set output '%s'" % png,
                "set title 'libvring round trip, load %s (latency %s), %s'"
                % (ld, what, doc["machine"]["date"][:10]),
                "set logscale xy",
                "set xlabel 'percentile'",
                "set ylabel 'round trip (us)'",
                "set xtics ('0%%' 1, '50%%' 2, '90%%' 10, '99%%' 100, '99.9%%' 1000, "
                "'99.99%%' 10000, '99.999%%' 100000, '99.9999%%' 1000000)",
                "set key outside right",
                "set grid",
                "plot " + ", \\\n     ".join(series),
                ""]))
        subprocess.run(["gnuplot", "latency-plot.gp"], cwd=out_dir, check=True)
        pngs.append(png)
    for t in tmp:
        if os.path.exists(t):
            os.remove(t)
    tradeoff = plot_tradeoff(doc, recs, out_dir)
    if tradeoff:
        pngs.append(tradeoff)
    return pngs


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    no_plot = "--no-plot" in argv
    expect = None
    if "--expect" in argv:
        i = argv.index("--expect")
        if i + 1 >= len(argv):
            fail("--expect needs a number")
        expect = int(argv[i + 1])
        args.remove(argv[i + 1])
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    path, out_dir = args
    doc = load(path)
    recs = doc["records"]
    if expect is not None and len(recs) != expect:
        fail("%s: %d records, expected %d" % (path, len(recs), expect))
    os.makedirs(out_dir, exist_ok=True)
    pngs = [] if no_plot else plot(doc, recs, out_dir)
    tlines, verdicts = targets(recs)
    dlines, dverdicts = domination(recs)
    verdicts += dverdicts
    md = ["# libvring latency: request/response between two processes",
          "",
          "Produced by `scripts/bench.sh` (`vring_latency`, then "
          "`bench/latency/report_latency.py`); see docs/LATENCY.md for how to read it.",
          ""]
    md += machine_lines(doc)
    md += ["",
           "A *message* is one request and its reply (a round trip). Latency is measured "
           "by the client from just before the send call to just after the reply is "
           "received; under the paced loads it is measured from the request's *scheduled* "
           "send time, so that a stall is charged to every request it delays (no "
           "coordinated omission). *Doorbells/msg* counts every doorbell both processes "
           "rang (eventfd writes: request, request buffer returned, reply buffer posted, "
           "reply) per round trip: notify-always rings 4. *CPU us/msg* is user + system "
           "time of both processes (getrusage, all threads) per round trip; *CPUs busy* "
           "the same per second of wall time. Percentiles in microseconds, from a "
           "log-linear histogram with under 1% error.",
           ""]
    if multi_round(recs):
        md += ["**Rounds.** The whole matrix was measured %d times, round after round "
               "(every cell once, then every cell again; the policies of a load in a "
               "different order each round), each cell with a fresh region and device. "
               "Every figure below is the median over a cell's rounds (`aggregate` in the "
               "JSON, which also holds each round); next to p99 and CPU per message, in "
               "parentheses, the lowest and highest of the rounds. A disturbance of a few "
               "seconds (another tenant, the host moving a vCPU) spoils one round of a "
               "few cells; the median leaves it out, the spread shows it."
               % doc.get("rounds", max(nrounds(r) for r in recs)), ""]
    md += placement_lines(doc, recs)
    md += ["## Calibration", ""]
    md += calibration_lines(doc)
    md += ["", "## Results", ""]
    md += table_lines(recs)
    if doc.get("failed_runs"):
        md += ["", "**Runs that failed** (a reply wrong or missing; see the tool's output): "
               + ", ".join(doc["failed_runs"]) + "."]
        fr = doc.get("failed_rounds", [])
        if fr and multi_round(recs):
            md += ["", "Failed rounds (a cell's medians are over the rounds that passed; a "
                   "cell none of whose rounds passed has no row): "
                   + ", ".join("%s/%s round %d" % (x["policy"], x["load"], x["round"])
                               for x in fr) + "."]
    md += ["", "## Targets (issue 5)", ""]
    md += tlines
    md += ["", "## Adaptive against the fixed policies (issue 14)", ""]
    md += dlines
    if pngs:
        md += ["", "## Plots", ""]
        md += ["![%s](%s)" % (p[:-4], p) for p in pngs]
    md.append("")
    with open(os.path.join(out_dir, "latency.md"), "w") as f:
        f.write("\n".join(md))
    for v in verdicts:
        print("target %-40s %s%s" % (v[0], "met" if v[1] else "MISSED", v[2] if len(v) > 2 else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
