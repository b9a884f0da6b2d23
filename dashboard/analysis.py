"""Funnels, thresholds, what-if counts, histograms and the YAML export of the dashboard: plain functions.

Counts over a sample are estimates for the whole run: each row carries a `weight` (see
`dashboard/data.py`), and functions here sum weights, not rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import yaml

import runfolder
from dashboard.data import REMOVED

# One threshold of summary.json `thresholds[step][key]` (docs/CONTRACTS.md, "Thresholds"): op min|max.
Threshold = runfolder.Threshold


def funnel_frame(summary: dict) -> pd.DataFrame:
    """One row per step: name, op, in, kept, removed, seconds (+ bytes_* columns when the ledger has them)."""
    rows = []
    for s in summary.get("steps", []):
        row = {"step": s.get("name", "?"), "op": s.get("op", s.get("name", "?"))}
        for key in ("in", "kept", "removed"):
            row[key] = int(s.get(key) or 0)
        row["seconds"] = float(s.get("seconds") or 0.0)
        for key, value in s.items():
            if key.startswith("bytes") and isinstance(value, (int, float)):
                row[key] = value
        rows.append(row)
    return pd.DataFrame(rows, columns=None if rows else ["step", "op", "in", "kept", "removed", "seconds"])


def reasons_frame(summary: dict) -> pd.DataFrame:
    """Removed documents by step and reason (rejected records appear as step `rejected`)."""
    rows = [
        {"step": s.get("name", "?"), "reason": reason, "docs": int(n)}
        for s in summary.get("steps", [])
        for reason, n in (s.get("removed_by_reason") or {}).items()
    ]
    rows += [
        {"step": "rejected", "reason": r, "docs": int(n)}
        for r, n in summary.get("rejected_by_reason", {}).items()
    ]
    return pd.DataFrame(rows, columns=["step", "reason", "docs"])


def thresholds_from_summary(summary: dict) -> list[Threshold]:
    """Every threshold summary.json records, in step order (ValueError for one not in the contract)."""
    return runfolder.parse_thresholds(summary.get("thresholds"))


def violates(
    frame: pd.DataFrame, th: Threshold, value: float | None = None, per_lang: dict | None = None
) -> pd.Series:
    """True where a document's metric fails the threshold (NaN metric: never fails)."""
    value = th.value if value is None else value
    per_lang = th.per_lang if per_lang is None else per_lang
    metric = (
        pd.to_numeric(frame[th.metric], errors="coerce")
        if th.metric in frame
        else pd.Series(np.nan, frame.index)
    )
    limit = pd.Series(value, index=frame.index, dtype=float)
    if per_lang and "lang" in frame:
        limit = frame["lang"].map(per_lang).astype(float).fillna(value)
    fails = metric > limit if th.op == "max" else metric < limit
    return fails & metric.notna()


def what_if(frame: pd.DataFrame, th: Threshold, value: float, per_lang: dict | None = None) -> dict:
    """Estimated documents the threshold removes now and would remove at `value` (weighted counts).

    Returns a dict: `scored` (docs with this metric), `now` (failing the recipe's threshold),
    `would` (failing the new one), `newly_removed` (pass now, fail then), `newly_kept`, and
    `by_lang` / `by_source` frames of the `would` documents.
    """
    w = frame["weight"].astype(float) if "weight" in frame else pd.Series(1.0, frame.index)
    scored = frame[th.metric].notna() if th.metric in frame else pd.Series(False, frame.index)
    now = violates(frame, th)
    would = violates(frame, th, value, per_lang)
    out = {
        "scored": float(w[scored].sum()),
        "now": float(w[now].sum()),
        "would": float(w[would].sum()),
        "newly_removed": float(w[would & ~now].sum()),
        "newly_kept": float(w[now & ~would].sum()),
    }
    for col in ("lang", "source"):
        if col in frame and would.any():
            keys = frame.loc[would, col].astype(object).fillna("—").astype(str)
            out[f"by_{col}"] = (
                w[would]
                .groupby(keys)
                .sum()
                .round()
                .astype(int)
                .sort_values(ascending=False)
                .rename("docs")
                .rename_axis(col)
                .reset_index()
            )
        else:
            out[f"by_{col}"] = pd.DataFrame(columns=[col, "docs"])
    return out


_LOW_WORDS, _HIGH_WORDS = ("few", "short", "low", "min"), ("many", "long", "high", "max")


