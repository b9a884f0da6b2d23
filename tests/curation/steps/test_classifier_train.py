"""Training a fastText quality classifier (curation/steps/classifier/train.py) and `curate classifier train`.

Positives: the self-instruct seed answers in tests/data/instruct (Apache-2.0); negatives: the Python
stdlib docstrings and pydoc topics of tests/data/web_sample.jsonl.gz (PSF license). See tests/data/README.md.
Real fastText, tiny settings (a model trains in well under a second). No network.
Run: pytest tests/curation/steps/test_classifier_train.py
"""

import gzip
import hashlib
import itertools
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from curation.cli import main
from curation.recipe import RecipeError
from curation.steps.classifier.train import (
    Normalization,
    binary_metrics,
    card_path,
    load_train_config,
    normalize_text,
    read_source,
    roc_auc,
    train_classifier,
    train_fasttext_file,
)

DATA = Path(__file__).resolve().parents[2] / "data"
POSITIVES = [  # every instruction fixture (66 answers), each through its own reader
    {"format": fmt, "path": str(DATA / "instruct" / name), "use": "answers"}
    for fmt, name in [("alpaca", "self_instruct_seed.jsonl"), ("alpaca", "alpaca.json"), ("alpaca", "bench_seed.jsonl"),
                      ("sharegpt", "sharegpt.jsonl"), ("messages", "messages.jsonl"),
                      ("prompt_completion", "prompt_completion.jsonl")]
]  # fmt: skip
NEGATIVES = [
    {"path": str(DATA / "web_sample.jsonl.gz"), "where": {"source": ["python-stdlib", "python-docs"]}}
]
SMALL = {"bucket": 20000, "dim": 16, "epoch": 20, "lr": 0.2}  # tiny data: more epochs, small table


def small_config(tmp_path: Path, **overrides) -> Path:
    """A training config over the test fixtures; returns its path (the model goes to tmp_path/model/)."""
    cfg = {
        "name": "fixture",
        "positives": POSITIVES,
        "negatives": NEGATIVES,
        "output": str(tmp_path / "model" / "model.bin"),
        "valid_fraction": 0.3,
        "fasttext": SMALL,
        **overrides,
    }
    path = tmp_path / "train.yaml"
    tmp_path.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def train_small(tmp_path: Path, **overrides) -> tuple[Path, dict]:
    """Train the fixture classifier; returns (model path, card)."""
    card = train_classifier(small_config(tmp_path, **overrides))
    return tmp_path / "model" / "model.bin", card


def test_normalize_text_one_line_prefix_and_defused_labels():
    norm = Normalization(max_chars=30, lowercase=True)
    line = normalize_text("Hello\n\nWorld\tand\r\nmore __label__x", Normalization())
    assert "\n" not in line and line.split() == [
        "Hello",
        "World",
        "and",
        "more",
        "label_x",
    ]  # fastText's tokens
    assert normalize_text("A  B\nC" + "x" * 100, norm) == "a  b c" + "x" * 24
    assert normalize_text(" \n\t ", Normalization()).strip() == ""
    assert normalize_text("a\x00b\nc", Normalization()) == "a b c"


def test_roc_auc_matches_pairwise_definition_with_ties():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 60).astype(bool)
    s = np.round(rng.random(60) + 0.3 * y, 1)  # rounding makes many ties
    pairs = [(1.0 if p > n else 0.5 if p == n else 0.0) for p, n in itertools.product(s[y], s[~y])]
    assert roc_auc(y, s) == pytest.approx(np.mean(pairs))
    assert roc_auc(np.array([1, 1]), np.array([0.2, 0.3])) is None
    m = binary_metrics(np.array([1, 1, 0, 0]), np.array([0.9, 0.4, 0.6, 0.1]))
    assert (m["precision"], m["recall"], m["f1"], m["roc_auc"]) == (0.5, 0.5, 0.5, 0.75)


def test_training_is_deterministic_and_writes_a_card(tmp_path):
    model, card = train_small(tmp_path / "a")
    model_b, card_b = train_small(tmp_path / "b")
    assert model.read_bytes() == model_b.read_bytes()  # thread: 1 + fixed seed: the same bytes
    assert card["heldout"] == card_b["heldout"] and card["counts"] == card_b["counts"]
    on_disk = json.loads(card_path(model).read_text())
    assert on_disk == card
    assert card["labels"] == {"positive": "hq", "negative": "cc"}
    assert card["fasttext"]["version"].split()[-1][0].isdigit()
    assert card["fasttext"]["params"]["wordNgrams"] == 2 and card["fasttext"]["params"]["thread"] == 1
    assert card["normalization"] == {"max_chars": 5000, "lowercase": False}
    pos, neg = card["sources"]["positives"], card["sources"]["negatives"]
    assert [s["used"] for s in pos] == [30, 10, 6, 8, 6, 6] and neg[0]["used"] == 166
    total = sum(c["train"] + c["heldout"] for c in card["counts"].values())
    assert total == 66 + 166 - sum(card["dropped"].values())
    assert all(c["heldout"] > 0 for c in card["counts"].values())
    h = card["heldout"]
    assert h["n"] == sum(c["heldout"] for c in card["counts"].values())
    assert h["roc_auc"] >= 0.8  # 18 held-out answers vs 48 Python docs (chance: 0.5); deterministic


def test_a_retrain_replaces_its_own_model_but_not_a_file_put_there_since(tmp_path):
    model, card = train_small(tmp_path)
    assert card["model_bytes"] == model.stat().st_size
    assert card["model_sha256"] == hashlib.sha256(model.read_bytes()).hexdigest()
    train_small(tmp_path)  # the card records this file's hash: it is ours, replaced
    model.write_bytes(b"the user's own model now")  # the old card, with every key of the right type, stays
    with pytest.raises(RecipeError, match="output: refusing .*no classifier training wrote it"):
        train_small(tmp_path)
    assert model.read_bytes() == b"the user's own model now"


