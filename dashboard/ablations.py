"""Ablation results (results.json) as frames for the dashboard: plain functions, no Streamlit.

Reads only the contract in docs/CONTRACTS.md ("results.json"): `variants.<name>.points[]`,
`comparisons[]` (with `resolved`/`adjust` when the file has them), `multipliers[]`, `controls[]`
(`kind` positive|negative), `evals` (a list of names, or `evals.<name>` with what was scored),
optional `fit` and `transfer[]`. Nothing is recomputed here: a multiplier the analysis marked
extrapolated stays without a value (its bound is shown as a bound), a joint fit that is not `ok` is
shown as flagged, never as numbers to read, and a verdict is the file's adjusted one when it has one.
Older files that lack a field render without that part, never with a guess.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

POINT_COLUMNS = ["variant", "eval", "tokens", "bytes", "seed", "epochs", "bpb"]


def points_frame(results: dict) -> pd.DataFrame:
    """One row per (variant, point, eval domain)."""
    rows = [
        {
            "variant": name,
            "eval": ev,
            "tokens": p["tokens"],
            "bytes": p["bytes"],
            "seed": p["seed"],
            "epochs": p["epochs"],
            "bpb": bpb,
        }
        for name, v in results["variants"].items()
        for p in v["points"]
        for ev, bpb in p["bpb"].items()
    ]
    return pd.DataFrame(rows, columns=POINT_COLUMNS)


def seed_band(results: dict, ev: str) -> pd.DataFrame:
    """Per variant and budget on eval `ev`: mean, min and max over seeds, seeds, repeats (epochs > 1)."""
    pts = points_frame(results)
    pts = pts[pts["eval"] == ev]
    if pts.empty:
        return pd.DataFrame(columns=["variant", "tokens", "mean", "min", "max", "seeds", "repeats"])
    g = pts.groupby(["variant", "tokens"], sort=False)
    out = g["bpb"].agg(["mean", "min", "max", "count"]).rename(columns={"count": "seeds"})
    out["repeats"] = g["epochs"].max() > 1.0
    return out.reset_index()


def eval_names(results: dict) -> list[str]:
    """Eval domain names: `evals` is a list in older files and `{name: what was scored}` in newer ones."""
    return list(results["evals"])


def evals_frame(results: dict) -> pd.DataFrame:
    """What each eval domain scored (`evals.<name>`): documents, bytes, documents per source, whether
    its text is outside the training pool. Empty for files that only list names."""
    evals = results["evals"]
    cols = ["eval", "docs", "bytes", "sources", "out_of_pool"]
    if not isinstance(evals, dict):
        return pd.DataFrame(columns=cols)
    rows = [
        {
            "eval": name,
            "docs": e.get("docs"),
            "bytes": e.get("bytes"),
            "sources": ", ".join(f"{k} {v}" for k, v in (e.get("sources") or {}).items()),
            "out_of_pool": e.get("out_of_pool"),
        }
        for name, e in evals.items()
        if isinstance(e, dict)
    ]
    return pd.DataFrame(rows, columns=cols)


def verdict(c: dict) -> str:
    """A comparison's verdict: the multiplicity-adjusted one (`resolved`) when the file has it; files
    without it get the unadjusted CI's reading, labelled as unadjusted."""
    ci = c.get("ci95")
    delta = c.get("delta_bpb") or 0.0
    if "resolved" in c:
        if not c["resolved"]:
            return "not resolved"
        return "better (resolved)" if delta < 0 else "worse (resolved)"
    if ci is None:
        return "no CI"
    if ci[1] < 0:
        return "better (unadjusted CI)"
    if ci[0] > 0:
        return "worse (unadjusted CI)"
    return "CI includes 0"


def comparisons_frame(results: dict, ev: str | None = None) -> pd.DataFrame:
    """delta bpb per budget with its CI: variant, baseline, eval, tokens, delta_bpb, lo, hi, verdict,
    resolved (None when the file has no adjusted verdicts), repeats_data."""
    rows = []
    for c in results["comparisons"]:
        if ev is not None and c["eval"] != ev:
            continue
        ci = c.get("ci95")
        lo, hi = ci if ci else (None, None)
        rows.append(
            {
                "variant": c["variant"],
                "baseline": c["baseline"],
                "eval": c["eval"],
                "tokens": c["tokens"],
                "delta_bpb": c["delta_bpb"],
                "lo": lo,
                "hi": hi,
                "verdict": verdict(c),
                "resolved": c.get("resolved"),
                "repeats_data": bool(c.get("repeats_data")),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "variant",
            "baseline",
            "eval",
            "tokens",
            "delta_bpb",
            "lo",
            "hi",
            "verdict",
            "resolved",
            "repeats_data",
        ],
    )


def adjust_method(results: dict) -> str | None:
    """The multiplicity adjustment named in the file (top-level `adjust`, else the comparisons')."""
    if results.get("adjust"):
        return str(results["adjust"])
    return next((str(c["adjust"]) for c in results["comparisons"] if c.get("adjust")), None)


