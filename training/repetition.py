"""Repetition study read-outs (recipes/ablations/repetition.yaml): Muennighoff et al.'s full prediction
beside what was measured, and the study's free A/A comparisons.

Prediction. Muennighoff et al. (2023), "Scaling Data-Constrained Language Models" (NeurIPS 2023,
arXiv:2305.16264), eq. 5-6 and their fit (Table 1 / the datablations repository's "Parametric Fit"):

    L(N, D, U) = E + A / N'^alpha + B / D'^beta
    D' = U_D + U_D R*_D (1 - exp(-R_D / R*_D)),  U_D = U (unique tokens),  R_D = D / U - 1
    N' = U_N + U_N R*_N (1 - exp(-R_N / R*_N)),  U_N = min(N, N_opt(U_D)),  R_N = N / U_N - 1

with N_opt(U) the compute-optimal parameter count for U tokens under their Chinchilla-style fit. The
data term alone (D'/D) was what this study used to quote; the parameter term says that parameters in
excess of what the unique data can use are worth less too, and at 0.46M parameters and 4k-64k unique
tokens it is the larger term. Their loss is in nats per GPT-2 token on C4 and ours is bits per byte of
another tokenizer and corpus, so losses are not compared: the comparison is in **worth**, the fresh
tokens D_eq that reach the same predicted loss with the same N (L(N, D_eq, D_eq) = L(N, D, U)), over D,
which is unit-free and is what the study measures off the fresh variant's curve.

NOTICE: the constants below are Muennighoff et al.'s fitted values, quoted (not refitted here) from their
paper's released fit; they were fitted on models of 10M-9B parameters trained on >= 100M tokens. Our
models and pools are orders of magnitude outside that range, so the prediction is an extrapolation and is
reported beside the measurement, not as a claim that either is right.

A/A comparisons. Below one epoch a repeated variant's pool has not run out: at that budget it trains on a
random subset of the same windows as fresh, read once, so variant - fresh is a comparison of two samples
of the same data. Every such comparison that excludes 0 is a false positive of the method; the study
reports how many there are (a free negative control).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

# Muennighoff et al. (2023), fitted constants (log A, log B, log E, alpha, beta, R*_D, R*_N): see NOTICE
MUENNIGHOFF_FIT = {
    "log_A": 6.255414,
    "log_B": 7.3049974,
    "log_E": 0.6254804,
    "alpha": 0.3526596,
    "beta": 0.3526596,
    "R_D_star": 15.387756,
    "R_N_star": 5.309743,
}
NOTICE = (
    "Muennighoff et al. (2023) fitted constants (R*_D = 15.39, R*_N = 5.31, alpha = beta = 0.353), quoted from "
    "their paper's released fit, which covers 10M-9B parameters and >= 100M tokens; applied here far outside "
    "that range (an extrapolation, compared in worth = equivalent fresh tokens / tokens, not in loss)"
)


def _consts():
    f = MUENNIGHOFF_FIT
    a, b = math.exp(f["log_A"]), math.exp(f["log_B"])
    g = ((f["alpha"] * a) / (f["beta"] * b)) ** (1 / (f["alpha"] + f["beta"]))
    return a, b, math.exp(f["log_E"]), f["alpha"], f["beta"], g


def n_opt(tokens: float) -> float:
    """Compute-optimal parameters for `tokens` under their fit (N_opt = G (D G)^(beta/alpha))."""
    *_, alpha, beta, g = _consts()
    return (tokens * g) ** (beta / alpha) * g


def effective(u: float, r: float, r_star: float) -> float:
    """U + U R* (1 - exp(-R / R*)): the effective count of U unique items used R extra times."""
    return u + u * r_star * (1 - math.exp(-r / r_star))


def predicted_loss(n: float, d: float, u: float, data_only: bool = False) -> float:
    """Their L(N, D, U) (nats per GPT-2 token on C4); `data_only` drops the parameter term's discount
    (N' = N), the version this study used to quote."""
    a, b, e, alpha, beta, _ = _consts()
    u = min(u, d)
    d_eff = effective(u, max(d / u - 1, 0.0), MUENNIGHOFF_FIT["R_D_star"])
    if data_only:
        n_eff = n
    else:
        u_n = min(n, n_opt(u))
        n_eff = effective(u_n, max(n / u_n - 1, 0.0), MUENNIGHOFF_FIT["R_N_star"])
    return e + a / n_eff**alpha + b / d_eff**beta


def predicted_worth(n: float, d: float, u: float, data_only: bool = False) -> float:
    """Fresh tokens D_eq with L(N, D_eq, D_eq) = L(N, D, U), over D: what a repeated token is worth."""
    target = predicted_loss(n, d, u, data_only)
    lo, hi = 1.0, float(d)  # repetition never beats fresh data under the fit: D_eq <= D
    for _ in range(200):  # bisection on log D_eq (L(N, x, x) falls as x grows)
        mid = math.sqrt(lo * hi)
        if predicted_loss(n, mid, mid, data_only) > target:
            lo = mid
        else:
            hi = mid
    return math.sqrt(lo * hi) / d


def paired_t(diffs: list[float]) -> list[float] | None:
    """95 % t-interval of the mean of per-seed paired differences (this comparison's own variance)."""
    n = len(diffs)
    if n < 2:
        return None
    m, sd = float(np.mean(diffs)), float(np.std(diffs, ddof=1))
    half = float(stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    return [m - half, m + half]


def aa_comparisons(variants: dict, baseline: str, evals: list[str]) -> dict:
    """Every (variant, budget, eval) at which neither side has finished an epoch: a comparison of two
    samples of the same data. Counts those whose per-comparison paired t-interval excludes 0."""
    rows = []
    base = {(p["seed"], p["tokens"]): p for p in variants[baseline]["points"]}
    for name, v in variants.items():
        if name == baseline:
            continue
        by_t: dict[int, list] = {}
        for p in v["points"]:
            b = base.get((p["seed"], p["tokens"]))
            if b and (p.get("epochs") or 0) <= 1.0 and (b.get("epochs") or 0) <= 1.0:
                by_t.setdefault(p["tokens"], []).append((p, b))
        for t, pairs in sorted(by_t.items()):
            for ev in evals:
                diffs = [p["bpb"][ev] - b["bpb"][ev] for p, b in pairs if ev in p["bpb"] and ev in b["bpb"]]
                ci = paired_t(diffs)
                if ci is None:
                    continue
                rows.append({"variant": name, "tokens": t, "eval": ev, "delta_bpb": round(float(np.mean(diffs)), 4),
                             "ci95": [round(ci[0], 4), round(ci[1], 4)], "excludes_0": ci[0] > 0 or ci[1] < 0})  # fmt: skip
    hits = sum(r["excludes_0"] for r in rows)
    return {"comparisons": len(rows), "excluding_0": hits, "rows": rows,
            "method": "per-comparison paired t-interval (95 %) over seeds; epochs <= 1 on both sides"}  # fmt: skip


def repetition_report(results: dict, pools: dict[str, int], n_params: int) -> dict | None:
    """results.json `repetition`: per repeated variant (`pools`: {variant: pool_tokens}) its pool, epochs
    at the top budget and Muennighoff et al.'s predicted worth (full, and the data term alone), plus the
    A/A tally; None for an ablation without `pool_tokens` variants. The measured worth is the
    `multipliers` entry of the same variant at the top budget."""
    if not pools:
        return None
    top = max(results["budgets"])
    rows = []
    for name, pool in sorted(pools.items(), key=lambda kv: -kv[1]):
        rows.append({
            "variant": name,
            "pool_tokens": pool,
            "tokens": top,
            "epochs": round(top / pool, 2),
            "predicted_worth": round(predicted_worth(n_params, top, pool), 3),
            "predicted_worth_data_term": round(predicted_worth(n_params, top, pool, data_only=True), 3),
        })  # fmt: skip
    return {
        "params": n_params,
        "prediction": rows,
        "notice": NOTICE,
        "aa": aa_comparisons(results["variants"], results["baseline"], results["evals"]),
    }


def for_ablation(cfg, results: dict) -> dict | None:
    """`repetition_report` for a resolved AblationConfig (None unless a variant sets pool_tokens)."""
    from training.model import get_preset
    from training.scale_ablate import param_count

    pools = {n: v.pool_tokens for n, v in cfg.variants.items() if v.pool_tokens}
    if not pools:
        return None
    return repetition_report(
        results, pools, param_count(cfg.model, cfg.vocab_size or get_preset(cfg.model).vocab_size)
    )
