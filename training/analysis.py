"""What an ablation's points support: paired deltas with confidence intervals, multipliers read off the
baseline's measured curve, an optional joint fit, and the positive controls.

Input: `variants = {name: {"points": [{"tokens", "bytes", "seed", "epochs", "bpb": {eval: float}}]}}`
(the results.json contract, docs/CONTRACTS.md). Everything here is fit-free except `joint_fit`.

**Confidence intervals and verdicts.** The unit of replication is the training seed: each seed gives
one paired difference d_s = bpb(variant, seed s) - bpb(baseline, seed s) (same init and data order
seed, so pairing removes the shared part of the noise). Each comparison gets its own paired t-interval
(n_seeds - 1 df, no pooling across variants: their seed variances differ by up to ~145x) and a p-value;
`resolved` is Holm's adjusted verdict over the whole comparisons table. Why, and the coverage
simulation: training/intervals.py. Every row keeps its per-seed `diffs`.

**Multipliers.** "Variant at D tokens matches the baseline at m * D tokens": the baseline's measured
seed-mean curve is interpolated piecewise linearly in (log D, bpb); the variant's level is the
baseline's level at D plus the paired delta (and its CI ends, which give the multiplier's CI). Levels
outside the baseline's measured range are never extrapolated: the value is null and `bound` says
"> 32x" or "< 0.5x" instead.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict

import numpy as np

from training.intervals import annotate


def _by_seed(points: list[dict], ev: str, key: str = "tokens") -> dict[int, dict[int, float]]:
    """{seed: {tokens: bpb}} for one eval set."""
    out: dict[int, dict[int, float]] = defaultdict(dict)
    for p in points:
        if p["bpb"].get(ev) is not None:
            out[p["seed"]][p[key]] = p["bpb"][ev]
    return out


def comparisons(variants: dict, pairs: list[tuple[str, str]], evals: list[str]) -> list[dict]:
    """Paired delta bpb (variant - baseline; negative = variant better) per budget and eval domain."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for ev in evals:
        for v, b in pairs:
            sv, sb = _by_seed(variants[v]["points"], ev), _by_seed(variants[b]["points"], ev)
            ep = _epochs(variants, v, b)
            for t in sorted({t for s in sb.values() for t in s}):
                diffs = [sv[s][t] - sb[s][t] for s in sorted(set(sv) & set(sb)) if t in sv[s] and t in sb[s]]
                if not diffs:
                    continue
                row = {
                    "variant": v,
                    "baseline": b,
                    "eval": ev,
                    "tokens": t,
                    "delta_bpb": float(np.mean(diffs)),
                    "seeds": len(diffs),
                    "repeats_data": ep.get(t, 1.0) > 1.0,
                    "_diffs": diffs,
                }
                groups[(ev, t)].append(row)
    rows = [r for g in groups.values() for r in g]
    annotate(rows)
    return rows


def _epochs(variants: dict, *names: str) -> dict[int, float]:
    """Largest epoch count at each budget over the named variants' points."""
    out: dict[int, float] = defaultdict(float)
    for n in names:
        for p in variants[n]["points"]:
            out[p["tokens"]] = max(out[p["tokens"]], p.get("epochs") or 0.0)
    return out


def comparisons_bytes(variants: dict, pairs: list[tuple[str, str]], evals: list[str]) -> list[dict]:
    """Paired delta bpb at equal training *bytes*: at each of the baseline's byte counts, the variant's
    bpb per seed is interpolated in log bytes between its own measured points (never extrapolated)."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for ev in evals:
        for v, b in pairs:
            sv, sb = (
                _by_seed(variants[v]["points"], ev, "bytes"),
                _by_seed(variants[b]["points"], ev, "bytes"),
            )
            per_budget: dict[int, list[float]] = defaultdict(list)
            for s in sorted(set(sv) & set(sb)):
                xs = sorted(sv[s])
                lx = np.log([float(x) for x in xs])
                for nb in sb[s]:
                    if not xs[0] <= nb <= xs[-1]:
                        continue
                    y = float(np.interp(math.log(nb), lx, [sv[s][x] for x in xs]))
                    per_budget[nb].append(y - sb[s][nb])
            # bytes differ slightly per seed only if data differ; group by the baseline's byte count
            for nb, diffs in sorted(per_budget.items()):
                row = {
                    "variant": v,
                    "baseline": b,
                    "eval": ev,
                    "bytes": nb,
                    "delta_bpb": float(np.mean(diffs)),
                    "seeds": len(diffs),
                    "_diffs": diffs,
                }
                groups[(ev, nb)].append(row)
    rows = [r for g in groups.values() for r in g]
    annotate(rows)
    return rows


def _tokens_at(curve_t: list[float], curve_l: list[float], level: float) -> tuple[float | None, str | None]:
    """Tokens where the baseline's piecewise-linear (log D, bpb) curve reaches `level`; (None, bound) off it."""
    lt = np.log(curve_t)
    for i in range(len(curve_t) - 1):
        a, b = curve_l[i], curve_l[i + 1]
        if min(a, b) <= level <= max(a, b) and a != b:
            return float(math.exp(lt[i] + (level - a) / (b - a) * (lt[i + 1] - lt[i]))), None
    if level < min(curve_l):
        return None, "above"  # better than the baseline ever got: needs more than the largest budget
    return None, "below"


