"""The instruction ablation end to end on hand-made chat runs (seconds), the shuffled-response control's
data, and the config's errors."""

import gzip
import json

import pytest

from runfolder.results import validate
from training.cli import main
from training.data import write_jsonl_gz
from training.errors import ConfigError
from training.instruct_ablation_config import load_instruct_ablation
from training.instruct_data import corrupt_run
from training.instruct_shards import read_chat_run
from training.instruct_train import read_chat_eval
from training.train import TrainConfig, train

from .conftest import make_run, sample_docs


def _lines():
    seen, out = set(), []
    for d in sample_docs():
        for line in d["text"].splitlines():
            words = line.split()
            if 8 <= len(words) <= 30 and line not in seen and all(w.isascii() for w in words):
                seen.add(line)
                out.append(line.strip())
    return out


LINES = _lines()


def convs(n, suffix=""):
    """Conversations whose prompts are distinct prose lines of the test sample."""
    return [
        [
            {"role": "user", "content": LINES[i] + suffix},
            {"role": "assistant", "content": f"In short: {' '.join(LINES[i].split()[:4])}."},
        ]
        for i in range(n)
    ]


def chat_run(path, items, prefix="c"):
    write_jsonl_gz(path / "output" / "00000_00000.jsonl.gz",
                   [{"id": f"{prefix}{i}", "messages": m} for i, m in enumerate(items)])  # fmt: skip
    return path


def test_shuffle_moves_responses_to_other_prompts(tmp_path):
    src = chat_run(tmp_path / "src", convs(40))
    stats = corrupt_run(src, tmp_path / "dst", 0.3, seed=0)
    assert stats == {"examples": 40, "corrupted": 12, "how": "shuffle_responses"}
    before = {r["id"]: r["messages"] for r in read_chat_run(src)}
    after = {r["id"]: r["messages"] for r in read_chat_run(tmp_path / "dst")}
    moved = [i for i in before if before[i][1] != after[i][1]]
    assert len(moved) == 12  # every chosen example lost its own response
    assert all(after[i][0] == before[i][0] for i in before)  # prompts untouched
    assert sorted(after[i][1]["content"] for i in moved) == sorted(before[i][1]["content"] for i in moved)


def test_scramble_keeps_each_response_s_words_in_another_order(tmp_path):
    src = chat_run(tmp_path / "src", convs(40))
    assert corrupt_run(src, tmp_path / "dst", 0.5, seed=1, how="scramble_words")["corrupted"] == 20
    before = {r["id"]: r["messages"] for r in read_chat_run(src)}
    after = {r["id"]: r["messages"] for r in read_chat_run(tmp_path / "dst")}
    changed = [i for i in before if before[i][1]["content"] != after[i][1]["content"]]
    assert 15 <= len(changed) <= 20  # a permutation can leave a short response as it was
    assert all(
        sorted(before[i][1]["content"].split()) == sorted(after[i][1]["content"].split()) for i in before
    )
    assert all(after[i][0] == before[i][0] for i in before)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, tokenizer_dir):
    tmp = tmp_path_factory.mktemp("pre")
    run = make_run(tmp / "web", sample_docs()[:30])
    assert main(["tokenize", run, "--tokenizer", tokenizer_dir, "--val-fraction", "0.1"]) == 0
    train(TrainConfig(data=run, out_dir=str(tmp / "m"), model="micro", tokens=1024, seq_len=64, quiet=True))
    return str(tmp / "m" / "checkpoint")


