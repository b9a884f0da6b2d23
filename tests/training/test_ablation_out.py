"""`curate ablate FILE --out DIR` writes everything under DIR, the drawn sample too: a relative
`sample.path` (`alt_path`, `plant.path`, `plant.fresh_path`) resolves under DIR; an absolute one, and
every path of a run without `--out`, stays as written (docs/ablations.md).

Run: `.venv/bin/python -m pytest tests/training/test_ablation_out.py`
"""

import json

import yaml

from training.ablation_config import load_ablation
from training.cli import main

SAMPLE = {
    "inputs": ["in.jsonl.gz"],
    "fraction": 0.5,
    "path": "runs/ablations/x-input/docs.jsonl.gz",
    "alt_path": "runs/ablations/x-input/alt.jsonl.gz",
    "plant": {"fraction": 0.1, "copies": 2, "path": "planted.jsonl.gz", "fresh_path": "/abs/fresh.jsonl.gz"},
}


def _file(tmp_path) -> str:
    path = tmp_path / "x.yaml"
    path.write_text(yaml.safe_dump({
        "name": "x", "sample": SAMPLE, "variants": {"raw": {"recipe": "raw.yaml"}},
        "budgets": [1_000_000], "eval_sets": ["eval.jsonl"],
    }))  # fmt: skip
    return str(path)


def test_out_holds_the_sample_when_its_paths_are_relative(tmp_path):
    out = tmp_path / "out"
    cfg = load_ablation(_file(tmp_path), out=str(out))
    assert cfg.out == str(out)
    assert cfg.sample.path == str(out / "runs/ablations/x-input/docs.jsonl.gz")
    assert cfg.sample.alt_path == str(out / "runs/ablations/x-input/alt.jsonl.gz")
    assert cfg.sample.plant.path == str(out / "planted.jsonl.gz")
    assert cfg.sample.plant.fresh_path == "/abs/fresh.jsonl.gz"  # absolute: as written


def test_without_out_the_sample_paths_are_as_written(tmp_path):
    cfg = load_ablation(_file(tmp_path))
    assert cfg.out == "runs/ablations/x"
    assert (cfg.sample.path, cfg.sample.plant.path) == (SAMPLE["path"], "planted.jsonl.gz")


def test_ablate_dry_run_shows_the_sample_under_out(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["ablate", _file(tmp_path), "--out", str(out), "--dry-run"]) == 0
    printed = capsys.readouterr().out
    resolved = json.loads(printed[: printed.rindex("}") + 1])
    assert resolved["sample"]["path"] == str(out / "runs/ablations/x-input/docs.jsonl.gz")
