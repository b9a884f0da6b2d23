"""`curate mix` with a tokenizer: tokens counted by it (weights then mean real tokens) and the mixture
written as the training module's token shards, which `curate train` trains on."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from curation.errors import RecipeError, UsageError
from curation.mix import mix
from curation.mix_config import load_mix
from runfolder.documents import iter_records
from runfolder.token_folder import KEYS_FILE, doc_keys
from tests.curation.test_mix import config, runs  # noqa: F401 (runs: the fixture)
from training.shard_manifest import listed_files
from training.shards import load_index, load_split
from training.tokenizer import load_tokenizer, save_tokenizer, tokenizer_hash, train_bpe


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory) -> str:
    texts = ["web page text " * 20, "def f():\n    return 1\n" * 20] * 10
    return str(save_tokenizer(train_bpe(texts, vocab_size=300), tmp_path_factory.mktemp("tok")))


def token_config(runs, out: Path, tokenizer: str, **kw) -> dict:  # noqa: F811
    cfg = config(runs, out, unit="tokens", budget=3000, tokenizer=tokenizer, **kw)
    cfg["output"] = {"path": str(out), "format": "tokens", "max_shard_tokens": 1000, "val_fraction": 0.1}
    return cfg


def test_tokens_are_counted_by_the_tokenizer_when_one_is_given(runs, tmp_path, tokenizer):  # noqa: F811
    cfg = config(runs, tmp_path / "m", unit="tokens", budget=3000, tokenizer=tokenizer)
    result = mix(cfg)
    tok = load_tokenizer(tokenizer)
    counted = {}
    for r in iter_records(result.output):
        n = len(tok(r["text"], add_special_tokens=False)["input_ids"])
        counted[r["metadata"]["mix.source"]] = counted.get(r["metadata"]["mix.source"], 0) + n
    got = {s["name"]: s for s in result.mixture["sources"]}
    assert {k: s["tokens"] for k, s in got.items()} == counted
    assert result.mixture["tokens_estimated"] is False and result.mixture["tokenizer"] == tokenizer
    assert abs(got["web"]["achieved_share"] - 0.7) < 0.02  # shares are of real tokens (docs of ~30 of 3,000)
    assert sum(counted.values()) != sum(  # not the bytes / 4 estimate
        (len(r["text"].encode()) + 3) // 4 for r in iter_records(result.output)
    )
    card = (result.path / "README.md").read_text()
    assert "counted by the tokenizer" in card and "(est.)" not in card


def test_without_a_tokenizer_tokens_are_marked_estimated(runs, tmp_path):  # noqa: F811
    result = mix(config(runs, tmp_path / "m", unit="tokens", budget=4000))
    assert result.mixture["tokens_estimated"] is True and result.mixture["tokenizer"] is None


def test_token_shards_follow_the_training_contract_and_trace_every_document(runs, tmp_path, tokenizer):  # noqa: F811
    result = mix(token_config(runs, tmp_path / "m", tokenizer))
    assert not (result.path / "output").exists()
    folder, index = load_index(result.path)  # what `curate train data: MIX_DIR` reads
    assert folder == result.path / "tokenized"
    assert index["tokenizer_sha1"] == tokenizer_hash(tokenizer)
    assert index["vocab_size"] == len(load_tokenizer(tokenizer)) < 2**16
    tok = load_tokenizer(tokenizer)
    sources = {name: {r["id"]: r["text"] for r in iter_records(f / "output")} for name, f in runs.items()}
    n_docs = 0
    for split in ("train", "validation"):
        arrays = load_split(folder, index, split)
        for arr, shard in zip(arrays, index["splits"][split]["shards"]):
            assert arr.dtype == np.uint16 and len(arr) == shard["tokens"]
            trace = [json.loads(x) for x in (folder / shard["docs"]).read_text().splitlines()]
            docs = np.split(arr, np.flatnonzero(arr == index["eot_id"]))[1:]
            assert len(docs) == len(trace)
            for ids, t in zip(docs, trace):  # each document decodes to its source document's text
                text = sources[t["mix.source"]][t["mix.id"]]
                assert tok.decode(ids[1:].tolist()) == text and len(ids) == t["tokens"]
                assert t["id"] == f"{t['mix.source']}/{t['mix.id']}#{t['mix.epoch']}"
                n_docs += 1
    assert n_docs == result.mixture["documents"]
    assert index["splits"]["validation"]["docs"] > 0
    assert sum(s["tokens"] for s in index["splits"].values()) == result.mixture["tokens"] + n_docs  # + EOTs
    assert all(s["tokens"] <= 1000 + 100 for s in index["splits"]["train"]["shards"])  # bounded shards
    keys = np.load(folder / KEYS_FILE)
    assert keys.shape == (index["splits"]["train"]["docs"], 2)
    first = json.loads((folder / "train_00000.docs.jsonl").read_text().splitlines()[0])
    assert tuple(keys[0].tolist()) == doc_keys(first["mix.id"], sources[first["mix.source"]][first["mix.id"]])
    assert set(listed_files(folder)) >= {"index.json", "train_00000.npy", KEYS_FILE, "tokenizer"}


def test_every_epoch_of_a_document_lands_in_the_same_split(runs, tmp_path, tokenizer):  # noqa: F811
    result = mix(token_config(runs, tmp_path / "m", tokenizer))
    split_of = {}
    folder = result.path / "tokenized"
    for f in sorted(folder.glob("*.docs.jsonl")):
        for line in f.read_text().splitlines():
            t = json.loads(line)
            split_of.setdefault((t["mix.source"], t["mix.id"]), set()).add(f.name.split("_")[0])
    assert max(len(s) for s in split_of.values()) == 1


def test_token_rerun_is_byte_identical_and_a_user_file_survives(runs, tmp_path, tokenizer):  # noqa: F811
    first = mix(token_config(runs, tmp_path / "m", tokenizer))
    folder = first.path / "tokenized"
    (folder / "my_notes.txt").write_text("mine")
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    mix(token_config(runs, tmp_path / "m", tokenizer))
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == before
    # the same folder mixed as documents: the stale token shards go, the user's file stays
    cfg = token_config(runs, tmp_path / "m", tokenizer)
    cfg["output"]["format"] = "jsonl.gz"
    mix(cfg, force=True)
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json", "my_notes.txt"]
    assert json.loads((folder / "manifest.json").read_text())["files"] == []


def test_format_tokens_needs_a_tokenizer(runs, tmp_path):  # noqa: F811
    cfg = config(runs, tmp_path / "m")
    cfg["output"]["format"] = "tokens"
    with pytest.raises(RecipeError, match=r"output\.format: format tokens needs tokenizer:"):
        load_mix(cfg)


def test_curate_train_trains_on_the_mixture(runs, tmp_path, tokenizer):  # noqa: F811
    from rootstock.cli import main

    result = mix(token_config(runs, tmp_path / "m", tokenizer))
    train_cfg = tmp_path / "train.yaml"
    train_cfg.write_text(
        f"data: {result.path}\nout_dir: {tmp_path / 'model'}\nmodel: micro\ntokens: 256\nseq_len: 32\n"
        "micro_batch: 2\nval_max_tokens: 64\nquiet: true\ndevice: cpu\n"
    )
    assert main(["train", str(train_cfg)]) == 0
    ev = json.loads((tmp_path / "model" / "eval.json").read_text())
    assert ev["tokens"] >= 256 and np.isfinite(ev["validation"]["loss"])


def test_a_missing_tokenizer_is_exit_2_before_anything_is_written(runs, tmp_path, capsys):  # noqa: F811
    from curation.cli import main as curation_main

    mix_file = tmp_path / "mix.yaml"
    cfg = token_config(runs, tmp_path / "m", str(tmp_path / "no-tokenizer"))
    mix_file.write_text(json.dumps(cfg))  # JSON is YAML
    assert curation_main(["mix", str(mix_file)]) == 2
    err = capsys.readouterr().err.strip()
    assert "no-tokenizer: no tokenizer.json there" in err and "\n" not in err
    assert not (tmp_path / "m").exists()


def test_a_planted_index_or_tokenizer_link_is_not_written_through(runs, tmp_path, tokenizer):  # noqa: F811
    """A token mix cut short lists neither index.json nor tokenizer/ yet; links planted under those names
    in tokenized/ are refused (exit 2 from the CLI), never written through."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    victim_dir = tmp_path / "elsewhere"
    victim_dir.mkdir()
    for name, target in (("index.json", victim), ("tokenizer", victim_dir)):
        folder = tmp_path / f"m-{name}" / "tokenized"
        mix(token_config(runs, folder.parent, tokenizer))
        for p in folder.iterdir():
            shutil.rmtree(p) if p.is_dir() else p.unlink()
        (folder / "manifest.json").write_text(json.dumps({"rootstock": "token-shards", "files": []}))
        os.symlink(target, folder / name)
        with pytest.raises((UsageError, OSError), match=f"{name}: (refusing|is a symlink)"):
            mix(token_config(runs, folder.parent, tokenizer))
    assert victim.read_text() == "precious" and list(victim_dir.iterdir()) == []


