"""Known answers for training/analysis.py: per-comparison paired CIs with Holm-adjusted verdicts,
multipliers read off the measured curve (never extrapolated), the joint fit's conditioning flag, and
positive and negative controls that pass or fail."""

import math

import numpy as np
import pytest
from scipy import stats

from training import analysis


def _variants(curves: dict[str, dict[int, list[float]]]) -> dict:
    """{name: {tokens: [bpb seed0, bpb seed1, ...]}} -> contract variants with one eval "e"."""
    return {
        n: {
            "points": [
                {"tokens": t, "bytes": 3 * t, "seed": s, "epochs": 0.5, "bpb": {"e": v}}
                for t, vals in c.items()
                for s, v in enumerate(vals)
            ]
        }
        for n, c in curves.items()
    }


def test_each_comparison_gets_its_own_paired_interval():
    v = _variants(
        {
            "base": {1000: [2.0, 2.1, 2.0]},
            "a": {1000: [1.9, 2.1, 1.95]},  # diffs -0.1, 0.0, -0.05: mean -0.05, sd 0.05
            "b": {1000: [3.2, 2.2, 2.6]},  # a noisy comparison must not widen or narrow a's interval
        }
    )
    rows = analysis.comparisons(v, [("a", "base"), ("b", "base")], ["e"])
    a = next(r for r in rows if r["variant"] == "a")
    half = stats.t.ppf(0.975, 2) * 0.05 / math.sqrt(3)
    assert a["delta_bpb"] == pytest.approx(-0.05)
    assert a["ci95"] == pytest.approx([-0.05 - half, -0.05 + half])
    assert a["diffs"] == pytest.approx([-0.1, 0.0, -0.05])
    alone = analysis.comparisons(
        _variants({"base": {1000: [2.0, 2.1, 2.0]}, "a": {1000: [1.9, 2.1, 1.95]}}), [("a", "base")], ["e"]
    )
    assert alone[0]["ci95"] == pytest.approx(a["ci95"])
    assert all(r["adjust"] == "holm" and isinstance(r["resolved"], bool) for r in rows)


def test_identical_runs_give_a_zero_width_interval_and_no_verdict():
    v = _variants({"base": {1000: [2.0, 2.1]}, "copy": {1000: [2.0, 2.1]}})
    (row,) = analysis.comparisons(v, [("copy", "base")], ["e"])
    assert row["ci95"] == [0.0, 0.0] and row["p"] == 1.0 and not row["resolved"]


def test_resolved_is_holm_over_the_whole_table():
    # a: a clear effect; b: p ~ 0.04, below 0.05 alone but above Holm's 0.05 / 2 for the second of 3
    base = [2.0, 2.1, 2.0, 2.05, 1.95, 2.0]
    a = [x - 0.3 + e for x, e in zip(base, [0.01, -0.01, 0.02, -0.02, 0.0, 0.01])]
    b = [x - 0.05 + e for x, e in zip(base, [0.06, -0.06, 0.045, -0.045, 0.0, -0.015])]
    c = [x + e for x, e in zip(base, [0.05, -0.05, 0.02, -0.03, 0.01, 0.0])]  # no effect
    pairs = [("a", "base"), ("b", "base"), ("c", "base")]
    rows = analysis.comparisons(
        _variants({"base": {1: base}, "a": {1: a}, "b": {1: b}, "c": {1: c}}), pairs, ["e"]
    )
    ra, rb = (next(r for r in rows if r["variant"] == n) for n in ("a", "b"))
    assert ra["p"] < 0.025 and ra["resolved"]
    assert 0.025 < rb["p"] < 0.05 and rb["ci95"][1] < 0  # excludes 0 unadjusted ...
    assert not rb["resolved"]  # ... but not after Holm over 3 comparisons


def test_one_seed_has_no_ci():
    v = _variants({"base": {1000: [2.0]}, "a": {1000: [1.9]}})
    (row,) = analysis.comparisons(v, [("a", "base")], ["e"])
    assert row["ci95"] is None and row["delta_bpb"] == pytest.approx(-0.1)


