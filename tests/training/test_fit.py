"""Scaling fits and the effective-data multiplier: recovery of known parameters from synthetic
points, refusal on too few budgets, and known-answer multipliers.

Run: pytest tests/training/test_fit.py
"""

import numpy as np
import pytest

from training.fit import effective_multiplier, fit_power_law, predict, tokens_for_loss


def test_fit_recovers_known_parameters():
    rng = np.random.default_rng(0)
    D = np.repeat([1e5, 2e5, 4e5, 8e5, 1.6e6, 3.2e6], 2)  # 6 budgets x 2 seeds
    E, B, beta = 2.0, 300.0, 0.45
    L = E + B * D**-beta + rng.normal(0, 0.002, len(D))
    f = fit_power_law(D, L)
    assert f["ok"], f["warnings"]
    assert f["E"] == pytest.approx(E, abs=0.05)
    assert f["beta"] == pytest.approx(beta, rel=0.1)
    assert predict(f, 5e5) == pytest.approx(E + B * 5e5**-beta, abs=0.005)
    assert f["r2"] > 0.999


def test_fit_flags_or_refuses_few_points():
    assert fit_power_law([1e5, 1e5, 2e5], [3.0, 3.1, 2.9])["E"] is None  # 2 budgets: no numbers
    f = fit_power_law([1e5, 2e5, 4e5], [3.0, 2.8, 2.7])
    assert f["E"] is not None and not f["ok"]
    assert any("3 distinct budgets" in w for w in f["warnings"])


def test_effective_multiplier_known_answer():
    a = {"E": 2.0, "B": 10.0, "beta": 0.5}
    b = {"E": 2.0, "B": 20.0, "beta": 0.5}
    # 10/sqrt(D) = 20/sqrt(D_b)  =>  D_b = 4 D
    r = effective_multiplier(a, b, 1e4, range_a=(1e3, 1e5), range_b=(1e3, 1e5))
    assert r["multiplier"] == pytest.approx(4.0) and not r["extrapolated"]
    assert tokens_for_loss(b, predict(a, 1e4)) == pytest.approx(4e4)
    # beyond B's trained range -> flagged
    assert effective_multiplier(a, b, 1e5, range_a=(1e3, 1e5), range_b=(1e3, 1e5))["extrapolated"]
    # A below B's floor: no amount of B matches
    r = effective_multiplier({"E": 1.0, "B": 10.0, "beta": 0.5}, b, 1e6)
    assert r["multiplier"] is None and "floor" in r["note"]
