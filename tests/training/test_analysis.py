"""Known answers for training/analysis.py: pooled paired CIs, multipliers read off the measured curve
(never extrapolated), the joint fit's conditioning flag, and controls that pass or fail."""

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


def test_pooled_paired_ci_known_answer():
    v = _variants(
        {
            "base": {1000: [2.0, 2.1]},
            "a": {1000: [1.9, 2.1]},  # diffs -0.1, 0.0: mean -0.05
            "b": {1000: [2.2, 2.2]},  # diffs +0.2, +0.1: mean +0.15
        }
    )
    rows = analysis.comparisons(v, [("a", "base"), ("b", "base")], ["e"])
    a = next(r for r in rows if r["variant"] == "a")
    # pooled variance: residuals +-0.05 in both comparisons -> ss = 4 * 0.0025, df = 2
    s2 = 4 * 0.0025 / 2
    half = stats.t.ppf(0.975, 2) * math.sqrt(s2 / 2)
    assert a["delta_bpb"] == pytest.approx(-0.05)
    assert a["ci95"] == pytest.approx([-0.05 - half, -0.05 + half])
    assert a["ci_df"] == 2
    own = stats.t.ppf(0.975, 1) * math.sqrt(0.005 / 2)
    assert a["ci95_unpooled"] == pytest.approx([-0.05 - own, -0.05 + own])


def test_identical_runs_do_not_shrink_the_pooled_variance():
    curves = {"base": {1000: [2.0, 2.1]}, "a": {1000: [1.9, 2.1]}, "b": {1000: [2.2, 2.2]}}
    same = _variants({**curves, "copy": {1000: [2.0, 2.1]}})  # same data as base: diffs 0, 0
    rows = analysis.comparisons(same, [("a", "base"), ("b", "base"), ("copy", "base")], ["e"])
    a = next(r for r in rows if r["variant"] == "a")
    ref = analysis.comparisons(_variants(curves), [("a", "base"), ("b", "base")], ["e"])
    assert a["ci95"] == pytest.approx(next(r for r in ref if r["variant"] == "a")["ci95"])
    assert a["ci_df"] == 2


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


def test_controls_pass_only_when_the_ci_excludes_zero():
    comps = [
        {"variant": "d", "baseline": "p", "eval": "e", "tokens": 10, "delta_bpb": -0.1, "ci95": [-0.2, 0.05]},
        {
            "variant": "d",
            "baseline": "p",
            "eval": "e",
            "tokens": 20,
            "delta_bpb": -0.1,
            "ci95": [-0.15, -0.05],
        },
    ]
    ctl = [{"name": "dup", "variant": "d", "baseline": "p", "eval": "e"}]
    (ok,) = analysis.check_controls(ctl, comps)
    assert ok["passed"] and "20 tokens" in ok["detail"]
    comps[1]["ci95"] = [-0.2, 0.01]
    (bad,) = analysis.check_controls(ctl, comps)
    assert not bad["passed"] and "not sensitive enough" in bad["detail"]


def test_summary_names_each_repeating_point_once_with_its_epochs():
    pts = [{"tokens": t, "seed": s, "epochs": t / 1000, "bpb": {"e": 1.0}} for t in (500, 2000) for s in (0, 1)]
    res = {"variants": {"rep": {"points": pts}}, "comparisons": [], "multipliers": [], "controls": [], "evals": ["e"]}
    line = [x for x in analysis.summary_lines(res) if x.startswith("points that repeat")]
    assert line == ["points that repeat data (epochs > 1): rep@2,000 (2.0 epochs)"]
