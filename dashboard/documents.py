"""Per-document views of a sample for the dashboard: duplicate clusters and their diffs, PII counts and
tag highlighting, the funnel per language, filtering for the Samples page. Plain functions, no Streamlit.

Counts over a sample are estimates for the whole run: rows carry a `weight` (see `dashboard/data.py`).
"""

from __future__ import annotations

import difflib
import html
import re

import numpy as np
import pandas as pd

from dashboard.data import KEPT, REMOVED


def cluster_key(value) -> str | float:
    """A `dedup.cluster` id as text: `5`, not `5.0` (a numeric column with gaps reads as floats), so
    the ids read like the `dup_of:<id>` keys next to them and compare equal to their own members."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return np.nan
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def cluster_label(key: str) -> str:
    """How a cluster key is shown: `near-duplicates #5` or `exact duplicates of <id>`."""
    key = str(key)
    return f"exact duplicates of {key[len('dup_of:'):]}" if key.startswith("dup_of:") else f"near-duplicates #{key}"


def clusters_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Duplicate clusters seen in the sample: cluster, size, in_sample, kept_id.

    A cluster is `dedup.cluster` when present, else the `dup_of` target (exact duplicates); `size`
    is `dedup.cluster_size` when the run records it, else members found in the sample (+1 for the
    kept document when only removed members were seen).
    """
    cols = ["cluster", "size", "in_sample", "kept_id"]
    if frame.empty or not ({"dedup.cluster", "dup_of"} & set(frame.columns)):
        return pd.DataFrame(columns=cols)
    cluster = frame["dedup.cluster"].map(cluster_key) if "dedup.cluster" in frame else pd.Series(np.nan, frame.index)
    dup_of = frame["dup_of"] if "dup_of" in frame else pd.Series(np.nan, frame.index)
    key = cluster.where(cluster.notna(), dup_of.map(lambda x: f"dup_of:{x}" if pd.notna(x) else np.nan))
    sub = frame.assign(_c=key.astype(object))[key.notna()]
    if sub.empty:
        return pd.DataFrame(columns=cols)
    size = sub["dedup.cluster_size"] if "dedup.cluster_size" in sub else pd.Series(np.nan, sub.index)
    g = sub.assign(_size=pd.to_numeric(size, errors="coerce")).groupby("_c")
    out = pd.DataFrame({"in_sample": g.size(), "recorded": g["_size"].max()})
    kept = sub[sub["kind"] == KEPT].groupby("_c")["id"].first()
    target = sub["dup_of"].dropna().groupby(sub["_c"]).first() if "dup_of" in sub else pd.Series(dtype=object)
    out["kept_id"] = kept.reindex(out.index).fillna(target.reindex(out.index))
    has_kept = out.index.isin(kept.index)
    out["size"] = out["recorded"].fillna(out["in_sample"] + (~has_kept).astype(int)).astype(int)
    out = out.reset_index().rename(columns={"_c": "cluster"})
    return out.sort_values(["size", "cluster"], ascending=[False, True])[cols].reset_index(drop=True)


_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")


def diff_html(a: str, b: str, max_tokens: int = 4000) -> tuple[str, str, float]:
    """Two texts as escaped HTML with the spans that differ wrapped in `<mark>`; plus their similarity.

    Word-level (difflib.SequenceMatcher over word/space/punctuation tokens), cut at `max_tokens`.
    """
    ta, tb = _TOKEN.findall(a)[:max_tokens], _TOKEN.findall(b)[:max_tokens]
    sm = difflib.SequenceMatcher(None, ta, tb, autojunk=False)
    out_a, out_b = [], []
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        sa, sb = html.escape("".join(ta[i1:i2])), html.escape("".join(tb[j1:j2]))
        if tag == "equal":
            out_a.append(sa)
            out_b.append(sb)
        else:
            if sa:
                out_a.append(f'<mark class="del">{sa}</mark>')
            if sb:
                out_b.append(f'<mark class="ins">{sb}</mark>')
    return "".join(out_a), "".join(out_b), sm.ratio()


_TAG = re.compile(r"&lt;([A-Z][A-Z0-9_]{1,30})&gt;")


def highlight_tags(text: str) -> str:
    """Escaped HTML of a scrubbed text with the PII tags (`<EMAIL>`, `<IP_ADDRESS>`) marked."""
    return _TAG.sub(r'<mark class="tag">&lt;\1&gt;</mark>', html.escape(text))


