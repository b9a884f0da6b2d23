"""`language_id` checks its model file at validation (size against the header, format, labels) instead
of trusting fastText's loader: a truncated `lid.176.ftz` is one line, exit 2 from `curate validate`
(it used to spin and die in std::bad_alloc), half of a `.bin` is refused (it used to load and label
everything `cc`), and a file that is not a model at all is refused.

Run: `.venv/bin/python -m pytest tests/curation/steps/test_model_files_checked.py`
"""

import time

import pytest

from curation.cli import main
from curation.model_files import fasttext_labels
from curation.resources import LID_MODEL
from curation.steps.classifier.train import train_fasttext_file


def validate(tmp_path, write_recipe, model):
    (tmp_path / "a.jsonl").write_text('{"text": "hello", "id": "1"}\n')
    path = write_recipe(
        {
            "name": "t",
            "input": {"format": "jsonl", "path": str(tmp_path / "a.jsonl")},
            "steps": [{"language_id": {"model_path": str(model), "keep": ["en"]}}],
            "output": {"path": str(tmp_path / "run")},
        }
    )
    return main(["validate", str(path)]), path


@pytest.fixture(scope="module")
def small_bin(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ft")
    words = {
        "en": ["the", "cat", "sat", "on", "a", "mat", "and", "then", "it", "ran", "home"],
        "fr": ["le", "chat", "est", "sur", "le", "tapis", "puis", "il", "rentre", "chez", "lui"],
    }
    (folder / "train.txt").write_text(
        "".join(
            f"__label__{lab} " + " ".join(words[lab][(i + j) % 11] for j in range(12)) + "\n"
            for i in range(200)
            for lab in ("en", "fr")
        )
    )
    params = {"dim": 8, "epoch": 2, "bucket": 1000, "thread": 1, "seed": 0}
    assert (
        train_fasttext_file(folder / "train.txt", folder / "lid.bin", params) is None
    )  # deterministic, no NaN
    return folder / "lid.bin"


def test_truncated_ftz_is_one_line_exit_2_quickly(tmp_path, write_recipe, capsys):
    cut = tmp_path / "lid.176.ftz"
    cut.write_bytes(LID_MODEL.read_bytes()[: LID_MODEL.stat().st_size // 2])
    t0 = time.time()
    code, path = validate(tmp_path, write_recipe, cut)
    assert code == 2 and time.time() - t0 < 60
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err and "model_path" in err and "truncated or corrupt" in err


def test_half_a_bin_is_refused_by_its_header(tmp_path, write_recipe, small_bin, capsys):
    half = tmp_path / "half.bin"
    half.write_bytes(small_bin.read_bytes()[: small_bin.stat().st_size // 2])
    code, _ = validate(tmp_path, write_recipe, half)
    err = capsys.readouterr().err
    assert code == 2 and "cannot use" in err and "header" in err and err.count("\n") == 1
    assert sorted(fasttext_labels(small_bin)) == ["__label__en", "__label__fr"]  # the whole file is fine


def test_not_a_model_and_the_shipped_model(tmp_path, write_recipe, capsys):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a model at all" * 100)
    code, _ = validate(tmp_path, write_recipe, junk)
    assert code == 2 and "wrong magic number" in capsys.readouterr().err
    assert len(fasttext_labels(LID_MODEL)) == 176


@pytest.mark.parametrize("labels", [("hq", "lq"), ("yes", "no")])  # `no` is Norwegian: half the labels
def test_a_model_whose_labels_are_not_languages_is_refused(tmp_path, write_recipe, capsys, labels):
    words = ["good", "clear", "prose", "spam", "buy", "now", "click", "here", "well", "written", "text"]
    (tmp_path / "train.txt").write_text(
        "".join(
            f"__label__{lab} " + " ".join(words[(i + j) % 11] for j in range(12)) + "\n"
            for i in range(200)
            for lab in labels
        )
    )
    params = {"dim": 8, "epoch": 2, "bucket": 1000, "thread": 1, "seed": 0}
    assert train_fasttext_file(tmp_path / "train.txt", tmp_path / "quality.bin", params) is None
    (tmp_path / "a.jsonl").write_text('{"text": "hello", "id": "1"}\n')
    path = write_recipe(
        {
            "name": "t",
            "input": {"format": "jsonl", "path": str(tmp_path / "a.jsonl")},
            "steps": [{"language_id": {"model_path": str(tmp_path / "quality.bin")}}],
            "output": {"path": str(tmp_path / "run")},
        }
    )  # no keep: used to label every doc `hq`
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "model_path" in err and "not a language-ID model" in err


def test_a_language_model_passes_the_label_check(small_bin):
    from curation.steps.langid import model_languages

    assert {"en", "fr"} <= model_languages(str(small_bin))
