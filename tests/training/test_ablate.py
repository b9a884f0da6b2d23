"""The ablation runner on a toy grid (seconds on CPU): a recipe variant reads the ablation's block sample
(input.path wired automatically), a control variant reads the planted copy, a hand-made run folder joins
them; results.json meets the contract, the hold-out stays out of training, and a rerun reuses every run.

Run: pytest tests/training/test_ablate.py
"""

import json

import yaml

from runfolder.results import load_results, validate
from tests.training.conftest import SAMPLE, make_run, sample_docs
from training.ablate import load_ablation, run_ablation
from training.cli import main
from training.data import id_fraction

RAW_RECIPE = """name: toy-raw
input: {format: jsonl, path: does/not/exist.jsonl.gz}
steps: []
output: {path: unused, format: jsonl.gz, keep_removed: false}
executor: {kind: local, tasks: 1}
"""


def _config(tmp_path) -> str:
    docs = sample_docs()[:120]
    half = make_run(tmp_path / "half", [d for d in docs if id_fraction(d["id"], "half") < 0.5])
    (tmp_path / "raw.yaml").write_text(RAW_RECIPE)
    cfg = {
        "name": "toy",
        "sample": {
            "inputs": [SAMPLE],
            "fraction": 0.8,
            "block_docs": 4,
            "path": str(tmp_path / "in" / "sample.jsonl.gz"),
            "plant": {"fraction": 0.1, "copies": 4, "path": str(tmp_path / "in" / "planted.jsonl.gz")},
            "alt_path": str(tmp_path / "in" / "alt.jsonl.gz"),
        },
        "variants": {
            "full": {"recipe": str(tmp_path / "raw.yaml")},
            "half": {"run": half},
            "planted": {"recipe": str(tmp_path / "raw.yaml"), "input": "planted"},
            "pool": {"run": "full", "pool_tokens": 128},  # a repetition-study pool of full's run
            "random_half": {"random_of": "full"},  # full's retention (all of it): the same documents
            "alt": {"recipe": str(tmp_path / "raw.yaml"), "input": "alt"},
        },
        "baseline": "full",
        "controls": [
            {"name": "dup", "variant": "full", "baseline": "planted", "eval": "heldout"},
            {"name": "aa", "kind": "negative", "variant": "alt", "baseline": "full"},
        ],
        "budgets": [256, 512, 1024],
        "seeds": [0, 1],
        "workers": 1,  # spawn workers die inside a full pytest session (streamlit state); the demo runs 2-4
        "model": "micro",
        "vocab_size": 300,
        "tokenizer_sample_bytes": 200_000,
        "eval_sets": [
            {"path": SAMPLE, "name": "heldout", "holdout_fraction": 0.1, "max_docs": 10, "max_chars": 300}
        ],
        "train": {
            "seq_len": 32,
            "micro_batch": 2,
            "warmup_steps": 1,
            "val_max_tokens": 100,
        },
    }
    path = tmp_path / "toy.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


