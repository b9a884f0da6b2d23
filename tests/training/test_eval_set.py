"""Eval sets: `curate eval` sets an unreadable line aside (counted, file:line in eval.json) instead of
aborting; it writes eval.json after each set, so a later failure keeps the finished ones; `--max-tokens`
samples whole documents across the file, not its first ones. The ablation's hold-outs stay strict (a
malformed line is a ConfigError naming file:line).

Run: `.venv/bin/python -m pytest tests/training/test_eval_set.py`
"""

import gzip
import json

import pytest

from tests.training.conftest import HELDOUT
from training.cli import main
from training.data import read_eval_set, read_jsonl
from training.errors import ConfigError
from training.evaluate import take_sample
from training.shards import tokenize_run
from training.train import TrainConfig, train


def test_malformed_eval_line_is_an_error_without_a_bad_list(tmp_path):
    path = tmp_path / "heldout.jsonl.gz"
    with gzip.open(path, "wt") as f:
        f.write('{"text": "one"}\n{"text": "two"\n{"text": "three"}\n')
    with pytest.raises(ConfigError, match=r"heldout\.jsonl\.gz:2: malformed JSON line"):
        read_eval_set(path)
    bad: list[str] = []
    assert [d["text"] for d in read_eval_set(path, bad=bad)] == ["one", "three"]
    assert len(bad) == 1 and bad[0].endswith(
        "heldout.jsonl.gz:2: malformed JSON line (Expecting ',' delimiter)"
    )
    path2 = tmp_path / "list.jsonl"
    path2.write_text('{"text": "one"}\n["not", "an", "object"]\n{"txt": "x"}\n')
    with pytest.raises(ConfigError, match=r"list\.jsonl:2: a JSON list, not an object"):
        read_eval_set(path2)
    bad = []
    read_eval_set(path2, bad=bad)
    assert [b.split("list.jsonl:")[1] for b in bad] == [
        "2: a JSON list, not an object",
        "3: no 'text' string",
    ]


def test_training_data_reader_still_skips_bad_lines(tmp_path):
    path = tmp_path / "shard.jsonl"
    path.write_text('{"text": "one"}\nnot json\n[1]\n{"text": "two"}\n')
    assert [d["text"] for d in read_jsonl(path)] == ["one", "two"]


def test_max_tokens_samples_across_the_file():
    # a file sorted by language: 50 documents of "a", then 50 of "b", 10 tokens each
    encoded = [({"id": f"{lang}-{i}"}, [0] * 10) for lang in "ab" for i in range(50)]
    chosen = take_sample(encoded, max_tokens=200)
    ids = [i for i, c in chosen.items() if c]
    assert len(ids) == 20
    assert 5 <= sum(i.startswith("a") for i in ids) <= 15  # both halves, not the first 20 of "a"
    assert take_sample(encoded, max_tokens=200) == chosen  # the same file gives the same sample
    assert all(take_sample(encoded, max_tokens=1000).values())  # fits: the whole set


@pytest.fixture(scope="module")
def checkpoint(run_dir, tokenizer_dir, tmp_path_factory):
    data = tmp_path_factory.mktemp("tokenized")
    tokenize_run(run_dir, tokenizer_dir, data, val_fraction=0.05)
    out = tmp_path_factory.mktemp("train")
    train(TrainConfig(data=str(data), out_dir=str(out), model="micro", tokens=2 * 64, seq_len=32, micro_batch=2,
                      eval_sets=[], val_max_tokens=50, quiet=True))  # fmt: skip
    return str(out / "checkpoint")


def test_curate_eval_sets_bad_lines_aside_and_keeps_finished_sets(checkpoint, tmp_path, capsys):
    good = tmp_path / "good.jsonl"
    lines = [
        json.dumps({"id": f"d{i}", "text": f"Article {i}. Everyone has the right to rest."}) for i in range(5)
    ]
    good.write_text("\n".join(lines[:2] + ['{"text": broken'] + lines[2:]) + "\n")
    out = tmp_path / "eval.json"
    assert main(["eval", checkpoint, "--data", str(good), "--data", HELDOUT, "--out", str(out)]) == 0
    rec = json.loads(out.read_text())
    assert rec["eval_sets"]["good"]["docs"] == 5 and rec["complete"] is True
    assert rec["eval_sets"]["good"]["bad_lines"]["count"] == 1
    assert rec["eval_sets"]["good"]["bad_lines"]["first"][0].startswith(f"{good}:3: malformed JSON line")
    assert "1 unreadable lines set aside" in capsys.readouterr().out
    empty = tmp_path / "empty.jsonl"
    empty.write_text("not json\n")
    assert main(["eval", checkpoint, "--data", str(good), "--data", str(empty), "--out", str(out)]) == 2
    rec = json.loads(out.read_text())  # the first set's result survived the second set's failure
    assert rec["complete"] is False and list(rec["eval_sets"]) == ["good"]
