"""The ablation runner on a toy grid (2 variants x 3 budgets x 1 seed, seconds on CPU): results.json
with points, fits and comparisons, the plot, the eval hold-out kept out of training, and resume.

Run: pytest tests/training/test_ablate.py
"""

import json

import yaml

from tests.training.conftest import SAMPLE, make_run, sample_docs
from training.ablate import load_ablation, run_ablation
from training.cli import main
from training.data import id_fraction


def _config(tmp_path) -> str:
    docs = sample_docs()[:120]
    full = make_run(tmp_path / "full", docs)
    half = make_run(tmp_path / "half", [d for d in docs if id_fraction(d["id"], "half") < 0.5])
    cfg = {
        "name": "toy",
        "variants": {"full": {"run": full}, "half": {"run": half}},
        "budgets": [512, 1024, 2048],
        "seeds": [0],
        "model": "tiny",
        "vocab_size": 300,
        "tokenizer_sample_bytes": 200_000,
        "eval_sets": [{"path": SAMPLE, "name": "heldout", "holdout_fraction": 0.1, "max_docs": 10}],
        "train": {"seq_len": 64, "micro_batch": 4, "eval_max_tokens": 800, "val_max_tokens": 300},
    }
    path = tmp_path / "toy.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


def test_toy_grid(tmp_path, capsys):
    cfg_path = _config(tmp_path)
    out = tmp_path / "abl"
    assert main(["ablate", cfg_path, "--out", str(out)]) == 0
    res = json.loads((out / "results.json").read_text())
    assert set(res["variants"]) == {"full", "half"}
    for v in res["variants"].values():
        assert len(v["points"]) == 3
        p = v["points"][0]
        assert set(p) >= {"tokens", "seed", "eval_loss", "bpb", "epochs", "tokens_per_s"}
        assert v["fit"]["E"] is not None and v["fit"]["ok"] is False  # 3 budgets: fitted but flagged
        assert {"E", "B", "beta", "r2"} <= set(v["fit"])
    (cmp,) = res["comparisons"]
    assert cmp["a"] == "half" and cmp["b"] == "full" and len(cmp["at"]) == 3
    assert (out / "loss_vs_tokens.png").stat().st_size > 1000
    # the hold-out slice is excluded from every variant's tokens (by id, plus exact copies under other ids)
    idx = json.loads((out / "tokenized" / "full" / "index.json").read_text())
    held = [d for d in sample_docs() if id_fraction(d["id"], "eval") < 0.1]
    ids, texts = {h["id"] for h in held}, {h["text"] for h in held}
    expected = sum(d["id"] in ids or d["text"] in texts for d in sample_docs()[:120])
    assert idx["excluded"]["docs"] == expected > 0
    # a second run reuses every point (and prints the fits)
    capsys.readouterr()
    run_ablation(load_ablation(cfg_path, out=str(out)))
    assert "[6/6]" in capsys.readouterr().out


def test_bad_ablation_exits_2(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text(
        "name: x\nvariants: {a: {run: nowhere}}\nbudgets: [100]\neval_sets: [x.jsonl]\nmodle: tiny\n"
    )
    assert main(["ablate", str(p)]) == 2
    p.write_text("name: x\nvariants: {a: {}}\nbudgets: [100]\neval_sets: [x.jsonl]\n")
    assert main(["ablate", str(p)]) == 2