def test_toy_grid(tmp_path, capsys):
    cfg_path = _config(tmp_path)
    out = tmp_path / "abl"
    assert main(["ablate", cfg_path, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    res = load_results(out)
    assert validate(res) == []
    assert set(res["variants"]) == {"full", "half", "planted", "pool", "random_half", "alt"}
    for v in res["variants"].values():
        assert sorted({p["tokens"] for p in v["points"]}) == [256, 512, 1024]
        assert len(v["points"]) == 6 and v["bytes_per_token"] > 1
        assert all(set(p["bpb"]) == {"heldout"} and p["bytes"] > p["tokens"] for p in v["points"])
    # every variant on the baseline's input vs the baseline, the filter vs its random baseline and the
    # control pairs (planted is compared only as its control says), each with its own paired CI and verdict
    pairs = {(c["variant"], c["baseline"]) for c in res["comparisons"]}
    assert pairs == {
        ("half", "full"), ("pool", "full"), ("random_half", "full"), ("alt", "full"),
        ("full", "random_half"), ("full", "planted"),
    }  # fmt: skip
    assert all(
        c["adjust"] == "holm" and isinstance(c["resolved"], bool) and len(c["diffs"]) == 2
        for c in res["comparisons"]
    )
    assert res["ci_method"].startswith("per-comparison paired t-interval")
    assert {c["name"]: c["kind"] for c in res["controls"]} == {"dup": "positive", "aa": "negative"}
    # what was scored: 10 documents capped at 300 characters, every point scored exactly those
    ev = res["evals"]["heldout"]
    assert (
        ev["docs"] == 10
        and ev["bytes"] <= 10 * 300 * 4
        and not ev["out_of_pool"]
        and sum(ev["sources"].values()) == 10
    )
    assert (
        res["random_baselines"]["random_half"]["docs"]
        == res["random_baselines"]["random_half"]["filter_docs"]
    )
    assert "| heldout | 10 |" in (out / "report.md").read_text()
    # the pool variant trained on full's tokens (no shards of its own), 128 tokens = 4 windows of 32,
    # repeated: 1024 tokens are 8 epochs of it, where full saw its data less than twice
    assert not (out / "tokenized" / "pool").exists()
    top = {n: max(p["epochs"] for p in v["points"]) for n, v in res["variants"].items()}
    assert top["pool"] == 8.0 and top["full"] < 2
    assert all(c["ci95"][0] <= c["delta_bpb"] <= c["ci95"][1] for c in res["comparisons"])
    assert "control dup (positive):" in printed and "control aa (negative):" in printed
    assert "wall time:" in printed and res["wall_seconds"] > 0
    assert (out / "loss_vs_tokens.png").stat().st_size > 1000
    # input.path was wired: the planted variant read the planted copy (more documents than the sample)
    n_full = json.loads((out / "tokenized" / "full" / "index.json").read_text())["splits"]["train"]["docs"]
    n_planted = json.loads((out / "tokenized" / "planted" / "index.json").read_text())["splits"]["train"][
        "docs"
    ]
    assert n_planted > n_full
    assert res["sample"]["planted"]["chosen"] > 0
    # the hold-out slice is in no variant's tokens
    idx = json.loads((out / "tokenized" / "half" / "index.json").read_text())
    held = [d for d in sample_docs() if id_fraction(d["id"], "eval") < 0.1]
    ids, texts = {h["id"] for h in held}, {h["text"] for h in held}
    expected = sum(
        d["id"] in ids or d["text"] in texts
        for d in sample_docs()[:120]
        if id_fraction(d["id"], "half") < 0.5
    )
    assert idx["excluded"]["docs"] >= expected > 0  # plus documents that contain an evaluated excerpt
    # a second run reuses every training run
    before = (out / "points" / "full" / "s0" / "eval.json").stat().st_mtime_ns
    run_ablation(load_ablation(cfg_path, out=str(out)))
    assert (out / "points" / "full" / "s0" / "eval.json").stat().st_mtime_ns == before


def test_tokenizer_from_the_sample_ignores_the_variants(tmp_path):
    """Adding a variant must not retrain the tokenizer (and so move every other variant's numbers)."""
    from training.ablate import ensure_tokenizer
    from training.data import write_jsonl_gz
    from training.tokenizer import tokenizer_hash

    cfg = load_ablation(_config(tmp_path))
    assert cfg.tokenizer_sample == "sample"
    write_jsonl_gz(cfg.sample.path, sample_docs()[:200])
    a = make_run(tmp_path / "a", sample_docs()[:50])
    b = make_run(tmp_path / "b", sample_docs()[50:120])
    one = ensure_tokenizer(cfg, {"a": a}, tmp_path / "t1", set())
    two = ensure_tokenizer(cfg, {"a": a, "b": b}, tmp_path / "t2", set())
    assert tokenizer_hash(one) == tokenizer_hash(two)
    cfg.tokenizer_sample = "variants"  # the mix of the variants does move
    three = ensure_tokenizer(cfg, {"a": a}, tmp_path / "t3", set())
    four = ensure_tokenizer(cfg, {"a": a, "b": b}, tmp_path / "t4", set())
    assert tokenizer_hash(three) != tokenizer_hash(four)


def test_bad_ablation_exits_2(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text(
        "name: x\nvariants: {a: {run: nowhere}}\nbudgets: [100]\neval_sets: [x.jsonl]\nmodle: tiny\n"
    )
    assert main(["ablate", str(p)]) == 2
    p.write_text("name: x\nvariants: {a: {}}\nbudgets: [100]\neval_sets: [x.jsonl]\n")
    assert main(["ablate", str(p)]) == 2
    p.write_text(
        "name: x\nvariants: {a: {run: r}}\nbudgets: [100]\neval_sets: [x.jsonl]\n"
        "controls: [{name: c, variant: a, baseline: zz, eval: x}]\n"
    )
    assert main(["ablate", str(p)]) == 2
    # a variant sharing the run of a later one; a pool of 0 tokens
    p.write_text("name: x\nvariants: {a: {run: b}, b: {run: r}}\nbudgets: [100]\neval_sets: [x.jsonl]\n")
    assert main(["ablate", str(p)]) == 2
    p.write_text("name: x\nvariants: {a: {run: r, pool_tokens: 0}}\nbudgets: [100]\neval_sets: [x.jsonl]\n")
    assert main(["ablate", str(p)]) == 2


def test_ablation_checks_warmup_inputs_and_control_kinds(tmp_path):
    import pytest

    from training.errors import ConfigError

    with open(_config(tmp_path)) as fh:
        base = yaml.safe_load(fh)

    def load(**changes):
        p = tmp_path / "x.yaml"
        p.write_text(yaml.safe_dump({**base, **changes}, sort_keys=False))
        return load_ablation(str(p))

    with pytest.raises(ConfigError, match="warmup_steps: 2 warmup steps are more than 25%"):
        load(train={**base["train"], "warmup_steps": 2})  # 256 tokens / 64 per step = 4 steps
    with pytest.raises(ConfigError, match="set by the ablation itself"):
        load(train={**base["train"], "eval_max_tokens": 800})  # would score fewer documents than described
    with pytest.raises(ConfigError, match="kind must be positive or negative"):
        load(controls=[{"name": "c", "kind": "neutral", "variant": "alt", "baseline": "full"}])
    with pytest.raises(ConfigError, match="names the eval set"):
        load(controls=[{"name": "c", "variant": "alt", "baseline": "full"}])
    with pytest.raises(ConfigError, match="input: alt needs sample.alt_path"):
        load(sample={k: v for k, v in base["sample"].items() if k != "alt_path"})
    with pytest.raises(ConfigError, match="random_of"):
        load(variants={"r": {"random_of": "full"}, **base["variants"]})  # listed before its filter