def test_a_full_disk_is_one_line_naming_the_shard_and_the_rerun_gives_the_same_shards(
    runs,  # noqa: F811
    tmp_path,
    tokenizer,
    tiny_disk,
    capsys,
):
    """A token shard bigger than the space left: numpy's `tofile` on the real file raised `OSError:
    N requested and M written` (no errno), so `curate mix` ended in a 26-line traceback."""
    import subprocess

    from curation.cli import main

    subprocess.run(["mount", "-o", "remount,size=64k", str(tiny_disk)], check=True)
    cfg = {**token_config(runs, tiny_disk / "m", tokenizer), "budget": 60_000}
    cfg["output"]["max_shard_tokens"] = 100_000  # one train shard of ~100 KB, written at the end
    for s in cfg["sources"]:
        s["max_epochs"] = 500
    (tmp_path / "mix.yaml").write_text(json.dumps(cfg))
    assert main(["mix", str(tmp_path / "mix.yaml")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert "No space left on device" in err and ".npy" in err, err
    subprocess.run(["mount", "-o", "remount,size=64m", str(tiny_disk)], check=True)  # space freed
    assert main(["mix", str(tmp_path / "mix.yaml")]) == 0
    assert main(["mix", str(tmp_path / "mix.yaml"), "--output", str(tmp_path / "straight")]) == 0
    got, want = (_train_tokens(tiny_disk / "m"), _train_tokens(tmp_path / "straight"))
    assert np.array_equal(got, want) and len(got) > 50_000


def _train_tokens(mix_folder: Path) -> np.ndarray:
    folder, index = load_index(mix_folder)
    return np.concatenate(load_split(folder, index, "train"))
