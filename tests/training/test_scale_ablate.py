"""training/scale_ablate.py: a scale file becomes two ordinary ablation files on one tokens-per-parameter
grid, the second size reusing the first one's curated runs and tokenizer; mistakes are ConfigErrors."""

import pytest
import yaml

from training.errors import ConfigError
from training.scale_ablate import check_scale, load_scale, param_count, size_budgets

BASE = {
    "name": "sc",
    "kind": "scale",
    "sizes": ["micro", "tiny"],
    "tokens_per_param": [0.02, 0.01],
    "seeds": [0, 1],
    "variants": {
        "a": {"recipe": "a.yaml"},
        "b": {"recipe": "b.yaml"},
        "b2": {"run": "b", "pool_tokens": 512},
    },
    "eval_sets": [{"path": "ev.jsonl"}],
    "train": {"warmup_steps": 2},
}


def _file(tmp_path, **over):
    p = tmp_path / "scale.yaml"
    p.write_text(yaml.safe_dump({**BASE, **over}))
    return p


def test_budgets_follow_the_parameter_count_in_whole_steps():
    assert size_budgets([0.01, 0.02], 100_000, 256) == [1024, 2048]  # 1000 -> 4 steps, 2000 -> 8 steps
    assert param_count("tiny", 4096) > 2.5 * param_count("micro", 4096)


def test_both_sizes_share_the_grid_and_the_second_reads_the_first_ones_runs(tmp_path):
    small, large = check_scale(_file(tmp_path), out=str(tmp_path / "out"))
    assert (small.model, large.model) == ("micro", "tiny")
    n_s, n_l = param_count("micro", 4096), param_count("tiny", 4096)
    for b_s, b_l in zip(small.budgets, large.budgets):  # same tokens per parameter, within a step
        assert abs(b_s / n_s - b_l / n_l) < 256 / n_s
    assert large.tokenizer == str(tmp_path / "out" / "micro" / "tokenizer")
    assert large.variants["a"].run == str(tmp_path / "out" / "micro" / "runs" / "a")
    assert large.variants["b2"].run == large.variants["b"].run and large.variants["b2"].pool_tokens == 512
    assert not large.variants["a"].recipe  # curation runs once, with the first size


@pytest.mark.parametrize(
    "over, message",
    [
        ({"sizes": ["micro"]}, "sizes"),
        ({"sizes": ["micro", "huge"]}, "huge"),
        ({"tokens_per_param": [0]}, "tokens_per_param"),
        ({"model": "tiny"}, "model"),
        ({"budgets": [1000]}, "budgets"),
        ({"bogus": 1}, "bogus"),
    ],
)
def test_mistakes_are_config_errors_naming_the_key(tmp_path, over, message):
    with pytest.raises(ConfigError, match=message) as e:
        check_scale(_file(tmp_path, **over), out=str(tmp_path / "out"))
    assert "scale.yaml" in str(e.value)


def test_load_scale_keeps_the_ablation_keys_apart(tmp_path):
    sc = load_scale(_file(tmp_path))
    assert sc["tokens_per_param"] == [0.01, 0.02] and "sizes" not in sc["base"] and "kind" not in sc["base"]
