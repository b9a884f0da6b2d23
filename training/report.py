"""`report.md` of an ablation, rendered from results.json alone: the tables the docs show.

Why from results.json: numbers typed by hand into the docs drifted from the runs (the README said 3.485
where a rerun gave 3.479). The docs paste this file's tables between markers, and
tests/training/test_ablation_docs.py renders the committed results.json again and checks that the
docs hold the same text, so a docs number cannot differ from the run it came from.

    python -m training.report runs/ablations/demo/results.json   # prints the report
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict

import numpy as np


def _ci(c: dict) -> str:
    ci = c.get("ci95")
    d = f"{c['delta_bpb']:+.3f}"
    d = f"**{d}**" if c.get("resolved") else d
    return f"{d} [{ci[0]:+.3f}, {ci[1]:+.3f}]" if ci else f"{d} (one seed)"


def _mean_bpb(v: dict, tokens: int, ev: str) -> float | None:
    xs = [p["bpb"][ev] for p in v["points"] if p["tokens"] == tokens and p["bpb"].get(ev) is not None]
    return float(np.mean(xs)) if xs else None


def _header(res: dict, top: int) -> list[str]:
    seeds = len(res["seeds"])
    params = res.get("params")
    tpp = f", {top / params:.2f} tokens per parameter at the top budget" if params else ""
    model = (
        f"Model `{res['model']}`{f' ({params:,} parameters)' if params else ''}, {seeds} seeds, budgets "
        f"{', '.join(f'{b:,}' for b in res['budgets'])} tokens{tpp}. Wall time {res.get('wall_seconds', 0):.0f} s."
    )
    ci = (
        f"Intervals: {res.get('ci_method', '?')}. **Bold** = resolved after {res.get('adjust', '?')} over all "
        f"{len(res['comparisons'])} comparisons (family-wise 5 %); Δ = variant − baseline in bits per byte, "
        "negative = variant better."
    )
    return [f"# Ablation `{res['name']}`", "", model, "", ci, ""]


def _evals(res: dict) -> list[str]:
    ev = res["evals"]
    if not isinstance(ev, dict):
        return []
    lines = [
        "| eval domain | documents scored | bytes | documents per source | out of pool |",
        "|---|---:|---:|---|---|",
    ]
    for name, d in ev.items():
        src = ", ".join(f"{s} {n}" for s, n in d["sources"].items())
        lines.append(
            f"| {name} | {d['docs']} | {d['bytes']:,} | {src} | {'yes' if d['out_of_pool'] else 'no'} |"
        )
    return [*lines, ""]


def _main_table(res: dict, top: int) -> list[str]:
    evals, base = list(res["evals"]), res["baseline"]
    comps = {(c["variant"], c["baseline"], c["eval"]): c for c in res["comparisons"] if c["tokens"] == top}
    head = (
        "| variant | bytes/token | " + " | ".join(evals) + " | " + " | ".join(f"Δ {e}" for e in evals) + " |"
    )
    lines = [f"Bits per byte at {top:,} tokens (mean over seeds) and Δ vs {base} [95 % CI]:", "", head]
    lines.append("|---|---:|" + "---:|" * (2 * len(evals)))
    for n, v in res["variants"].items():
        bpb = [_mean_bpb(v, top, e) for e in evals]
        if n == base:
            deltas = ["–"] * len(evals)
        elif (n, base, evals[0]) in comps:
            deltas = [_ci(comps[n, base, e]) if (n, base, e) in comps else "" for e in evals]
        else:
            continue
        cells = " | ".join("" if b is None else f"{b:.3f}" for b in bpb)
        lines.append(f"| {n} | {v.get('bytes_per_token', 0):.2f} | {cells} | {' | '.join(deltas)} |")
    return [*lines, ""]


def _other_pairs(res: dict, top: int) -> list[str]:
    evals, base = list(res["evals"]), res["baseline"]
    pairs = list(
        dict.fromkeys((c["variant"], c["baseline"]) for c in res["comparisons"] if c["baseline"] != base)
    )
    if not pairs:
        return []
    comps = {(c["variant"], c["baseline"], c["eval"]): c for c in res["comparisons"] if c["tokens"] == top}
    lines = [f"Other comparisons at {top:,} tokens (Δ [95 % CI]):", ""]
    lines += ["| comparison | " + " | ".join(evals) + " |", "|---|" + "---:|" * len(evals)]
    for v, b in pairs:
        lines.append(
            f"| {v} − {b} | "
            + " | ".join(_ci(comps[v, b, e]) if (v, b, e) in comps else "" for e in evals)
            + " |"
        )
    return [*lines, ""]


def _controls(res: dict) -> list[str]:
    lines = ["| control | kind | passed | detail |", "|---|---|---|---|"]
    for c in res["controls"]:
        lines.append(
            f"| {c['name']} | {c.get('kind', 'positive')} | {'yes' if c['passed'] else 'NO'} | {c['detail']} |"
        )
    return [*lines, ""]


def _resolved_by_budget(res: dict) -> list[str]:
    n, r = defaultdict(int), defaultdict(int)
    for c in res["comparisons"]:
        n[c["tokens"]] += 1
        r[c["tokens"]] += bool(c.get("resolved"))
    return ["Resolved comparisons per budget: " + ", ".join(f"{t:,}: {r[t]}/{n[t]}" for t in sorted(n)), ""]


def render(res: dict) -> str:
    """The report as markdown (deterministic: the same results.json gives the same text)."""
    top = max(res["budgets"])
    parts = [
        *_header(res, top),
        *_evals(res),
        *_main_table(res, top),
        *_other_pairs(res, top),
        *_controls(res),
        *_resolved_by_budget(res),
    ]
    return "\n".join(parts).rstrip() + "\n"


def render_transfer(res: dict, per_size: dict[str, dict]) -> str:
    """The scale study's report (`kind: scale`): rank agreement per domain, then each variant's mean bpb at
    each size's top budget, from <out>/results.json and the sizes' own results.json."""
    small, large = list(res["sizes"])
    tops = {p: max(per_size[p]["budgets"]) for p in (small, large)}
    lines = [
        f"# Transfer across scale `{res['name']}`: {small} vs {large}",
        "",
        (
            f"{small} {res['sizes'][small]['params']:,} parameters, {large} {res['sizes'][large]['params']:,}; "
            f"{len(per_size[small]['seeds'])} seeds; tokens per parameter "
            f"{', '.join(f'{t:g}' for t in res['tokens_per_param'])}. Wall time {res.get('wall_seconds', 0):.0f} s."
        ),
        "",
        f"Rankings by seed-mean bpb at each size's top budget, best first. {res.get('transfer_method', '')}",
        "",
        f"| domain | Kendall τ [95 % CI] | decisions agreeing [95 % CI] | {small} ranking | {large} ranking |",
        "|---|---:|---:|---|---|",
    ]
    for r in res["transfer"]:
        ci, da, dci = r.get("ci95"), r.get("decision_agreement"), r.get("decision_agreement_ci95")
        tau = "n/a" if r["kendall_tau"] is None else f"{r['kendall_tau']:+.2f}"
        tau += f" [{ci[0]:+.2f}, {ci[1]:+.2f}]" if ci else ""
        agree = "n/a" if da is None else f"{da:.0%}" + (f" [{dci[0]:.0%}, {dci[1]:.0%}]" if dci else "")
        rank_s, rank_l = (", ".join(r["ranking"][p]) for p in (small, large))
        same = "the same" if rank_l == rank_s else rank_l
        lines.append(f"| {r['eval']} | {tau} | {agree} | {rank_s} | {same} |")
    evals = [r["eval"] for r in res["transfer"]]
    lines += [
        "",
        f"Mean bpb at the top budget ({small} at {tops[small]:,} tokens / {large} at {tops[large]:,}):",
        "",
        "| variant | " + " | ".join(evals) + " |",
        "|---|" + "---:|" * len(evals),
    ]
    for name in per_size[small]["variants"]:
        cells = []
        for ev in evals:
            m = [_mean_bpb(per_size[p]["variants"][name], tops[p], ev) for p in (small, large)]
            cells.append(" / ".join("n/a" if x is None else f"{x:.3f}" for x in m))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    by_budget = [
        f"{r['eval']} " + "/".join(f"{b['decision_agreement']:.0%}" for b in r.get("by_budget", []))
        for r in res["transfer"]
    ]
    lines += ["", "Decisions agreeing at each matched budget, smallest first: " + "; ".join(by_budget) + "."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    with open(sys.argv[1]) as fh:
        print(render(json.load(fh)), end="")