def _multiplier(ts: list[int], ls: list[float], level: float, t: int) -> tuple[float | None, str | None]:
    """(D_baseline / t, None) where the baseline's curve reaches `level`, or (None, "> 32x") off the curve."""
    d, where = _tokens_at(ts, ls, level)
    if d is None:
        edge = ts[-1] if where == "above" else ts[0]
        return None, f"{'>' if where == 'above' else '<'} {edge / t:.3g}x"
    return d / t, None


def multipliers(variants: dict, comps: list[dict], baseline: str, evals: list[str]) -> list[dict]:
    """Effective-data multipliers against `baseline`, read off its measured curve (see module docstring)."""
    rows = []
    for ev in evals:
        by_t: dict[int, list[float]] = defaultdict(list)
        for p in variants[baseline]["points"]:
            if p["bpb"].get(ev) is not None:
                by_t[p["tokens"]].append(p["bpb"][ev])
        ts = sorted(by_t)
        if len(ts) < 2:
            continue
        ls = [float(np.mean(by_t[t])) for t in ts]
        monotone = all(a > b for a, b in itertools.pairwise(ls))
        for c in comps:
            if c["baseline"] != baseline or c["eval"] != ev:
                continue
            t = c["tokens"]
            base_level = ls[ts.index(t)]

            value, bound = _multiplier(ts, ls, base_level + c["delta_bpb"], t)
            lo = hi = None
            if c["ci95"]:
                hi, _ = _multiplier(ts, ls, base_level + c["ci95"][0], t)  # lower bpb = larger multiplier
                lo, _ = _multiplier(ts, ls, base_level + c["ci95"][1], t)
            rows.append(
                {
                    "variant": c["variant"],
                    "baseline": baseline,
                    "eval": ev,
                    "tokens": t,
                    "value": value,
                    "ci95": [lo, hi],
                    "extrapolated": value is None,
                    "bound": bound,
                    "baseline_monotone": monotone,
                }
            )
    return rows


