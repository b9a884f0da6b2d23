"""Rank agreement between model sizes: does a ranking of data variants found with a small model hold one
size up? The premise of small-scale data ablations, measured rather than assumed.

Pure functions over per-seed scores (no training here; training/scale_ablate.py runs the grid):

- `kendall_tau`: Kendall's tau-b between two score vectors (ties handled as tau-b does).
- `decision_agreement`: the share of variant pairs ordered the same way at both sizes, DataDecide's
  "decision accuracy" (Magnusson et al. 2025) with the larger size as the target. Without ties it is
  (1 + tau) / 2; it is reported because it reads as "how often would the small model's call be right".
- `bootstrap_ci`: a percentile interval for either statistic, resampling seeds with replacement,
  independently per size (the two sizes' runs are independent), and keeping every variant's run of a
  resampled seed together (runs of one seed share data order, which is what pairs them).
- `transfer`: the results.json `transfer[]` rows (docs/CONTRACTS.md) from an ablation's contract points.

Scores are bits per byte, lower is better; only orderings matter, so the sign convention is irrelevant
to tau and agreement as long as both sizes use the same one.
"""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np


def _sign(x: float) -> int:
    return int(x > 0) - int(x < 0)


def kendall_tau(x: list[float], y: list[float]) -> float | None:
    """Kendall's tau-b of two equally long score lists; None when either has no untied pair (tau is
    undefined) or there are fewer than two items."""
    if len(x) != len(y):
        raise ValueError("kendall_tau: x and y differ in length")
    conc = disc = tie_x = tie_y = 0
    for i, j in combinations(range(len(x)), 2):
        sx, sy = _sign(x[i] - x[j]), _sign(y[i] - y[j])
        if sx == 0 and sy == 0:
            continue  # tied in both: counts in neither denominator term
        if sx == 0:
            tie_x += 1
        elif sy == 0:
            tie_y += 1
        elif sx == sy:
            conc += 1
        else:
            disc += 1
    n0 = conc + disc
    denom = math.sqrt((n0 + tie_x) * (n0 + tie_y))
    return (conc - disc) / denom if denom else None


def decision_agreement(small: list[float], large: list[float]) -> float | None:
    """Share of pairs (i, j) that the small size orders as the large size does (a pair tied at the large
    size is skipped: there is no decision to get right; a tie at the small size counts as half right, a
    coin flip). None when no pair is decided at the large size."""
    if len(small) != len(large):
        raise ValueError("decision_agreement: small and large differ in length")
    right = total = 0.0
    for i, j in combinations(range(len(small)), 2):
        target = _sign(large[i] - large[j])
        if target == 0:
            continue
        guess = _sign(small[i] - small[j])
        total += 1
        right += 1.0 if guess == target else 0.5 if guess == 0 else 0.0
    return right / total if total else None


def _means(by_seed: dict[str, dict[int, float]], variants: list[str], seeds: list[int]) -> list[float]:
    return [float(np.mean([by_seed[v][s] for s in seeds])) for v in variants]


