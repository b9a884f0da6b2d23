"""The `quality_classifier` op (curation/steps/classifier/op.py) with a real fastText model.

The model is trained once per module on the fixtures of tests/curation/steps/test_classifier_train.py (instruction
answers vs Python docs; licenses in tests/data/README.md). No mocks, no network.
Run: pytest tests/curation/steps/test_quality_classifier.py
"""

import math
from pathlib import Path

import fasttext
import pytest
from datatrove.data import Document

from curation.cli import main
from curation.steps.classifier.op import QualityClassifierFilter, load_normalization
from curation.steps.classifier.train import normalize_text
from tests.conftest import SAMPLE, read_output
from tests.curation.steps.test_classifier_train import train_small

ANSWER = "Yes, you can have 1 oatmeal banana protein shake and 4 strips of bacon for breakfast."
DOCSTRING = "Bisection algorithms. This module provides support for maintaining a list in sorted order."


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    path, _ = train_small(tmp_path_factory.mktemp("qc"))
    return path


def docs(texts):
    return [Document(text=t, id=str(i), metadata={}) for i, t in enumerate(texts)]


def test_scores_are_the_positive_probability_with_training_normalization(model):
    step = QualityClassifierFilter(str(model), "hq", "quality.fixture")
    raw = fasttext.load_model(str(model))
    text = ANSWER + "\n\n" + DOCSTRING
    labels, probs = raw.predict(normalize_text(text, step.norm), k=-1)
    expected = dict(zip(labels, probs))["__label__hq"]
    assert step.score_texts([text])[0] == pytest.approx(expected)
    cc = QualityClassifierFilter(str(model), "cc", "quality.x").score_texts([text])[0]
    assert cc + expected == pytest.approx(1.0, abs=1e-4)  # two labels, softmax
    assert all(0.0 <= s <= 1.0 for s in step.score_texts(["", "   \n"]))  # empty text: the prior, no crash


def test_run_annotates_kept_and_removed_docs_and_counts(model):
    step = QualityClassifierFilter(str(model), "hq", "quality.fixture", min_score=0.5, batch_size=2)
    batch = docs([ANSWER, DOCSTRING, ANSWER + " Enjoy!", DOCSTRING + " See also heapq."])
    single = [step.score_texts([d.text])[0] for d in batch]
    kept = list(step.run(iter(batch)))
    assert [d.metadata["quality.fixture"] for d in batch] == pytest.approx(single)  # batching changes nothing
    assert {d.id for d in kept} == {d.id for d, s in zip(batch, single) if s >= 0.5}
    assert single[0] > single[1] and single[2] > single[3]  # answers above docstrings
    stats = step.stats.stats
    assert stats["total"].total == 4 and stats["forwarded"].total == len(kept)
    assert stats["dropped_quality_score_low"].total == 4 - len(kept) > 0


def test_normalization_comes_from_the_card(tmp_path):
    path, card = train_small(tmp_path, normalization={"lowercase": True, "max_chars": 40})
    norm, on_disk = load_normalization(str(path))
    assert (norm.lowercase, norm.max_chars) == (True, 40) and on_disk == card
    step = QualityClassifierFilter(str(path), "hq", "quality.x")
    a, b = step.score_texts([ANSWER.upper(), ANSWER.lower() + " anything past the prefix"])
    assert a == b


def _recipe(model, **params):
    return {
        "name": "qc",
        "input": {"format": "jsonl", "path": str(SAMPLE)},
        "steps": [{"language_id": {}}, {"quality_classifier": {"model_path": str(model), **params}}],
        "output": {"keep_removed": True},
        "executor": {"tasks": 2},
    }


def test_recipe_min_score_records_threshold_and_removed_docs(model, run_recipe):
    code, run_dir, summary = run_recipe(_recipe(model, min_score=0.3))
    assert code == 0 and summary["invariant"]["ok"]
    step = summary["steps"][-1]
    assert step["name"] == "quality_classifier" and step["removed_by_reason"] == {
        "quality_score_low": step["removed"]
    }
    assert summary["thresholds"]["quality_classifier"] == {
        "quality.fixture": {"op": "min", "value": 0.3, "param": "min_score"}
    }
    kept = read_output(run_dir)
    assert kept and all(d["metadata"]["quality.fixture"] >= 0.3 for d in kept)
    removed = read_output_folder(run_dir / "removed" / "quality_classifier")
    assert len(removed) == step["removed"] and all(d["metadata"]["quality.fixture"] < 0.3 for d in removed)
    assert all(d["metadata"]["reason"] == "quality_score_low" for d in removed)


def test_recipe_keep_top_fraction_is_a_barrier_over_all_tasks(model, run_recipe):
    code, run_dir, summary = run_recipe(_recipe(model, keep_top_fraction=0.25))
    assert code == 0 and summary["invariant"]["ok"]
    n = summary["input"]["docs"]
    kept = read_output(run_dir)
    removed = read_output_folder(run_dir / "removed" / "quality_classifier")
    assert len(kept) + len(removed) == n
    kept_scores = [d["metadata"]["quality.fixture"] for d in kept]
    assert min(kept_scores) >= max(d["metadata"]["quality.fixture"] for d in removed)
    ties = sum(s == min(kept_scores) for s in kept_scores)
    assert (
        math.ceil(0.25 * n) <= len(kept) <= math.ceil(0.25 * n) + ties - 1
    )  # top 25% (ties at the cutoff kept)
    th = summary["thresholds"]["quality_classifier"]["quality.fixture"]
    assert th["value"] == pytest.approx(min(kept_scores)) and th["param"] == "min_score"
    assert all(d["metadata"]["reason"] == "quality_not_top" for d in removed)
    assert not any(k.startswith("_") for d in kept for k in d["metadata"])


def read_output_folder(folder: Path) -> list[dict]:
    import gzip
    import json

    out = []
    for path in sorted(folder.glob("*.jsonl.gz")):
        with gzip.open(path, "rt") as f:
            out += [json.loads(line) for line in f]
    return out


@pytest.mark.parametrize(
    "params, key, message",
    [
        ({"model_path": "nope/model.bin"}, "model_path", "model file not found"),
        ({"label": "good"}, "label", "has no label 'good'; its labels: "),
        ({"min_score": 0.5, "keep_top_fraction": 0.5}, "quality_classifier", "not both"),
        ({"keep_top_fraction": 0}, "keep_top_fraction", "greater than 0"),
        ({"model_path": str(SAMPLE)}, "model_path", "as a fastText model"),
    ],
)
def test_bad_params_exit_2_at_validation(model, write_recipe, capsys, params, key, message):
    recipe = _recipe(model, **params)
    recipe["steps"][1]["quality_classifier"] = {"model_path": str(model), **params}
    path = write_recipe(recipe)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {path}:") and message in err[0]
    assert f"steps[1].quality_classifier{'' if key == 'quality_classifier' else '.' + key}: " in err[0]


@pytest.mark.parametrize("keep_bytes", [5_000, 300_000])  # cut in the dictionary / in the weights
def test_truncated_model_is_an_error_not_a_hang(model, tmp_path, write_recipe, capsys, keep_bytes):
    """fastText's own loader never returns on a truncated .bin; the op checks the size its header implies."""
    cut = tmp_path / "cut.bin"
    cut.write_bytes(model.read_bytes()[:keep_bytes])
    recipe = _recipe(model)
    recipe["steps"][1]["quality_classifier"]["model_path"] = str(cut)
    assert main(["validate", str(write_recipe(recipe))]) == 2
    err = capsys.readouterr().err
    assert "steps[1].quality_classifier.model_path: " in err and "as a fastText model" in err
