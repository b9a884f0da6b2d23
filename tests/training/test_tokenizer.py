"""Tokenizer and token shards: BPE round trip, transformers loading, deterministic split, exclusion.

Run: pytest tests/training/test_tokenizer.py
"""

import json

import numpy as np
from transformers import PreTrainedTokenizerFast

from training.data import id_fraction
from training.shards import load_index, load_split, tokenize_run
from training.tokenizer import EOT, load_tokenizer

TEXTS = [
    'The "assert" statement\n\n   assert_stmt ::= "assert" expression',
    "  leading spaces, trailing tabs\t\t\n\n\nand blank lines  ",
    "Größenwahn, naïve café — “quotes” and ‘more’ …",
    "日本語のテキストと中文文本，还有한국어.",
    "emoji 🧪🚀 and a zero-width joiner 👩‍💻, control \x00 \x7f",
]


def test_round_trip_and_transformers_loading(tokenizer_dir):
    tok = load_tokenizer(tokenizer_dir)
    assert isinstance(tok, PreTrainedTokenizerFast)
    assert tok.eos_token == EOT and tok.eos_token_id == 0 and len(tok) == 512
    for text in TEXTS:
        ids = tok.encode(text, add_special_tokens=False)
        assert tok.decode(ids) == text  # byte-level: exact, no <unk>
    # the folder loads with plain transformers, offline
    again = PreTrainedTokenizerFast.from_pretrained(tokenizer_dir, local_files_only=True)
    assert again.encode(TEXTS[0]) == tok.encode(TEXTS[0])


def test_tokenize_run_split_is_by_id_hash(run_dir, tokenizer_dir, tmp_path):
    index = tokenize_run(run_dir, tokenizer_dir, tmp_path / "a", val_fraction=0.2, max_docs=100)
    again = tokenize_run(run_dir, tokenizer_dir, tmp_path / "b", val_fraction=0.2, max_docs=100)
    assert index["splits"]["validation"]["docs"] > 0 and index["splits"]["train"]["docs"] > 0
    assert index["splits"] == again["splits"]  # deterministic
    folder, idx = load_index(tmp_path / "a")
    assert idx == json.loads((tmp_path / "a" / "index.json").read_text())
    train = load_split(folder, idx, "train")
    assert train[0].dtype == np.uint16 and int(train[0][0]) == idx["eot_id"]
    assert sum(len(a) for a in train) == idx["splits"]["train"]["tokens"]


def test_tokenize_run_excludes_eval_ids(run_dir, tokenizer_dir, tmp_path):
    from tests.training.conftest import sample_docs

    docs = sample_docs()
    held = {d["id"] for d in docs if id_fraction(d["id"], "eval") < 0.1}
    full = tokenize_run(run_dir, tokenizer_dir, tmp_path / "full", val_fraction=0.0)
    cut = tokenize_run(run_dir, tokenizer_dir, tmp_path / "cut", val_fraction=0.0, exclude_ids=held)
    assert cut["excluded"]["docs"] == len(held) > 0
    assert cut["splits"]["train"]["docs"] == full["splits"]["train"]["docs"] - len(held)


def test_curate_tokenize_cli(tmp_path):
    from tests.training.conftest import make_run, sample_docs
    from training.cli import main

    run = make_run(tmp_path / "run", sample_docs()[:60])
    assert (
        main(["tokenize", run, "--vocab-size", "300", "--sample-bytes", "100000", "--val-fraction", "0.1"])
        == 0
    )
    index = json.loads((tmp_path / "run" / "tokenized" / "index.json").read_text())
    assert index["vocab_size"] == 300 and index["splits"]["train"]["tokens"] > 0
    assert isinstance(load_tokenizer(tmp_path / "run" / "tokenizer"), PreTrainedTokenizerFast)
    assert load_tokenizer(tmp_path / "run" / "tokenized" / "tokenizer").encode("x y") == load_tokenizer(
        tmp_path / "run" / "tokenizer"
    ).encode("x y")
    assert main(["tokenize", str(tmp_path / "nowhere")]) == 2


def test_tokenize_says_the_real_sample_size_and_warns_about_a_tiny_validation_split(tmp_path, capsys):
    from tests.training.conftest import make_run, sample_docs
    from training.cli import main
    from training.data import run_bytes

    run = make_run(tmp_path / "run", sample_docs()[:60])
    assert main(["tokenize", run, "--vocab-size", "300", "--val-fraction", "0.01"]) == 0  # default 20 MB sample
    out, err = capsys.readouterr()
    assert f"on ~{run_bytes(run) / 1e6:.2g} MB of" in out and "~20 MB" not in out
    index = json.loads((tmp_path / "run" / "tokenized" / "index.json").read_text())
    assert index["splits"]["validation"]["docs"] < 10
    assert "note: the validation split holds" in err and "--val-fraction" in err
