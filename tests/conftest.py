"""Shared fixtures: offline environment, the real sample corpus, and a helper that runs a recipe.

Run the whole suite with `.venv/bin/python -m pytest` from the repo root.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"

# Hypothesis profiles for the fuzz tests (tests/**/test_fuzz_*.py): `ci` (default) is a fixed,
# derandomized example budget (15 per test) that keeps the whole fuzz suite near two minutes on 2 cores; `long`
# (HYPOTHESIS_PROFILE=long) runs 50x more examples with fresh randomness, on demand.
try:
    from hypothesis import HealthCheck, settings

    _FUZZ = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large,
                                                         HealthCheck.function_scoped_fixture]}
    settings.register_profile("ci", max_examples=15, derandomize=True, print_blob=True, **_FUZZ)
    settings.register_profile("long", max_examples=2000, print_blob=True, **_FUZZ)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
except ImportError:  # pragma: no cover (hypothesis is a dev dependency; the fuzz tests importorskip it)
    pass

DATA = Path(__file__).parent / "data"
SAMPLE = DATA / "web_sample.jsonl.gz"


@pytest.fixture
def write_recipe(tmp_path):
    """Write a recipe dict (or YAML text) to tmp_path and return its path."""

    def _write(recipe, name="recipe.yaml"):
        path = tmp_path / name
        path.write_text(recipe if isinstance(recipe, str) else yaml.safe_dump(recipe, sort_keys=False))
        return path

    return _write


@pytest.fixture
def run_recipe(tmp_path, write_recipe, capsys):
    """Run `curate run` in-process on a recipe dict; returns (exit code, run dir, summary or None)."""
    from curation.cli import main

    def _run(recipe, *args):
        recipe = dict(recipe)
        recipe.setdefault("output", {})
        recipe["output"] = {"path": str(tmp_path / "run"), **recipe["output"]}
        path = write_recipe(recipe)
        code = main(["run", str(path), "--no-progress", *args])
        run_dir = Path(recipe["output"]["path"])
        summary_path = run_dir / "summary.json"
        summary = json.loads(summary_path.read_text()) if summary_path.exists() else None
        return code, run_dir, summary

    return _run


def read_output(run_dir: Path) -> list[dict]:
    """Every kept document of a run, in shard order (jsonl.gz or parquet)."""
    import gzip

    docs = []
    for path in sorted((run_dir / "output").glob("*")):
        if path.name.endswith(".jsonl.gz"):
            with gzip.open(path, "rt") as f:
                docs += [json.loads(line) for line in f]
        elif path.suffix == ".parquet":
            import pyarrow.parquet as pq

            docs += pq.read_table(path).to_pylist()
    return docs


@pytest.fixture
def tiny_disk(tmp_path):
    """A 512 KiB tmpfs at tmp_path/disk (grow it with `mount -o remount,size=64m`); needs root to mount,
    skipped with the reason otherwise. The full-disk tests of `curate run` and `curate tokenize` use it."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(disk)],
                           capture_output=True, text=True, check=False)  # fmt: skip
    if mount.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mount.stderr.strip()[:200]}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=False)
