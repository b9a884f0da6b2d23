"""An ablation variant may be a mixture (`mix:` in place of `recipe:`), written by `curate mix`."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.training.conftest import make_run, sample_docs
from training.ablate import load_ablation, run_ablation
from training.errors import ConfigError


def _mix(tmp_path, name: str, web: str, code: str, web_weight: float) -> str:
    cfg = {
        "name": name,
        "unit": "documents",
        "budget": 60,
        "seed": 0,
        "sources": [
            {"name": "web", "run": web, "weight": web_weight, "max_epochs": 3},
            {"name": "code", "run": code, "weight": 1 - web_weight, "max_epochs": 3},
        ],
        "output": {"path": str(tmp_path / "unused" / name)},
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


def _ablation(tmp_path, variants: dict) -> str:
    docs = sample_docs()
    web = make_run(tmp_path / "web", docs[:40])
    code = make_run(tmp_path / "code", docs[40:70])
    cfg = {
        "name": "mixes",
        "baseline": "web_heavy",
        "budgets": [256],
        "seeds": [0],
        "workers": 1,
        "model": "micro",
        "vocab_size": 300,
        "tokenizer_sample": "variants",
        "tokenizer_sample_bytes": 50_000,
        "variants": variants
        or {
            "web_heavy": {"mix": _mix(tmp_path, "web_heavy", web, code, 0.8)},
            "code_heavy": {"mix": _mix(tmp_path, "code_heavy", web, code, 0.3)},
        },
        "eval_sets": [
            {
                "path": str(tmp_path / "web" / "output" / "00000_00000.jsonl.gz"),
                "name": "web",
                "max_docs": 5,
                "max_chars": 300,
            }
        ],
        "train": {"seq_len": 32, "micro_batch": 2, "warmup_steps": 1, "val_max_tokens": 100},
    }
    path = tmp_path / "mixes.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


def test_mixture_variants_are_mixed_then_trained(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    run_ablation(load_ablation(_ablation(tmp_path, {}), out=str(out)))
    for name, web_share in (("web_heavy", 0.8), ("code_heavy", 0.3)):
        mixture = json.loads((out / "runs" / name / "mixture.json").read_text())
        assert mixture["documents"] == 60 and mixture["sources"][0]["achieved_share"] == web_share
    assert (out / "results.json").exists()


def test_a_variant_cannot_be_both_a_recipe_and_a_mix(tmp_path):
    with pytest.raises(ConfigError, match="`recipe` and `mix` exclude each other"):
        load_ablation(_ablation(tmp_path, {"web_heavy": {"recipe": "r.yaml", "mix": "m.yaml"}}))


def test_a_mixture_is_reused_only_while_its_mix_file_and_source_runs_are_unchanged(tmp_path, monkeypatch):
    from training.ablate_inputs import ensure_mix
    from training.ablation_config import Variant

    monkeypatch.chdir(tmp_path)
    docs = sample_docs()
    web, code = make_run(tmp_path / "web", docs[:40]), make_run(tmp_path / "code", docs[40:70])
    mix, out = _mix(tmp_path, "m", web, code, 0.8), tmp_path / "out"
    run_dir = out / "runs" / "m"

    def share() -> float:
        ensure_mix("m", Variant(mix=mix), run_dir, out)
        return json.loads((run_dir / "mixture.json").read_text())["sources"][0]["achieved_share"]

    assert share() == 0.8
    written = (run_dir / "mixture.json").stat().st_mtime_ns
    assert share() == 0.8 and (run_dir / "mixture.json").stat().st_mtime_ns == written  # reused
    _mix(tmp_path, "m", web, code, 0.5)  # the weights edited in place
    assert share() == 0.5
    make_run(tmp_path / "web", docs[:30])  # a source run re-curated: the same weights, other documents
    ensure_mix("m", Variant(mix=mix), run_dir, out)
    web_source = json.loads((run_dir / "mixture.json").read_text())["sources"][0]
    assert web_source["epochs"] == 1  # 30 of 30 documents (it was 30 of 40: 0.75 epochs)