def ledger_removed(summary: dict, th: Threshold) -> int | None:
    """Exact documents the threshold's step removed for this check (summary.json `removed_by_reason`).

    The reason must name the metric (`roots_char_rep_ratio` for `roots.char_rep_ratio`); when two
    reasons do (a metric bounded twice: `roots_n_words_too_few` / `_too_many`), the one naming this
    bound's side. None when no single reason of the step matches (not recorded, or not told apart). A document failing
    several checks of a step is counted under the first (so this can be lower than `what_if`'s
    estimate of documents failing the threshold).
    """
    step = next((s for s in summary.get("steps", []) if s.get("name") == th.step), None)
    if step is None:
        return None
    short = th.metric.split(".", 1)[-1]
    reasons = {r: int(n) for r, n in (step.get("removed_by_reason") or {}).items() if short in r}
    # a reason naming the other bound ("_too_few" after the metric's name for a max) is not this one's
    other = _LOW_WORDS if th.keeps_below else _HIGH_WORDS
    reasons = {r: n for r, n in reasons.items() if not any(w in r.split(short, 1)[1] for w in other)}
    return next(iter(reasons.values())) if len(reasons) == 1 else None


THIS_FILTER, OTHER_FILTER = "removed by this filter", "removed by another filter"


def outcome_labels(frame: pd.DataFrame, step: str | None = None, metric: str | None = None) -> pd.Series:
    """Per row: `kept`, or why it was removed relative to one threshold.

    With `step` (and `metric`): `removed by this filter` when the step removed it for this metric
    (its reason names the metric, e.g. `roots_char_rep_ratio`; when no reason of the step names it,
    any removal by the step counts), else `removed by another filter`. Without `step`: `removed`.
    """
    out = pd.Series("kept", index=frame.index, dtype=object)
    removed = frame["kind"] == REMOVED
    if step is None:
        out[removed] = "removed"
        return out
    out[removed] = OTHER_FILTER
    this = removed & (frame["step"] == step)
    if metric:
        short = metric.split(".", 1)[-1]
        by_reason = this & frame["reason"].astype(str).str.contains(short, regex=False)
        if by_reason.any():
            this = by_reason
    out[this] = THIS_FILTER
    return out


def histogram(
    frame: pd.DataFrame,
    metric: str,
    bins: int = 40,
    step: str | None = None,
    include: list[float] | None = None,
) -> pd.DataFrame:
    """Weighted histogram of one metric split by outcome (`outcome_labels` for `step` and this metric),
    pre-binned so charts stay small.

    The range is the 0.5th..99.5th percentile, widened to `include` (e.g. the thresholds) that lie
    within one such span of it: a limit far past the data (ROOTS' max_words 100,000 on documents of a
    few hundred words) would squeeze every document into one bar, so it is left out (the page says
    so). Values outside fall in the edge bins. Columns: start, end, outcome, docs.
    """
    values = pd.to_numeric(frame[metric], errors="coerce") if metric in frame else pd.Series(dtype=float)
    ok = values.notna() & np.isfinite(values)
    if not ok.any():
        return pd.DataFrame(columns=["start", "end", "outcome", "docs"])
    v = values[ok]
    lo, hi = float(v.quantile(0.005)), float(v.quantile(0.995))
    span = (hi - lo) or abs(hi) or 1.0
    for x in include or []:
        if lo - span <= x <= hi + span:
            lo, hi = min(lo, x), max(hi, x)
    if hi <= lo:
        hi = lo + 1.0
    edges = np.linspace(lo, hi, bins + 1)
    idx = np.clip(np.searchsorted(edges, v.to_numpy(), side="right") - 1, 0, bins - 1)
    w = frame.loc[ok, "weight"].astype(float).to_numpy() if "weight" in frame else np.ones(len(v))
    labels = outcome_labels(frame[["kind", "step", "reason"]], step, metric)[ok]
    out = pd.DataFrame({"bin": idx, "outcome": labels.to_numpy(), "w": w})
    agg = out.groupby(["bin", "outcome"], as_index=False)["w"].sum()
    agg["start"], agg["end"] = edges[agg["bin"]], edges[agg["bin"] + 1]
    agg["docs"] = agg["w"].round(1)
    return agg[["start", "end", "outcome", "docs"]]


