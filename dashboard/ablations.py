"""Ablation results (results.json) as frames for the dashboard: plain functions, no Streamlit.

Reads only the contract in docs/CONTRACTS.md ("results.json"): `variants.<name>.points[]`,
`comparisons[]`, `multipliers[]`, `controls[]`, optional `fit`. Nothing is recomputed here: a
multiplier the analysis marked extrapolated stays without a value (its bound is shown as a bound), and
a joint fit that is not `ok` is shown as flagged, never as numbers to read.
"""

from __future__ import annotations

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


def comparisons_frame(results: dict, ev: str | None = None) -> pd.DataFrame:
    """delta bpb per budget with its CI: variant, baseline, eval, tokens, delta_bpb, lo, hi, verdict."""
    rows = []
    for c in results["comparisons"]:
        if ev is not None and c["eval"] != ev:
            continue
        ci = c.get("ci95")
        lo, hi = ci if ci else (None, None)
        if ci is None:
            verdict = "no CI"
        elif hi < 0:
            verdict = "better"
        elif lo > 0:
            verdict = "worse"
        else:
            verdict = "CI includes 0"
        rows.append(
            {
                "variant": c["variant"],
                "baseline": c["baseline"],
                "eval": c["eval"],
                "tokens": c["tokens"],
                "delta_bpb": c["delta_bpb"],
                "lo": lo,
                "hi": hi,
                "verdict": verdict,
                "repeats_data": bool(c.get("repeats_data")),
            }
        )
    return pd.DataFrame(
        rows,
        columns=["variant", "baseline", "eval", "tokens", "delta_bpb", "lo", "hi", "verdict", "repeats_data"],
    )


def _fmt(x) -> str:
    return "?" if x is None else f"{x:.2f}"


def multipliers_frame(results: dict, ev: str | None = None) -> pd.DataFrame:
    """Multipliers as the analysis wrote them, with a display string: a value with its CI, or the bound
    of an extrapolated one ("> 1x, outside the measured curve")."""
    rows = []
    for m in results["multipliers"]:
        if ev is not None and m["eval"] != ev:
            continue
        lo, hi = m.get("ci95") or (None, None)
        if m["extrapolated"]:
            shown = f"{m.get('bound') or 'n/a'} (extrapolated: not a result)"
        else:
            shown = f"{m['value']:.2f}x [{_fmt(lo)}, {'>' if hi is None else _fmt(hi)}]"
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
                "shown": shown,
            }
        )
    return pd.DataFrame(
        rows, columns=["variant", "baseline", "eval", "tokens", "value", "lo", "hi", "extrapolated", "shown"]
    )


def controls_frame(results: dict) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"control": c["name"], "passed": c["passed"], "detail": c.get("detail", "")}
            for c in results["controls"]
        ],
        columns=["control", "passed", "detail"],
    )


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