def bootstrap_ci(
    small: dict[str, dict[int, float]],
    large: dict[str, dict[int, float]],
    stat,
    n_boot: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> list[float] | None:
    """Percentile interval of `stat(small_means, large_means)` over seed resamples.

    `small` / `large`: {variant: {seed: score}}, the same variants at both sizes, each with every one of
    its size's seeds. Each replicate draws that size's seeds with replacement and averages every variant
    over the drawn seeds (a drawn seed brings all its variants' runs). Replicates where `stat` is None
    (all variants tied) are dropped; None when fewer than half remain.
    """
    variants = sorted(small)
    s_seeds = sorted(set.intersection(*(set(small[v]) for v in variants)))
    l_seeds = sorted(set.intersection(*(set(large[v]) for v in variants)))
    if not s_seeds or not l_seeds:
        return None
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(n_boot):
        ss = [s_seeds[k] for k in rng.integers(0, len(s_seeds), len(s_seeds))]
        ls = [l_seeds[k] for k in rng.integers(0, len(l_seeds), len(l_seeds))]
        v = stat(_means(small, variants, ss), _means(large, variants, ls))
        if v is not None:
            vals.append(v)
    if len(vals) < n_boot / 2:
        return None
    a = (1 - level) / 2
    lo, hi = np.quantile(vals, [a, 1 - a])
    return [round(float(lo), 4), round(float(hi), 4)]


def scores_at(variants: dict, ev: str, tokens: int) -> dict[str, dict[int, float]]:
    """{variant: {seed: bpb on `ev` at `tokens`}} from results.json `variants` (contract points)."""
    out: dict[str, dict[int, float]] = {}
    for name, v in variants.items():
        row = {
            p["seed"]: p["bpb"][ev]
            for p in v["points"]
            if p["tokens"] == tokens and p["bpb"].get(ev) is not None
        }
        if row:
            out[name] = row
    return out


def transfer_row(
    ev: str,
    sizes: list[str],
    small: dict[str, dict[int, float]],
    large: dict[str, dict[int, float]],
    n_boot: int = 2000,
) -> dict:
    """One `transfer[]` entry: tau and decision agreement of the seed-mean rankings, tau's bootstrap
    interval, and the rankings themselves (best first) so a reader sees what agreed."""
    variants = sorted(set(small) & set(large))
    small, large = {v: small[v] for v in variants}, {v: large[v] for v in variants}
    ms = _means(small, variants, sorted(set.intersection(*(set(small[v]) for v in variants))))
    ml = _means(large, variants, sorted(set.intersection(*(set(large[v]) for v in variants))))
    tau = kendall_tau(ms, ml)
    agree = decision_agreement(ms, ml)
    return {
        "eval": ev,
        "sizes": list(sizes),
        "variants": len(variants),
        "kendall_tau": None if tau is None else round(tau, 4),
        "ci95": bootstrap_ci(small, large, kendall_tau, n_boot=n_boot),
        "decision_agreement": None if agree is None else round(agree, 4),
        "decision_agreement_ci95": bootstrap_ci(small, large, decision_agreement, n_boot=n_boot),
        "ranking": {
            sizes[0]: [v for _, v in sorted(zip(ms, variants))],
            sizes[1]: [v for _, v in sorted(zip(ml, variants))],
        },
    }


def _grid(res: dict) -> list[int]:
    """The token counts the points were trained to (whole steps), ascending."""
    return sorted({p["tokens"] for v in res["variants"].values() for p in v["points"]})


def transfer(
    results: dict[str, dict], sizes: list[str], evals: list[str], variants: list[str] | None = None
) -> list[dict]:
    """`transfer[]` for two sizes' results.json dicts ({size: results}): per eval domain, the rankings at
    each size's top budget (the same tokens per parameter at both sizes, by construction of the grid),
    plus `by_budget`: tau and agreement at every matched budget (k-th budget of one size against the k-th
    of the other). `variants` restricts the ranking to those (default: every variant both sizes trained)."""
    small_res, large_res = results[sizes[0]], results[sizes[1]]
    g_small, g_large = _grid(small_res), _grid(large_res)
    rows = []
    for ev in evals:
        s = scores_at(small_res["variants"], ev, g_small[-1])
        lg = scores_at(large_res["variants"], ev, g_large[-1])
        keep = [v for v in (variants or s) if v in s and v in lg]
        if len(keep) < 2:
            continue
        row = transfer_row(ev, sizes, {v: s[v] for v in keep}, {v: lg[v] for v in keep})
        row["tokens"] = [g_small[-1], g_large[-1]]
        row["by_budget"] = []
        for ts, tl in zip(g_small, g_large):
            a, b = scores_at(small_res["variants"], ev, ts), scores_at(large_res["variants"], ev, tl)
            if all(v in a and v in b for v in keep):
                ma = _means(a, keep, sorted(set.intersection(*(set(a[v]) for v in keep))))
                mb = _means(b, keep, sorted(set.intersection(*(set(b[v]) for v in keep))))
                tau, agree = kendall_tau(ma, mb), decision_agreement(ma, mb)
                row["by_budget"].append(
                    {
                        "tokens": [ts, tl],
                        "kendall_tau": None if tau is None else round(tau, 4),
                        "decision_agreement": None if agree is None else round(agree, 4),
                    }
                )
        rows.append(row)
    return rows