def test_multiplier_interpolates_and_never_extrapolates():
    # baseline: bpb falls 0.1 per doubling; variant a is 0.05 better everywhere (half a doubling: sqrt 2)
    ts = [1000, 2000, 4000, 8000]
    base = {t: [3.0 - 0.1 * i, 3.0 - 0.1 * i] for i, t in enumerate(ts)}
    a = {t: [x - 0.05 + 0.01, x - 0.05 - 0.01] for t, (x, _) in base.items()}
    v = _variants({"base": base, "a": a})
    comps = analysis.comparisons(v, [("a", "base")], ["e"])
    rows = {m["tokens"]: m for m in analysis.multipliers(v, comps, "base", ["e"])}
    assert rows[2000]["value"] == pytest.approx(math.sqrt(2), rel=1e-6)
    assert not rows[2000]["extrapolated"]
    lo, hi = rows[2000]["ci95"]
    assert lo < math.sqrt(2) < hi
    # at the top budget a is better than the baseline ever got: no number, a bound instead
    assert rows[8000]["extrapolated"] and rows[8000]["value"] is None and rows[8000]["bound"] == "> 1x"


def test_joint_fit_flags_a_short_grid_and_accepts_a_long_one():
    rng = np.random.default_rng(0)

    def curves(ts, noise, amp=40.0):
        law = {
            n: {t: [2.0 + amp * (m * t) ** -0.35 + rng.normal(0, noise) for _ in range(2)] for t in ts}
            for n, m in (("base", 1.0), ("a", 2.0))
        }
        return _variants(law)

    long = analysis.joint_fit(curves([2**k for k in range(10, 24)], 0.002), "base", "e")
    assert long["ok"], long["warnings"]
    assert long["beta"] == pytest.approx(0.35, rel=0.15)
    assert long["m"]["a"]["value"] == pytest.approx(2.0, rel=0.15)
    # the old demo's grid: less than a decade, a 0.15 bpb drop across it, 0.03 seed noise
    short = analysis.joint_fit(curves([25000, 50000, 100000, 200000], 0.03, amp=8.0), "base", "e")
    assert not short["ok"] and short["warnings"]


def _row(tokens, delta, ci, resolved, ev="e"):
    return {"variant": "d", "baseline": "p", "eval": ev, "tokens": tokens, "delta_bpb": delta, "ci95": ci,
            "resolved": resolved, "adjust": "holm", "p": 0.001 if resolved else 0.3}  # fmt: skip


def test_positive_control_passes_only_when_resolved_at_the_top_budget():
    comps = [_row(10, -0.1, [-0.2, 0.05], False), _row(20, -0.1, [-0.15, -0.05], True)]
    ctl = [{"name": "dup", "kind": "positive", "variant": "d", "baseline": "p", "eval": "e"}]
    (ok,) = analysis.check_controls(ctl, comps)
    assert ok["passed"] and ok["kind"] == "positive" and "20 tokens" in ok["detail"]
    comps[1]["resolved"] = False  # the unadjusted CI still excludes 0: not enough
    (bad,) = analysis.check_controls(ctl, comps)
    assert not bad["passed"] and "not sensitive enough" in bad["detail"]


def test_negative_control_fails_when_any_budget_or_domain_is_resolved():
    comps = [_row(10, 0.01, [-0.02, 0.04], False), _row(20, -0.02, [-0.05, 0.01], False, ev="f")]
    ctl = [{"name": "aa", "kind": "negative", "variant": "d", "baseline": "p", "eval": None}]
    (ok,) = analysis.check_controls(ctl, comps)
    assert ok["passed"] and ok["kind"] == "negative" and "none of 2 comparisons" in ok["detail"]
    comps[0].update(resolved=True, ci95=[0.005, 0.015])
    (bad,) = analysis.check_controls(ctl, comps)
    assert not bad["passed"] and "1 of 2" in bad["detail"]


def test_summary_names_each_repeating_point_once_with_its_epochs():
    pts = [
        {"tokens": t, "seed": s, "epochs": t / 1000, "bpb": {"e": 1.0}} for t in (500, 2000) for s in (0, 1)
    ]
    res = {
        "variants": {"rep": {"points": pts}},
        "comparisons": [],
        "multipliers": [],
        "controls": [],
        "evals": ["e"],
    }
    line = [x for x in analysis.summary_lines(res) if x.startswith("points that repeat")]
    assert line == ["points that repeat data (epochs > 1): rep@2,000 (2.0 epochs)"]
