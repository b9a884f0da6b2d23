"""Muennighoff et al.'s data-constrained prediction and the repetition study's A/A tally
(training/repetition.py), on known answers."""

import math

import pytest

from training.repetition import (
    MUENNIGHOFF_FIT,
    aa_comparisons,
    effective,
    predicted_loss,
    predicted_worth,
    repetition_report,
)


def test_predicted_loss_matches_the_papers_released_examples():
    # the two models of their Figure 1 (right), values printed in the authors' released fit
    assert predicted_loss(6.34e9, 242e9, 25e9) == pytest.approx(2.2256440889984477, rel=1e-9)
    assert predicted_loss(8.67e9, 178e9, 25e9) == pytest.approx(2.2269634075087867, rel=1e-9)


def test_effective_count_saturates_at_one_plus_r_star():
    assert effective(100, 0, 15.4) == 100
    assert effective(100, 1e6, 15.4) == pytest.approx(100 * 16.4)


def test_data_term_worth_is_d_prime_over_d():
    d, u = 131072, 131072 / 5  # 5 epochs: R_D = 4
    r_star = MUENNIGHOFF_FIT["R_D_star"]
    expected = (u + u * r_star * (1 - math.exp(-4 / r_star))) / d
    assert predicted_worth(4.6e5, d, u, data_only=True) == pytest.approx(expected, rel=1e-6)


def test_fresh_data_is_worth_one_and_the_parameter_term_lowers_worth():
    assert predicted_worth(4.6e5, 131072, 131072) == pytest.approx(1.0, rel=1e-6)
    full, data = predicted_worth(4.6e5, 131072, 8192), predicted_worth(4.6e5, 131072, 8192, data_only=True)
    assert full < data < 1  # 0.46M parameters far exceed what 8k unique tokens can use


def _variants(fresh: list[float], rep: list[float], tokens=(1000, 4000), pool=2000) -> dict:
    """fresh/rep bpb per seed (same at every budget); rep repeats past `pool` tokens."""

    def pts(vals, pooled):
        return [{"tokens": t, "seed": s, "epochs": t / pool if pooled else 0.1, "bpb": {"en": x + t * 0}}
                for t in tokens for s, x in enumerate(vals)]  # fmt: skip

    return {"fresh": {"points": pts(fresh, False)}, "rep": {"points": pts(rep, True)}}


def test_aa_comparisons_keep_only_sub_epoch_budgets_and_count_exclusions():
    v = _variants([3.0, 3.1, 3.2, 3.3], [3.5, 3.6, 3.7, 3.8])  # rep worse by exactly 0.5 at every seed
    aa = aa_comparisons(v, "fresh", ["en"])
    assert [r["tokens"] for r in aa["rows"]] == [1000]  # 4000 tokens = 2 epochs of the pool: not A/A
    assert aa["comparisons"] == 1 and aa["excluding_0"] == 1
    same = aa_comparisons(_variants([3.0, 3.1, 3.2, 3.3], [3.1, 3.0, 3.3, 3.2]), "fresh", ["en"])
    assert same["excluding_0"] == 0


def test_repetition_report_lists_each_pool_with_both_predictions():
    res = {"variants": _variants([3.0, 3.1], [3.0, 3.1]), "budgets": [1000, 4000], "baseline": "fresh",
           "evals": ["en"]}  # fmt: skip
    rep = repetition_report(res, {"rep": 2000}, 4.6e5)
    (row,) = rep["prediction"]
    assert row["epochs"] == 2.0 and row["predicted_worth"] < row["predicted_worth_data_term"] <= 1
    assert "Muennighoff" in rep["notice"] and repetition_report(res, {}, 4.6e5) is None