def joint_fit(variants: dict, baseline: str, ev: str, max_se_rel: float = 0.25) -> dict:
    """L = E + B * (m_v * D)^(-beta), E and beta shared, m_baseline = 1, on every (variant, seed, budget)
    point of eval `ev`. `ok` only when SE(beta)/beta <= max_se_rel, E is inside (0, min L) and the fit
    converged; otherwise `warnings` say why and nothing from it may be printed as a result."""
    from scipy.optimize import least_squares

    names = [baseline] + [v for v in variants if v != baseline]
    rows = [
        (names.index(v), p["tokens"], p["bpb"][ev])
        for v in names
        for p in variants[v]["points"]
        if p["bpb"].get(ev) is not None
    ]
    if len({r[1] for r in rows}) < 4:
        return {"eval": ev, "ok": False, "se_beta_rel": None, "warnings": ["fewer than 4 budgets"]}
    vi = np.array([r[0] for r in rows])
    D = np.array([r[1] for r in rows], float)
    L = np.array([r[2] for r in rows], float)
    D0 = float(np.exp(np.mean(np.log(D))))
    d = D / D0
    k = len(names) - 1

    def model(x):
        E, lb, beta = x[0], x[1], x[2]
        logm = np.concatenate([[0.0], x[3:]])[vi]
        return E + np.exp(lb) * np.power(np.exp(logm) * d, -beta)

    x0 = np.concatenate([[0.5 * L.min(), math.log(max(L.max() - 0.5 * L.min(), 1e-3)), 0.3], np.zeros(k)])
    lo = np.concatenate([[0.0, -20, 0.01], np.full(k, -5.0)])
    hi = np.concatenate([[L.min(), 20, 3.0], np.full(k, 5.0)])
    res = least_squares(lambda x: model(x) - L, x0, bounds=(lo, hi))
    dof = max(len(L) - len(x0), 1)
    s2 = float(np.sum(res.fun**2) / dof)
    warns = []
    try:
        cov = np.linalg.inv(res.jac.T @ res.jac) * s2
        se = np.sqrt(np.clip(np.diag(cov), 0, None))
    except np.linalg.LinAlgError:
        se = np.full(len(x0), np.inf)
        warns.append("singular Jacobian: parameters not identifiable")
    E, lb, beta = (float(v) for v in res.x[:3])
    se_beta_rel = float(se[2] / beta) if math.isfinite(se[2]) else None
    if se_beta_rel is None or se_beta_rel > max_se_rel:
        warns.append(
            f"SE(beta)/beta = {se_beta_rel if se_beta_rel is None else round(se_beta_rel, 3)} > {max_se_rel}"
        )
    if E <= 1e-6 or E >= L.min() - 1e-6:
        warns.append("E sits on a bound (no floor visible, or no decrease)")
    if beta <= 0.0101 or beta >= 2.99:
        warns.append("beta sits on a bound")
    if not res.success:
        warns.append(f"optimizer: {res.message}")
    return {
        "eval": ev,
        "form": "L = E + B * (m_v * D)^(-beta), E and beta shared, m_baseline = 1",
        "E": E,
        "B": float(math.exp(lb) * D0**beta),
        "beta": beta,
        "se_beta_rel": se_beta_rel,
        "m": {
            n: {"value": float(math.exp(res.x[2 + i])), "se_log": float(se[2 + i])}
            for i, n in enumerate(names[1:], start=1)
        },
        "ok": not warns,
        "warnings": warns,
    }


def check_controls(controls: list[dict], comps: list[dict]) -> list[dict]:
    """`{name, kind, passed, detail}` per control. Positive: the comparison at the top budget is
    resolved (Holm-adjusted) with variant < baseline. Negative (an A/A pair of the same recipe): no
    comparison of the pair is resolved at any budget or eval domain (or only `eval`'s, when given)."""
    return [_negative(c, comps) if c.get("kind") == "negative" else _positive(c, comps) for c in controls]


def _rows(c: dict, comps: list[dict]) -> list[dict]:
    return [
        r
        for r in comps
        if (r["variant"], r["baseline"]) == (c["variant"], c["baseline"])
        and (not c.get("eval") or r["eval"] == c["eval"])
    ]


def _positive(c: dict, comps: list[dict]) -> dict:
    out = {"name": c["name"], "kind": "positive", "passed": False}
    rows = _rows(c, comps)
    if not rows:
        return {**out, "detail": "no comparison was measured"}
    top = max(rows, key=lambda r: r["tokens"])
    ci = top["ci95"]
    txt = f"{c['variant']} - {c['baseline']} on {top['eval']} at {top['tokens']:,} tokens: {top['delta_bpb']:+.4f} bpb"
    if ci is None:
        return {**out, "detail": txt + ", no CI (one seed)"}
    passed = bool(top["resolved"]) and top["delta_bpb"] < 0
    txt += f", 95% CI [{ci[0]:+.4f}, {ci[1]:+.4f}], {'resolved' if top['resolved'] else 'not resolved'} after {top['adjust']}"
    if not passed:
        txt += ": the setup was not sensitive enough to detect this known effect; do not trust null results"
    return {**out, "passed": passed, "detail": txt}


def _negative(c: dict, comps: list[dict]) -> dict:
    rows = _rows(c, comps)
    hits = [r for r in rows if r["resolved"]]
    where = f"{len(rows)} comparisons ({len({r['tokens'] for r in rows})} budgets x {len({r['eval'] for r in rows})} evals)"
    if not rows:
        return {
            "name": c["name"],
            "kind": "negative",
            "passed": False,
            "detail": "no comparison was measured",
        }
    if hits:
        worst = min(hits, key=lambda r: r["p"])
        detail = (
            f"{c['variant']} - {c['baseline']}: {len(hits)} of {where} resolved, e.g. {worst['eval']} at "
            f"{worst['tokens']:,} tokens {worst['delta_bpb']:+.4f}: the method calls a difference where there is none"
        )
    else:
        big = max(rows, key=lambda r: abs(r["delta_bpb"]))
        detail = (
            f"{c['variant']} - {c['baseline']}: none of {where} resolved after {rows[0]['adjust']}; largest "
            f"|delta| {big['delta_bpb']:+.4f} ({big['eval']} at {big['tokens']:,} tokens)"
        )
    return {"name": c["name"], "kind": "negative", "passed": not hits, "detail": detail}