def pii_frame(summary: dict, frame: pd.DataFrame) -> pd.DataFrame:
    """PII found per kind: `summary` (whole run, from the ledger) and `sample_est` (metadata counts x weight).

    The ledger records a kind only when it was found, so in a run with a `pii` step a kind that the
    documents carry (`pii.<kind>: 0`) but the ledger lacks was found 0 times: exactly, not unknown."""
    ran = any(s.get("op") == "pii" for s in summary.get("steps", []))
    absent = 0 if ran else None
    rows = {
        k: {"kind": k, "summary": int(v), "sample_est": 0.0, "docs_est": 0.0}
        for k, v in summary.get("pii", {}).items()
    }
    w = frame["weight"].astype(float) if "weight" in frame else pd.Series(1.0, frame.index)
    for col in frame.columns:
        if col.startswith("pii.") and pd.api.types.is_numeric_dtype(frame[col]):
            kind = col[4:]
            counts = frame[col].fillna(0)
            row = rows.setdefault(kind, {"kind": kind, "summary": absent, "sample_est": 0.0, "docs_est": 0.0})
            row["sample_est"] = float((counts * w).sum())
            row["docs_est"] = float(w[counts > 0].sum())
    return pd.DataFrame(list(rows.values()), columns=["kind", "summary", "sample_est", "docs_est"])


def pii_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c.startswith("pii.") and pd.api.types.is_numeric_dtype(frame[c])]


def lang_funnel(frame: pd.DataFrame) -> pd.DataFrame:
    """Estimated documents per language and outcome (`kept` or the removing step): lang, outcome, docs."""
    if frame.empty:
        return pd.DataFrame(columns=["lang", "outcome", "docs"])
    outcome = frame["step"].where(frame["kind"] == REMOVED, KEPT).fillna(KEPT)
    sub = pd.DataFrame(
        {"lang": frame["lang"].fillna("—").astype(str), "outcome": outcome, "w": frame["weight"]}
    )
    out = sub.groupby(["lang", "outcome"], as_index=False)["w"].sum()
    out["docs"] = out["w"].round().astype(int)
    return out[["lang", "outcome", "docs"]]


def filter_docs(
    frame: pd.DataFrame,
    kind: str | None = None,
    step: str | None = None,
    reason: str | None = None,
    lang: str | None = None,
    source: str | None = None,
    metric: str | None = None,
    lo: float | None = None,
    hi: float | None = None,
) -> pd.DataFrame:
    """Rows of a sample matching every given filter (None = any)."""
    mask = pd.Series(True, index=frame.index)
    for col, want in (("kind", kind), ("step", step), ("reason", reason), ("lang", lang), ("source", source)):
        if want is not None and col in frame:
            mask &= frame[col].astype(str) == str(want)
    if metric and metric in frame and (lo is not None or hi is not None):
        v = pd.to_numeric(frame[metric], errors="coerce")
        mask &= v.between(-np.inf if lo is None else lo, np.inf if hi is None else hi)
    return frame[mask]


def quantiles_by(frame: pd.DataFrame, metric: str, by: str = "lang") -> pd.DataFrame:
    """Per group: p5, p25, median, p75, p95 and n of a metric (a box plot without shipping every row)."""
    cols = [by, "p5", "p25", "median", "p75", "p95", "n"]
    if metric not in frame or by not in frame:
        return pd.DataFrame(columns=cols)
    sub = frame[[by, metric]].assign(**{metric: pd.to_numeric(frame[metric], errors="coerce")}).dropna()
    if sub.empty:
        return pd.DataFrame(columns=cols)
    g = sub.groupby(sub[by].astype(str))[metric]
    out = (
        pd.DataFrame(
            {
                "p5": g.quantile(0.05),
                "p25": g.quantile(0.25),
                "median": g.median(),
                "p75": g.quantile(0.75),
                "p95": g.quantile(0.95),
                "n": g.size(),
            }
        )
        .reset_index()
        .rename(columns={by: by})
    )
    return out.sort_values("n", ascending=False)[cols].reset_index(drop=True)


def cluster_members(frame: pd.DataFrame, cluster: str, kept_id: str | None = None) -> pd.DataFrame:
    """Sample rows of one cluster (`dedup.cluster`, or a `dup_of:<id>` key from `clusters_frame`)."""
    mask = pd.Series(False, index=frame.index)
    if "dedup.cluster" in frame:
        mask |= frame["dedup.cluster"].map(cluster_key) == str(cluster)
    if str(cluster).startswith("dup_of:") and "dup_of" in frame:
        mask |= frame["dup_of"].astype(str) == str(cluster)[len("dup_of:") :]
    if kept_id is not None and not (isinstance(kept_id, float) and np.isnan(kept_id)):
        mask |= frame["id"].astype(str) == str(kept_id)
    return frame[mask]
