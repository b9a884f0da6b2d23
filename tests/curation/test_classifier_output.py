"""`curate classifier train` writes only its own model: an `output:` equal to an input file (or inside
an input folder), a `name:` that climbs out of runs/classifiers/ (`../../x`), a symlink (the file or any
folder above it), and an existing file no training wrote (its card must record the file's sha256) are
refused naming the config and the key (exit 2); the input survives.

Run: `.venv/bin/python -m pytest tests/curation/test_classifier_output.py`
"""

import hashlib
import json
import os

import pytest
import yaml

from curation.cli import main
from curation.errors import RecipeError
from curation.steps.classifier.train import load_train_config


def config(tmp_path, **extra):
    pos = tmp_path / "pos.jsonl"
    neg = tmp_path / "neg.jsonl"
    for p, word in ((pos, "good"), (neg, "bad")):
        if not p.exists():
            p.write_text(
                "".join(json.dumps({"text": f"{word} text {i}", "id": str(i)}) + "\n" for i in range(20))
            )
    cfg = {"name": "c", "positives": [{"path": str(pos)}], "negatives": [{"path": str(neg)}], **extra}
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path, pos


@pytest.mark.parametrize("case", ["output_is_positives", "output_is_config", "name_climbs", "name_slash"])
def test_unsafe_model_path_is_refused(tmp_path, capsys, case):
    pos = tmp_path / "pos.jsonl"
    extra = {
        "output_is_positives": {"output": str(pos)},
        "output_is_config": {"output": str(tmp_path / "train.yaml")},
        "name_climbs": {"name": "../../x"},
        "name_slash": {"name": "a/b"},
    }[case]
    path, pos = config(tmp_path, **extra)
    before = pos.read_bytes()
    key = "output" if "output" in extra else "name"
    with pytest.raises(RecipeError, match=f"{key}:"):
        load_train_config(path)
    assert main(["classifier", "train", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err
    assert pos.read_bytes() == before


def test_foreign_file_or_symlink_at_the_output_is_refused(tmp_path):
    (tmp_path / "theirs.bin").write_bytes(b"someone's model")
    path, _ = config(tmp_path, output=str(tmp_path / "theirs.bin"))
    with pytest.raises(RecipeError, match="no classifier training wrote it"):
        load_train_config(path)
    os.symlink(tmp_path / "theirs.bin", tmp_path / "link.bin")
    path, _ = config(tmp_path, output=str(tmp_path / "link.bin"))
    with pytest.raises(RecipeError, match="symlink"):
        load_train_config(path)
    (tmp_path / "ours.bin").write_bytes(b"model")
    card = {"card": 1, "model": "ours.bin", "labels": {"positive": "hq", "negative": "lq"}, "fasttext": {},
            "model_bytes": 5, "model_sha256": hashlib.sha256(b"model").hexdigest()}  # fmt: skip
    (tmp_path / "ours.card.json").write_text(json.dumps(card))
    path, _ = config(tmp_path, output=str(tmp_path / "ours.bin"))
    assert load_train_config(path).model_path.name == "ours.bin"  # a model a training wrote is replaced
    assert (tmp_path / "theirs.bin").read_bytes() == b"someone's model"


RIGHT_TYPES = {"card": 1, "model": "theirs.bin", "labels": {}, "fasttext": {}}  # what used to be enough
OTHER_SHA = hashlib.sha256(b"another model!!").hexdigest()  # the size of the user's bytes, not them
USERS_SHA = hashlib.sha256(b"someone's model").hexdigest()


@pytest.mark.parametrize(
    "card",
    [
        "{}",
        "not json",
        '{"card": 1, "model": "other.bin", "labels": {}, "fasttext": {}}',
        json.dumps(RIGHT_TYPES),
        json.dumps({**RIGHT_TYPES, "model_bytes": 15, "model_sha256": OTHER_SHA}),
        json.dumps({**RIGHT_TYPES, "model_bytes": 16, "model_sha256": USERS_SHA}),  # the hash, not the size
    ],
)
def test_a_file_merely_named_like_a_card_does_not_make_the_output_ours(tmp_path, card):
    (tmp_path / "theirs.bin").write_bytes(b"someone's model")
    (tmp_path / "theirs.card.json").write_text(card)
    path, _ = config(tmp_path, output=str(tmp_path / "theirs.bin"))
    with pytest.raises(RecipeError, match="no classifier training wrote it"):
        load_train_config(path)
    assert (tmp_path / "theirs.bin").read_bytes() == b"someone's model"


@pytest.mark.parametrize("folder", ["run", "shards"])
def test_an_output_inside_a_run_or_token_shard_folder_is_refused(tmp_path, capsys, folder):
    (tmp_path / folder).mkdir()
    if folder == "run":
        identity = {"fingerprint": "f", "limit": -1, "started": "2026-01-01", "produced": ["output"]}
        (tmp_path / "run" / "run.json").write_text(json.dumps(identity))
    else:
        (tmp_path / "shards" / "manifest.json").write_text(
            json.dumps({"rootstock": "token-shards", "files": []})
        )
    path, _ = config(tmp_path, output=str(tmp_path / folder / "sub" / "m.bin"))
    with pytest.raises(RecipeError, match="output:.*rootstock run or token-shard folder"):
        load_train_config(path)
    dotted, _ = config(tmp_path, output=str(tmp_path / "missing" / ".." / folder / "m.bin"))  # found by a recheck
    with pytest.raises(RecipeError, match="output:.*rootstock run or token-shard folder"):
        load_train_config(dotted)
    assert main(["classifier", "train", str(path)]) == 2
    assert capsys.readouterr().err.count("\n") == 1 and not (tmp_path / folder / "sub").exists()


def test_an_output_under_a_linked_folder_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "cls").symlink_to(outside, target_is_directory=True)
    for out in (tmp_path / "cls" / "m.bin", tmp_path / "cls" / "new" / "m.bin"):
        path, _ = config(tmp_path, output=str(out))
        with pytest.raises(RecipeError, match="is a symlink"):
            load_train_config(path)
    assert list(outside.iterdir()) == []


def test_an_output_under_a_linked_grandparent_is_refused(tmp_path):
    (tmp_path / "outside" / "sub").mkdir(parents=True)  # the nearest existing folder, cls/sub, is real
    (tmp_path / "cls").symlink_to(tmp_path / "outside", target_is_directory=True)
    for out in (tmp_path / "cls" / "sub" / "m.bin", tmp_path / "cls" / "sub" / "new" / "m.bin"):
        path, _ = config(tmp_path, output=str(out))
        with pytest.raises(RecipeError, match=f"output: refusing .*folder {tmp_path / 'cls'} is a symlink"):
            load_train_config(path)
    assert list((tmp_path / "outside" / "sub").iterdir()) == []


@pytest.mark.parametrize("link", ["rejected", "rejected/positives_0"])
def test_a_linked_rejected_folder_beside_the_model_is_refused(tmp_path, capsys, link):
    """The rejected writer opens its files with O_NOFOLLOW but follows the folders above them: a planted
    `rejected -> /elsewhere` (or one level down) would receive the rejected records."""
    path, pos = config(tmp_path, output=str(tmp_path / "cls" / "m.bin"), fasttext={"bucket": 1000, "dim": 10})
    pos.write_text(pos.read_text() + "{not json\n")  # one record to reject
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "cls" / link).parent.mkdir(parents=True)
    (tmp_path / "cls" / link).symlink_to(outside, target_is_directory=True)
    assert main(["classifier", "train", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{tmp_path / 'cls' / link}: refusing" in err and "symlink" in err
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("kind", ["fifo", "file"])
def test_a_fifo_or_file_where_a_rejected_folder_goes_is_one_line(tmp_path, capsys, kind):
    """`rejected/positives_0/rejected` planted as a FIFO or a file: os.makedirs raised FileExistsError
    (a 60-line traceback, exit 1); now one line naming it, exit 2, and the planted file is left alone."""
    path, pos = config(tmp_path, output=str(tmp_path / "cls" / "m.bin"), fasttext={"bucket": 1000, "dim": 10})
    pos.write_text(pos.read_text() + "{not json\n")  # one record to reject
    planted = tmp_path / "cls" / "rejected" / "positives_0" / "rejected"
    planted.parent.mkdir(parents=True)
    if kind == "fifo":
        os.mkfifo(planted)
    else:
        planted.write_text("mine")
    assert main(["classifier", "train", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{planted}: is not a folder" in err, err
    assert kind == "fifo" or planted.read_text() == "mine"
