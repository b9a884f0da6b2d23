"""Rank agreement between model sizes (training/transfer.py) on known answers."""

import numpy as np
import pytest

from training.transfer import bootstrap_ci, decision_agreement, kendall_tau, transfer


def test_kendall_tau_known_values():
    assert kendall_tau([1, 2, 3, 4], [10, 20, 30, 40]) == 1.0
    assert kendall_tau([1, 2, 3, 4], [4, 3, 2, 1]) == -1.0
    # 10 pairs, 6 concordant, 4 discordant: (6 - 4) / 10 (scipy.stats.kendalltau gives 0.2 too)
    assert kendall_tau([1, 2, 3, 4, 5], [3, 4, 1, 2, 5]) == pytest.approx(0.2)


def test_kendall_tau_b_with_ties():
    # one tie in each list: tau-b = (4 - 0) / sqrt(5 * 5) = 0.8 (scipy.stats.kendalltau: 0.8)
    assert kendall_tau([1, 1, 2, 3], [1, 2, 2, 3]) == pytest.approx(0.8)
    assert kendall_tau([1, 1, 1], [1, 2, 3]) is None  # no untied pair in x: undefined


def test_decision_agreement_counts_pairs_ordered_alike():
    # one adjacent swap among 4 variants: 5 of 6 pairs agree
    assert decision_agreement([1, 2, 4, 3], [1, 2, 3, 4]) == pytest.approx(5 / 6)
    assert decision_agreement([4, 3, 2, 1], [1, 2, 3, 4]) == 0.0
    # a pair tied at the small size is a coin flip (half right); a pair tied at the large size is skipped
    assert decision_agreement([1, 1, 3], [1, 2, 3]) == pytest.approx(2.5 / 3)
    assert decision_agreement([1, 2, 3], [1, 1, 3]) == 1.0


def test_decision_agreement_is_half_of_one_plus_tau_without_ties():
    rng = np.random.default_rng(1)
    for _ in range(20):
        a, b = list(rng.normal(size=6)), list(rng.normal(size=6))
        assert decision_agreement(a, b) == pytest.approx((1 + kendall_tau(a, b)) / 2)


def _scores(means, seeds, noise, rng):
    return {f"v{i}": {s: m + noise * rng.normal() for s in seeds} for i, m in enumerate(means)}


def test_bootstrap_ci_is_a_point_without_seed_noise():
    rng = np.random.default_rng(0)
    small = _scores([1, 2, 3, 4], range(4), 0.0, rng)
    large = _scores([1, 2, 4, 3], range(4), 0.0, rng)
    assert bootstrap_ci(small, large, kendall_tau, n_boot=200) == [pytest.approx(2 / 3, abs=1e-4)] * 2


def test_bootstrap_ci_widens_with_noise_and_excludes_zero_for_reversed_rankings():
    rng = np.random.default_rng(0)
    clear_s = _scores([1, 2, 3, 4, 5], range(6), 0.05, rng)
    clear_l = _scores([5, 4, 3, 2, 1], range(6), 0.05, rng)
    lo, hi = bootstrap_ci(clear_s, clear_l, kendall_tau, n_boot=500)
    assert hi < 0  # reversed rankings, well separated: tau clearly negative
    noisy_s = _scores([1, 1.01, 1.02, 1.03, 1.04], range(6), 1.0, rng)
    noisy_l = _scores([1, 1.01, 1.02, 1.03, 1.04], range(6), 1.0, rng)
    lo, hi = bootstrap_ci(noisy_s, noisy_l, kendall_tau, n_boot=500)
    assert lo < 0 < hi  # differences far below the seed noise: agreement cannot be told from chance


def _results(means: dict[str, list[float]], tokens: list[int], seeds=(0, 1, 2)) -> dict:
    """A results.json-shaped dict: means[v][k] = bpb at tokens[k] (every seed alike)."""
    return {
        "variants": {
            v: {
                "points": [
                    {"tokens": t, "seed": s, "bpb": {"en": m[k]}} for k, t in enumerate(tokens) for s in seeds
                ]
            }
            for v, m in means.items()
        }
    }


def test_transfer_rows_pair_top_budgets_and_each_matched_budget():
    small = _results({"a": [3.0, 2.0], "b": [3.1, 2.1], "c": [3.2, 2.2]}, [1000, 2000])
    large = _results({"a": [2.9, 1.9], "b": [2.7, 1.8], "c": [3.0, 2.0]}, [3000, 6000])
    (row,) = transfer({"micro": small, "tiny": large}, ["micro", "tiny"], ["en"])
    assert row["sizes"] == ["micro", "tiny"] and row["tokens"] == [2000, 6000]
    # micro ranks a < b < c, tiny b < a < c: one of three pairs swapped
    assert row["kendall_tau"] == pytest.approx(1 / 3, abs=1e-4)
    assert row["decision_agreement"] == pytest.approx(2 / 3, abs=1e-4)
    assert row["ranking"] == {"micro": ["a", "b", "c"], "tiny": ["b", "a", "c"]}
    assert [b["tokens"] for b in row["by_budget"]] == [[1000, 3000], [2000, 6000]]
    assert row["ci95"] == [pytest.approx(1 / 3, abs=1e-4)] * 2  # no seed noise


def test_transfer_skips_a_domain_with_fewer_than_two_shared_variants():
    small = _results({"a": [3.0], "b": [3.1]}, [1000])
    large = _results({"a": [2.9]}, [3000])
    assert transfer({"micro": small, "tiny": large}, ["micro", "tiny"], ["en"]) == []