def test_small_dim_training_gives_the_same_bytes_every_run_and_no_nan(tmp_path):
    """fastText 0.9.2 reads heap memory it never wrote: with `dim: 10`, one config gave NaN in 7 of 10
    runs and different models in the rest. Trained with a zeroed heap, four runs give one model."""
    words = {
        "hq": ["the", "cat", "sat", "on", "a", "mat", "and", "then", "it", "ran", "home"],
        "cc": ["le", "chat", "est", "sur", "le", "tapis", "puis", "il", "rentre", "chez", "lui"],
    }
    train = tmp_path / "train.txt"
    train.write_text("".join(f"__label__{lab} " + " ".join(words[lab][(i + j) % 11] for j in range(12)) + "\n"
                             for i in range(200) for lab in words))  # fmt: skip
    params = {"dim": 10, "epoch": 2, "bucket": 1000, "thread": 1, "seed": 0, "lr": 0.1}
    models = []
    for i in range(4):
        assert train_fasttext_file(train, tmp_path / f"{i}.bin", params) is None  # no "Encountered NaN."
        models.append((tmp_path / f"{i}.bin").read_bytes())
    assert len(set(models)) == 1


def test_other_seed_changes_the_split(tmp_path):
    _, a = train_small(tmp_path / "a")
    _, b = train_small(tmp_path / "b", seed=1)
    assert a["counts"] != b["counts"] or a["heldout"] != b["heldout"]


def test_sources_where_max_docs_min_chars_and_run_folders(tmp_path):
    cfg = yaml.safe_load(small_config(tmp_path).read_text())
    cfg["negatives"] = [
        {
            "path": str(DATA / "web_sample.jsonl.gz"),
            "where_not": {"source": ["spacy-examples"]},
            "max_docs": 50,
        },
        {"path": str(DATA / "web_sample.jsonl.gz"), "min_chars": 2000},
    ]
    # a run folder stands for its output/
    run = tmp_path / "run"
    (run / "output").mkdir(parents=True)
    (run / "recipe.resolved.yaml").write_text("name: x\n")
    with gzip.open(run / "output" / "00000_00000.jsonl.gz", "wt") as f:
        for i in range(3):
            f.write(json.dumps({"id": str(i), "text": f"kept document {i}", "metadata": {}}) + "\n")
    cfg["positives"].append({"path": str(run)})
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    tc = load_train_config(path)
    texts, counts = read_source(tc.negatives[0], tmp_path / "rej")
    again, _ = read_source(tc.negatives[0], tmp_path / "rej")
    assert counts["used"] == len(texts) == 50 and texts == again  # deterministic sample
    assert counts["selected"] == 166
    long_texts, counts = read_source(tc.negatives[1], tmp_path / "rej")
    assert long_texts and all(len(t) >= 2000 for t in long_texts) and counts["too_short"] > 0
    run_texts, _ = read_source(tc.positives[-1], tmp_path / "rej")
    assert run_texts[-3:] == ["kept document 0", "kept document 1", "kept document 2"]


@pytest.mark.parametrize(
    "change, key, message",
    [
        ({"positives": [{"path": str(DATA / "web_sample.jsonl.gz"), "where": {"source": ["nope"]}}]},
         "positives", "no usable documents"),
        ({"negatives": []}, "negatives", "non-empty list"),
        ({"positives": [{"path": str(DATA / "missing.jsonl")}]}, "positives[0].path", "does not exist"),
        ({"positives": [{"path": str(DATA / "web_sample.jsonl.gz"), "limt": 3}]}, "positives[0].limt", "unknown key"),
        ({"negative_label": "hq"}, "negative_label", "must differ"),
        ({"fasttext": {"wordNgram": 2}}, "fasttext.wordNgram", "did you mean wordNgrams"),
        ({"fasttext": {**SMALL, "lr": 1000.0}}, "fasttext.lr", "diverged (RuntimeError: Encountered NaN.); try a lower lr"),
    ],
)  # fmt: skip
def test_bad_config_exit_2_names_file_line_key(tmp_path, capsys, change, key, message):
    path = small_config(tmp_path, **change)
    assert main(["classifier", "train", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0]
    assert err[0].startswith(f"error: {path}:") and f": {key}: " in err[0] and message in err[0]
    with pytest.raises(RecipeError):
        train_classifier(path)


def test_cli_train_prints_the_heldout_numbers(tmp_path, capsys):
    assert main(["classifier", "train", str(small_config(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert "ROC-AUC" in out and (tmp_path / "model" / "model.card.json").is_file()


def test_training_lines_are_what_scoring_sees(tmp_path):
    """Training writes normalize_text's output as is: Python's str.split would cut U+00A0 (fastText does not)."""
    from curation.steps.classifier.train import gather

    texts = [
        "caf\u00e9\u00a0au lait\nis   served",
        "caf\u00e9\u00a0au lait is served",
        "tabs\there\r\nand there",
    ]
    src = tmp_path / "pos.jsonl"
    src.write_text("".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(texts)))
    tc = load_train_config(small_config(tmp_path, positives=[{"path": str(src)}]))
    lines, _, dropped = gather(tc, tmp_path / "rej")
    norm = tc.config.normalization
    assert list(lines["hq"].values()) == [normalize_text(texts[0], norm), normalize_text(texts[2], norm)]
    assert "\u00a0" in lines["hq"]["caf\u00e9\u00a0au lait is served"]  # texts 0 and 1: the same tokens
    assert dropped["duplicate"] >= 1
