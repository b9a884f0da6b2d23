"""Data scaling fits L(D) = E + B * D^(-beta) and the effective-data multiplier between two fits.

E is the irreducible loss at infinite data (for this model size), B and beta the power law of the
reducible part (Kaplan et al. 2020; Hoffmann et al. 2022 fit the same form per model size). Fitting
three parameters on a handful of noisy points is fragile, so:

* D is rescaled by its geometric mean before fitting (B in raw tokens is converted back afterwards);
* the initial point comes from variable projection: for fixed beta the model is linear in (E, B),
  solved by non-negative least squares on a beta grid; `curve_fit` then refines within bounds
  E in [0, max L], B >= 0, beta in [0.01, 3];
* the fit is flagged (`ok: false` with `warnings`) instead of trusted when there are fewer than 4
  distinct budgets (3 parameters: no degrees of freedom left on the means), a parameter sits on a
  bound, or a standard error is infinite or larger than the value. Fewer than 3 budgets: no numbers.

The effective-data multiplier of A over B at budget D is D_B / D where L_B(D_B) = L_A(D): "D tokens
of A are worth m * D tokens of B". It is flagged `extrapolated` when D or D_B lies outside the budgets
actually trained for A or B.
"""

from __future__ import annotations

import math
import warnings as _warnings

import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit, nnls

BETA_BOUNDS = (0.01, 3.0)


def _model(d, E, B, beta):
    return E + B * np.power(d, -beta)


def fit_power_law(tokens, losses) -> dict:
    """Fit L(D) = E + B * D^(-beta) to all points (every seed: their spread is information).

    Args:
        tokens: training tokens D of each point.
        losses: loss of each point (nats/token or bits/byte: any metric that decreases with data).

    Returns:
        `{"E", "B", "beta", "r2", "ok", "warnings", "stderr": {"E","B","beta"}, "n_points", "n_budgets"}`;
        E, B, beta, r2 are None when there are fewer than 3 distinct budgets.
    """
    D = np.asarray(tokens, dtype=float)
    L = np.asarray(losses, dtype=float)
    keep = np.isfinite(D) & np.isfinite(L) & (D > 0)
    D, L = D[keep], L[keep]
    n_budgets = len(np.unique(D))
    base = {"n_points": len(D), "n_budgets": int(n_budgets)}
    if n_budgets < 3:
        return {
            "E": None,
            "B": None,
            "beta": None,
            "r2": None,
            "ok": False,
            "stderr": None,
            **base,
            "warnings": [f"need >= 3 distinct token budgets to fit 3 parameters, got {n_budgets}"],
        }
    D0 = float(np.exp(np.mean(np.log(D))))
    d = D / D0

    best = None
    for beta in np.geomspace(BETA_BOUNDS[0], BETA_BOUNDS[1], 300):
        X = np.stack([np.ones_like(d), np.power(d, -beta)], axis=1)
        (E, B), res = nnls(X, L)
        if best is None or res < best[0]:
            best = (res, E, B, beta)
    _, E0, B0, beta0 = best
    hi_E = float(L.max())
    p0 = [min(max(E0, 1e-9), hi_E - 1e-9), max(B0, 1e-9), beta0]
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore", OptimizeWarning)
        try:
            popt, pcov = curve_fit(
                _model,
                d,
                L,
                p0=p0,
                bounds=([0.0, 0.0, BETA_BOUNDS[0]], [hi_E, np.inf, BETA_BOUNDS[1]]),
                maxfev=20000,
            )
        except (RuntimeError, ValueError):
            popt, pcov = np.array(p0), np.full((3, 3), np.inf)
    E, Bn, beta = (float(x) for x in popt)
    pred = _model(d, E, Bn, beta)
    ss_res = float(np.sum((L - pred) ** 2))
    ss_tot = float(np.sum((L - L.mean()) ** 2))
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else None
    err = np.sqrt(np.diag(pcov)) if np.all(np.isfinite(pcov)) else np.full(3, np.inf)
    # stderr of B in raw-token units: B = Bn * D0^beta (first-order, ignoring the beta term's covariance)
    B = Bn * D0**beta

    warns = []
    if n_budgets < 4:
        warns.append(
            f"only {n_budgets} distinct budgets for 3 parameters: the fit interpolates, it cannot be checked"
        )
    if not np.all(np.isfinite(err)):
        warns.append("covariance could not be estimated (parameters not identifiable from these points)")
    else:
        for name, v, e in (("E", E, err[0]), ("B", Bn, err[1]), ("beta", beta, err[2])):
            if e > abs(v):
                warns.append(f"{name} is poorly determined (stderr {e:.3g} > |value| {abs(v):.3g})")
    if E <= 1e-6:
        warns.append("E hit its lower bound 0: the points show no floor yet (a pure power law fits as well)")
    if E >= hi_E - 1e-6:
        warns.append("E hit its upper bound (the largest loss): loss does not fall with data here")
    if beta <= BETA_BOUNDS[0] * 1.001 or beta >= BETA_BOUNDS[1] * 0.999:
        warns.append(f"beta hit a bound {BETA_BOUNDS}")
    return {
        "E": E,
        "B": B,
        "beta": beta,
        "r2": r2,
        "ok": not warns,
        "warnings": warns,
        "stderr": {"E": float(err[0]), "B": float(err[1] * D0**beta), "beta": float(err[2])},
        **base,
    }


