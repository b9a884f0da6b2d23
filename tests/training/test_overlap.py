"""Eval documents the model trained on are refused (by id and by exact text) unless allowed, and then
reported in eval.json; a budget past the data says how many epochs it is; the shipped example config
evaluates on text outside its training input.

Run: pytest tests/training/test_overlap.py
"""

import json
from pathlib import Path

import pytest
import yaml

from tests.training.conftest import HELDOUT, SAMPLE, sample_docs
from training.cli import main
from training.data import read_jsonl, write_jsonl_gz
from training.errors import ConfigError
from training.shards import tokenize_run
from training.train import TrainConfig, load_config, train

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def data(run_dir, tokenizer_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("tokenized")
    tokenize_run(run_dir, tokenizer_dir, folder, val_fraction=0.05)
    return folder


def _cfg(data, out, **kw) -> TrainConfig:
    base = {"data": str(data), "out_dir": str(out), "model": "micro", "tokens": 4 * 64, "seq_len": 32,
            "micro_batch": 2, "eval_max_tokens": 300, "val_max_tokens": 100, "quiet": True}  # fmt: skip
    return TrainConfig(**{**base, **kw})


def _renamed_copy(tmp_path) -> Path:
    """Three training texts under new ids plus one new text: found by text, not by id."""
    docs = [{"id": f"other-{i}", "text": d["text"]} for i, d in enumerate(sample_docs()[:3])]
    path = tmp_path / "copied.jsonl.gz"
    write_jsonl_gz(path, docs + [{"id": "new", "text": "A sentence written for this test alone."}])
    return path


def test_tokenize_writes_the_train_splits_keys(data):
    index = json.loads((data / "index.json").read_text())
    import numpy as np

    keys = np.load(data / index["train_keys"])
    assert keys.shape == (index["splits"]["train"]["docs"], 2)


def test_training_refuses_an_eval_set_it_trains_on(data, tmp_path):
    with pytest.raises(
        ConfigError, match=r"eval set 'web_sample': \d+ of 231 documents are in the training data"
    ):
        train(_cfg(data, tmp_path / "a", eval_sets=[SAMPLE]))
    with pytest.raises(ConfigError, match=r"'copied': 3 of 4 documents .*\(0 by id, 3 by exact text"):
        train(_cfg(data, tmp_path / "b", eval_sets=[str(_renamed_copy(tmp_path))]))
    assert not (tmp_path / "a" / "eval.json").exists()  # refused before any compute


def test_allowed_overlap_warns_and_is_reported(data, tmp_path, capsys):
    rec = train(_cfg(data, tmp_path / "o", eval_sets=[SAMPLE, HELDOUT], allow_eval_overlap=True))
    assert "WARNING: eval set 'web_sample'" in capsys.readouterr().err
    ov = json.loads((tmp_path / "o" / "eval.json").read_text())["eval_overlap"]
    assert ov["web_sample"]["in_training"] == rec["eval_overlap"]["web_sample"]["in_training"] > 200
    assert ov["web_sample"]["by_id"] > 200 and ov["web_sample"]["by_text"] > 200
    assert ov["roots_udhr"] == {**ov["roots_udhr"], "in_training": 0, "docs": 104}


def test_curate_eval_refuses_overlap_unless_allowed(data, tmp_path, capsys):
    train(_cfg(data, tmp_path / "o", eval_sets=[]))
    ckpt = str(tmp_path / "o" / "checkpoint")
    copied = str(_renamed_copy(tmp_path))
    assert main(["eval", ckpt, "--data", copied, "--out", str(tmp_path / "e.json")]) == 2
    assert "3 of 4 documents are in the training data" in capsys.readouterr().err
    assert not (tmp_path / "e.json").exists()
    assert main(["eval", ckpt, "--data", copied, "--out", str(tmp_path / "e.json"), "--allow-overlap"]) == 0
    assert json.loads((tmp_path / "e.json").read_text())["eval_overlap"]["copied"]["by_text"] == 3


def test_a_budget_past_the_data_prints_its_epochs(data, tmp_path, capsys):
    train(_cfg(data, tmp_path / "o", tokens=4 * 64, quiet=False, pool_tokens=64))
    out = capsys.readouterr().out
    assert "4.0 epochs of the 64-token train split" in out


def test_example_config_evaluates_on_text_outside_its_training_input():
    cfg = load_config(ROOT / "recipes" / "train" / "tiny.yaml")
    sample_recipe = yaml.safe_load((ROOT / "recipes" / "sample.yaml").read_text())
    train_docs = list(read_jsonl(ROOT / sample_recipe["input"]["path"]))
    ids, texts = {d["id"] for d in train_docs}, {d["text"] for d in train_docs}
    for path in cfg.eval_sets:
        docs = list(read_jsonl(ROOT / path))
        assert docs and not any(d["id"] in ids or d["text"] in texts for d in docs), path


def test_a_damaged_index_of_the_checkpoints_data_is_an_error_not_an_unchecked_overlap(tmp_path):
    """curate eval checks eval sets against the data a checkpoint trained on: data that is gone is
    reported as not checked, but a present, damaged index.json is one ConfigError naming the key (it
    used to switch the check off with a warning saying the data was gone)."""
    from training.evaluate import checkpoint_overlap

    ckpt, data = tmp_path / "ckpt", tmp_path / "tok"
    ckpt.mkdir()
    (ckpt / "train_config.json").write_text(json.dumps({"data": str(data)}))
    held = tmp_path / "held.jsonl"
    held.write_text(json.dumps({"id": "a", "text": "some held out text"}) + "\n")
    gone = checkpoint_overlap(ckpt, [str(held)])
    assert [r["checked"] for r in gone.values()] == [False]
    data.mkdir()
    (data / "index.json").write_text(json.dumps({"splits": [1]}))
    with pytest.raises(ConfigError, match="index.json"):
        checkpoint_overlap(ckpt, [str(held)])
