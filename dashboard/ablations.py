"""Ablation results (results.json) as frames and curves for the dashboard: plain functions, no Streamlit.

results.json: `{"variants": {name: {"points": [{"tokens", "seed", "eval_loss", "bpb", "epochs",
"tokens_per_s"}], "fit": {"E", "B", "beta", "r2"}}}, "comparisons": [...]}`. The scaling law is
L(D) = E + B * D^(-beta) (loss against training tokens D). Comparisons are written by the training
side and their keys may change, so they are shown as they come, with common names normalised.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

POINT_COLUMNS = ["variant", "tokens", "seed", "eval_loss", "bpb", "epochs", "tokens_per_s"]


def points_frame(results: dict) -> pd.DataFrame:
    """Every measured point: variant, tokens, seed, eval_loss, bpb, epochs, tokens_per_s."""
    rows = [
        {"variant": name, **{k: p.get(k) for k in POINT_COLUMNS[1:]}}
        for name, v in results.get("variants", {}).items()
        for p in (v or {}).get("points") or []
    ]
    frame = pd.DataFrame(rows, columns=POINT_COLUMNS)
    for col in POINT_COLUMNS[1:]:
        frame[col] = pd.to_numeric(frame[col], errors="coerce")
    return frame


FIT_COLUMNS = ["variant", "metric", "E", "B", "beta", "r2", "ok", "warnings"]


def fits_frame(results: dict) -> pd.DataFrame:
    """One row per variant with a usable fit: variant, metric (what was fitted), E, B, beta, r2, ok, warnings.

    A fit with E/B/beta missing or None (too few token budgets) is left out.
    """
    rows = []
    for name, v in results.get("variants", {}).items():
        fit = (v or {}).get("fit") or {}
        if all(isinstance(fit.get(k), (int, float)) for k in ("E", "B", "beta")):
            warnings = fit.get("warnings") or []
            rows.append(
                {
                    "variant": name,
                    "metric": fit.get("metric", "eval_loss"),
                    "E": fit["E"],
                    "B": fit["B"],
                    "beta": fit["beta"],
                    "r2": fit.get("r2"),
                    "ok": fit.get("ok", True),
                    "warnings": "; ".join(map(str, warnings))
                    if isinstance(warnings, list)
                    else str(warnings),
                }
            )
    return pd.DataFrame(rows, columns=FIT_COLUMNS)


def scaling_loss(tokens, E: float, B: float, beta: float):
    """L(D) = E + B * D^(-beta)."""
    return E + B * np.power(np.asarray(tokens, dtype=float), -beta)


def tokens_for_loss(loss, E: float, B: float, beta: float):
    """Inverse of the fit: D(L) = (B / (L - E))^(1/beta); NaN where L <= E (unreachable)."""
    loss = np.asarray(loss, dtype=float)
    gap = loss - E
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(gap > 0, np.power(B / gap, 1.0 / beta), np.nan)


def curves_frame(results: dict, n: int = 60) -> pd.DataFrame:
    """Fitted curves sampled log-uniformly over each variant's token range: variant, metric, tokens, loss."""
    points, fits = points_frame(results), fits_frame(results)
    frames = []
    for fit in fits.itertuples():
        toks = points.loc[points["variant"] == fit.variant, "tokens"].dropna()
        if toks.empty or toks.min() <= 0:
            continue
        grid = np.geomspace(toks.min(), toks.max(), n)
        loss = scaling_loss(grid, fit.E, fit.B, fit.beta)
        frames.append(
            pd.DataFrame({"variant": fit.variant, "metric": fit.metric, "tokens": grid, "loss": loss})
        )
    if not frames:
        return pd.DataFrame(columns=["variant", "metric", "tokens", "loss"])
    return pd.concat(frames, ignore_index=True)


def seed_spread(results: dict, metric: str = "eval_loss") -> pd.DataFrame:
    """Per variant and token budget: mean, min, max, std of `metric` over seeds, and the seed count."""
    points = points_frame(results).dropna(subset=["tokens", metric])
    if points.empty:
        return pd.DataFrame(columns=["variant", "tokens", "mean", "min", "max", "std", "seeds"])
    g = points.groupby(["variant", "tokens"])[metric]
    out = g.agg(["mean", "min", "max", "std", "count"]).reset_index().rename(columns={"count": "seeds"})
    out["std"] = out["std"].fillna(0.0)
    return out


def effective_multipliers(results: dict, baseline: str) -> pd.DataFrame:
    """How much more baseline data each variant's loss is worth, at each of its token budgets.

    multiplier(D) = D_baseline(L_variant(D)) / D, both from the fits: > 1 means the variant reaches
    with D tokens the loss the baseline needs `multiplier x D` tokens for.
    """
    fits = fits_frame(results).set_index("variant")
    points = points_frame(results)
    if baseline not in fits.index:
        return pd.DataFrame(columns=["variant", "tokens", "loss", "multiplier"])
    b = fits.loc[baseline]
    rows = []
    for name, f in fits.iterrows():
        for d in sorted(points.loc[points["variant"] == name, "tokens"].dropna().unique()):
            loss = float(scaling_loss(d, f.E, f.B, f.beta))
            rows.append(
                {
                    "variant": name,
                    "tokens": d,
                    "loss": loss,
                    "multiplier": float(tokens_for_loss(loss, b.E, b.B, b.beta)) / d,
                }
            )
    return pd.DataFrame(rows, columns=["variant", "tokens", "loss", "multiplier"])


_ALIASES = {
    "variant": ("variant", "a", "candidate", "name", "treatment"),
    "baseline": ("baseline", "b", "reference", "vs", "against"),
    "multiplier": (
        "multiplier",
        "effective_data_multiplier",
        "effective_multiplier",
        "data_multiplier",
        "ratio",
    ),
}


def _cell(value):
    return value if isinstance(value, (int, float, str, bool)) or value is None else str(value)


def _canonical(entry: dict) -> dict:
    row, used = {}, set()
    for canon, names in _ALIASES.items():
        for name in names:
            if name in entry and name not in used:
                row[canon] = entry[name]
                used.add(name)
                break
    row.update({k: _cell(v) for k, v in entry.items() if k not in used})
    return row


def comparisons_frame(results: dict) -> pd.DataFrame:
    """results.json `comparisons` as a frame: known names first (variant, baseline, multiplier), then the rest.

    An entry holding a list of dicts (training/ablate.py's `"at": [{"tokens", "multiplier", ...}]`, one per
    budget) becomes one row per item, with the entry's other keys repeated. Entries that are not dicts are
    shown in a `value` column; other nested values become strings.
    """
    rows = []
    for entry in results.get("comparisons") or []:
        if not isinstance(entry, dict):
            rows.append({"value": str(entry)})
            continue
        nested = [
            k for k, v in entry.items() if isinstance(v, list) and v and all(isinstance(i, dict) for i in v)
        ]
        if nested:
            outer = {k: v for k, v in entry.items() if k != nested[0]}
            rows += [_canonical({**outer, **item}) for item in entry[nested[0]]]
        else:
            rows.append(_canonical(entry))
    return pd.DataFrame(rows)
