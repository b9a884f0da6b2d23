"""Per-comparison paired intervals and the multiplicity adjustment of an ablation's comparisons table.

Why per comparison, not pooled: seed noise differs a lot between variants (at 131k tokens on the
multilingual domain the seed SDs of raw and roots were 0.030 and 0.362, a variance ratio of ~145), so
one pooled variance gives the noisy comparisons intervals that are too narrow and the quiet ones
intervals that are too wide. Each comparison gets the plain paired t-interval of its own per-seed
differences (n - 1 degrees of freedom), which holds its coverage whatever the other variants do
(tests/training/test_intervals.py simulates it with unequal variances).

Why the eval documents are not resampled: every variant is scored on the same documents, so the
document sample is a fixed part of the yardstick, like the tokenizer; the seed interval answers "would
another training seed change the verdict on these documents". The documents are many (>= 40 per
domain, stratified over sources) so that the yardstick itself is not a handful of pages.

Why Holm: a table of ~100 comparisons at 95 % each would hold several false "wins" by chance (6 null
comparisons against one baseline already gave P(any) ~ 24 %). Holm's step-down procedure keeps the
family-wise error rate at 5 % over the whole table without assuming independence (the comparisons
share the baseline's runs), so "resolved" means the same thing for the null control and for a claim.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

CI_METHOD = (
    "per-comparison paired t-interval over seeds (variant - baseline per seed, n - 1 df, no pooling "
    "across comparisons); eval documents fixed, not resampled"
)
ADJUST = "holm"
ALPHA = 0.05


def paired_t(diffs: list[float]) -> tuple[list[float] | None, float | None]:
    """(95 % t-interval of the mean, two-sided p-value for mean 0) of per-seed paired differences;
    (None, None) with one seed. Identical differences (zero spread) give a zero-width interval and
    p = 1 when they are all 0, else p = 0."""
    n = len(diffs)
    if n < 2:
        return None, None
    d = np.asarray(diffs, dtype=float)
    mean, sd = float(d.mean()), float(d.std(ddof=1))
    if sd == 0.0:
        return [mean, mean], 1.0 if mean == 0.0 else 0.0
    se = sd / math.sqrt(n)
    half = float(stats.t.ppf(1 - ALPHA / 2, n - 1)) * se
    p = float(2 * stats.t.sf(abs(mean) / se, n - 1))
    return [mean - half, mean + half], p


def holm(pvalues: list[float | None], alpha: float = ALPHA) -> list[bool]:
    """Holm step-down rejections (None never rejects): the k-th smallest of m p-values is compared
    with alpha / (m - k + 1), stopping at the first that fails."""
    idx = sorted((i for i, p in enumerate(pvalues) if p is not None), key=lambda i: pvalues[i])
    m = len(idx)
    out = [False] * len(pvalues)
    for k, i in enumerate(idx):
        if pvalues[i] > alpha / (m - k):
            break
        out[i] = True
    return out


def annotate(rows: list[dict]) -> None:
    """Fill `ci95`, `p`, `resolved` and `adjust` of comparison rows holding `_diffs` (their per-seed
    differences, kept as `diffs` so a reader can recompute any interval); Holm over all `rows`."""
    for r in rows:
        r["ci95"], r["p"] = paired_t(r["_diffs"])
        r["diffs"] = [round(x, 6) for x in r.pop("_diffs")]
    for r, ok in zip(rows, holm([r["p"] for r in rows])):
        r["resolved"] = ok
        r["adjust"] = ADJUST


def coverage(effects: np.ndarray, sds: np.ndarray, seeds: int, reps: int, rng: np.random.Generator) -> float:
    """Share of `reps` simulated tables whose paired t-interval covers the true effect, over
    comparisons with the given true `effects` and per-comparison difference SDs `sds` (vectorized)."""
    k = len(effects)
    d = rng.normal(effects[None, :, None], sds[None, :, None], size=(reps, k, seeds))
    mean = d.mean(axis=2)
    half = stats.t.ppf(1 - ALPHA / 2, seeds - 1) * d.std(axis=2, ddof=1) / math.sqrt(seeds)
    return float(np.mean((mean - half <= effects) & (effects <= mean + half)))
