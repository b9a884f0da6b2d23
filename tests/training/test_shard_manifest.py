"""Token-shard folders are rootstock's only by their manifest: re-tokenizing replaces exactly the files
the previous tokenization listed, a user's file in `--out` survives, a non-empty foreign folder is
refused with one line (exit 2), and a planted file or symlink with a shard's name is never overwritten.

Run: `.venv/bin/python -m pytest tests/training/test_shard_manifest.py`
"""

import json
import os
import shutil

import numpy as np
import pytest

from training.cli import main
from training.errors import ConfigError
from training.shards import tokenize_run


def test_retokenizing_replaces_only_what_the_manifest_lists(run_dir, tokenizer_dir, tmp_path):
    out = tmp_path / "tok"
    tokenize_run(run_dir, tokenizer_dir, out, val_fraction=0.2, shard_tokens=2000)
    listed = json.loads((out / "manifest.json").read_text())
    assert listed["rootstock"] == "token-shards" and "train_00000.npy" in listed["files"]
    np.save(out / "my_embeddings.npy", np.arange(3))  # the user's, added afterwards
    tokenize_run(run_dir, tokenizer_dir, out, val_fraction=0.2, shard_tokens=10**9)  # fewer, bigger shards
    assert np.load(out / "my_embeddings.npy").tolist() == [0, 1, 2]
    assert not (out / "train_00001.npy").exists()  # the old run's extra shard is gone
    names = set(json.loads((out / "manifest.json").read_text())["files"])
    assert {p.name for p in out.iterdir()} == names | {"manifest.json", "my_embeddings.npy"}


def test_a_foreign_folder_is_refused_and_left_alone(run_dir, tokenizer_dir, tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    np.save(out / "my_embeddings.npy", np.arange(3))
    with pytest.raises(ConfigError, match="not empty"):
        tokenize_run(run_dir, tokenizer_dir, out)
    assert main(["tokenize", str(run_dir), "--tokenizer", tokenizer_dir, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(out) in err
    assert [p.name for p in out.iterdir()] == ["my_embeddings.npy"]


def test_a_planted_shard_name_is_not_overwritten(run_dir, tokenizer_dir, tmp_path):
    out = tmp_path / "tok"
    tokenize_run(run_dir, tokenizer_dir, out, val_fraction=0.2)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    manifest = json.loads((out / "manifest.json").read_text())
    (out / "manifest.json").write_text(json.dumps({**manifest, "files": ["index.json"]}))  # shards unlisted
    (out / "train_00000.npy").unlink()
    os.symlink(victim, out / "train_00000.npy")  # planted where the next shard goes
    with pytest.raises(ConfigError, match="train_00000.npy already exists"):
        tokenize_run(run_dir, tokenizer_dir, out, val_fraction=0.2)
    assert victim.read_text() == "precious"


def _victim_and_cut_short_folder(tmp_path):
    """A user's file outside, and a token folder whose manifest lists nothing yet (a run cut short)."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out = tmp_path / "tok"
    out.mkdir()
    (out / "manifest.json").write_text(json.dumps({"rootstock": "token-shards", "files": []}))
    return victim, out


def test_a_planted_tokenizer_link_is_not_written_through(run_dir, tokenizer_dir, tmp_path, capsys):
    """The tokenizer copy (tokenized/tokenizer/) and the trained BPE (RUN/tokenizer/) are written by
    transformers' save_pretrained, which opens with open(path, "w"): a symlinked folder or a hard-linked
    tokenizer.json there would send the files elsewhere or truncate another name's bytes."""
    victim_dir = tmp_path / "elsewhere"
    victim_dir.mkdir()
    victim, out = _victim_and_cut_short_folder(tmp_path)
    os.symlink(victim_dir, out / "tokenizer")
    with pytest.raises(ConfigError, match="tokenizer: is a symlink"):
        tokenize_run(run_dir, tokenizer_dir, out, val_fraction=0.2)
    assert list(victim_dir.iterdir()) == []
    # the run's own BPE folder: a hard-linked tokenizer.json is replaced by name, its other name kept
    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    (run / "tokenizer").mkdir()
    os.link(victim, run / "tokenizer" / "tokenizer.json")
    assert (
        main(["tokenize", str(run), "--vocab-size", "300", "--retrain", "--out", str(tmp_path / "t2")]) == 0
    )
    assert victim.read_text() == "precious"
    assert (run / "tokenizer" / "tokenizer.json").stat().st_nlink == 1
    # a symlinked RUN/tokenizer is refused with one line, exit 2, and nothing lands behind it
    shutil.rmtree(run / "tokenizer")
    os.symlink(victim_dir, run / "tokenizer")
    capsys.readouterr()
    assert main(["tokenize", str(run), "--vocab-size", "300", "--out", str(tmp_path / "t3")]) == 2
    assert "tokenizer: is a symlink" in capsys.readouterr().err
    assert list(victim_dir.iterdir()) == []


@pytest.mark.parametrize(
    ("damage", "key"),
    [
        (lambda ix: ["x"], "index"),
        (lambda ix: {**ix, "splits": "x"}, "splits"),
        (lambda ix: {**ix, "vocab_size": 10**30}, "vocab_size"),  # was a 40-line torch backtrace
        (lambda ix: {**ix, "eot_id": -1}, "eot_id"),
        (lambda ix: {**ix, "dtype": "object"}, "dtype"),
        (lambda ix: {**ix, "train_keys": "/etc/passwd"}, "train_keys"),
        (
            lambda ix: {**ix, "splits": {**ix["splits"], "train": {"shards": [{"file": "../../x.npy"}]}}},
            r"splits\.train\.shards\[0\]",
        ),
        (
            lambda ix: {
                **ix,
                "splits": {**ix["splits"], "train": {**ix["splits"]["train"], "tokens": 10**20}},
            },
            r"splits\.train\.tokens",
        ),
        (lambda ix: "[" * 100_000 + "]" * 100_000, "not readable as JSON"),
    ],
)
def test_a_damaged_index_json_is_one_line_naming_the_key(
    run_dir, tokenizer_dir, tmp_path, capsys, damage, key
):
    """index.json is read from disk by `curate train`/`eval`: a wrong type, an out-of-range number, a shard
    path that leaves the folder or JSON nested too deep is `index.json: key: message`, exit 2."""
    from training.shards import load_index

    out = tmp_path / "tok"
    tokenize_run(run_dir, tokenizer_dir, out, val_fraction=0.2)
    damaged = damage(json.loads((out / "index.json").read_text()))
    (out / "index.json").write_text(damaged if isinstance(damaged, str) else json.dumps(damaged))
    with pytest.raises(ConfigError, match=f"index.json: {key}"):
        load_index(out)
    cfg = tmp_path / "train.yaml"
    cfg.write_text(
        f"data: {out}\nout_dir: {tmp_path / 'model'}\nmodel: micro\ntokens: 64\nseq_len: 16\nquiet: true\n"
    )
    capsys.readouterr()
    assert main(["train", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "index.json: " in err and "Traceback" not in err


def test_a_planted_index_link_is_refused_with_exit_2(run_dir, tmp_path, capsys):
    """A symlinked index.json in a token folder rootstock wrote is refused like a bad argument (exit 2,
    one line), and the file it points to keeps its bytes."""
    victim, out = _victim_and_cut_short_folder(tmp_path)
    os.symlink(victim, out / "index.json")
    capsys.readouterr()
    assert main(["tokenize", str(run_dir), "--vocab-size", "300", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "index.json" in err[0], err
    assert victim.read_text() == "precious"