def test_instruct_ablation_writes_the_results_contract(tmp_path, checkpoint):
    raw = chat_run(tmp_path / "raw", convs(60))
    # `clean`: 50 of the same prompts, reworded a little and under other ids (only MinHash can match them)
    chat_run(tmp_path / "clean", convs(50, suffix=" Please answer briefly."), prefix="d")
    cfg = {
        "name": "t", "kind": "instructions", "model": "micro", "seq_len": 64, "budgets": [8, 16], "seeds": [0, 1],
        "pretrain": {"checkpoint": checkpoint},
        "variants": {"raw": {"run": str(raw)}, "clean": {"run": str(tmp_path / "clean")}},
        "controls": [{"name": "shuffled", "from": "clean", "fraction": 0.5, "eval": "prompt_use"}],
        "heldout": {"from": "raw", "fraction": 0.2, "max_examples": 5, "prompt_use": True},
        "train": {"micro_batch": 4, "val_max_tokens": 200},
        "out": str(tmp_path / "out"),
    }  # fmt: skip
    (tmp_path / "a.yaml").write_text(json.dumps(cfg))
    assert main(["ablate", str(tmp_path / "a.yaml")]) == 0
    res = json.loads((tmp_path / "out" / "results.json").read_text())
    assert validate(res) == []  # the pretraining ablations' contract (runfolder/results.py)
    assert res["kind"] == "instructions"
    assert res["evals"] == ["instruct_heldout", "instruct_heldout_prompt_use"]
    assert set(res["variants"]) == {"raw", "clean", "shuffled"}
    for v in res["variants"].values():
        assert len(v["points"]) == 4  # 2 budgets x 2 seeds
        for p in v["points"]:
            assert {"tokens", "examples", "bytes", "seed", "epochs", "bpb"} <= set(p)
            assert p["tokens"] == p["examples"] * 64 and p["examples"] in (8, 16)
            assert 0 < p["bpb"]["instruct_heldout"] < 30 and abs(p["bpb"]["instruct_heldout_prompt_use"]) < 30
    c = [r for r in res["comparisons"] if r["variant"] == "clean" and r["baseline"] == "raw"]
    assert {r["tokens"] for r in c} == {8 * 64, 16 * 64} and all(len(r["ci95"]) == 2 for r in c)
    assert [x["name"] for x in res["controls"]] == ["shuffled"] and isinstance(
        res["controls"][0]["passed"], bool
    )
    assert "instruct_heldout_prompt_use" in res["controls"][0]["detail"]  # judged where it was asked
    assert not any(m["eval"] == "instruct_heldout_prompt_use" for m in res["multipliers"])  # not a bpb curve
    swapped, true = (read_chat_eval(tmp_path / "out" / "eval" / f"instruct_heldout_{k}_prompts.jsonl.gz")
                     for k in ("other", "true"))  # fmt: skip
    assert [r["id"] for r in swapped] == [r["id"] for r in true]
    assert len(true) == res["heldout"]["prompt_use_pairs"] > 1
    assert all(s["messages"][-1] == t["messages"][-1] and s["messages"][0] != t["messages"][0]
               for s, t in zip(swapped, true))  # same response, another example's prompt  # fmt: skip
    with gzip.open(tmp_path / "out" / "eval" / "instruct_heldout.jsonl.gz", "rt") as fh:
        held = [json.loads(x) for x in fh]
    assert 0 < len(held) <= 5
    # the whole held-out slice is out of raw, and its reworded copies (other ids) are out of clean
    from training.data import id_fraction

    slice_idx = [i for i in range(60) if id_fraction(f"c{i}", "heldout") < 0.2]
    assert res["heldout"]["slice"] == len(slice_idx) >= len(held)
    assert res["variants"]["raw"]["heldout_near_duplicates_removed"] == len(slice_idx)
    assert (
        res["variants"]["clean"]["heldout_near_duplicates_removed"]
        == len([i for i in slice_idx if i < 50])
        > 0
    )
    assert res["wall_seconds"] > 0


def test_config_errors_name_the_key(tmp_path):
    (tmp_path / "a.yaml").write_text("name: x\nkind: instructions\nbudgets: [1]\nvariants: {a: {run: r}}\n"
                                     "heldout: {from: nope}\npretrain: {checkpoint: c}\n")  # fmt: skip
    with pytest.raises(ConfigError, match="heldout.from"):
        load_instruct_ablation(tmp_path / "a.yaml")
    (tmp_path / "b.yaml").write_text("name: x\nkind: instructions\nbudgets: [1]\nvariants: {a: {run: r}}\n"
                                     "heldout: {from: a}\npretrain: {checkpoint: c}\nbogus: 1\n")  # fmt: skip
    assert main(["ablate", str(tmp_path / "b.yaml")]) == 2
    (tmp_path / "c.yaml").write_text("name: x\nkind: instructions\nbudgets: [1]\nvariants: {a: {run: r}}\n"
                                     "heldout: {from: a}\npretrain: {checkpoint: c}\n"
                                     "controls: [{name: s, from: a, eval: prompt_use}]\n")  # fmt: skip
    with pytest.raises(ConfigError, match="needs heldout.prompt_use"):
        load_instruct_ablation(tmp_path / "c.yaml")


def test_cli_overrides(tmp_path, capsys):
    (tmp_path / "a.yaml").write_text("name: x\nkind: instructions\nbudgets: [1]\nvariants: {a: {run: r}}\n"
                                     "heldout: {from: a}\npretrain: {checkpoint: c}\n")  # fmt: skip
    assert main(["ablate", str(tmp_path / "a.yaml"), "--budgets", "8,4", "--dry-run"]) == 0
    assert "budgets [4, 8] examples" in capsys.readouterr().out
    assert main(["ablate", str(tmp_path / "a.yaml"), "--budgets", "x", "--dry-run"]) == 2
    assert main(["ablate", str(tmp_path / "a.yaml"), "--workers", "2", "--dry-run"]) == 0
    assert '"workers": 2' in capsys.readouterr().out
    assert main(["ablate", str(tmp_path / "a.yaml"), "--workers", "0", "--dry-run"]) == 2