def recipe_steps(recipe_text: str | None) -> dict[str, dict]:
    """Step id -> params from recipe.resolved.yaml (`- op_name: {...}` or `- op: op_name, ...`)."""
    if not recipe_text:
        return {}
    try:
        recipe = yaml.safe_load(recipe_text) or {}
    except yaml.YAMLError:
        return {}
    out: dict[str, dict] = {}
    for item in recipe.get("steps") or []:
        if not isinstance(item, dict):
            continue
        if "op" in item:
            name, params = str(item["op"]), {k: v for k, v in item.items() if k != "op"}
        elif len(item) == 1:
            name, params = next(iter(item.items()))
        else:
            continue
        step_id, n = name, 2
        while step_id in out:  # a repeated op is `op_2`, `op_3` (CONTRACTS.md StepContext.step_id)
            step_id, n = f"{name}_{n}", n + 1
        out[step_id] = params if isinstance(params, dict) else {}
    return out


def param_for(th: Threshold, params: dict) -> str:
    """The recipe parameter a threshold comes from: `param` if the ledger names it, else a match by name."""
    if th.param:
        return th.param
    short = th.metric.split(".", 1)[-1]
    prefix = "max" if th.keeps_below else "min"
    for cand in (f"{prefix}_{short}", short, f"{short}_{prefix}"):
        if cand in params:
            return cand
    hits = [k for k in params if short in str(k)]
    return hits[0] if len(hits) == 1 else f"{prefix}_{short}"


def applying_lang(th: Threshold, langs: set[str]) -> str | None:
    """The language whose per-language value applies to every document shown: the scored documents
    are all in one language and the threshold has its own value for it (an all-English ROOTS run is
    judged by `en`'s table value, not by the top-level one, so that is the value a what-if must move)."""
    if len(langs) == 1:
        (lang,) = langs
        return lang if lang in th.per_lang else None
    return None


def value_origin(th: Threshold, params: dict, lang: str | None = None) -> str:
    """`recipe` when the recipe sets the value that applies (to `lang`, if given), else `default`
    (`roots_filters: {}` takes every value from the ROOTS tables: its resolved params are null)."""
    name = param_for(th, params)
    per_lang = (params.get("per_lang") or {}).get(lang) if lang is not None else None
    if isinstance(per_lang, dict) and per_lang.get(name) is not None:
        return "recipe"
    return "recipe" if params.get(name) is not None else "default"


def thresholds_yaml(
    chosen: list[tuple[Threshold, float, dict]], recipe_text: str | None, run_label: str
) -> str:
    """A recipe `steps:` snippet with the chosen thresholds that differ from the run's, grouped by step
    (a value left as it was is not exported: pasting the snippet changes only what was changed).

    Args:
        chosen: `(threshold, value, per_lang)` triples.
        recipe_text: recipe.resolved.yaml (for parameter names and the other params of each step).
        run_label: named in the header comment.
    """
    steps = recipe_steps(recipe_text)
    by_step: dict[str, dict] = {}
    guessed = []
    for th, value, per_lang in chosen:
        params = steps.get(th.step, {})
        name = param_for(th, params)
        if not th.param and name not in params:
            guessed.append(name)
        changed = {lang: v for lang, v in sorted((per_lang or {}).items()) if _round(v) != _round(th.limit(lang))}
        if _round(value) == _round(th.value) and not changed:
            continue
        entry = by_step.setdefault(th.step, {})
        if _round(value) != _round(th.value):
            entry[name] = _round(value)
        for lang, v in changed.items():
            entry.setdefault("per_lang", {}).setdefault(lang, {})[name] = _round(v)
    header = [
        f"# Thresholds chosen in the rootstock dashboard from run '{run_label}'.",
        "# Paste these steps into a recipe (or an `extends:` variant) to override the defaults.",
    ]
    if guessed:
        header.append(
            f"# Parameter names guessed from metric names (check them): {', '.join(sorted(set(guessed)))}"
        )
    if not by_step:
        return "\n".join(header[:1]) + "\n# No threshold differs from the run's yet: move a what-if value.\n"
    body = yaml.safe_dump(
        {"steps": [{k: v} for k, v in by_step.items()]}, sort_keys=False, allow_unicode=True
    )
    return "\n".join(header) + "\n" + body


def _round(x: float) -> float | int:
    """4 significant digits; whole numbers stay integers (parameters like `min_words` are ints)."""
    x = float(f"{x:.4g}")
    return int(x) if x.is_integer() else x
