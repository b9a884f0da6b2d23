"""Shared fixtures for the training tests: a hand-made run folder of real text and a small tokenizer.

The text is tests/data/web_sample.jsonl.gz (Python docs, stdlib docstrings, example sentences in many
languages: written by people, shipped with the repo). Everything runs on CPU with one thread.
"""

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch

from training.data import read_jsonl, write_jsonl_gz
from training.tokenizer import save_tokenizer, train_bpe

torch.set_num_threads(1)

SAMPLE = os.path.join(os.path.dirname(__file__), "..", "data", "web_sample.jsonl.gz")
# eval text that is not in SAMPLE (training refuses an eval set it trains on: training/overlap.py)
HELDOUT = os.path.join(os.path.dirname(__file__), "..", "data", "roots_udhr.jsonl.gz")


def sample_docs() -> list[dict]:
    return list(read_jsonl(SAMPLE))


def make_run(path, docs) -> str:
    """A run folder as curation writes it: output/00000_00000.jsonl.gz with text/id/metadata lines."""
    write_jsonl_gz(path / "output" / "00000_00000.jsonl.gz", [{**d, "metadata": {}} for d in docs])
    return str(path)


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("run"), sample_docs())


@pytest.fixture(scope="session")
def tokenizer_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tok")
    return str(save_tokenizer(train_bpe((d["text"] for d in sample_docs()), vocab_size=512), folder))


# chat conversations for the instruction tests (test_instruct_shards.py, test_instruct_train.py)
CONVS = [
    [
        {"role": "user", "content": f"Name a colour number {i}."},
        {"role": "assistant", "content": f"Blue, {i}."},
    ]
    for i in range(12)
] + [
    [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is a list in Python?"},
        {"role": "assistant", "content": "A mutable sequence."},
        {"role": "user", "content": "And a tuple?"},
        {"role": "assistant", "content": "An immutable one."},
    ]
]


def chat_run(path, convs, top_level=False):
    recs = [
        {"id": f"c{i}", "messages": m}
        if top_level
        else {"id": f"c{i}", "text": "x", "metadata": {"messages": m}}
        for i, m in enumerate(convs)
    ]
    write_jsonl_gz(path / "output" / "00000_00000.jsonl.gz", recs)
    return path