def _baseline_range(results: dict, baseline: str, ev: str) -> tuple[int, int] | None:
    """Smallest and largest budget of the baseline's measured curve on `ev`."""
    ts = [p["tokens"] for p in results["variants"].get(baseline, {}).get("points", []) if ev in p["bpb"]]
    return (min(ts), max(ts)) if ts else None


def multipliers_frame(results: dict, ev: str | None = None) -> pd.DataFrame:
    """Multipliers as the analysis wrote them, with display strings: `multiplier` (a value, or the bound
    of an extrapolated one) and `ci95`. A CI end the analysis left open (null: that end of the Δ bpb CI
    falls off the baseline's measured curve) is shown as the bound the curve allows, "< 0.12x" (below
    the baseline's smallest budget) or "> 8x" (past its largest), never as a number or a bare "?"."""
    rows = []
    for m in results["multipliers"]:
        if ev is not None and m["eval"] != ev:
            continue
        lo, hi = m.get("ci95") or (None, None)
        rng = _baseline_range(results, m["baseline"], m["eval"])
        low_end = f"< {rng[0] / m['tokens']:.2g}x" if rng else "open"
        high_end = f"> {rng[1] / m['tokens']:.2g}x" if rng else "open"
        ci = f"[{low_end if lo is None else f'{lo:.2f}x'}, {high_end if hi is None else f'{hi:.2f}x'}]"
        if m.get("ci95") is None:
            ci, lo, hi = "no CI", None, None
        if m["extrapolated"]:
            shown, note = str(m.get("bound") or "n/a"), "extrapolated: not a result"
        else:
            shown = f"{m['value']:.2f}x"
            open_end = m.get("ci95") is not None and (lo is None or hi is None)
            note = "CI end off the measured curve: a bound" if open_end else ""
        rows.append(
            {
                "variant": m["variant"],
                "baseline": m["baseline"],
                "eval": m["eval"],
                "tokens": m["tokens"],
                "value": None if m["extrapolated"] else m["value"],
                "lo": lo,
                "hi": hi,
                "extrapolated": m["extrapolated"],
                "multiplier": shown,
                "ci95": "" if m["extrapolated"] else ci,
                "note": note,
            }
        )
    return pd.DataFrame(
        rows,
        columns=["variant", "baseline", "eval", "tokens", "value", "lo", "hi", "extrapolated", "multiplier",
                 "ci95", "note"],
    )  # fmt: skip


def controls_frame(results: dict) -> pd.DataFrame:
    """One row per control; `kind` is positive (must see a known effect) or negative (an A/A pair that
    must see none); files from before kinds existed had positive controls only."""
    return pd.DataFrame(
        [
            {"control": c["name"], "kind": c.get("kind", "positive"), "passed": c["passed"], "detail": c.get("detail", "")}
            for c in results["controls"]
        ],
        columns=["control", "kind", "passed", "detail"],
    )  # fmt: skip


def transfer_frame(results: dict) -> pd.DataFrame:
    """`transfer[]` (scale study): per eval domain, Kendall tau with its bootstrap CI and the share of
    pairwise decisions that agree between the two sizes; empty when the file has none."""
    rows = []
    for r in results.get("transfer") or []:
        small, large = (r.get("sizes") or ["?", "?"])[:2]
        ci = r.get("ci95")
        rows.append(
            {
                "eval": r["eval"],
                "sizes": f"{small} → {large}",
                "kendall_tau": r.get("kendall_tau"),
                "tau_ci95": "n/a" if not ci else f"[{ci[0]:+.2f}, {ci[1]:+.2f}]",
                "decision_agreement": r.get("decision_agreement"),
                "variants": r.get("variants"),
                f"ranking, best first ({small})": " < ".join((r.get("ranking") or {}).get(small, [])),
                f"ranking, best first ({large})": " < ".join((r.get("ranking") or {}).get(large, [])),
            }
        )
    return pd.DataFrame(rows)


def scale_study(path: Path) -> dict | None:
    """The top-level results.json of a scale study (`kind: scale`, training/scale_ablate.py), or None for
    an ordinary ablation folder. It holds `sizes` (each with its own ablation folder) and `transfer[]`."""
    p = Path(path) / "results.json"
    try:
        res = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return res if isinstance(res, dict) and res.get("kind") == "scale" else None


def fit_status(results: dict) -> tuple[bool, str]:
    """(ok, one line): the joint fit's numbers only when it is well conditioned, else why it is flagged."""
    fit = results.get("fit")
    if not fit:
        return False, "no joint fit in results.json"
    if fit["ok"]:
        ms = ", ".join(f"{k} {v['value']:.2f}x" for k, v in (fit.get("m") or {}).items())
        return True, (
            f"joint fit on {fit.get('eval')}: beta {fit['beta']:.3f} (SE/beta {fit['se_beta_rel']:.2f}); "
            f"multipliers {ms}"
        )
    return False, f"joint fit flagged, not a result: {'; '.join(fit.get('warnings') or [])}"