def summary_lines(res: dict) -> list[str]:
    """The CLI summary: only numbers that carry their CI and are neither extrapolated nor from a flagged fit."""
    lines = []
    bpt = ", ".join(
        f"{n} {v['bytes_per_token']:.2f}" for n, v in res["variants"].items() if "bytes_per_token" in v
    )
    if bpt:
        lines.append(f"bytes/token (shared tokenizer): {bpt}")
    smp = res.get("sample") or {}
    if smp:
        lines.append(
            f"sample: {smp.get('docs')} docs; docs in duplicate clusters {smp.get('dup_share_sample', '?')} "
            f"(pool {smp.get('dup_share_pool', '?')}); documents containing evaluated eval text removed: "
            f"{smp.get('decontam_removed') or 0}"
        )
    if isinstance(res.get("evals"), dict):
        for ev, d in res["evals"].items():
            src = ", ".join(f"{k} {n}" for k, n in d["sources"].items())
            pool = "out of pool" if d["out_of_pool"] else "hold-out of the pool"
            lines.append(f"eval {ev}: {d['docs']} documents, {d['bytes']:,} bytes scored ({pool}; {src})")
    top = max(p["tokens"] for v in res["variants"].values() for p in v["points"])
    for ev in res["evals"]:
        lines.append(
            f"-- {ev}: delta bpb at {top:,} tokens (95% CI; negative = better; * = resolved after "
            f"{res.get('adjust', 'holm')} over the whole table)"
        )
        for c in res["comparisons"]:
            if c["eval"] == ev and c["tokens"] == top:
                ci = c["ci95"]
                s = f"[{ci[0]:+.4f}, {ci[1]:+.4f}]" if ci else "(no CI)"
                sig = " *" if c.get("resolved") else "  (not resolved)"
                rep = "  [repeats data]" if c.get("repeats_data") else ""
                lines.append(
                    f"   {c['variant']:>14} vs {c['baseline']:<10} {c['delta_bpb']:+.4f} {s}{sig}{rep}"
                )
        by_variant: dict[str, list[str]] = defaultdict(list)
        for m in sorted(res["multipliers"], key=lambda m: m["tokens"]):
            if m["eval"] != ev:
                continue
            where = f"{m['tokens'] // 1024}k"
            if m["extrapolated"]:
                by_variant[m["variant"]].append(f"{where} {m['bound']} (off the curve)")
            else:
                lo, hi = m["ci95"]
                ci = f"[{'?' if lo is None else f'{lo:.2f}'}, {'off-curve' if hi is None else f'{hi:.2f}'}]"
                by_variant[m["variant"]].append(f"{where} {m['value']:.2f}x {ci}")
        for v, items in by_variant.items():
            lines.append(f"   multiplier {v} vs {res['baseline']}: " + "; ".join(items))
    fit = res.get("fit")
    if fit:
        if fit["ok"]:
            lines.append(
                f"joint fit on {fit['eval']}: beta {fit['beta']:.3f} (SE/beta {fit['se_beta_rel']:.2f})"
            )
        else:
            lines.append(f"joint fit on {fit['eval']}: not reported ({'; '.join(fit['warnings'])})")
    for c in res["controls"]:
        kind = c.get("kind", "positive")
        lines.append(f"control {c['name']} ({kind}): {'PASSED' if c['passed'] else 'FAILED'} - {c['detail']}")
    epochs: dict[tuple[str, int], float] = {}  # one entry per (variant, budget), the most over the seeds
    for n, v in res["variants"].items():
        for p in v["points"]:
            if p["epochs"] > 1:
                epochs[n, p["tokens"]] = max(p["epochs"], epochs.get((n, p["tokens"]), 0.0))
    flagged = [f"{n}@{t:,} ({e:.1f} epochs)" for (n, t), e in epochs.items()]
    if flagged:
        lines.append(f"points that repeat data (epochs > 1): {', '.join(flagged)}")
    return lines