def predict(fit: dict, tokens: float) -> float:
    """L(D) from a fit."""
    return fit["E"] + fit["B"] * tokens ** (-fit["beta"])


def tokens_for_loss(fit: dict, loss: float) -> float:
    """The D with L(D) = loss; inf when loss is at or below the fit's floor E."""
    gap = loss - fit["E"]
    if gap <= 0:
        return math.inf
    return (fit["B"] / gap) ** (1.0 / fit["beta"])


def effective_multiplier(fit_a: dict, fit_b: dict, tokens: float, range_a=None, range_b=None) -> dict:
    """How many tokens of B match the loss of A at `tokens`, as a multiple of `tokens`.

    Args:
        fit_a, fit_b: fits from `fit_power_law` (must have numbers).
        tokens: the budget D at which A is evaluated.
        range_a, range_b: (min, max) budgets actually trained, to flag extrapolation.

    Returns:
        `{"tokens", "loss_a", "tokens_b", "multiplier", "extrapolated", "note"}`; multiplier > 1 means
        A's tokens are worth more than B's.
    """
    if any(f.get(k) is None for f in (fit_a, fit_b) for k in ("E", "B", "beta")):
        return {
            "tokens": tokens,
            "loss_a": None,
            "tokens_b": None,
            "multiplier": None,
            "extrapolated": None,
            "note": "no fit",
        }
    loss_a = predict(fit_a, tokens)
    tokens_b = tokens_for_loss(fit_b, loss_a)
    notes = []
    extrapolated = False
    if range_a and not (range_a[0] * 0.999 <= tokens <= range_a[1] * 1.001):
        extrapolated = True
        notes.append("D outside A's trained budgets")
    if math.isinf(tokens_b):
        notes.append("A's loss is below B's fitted floor E: no amount of B matches it")
        extrapolated = True
    elif range_b and not (range_b[0] * 0.999 <= tokens_b <= range_b[1] * 1.001):
        extrapolated = True
        notes.append("matching D_B outside B's trained budgets")
    if not (fit_a.get("ok", True) and fit_b.get("ok", True)):
        notes.append("a fit is flagged ill-conditioned")
    return {
        "tokens": tokens,
        "loss_a": loss_a,
        "tokens_b": None if math.isinf(tokens_b) else tokens_b,
        "multiplier": None if math.isinf(tokens_b) else tokens_b / tokens,
        "extrapolated": extrapolated,
        "note": "; ".join(notes),
    }
