"""Every shipped recipe's output loads with `datasets.load_dataset`, exactly as docs/run-folder.md
shows: `load_dataset("json" | "parquet", data_files=glob("<run>/output/*"))`.

Steps add metadata keys to some documents only (`dedup.cluster` on cluster representatives), and
pyarrow infers a schema per file: before, the roots_web output failed with `TypeError: Couldn't cast`.
Small shards (5 documents) put documents with and without such keys into different files.

Run: `.venv/bin/python -m pytest tests/curation/test_load_with_datasets.py`
"""

from __future__ import annotations

import json
import re
from glob import glob
from pathlib import Path

import pytest

from curation.cli import main
from tests.curation.test_golden import CASES, DATA, ROOT

NEAR_DUPLICATES = "<near-duplicates>"  # replaced by a corpus in tmp_path with 10 planted near-duplicates

# every curation recipe in recipes/ -> --set overrides that point it at tests/data
RECIPES = {
    "sample": CASES["sample"],
    "roots_web": ("recipes/roots_web.yaml", [f"input.path={NEAR_DUPLICATES}"]),
    "code": CASES["code"],
    "instructions": CASES["instructions"],
    "instructions-sharegpt": CASES["sharegpt-in"],
    "demo_raw": CASES["demo_raw"],
    "demo_roots_dedup": CASES["demo_roots_dedup"],
    "demo_roots": ("recipes/ablations/demo_roots.yaml", [f"input.path={DATA}/web_sample.jsonl.gz"]),
    "demo_langid": ("recipes/ablations/demo_langid.yaml", [f"input.path={DATA}/web_sample.jsonl.gz"]),
    "demo_english": ("recipes/ablations/demo_english.yaml", [f"input.path={DATA}/web_sample.jsonl.gz"]),
    "demo_planted_dedup": ("recipes/ablations/demo_planted_dedup.yaml", [f"input.path={NEAR_DUPLICATES}"]),
    "mixtures_pool": ("recipes/ablations/mixtures_pool.yaml", [f"input.path={DATA}/web_sample.jsonl.gz"]),
    # the instruction ablation's variants (issue 18)
    **{
        f"instructions_{v}": (f"recipes/ablations/instructions_{v}.yaml", [f"input.path={DATA}/instruct/[as]*.json*"])
        for v in ("raw", "filtered", "dedup", "long")
    },
}
PARQUET = ("sample", "roots_web")


def near_duplicates(folder: Path) -> Path:
    """tests/data's web sample plus a near copy (one word changed) of 10 long documents: MinHash then
    forms clusters, and only their representatives get `dedup.cluster` (the issue's case)."""
    import gzip

    docs = [json.loads(line) for line in gzip.open(DATA / "web_sample.jsonl.gz")]
    copies = []
    for d in [d for d in docs if len(d["text"].split()) > 300][:10]:
        words = d["text"].split(" ")
        words[len(words) // 2] = "changed"
        copies.append(dict(d, id=d["id"] + "-copy", text=" ".join(words)))
    path = folder / "web_with_near_duplicates.jsonl.gz"
    with gzip.open(path, "wt") as f:
        f.writelines(json.dumps(d) + "\n" for d in docs + copies)
    return path


def test_every_shipped_curation_recipe_is_covered():
    shipped = {p.relative_to(ROOT).as_posix() for p in ROOT.glob("recipes/**/*.yaml")
               if re.search(r"^steps:", p.read_text(), re.M) and "quality_classifier" not in p.parts}
    assert shipped <= {r for r, _ in RECIPES.values()}


@pytest.mark.parametrize("fmt", ["own", "parquet"])
@pytest.mark.parametrize("name", sorted(RECIPES))
def test_output_loads_with_datasets(name, fmt, tmp_path):
    from datasets import load_dataset

    if fmt == "parquet" and name not in PARQUET:
        pytest.skip("parquet output is covered on sample and roots_web")
    recipe, sets = RECIPES[name]
    run_dir = tmp_path / name
    sets = [*sets, "output.max_shard_docs=5"] + (["output.format=parquet"] if fmt == "parquet" else [])
    args = ["run", str(ROOT / recipe), "--no-progress", "--output", str(run_dir)]
    for s in sets:
        args += ["--set", s.replace(NEAR_DUPLICATES, str(near_duplicates(tmp_path))) if NEAR_DUPLICATES in s else s]
    assert main(args) == 0
    summary = json.loads((run_dir / "summary.json").read_text())
    files = sorted(glob(str(run_dir / "output" / "*")))
    assert len(files) > 1, "several shards, so that files can disagree"
    builder = "parquet" if fmt == "parquet" else "json"
    ds = load_dataset(builder, data_files=files, split="train", cache_dir=str(tmp_path / "hf"))
    assert len(ds) == summary["output"]["docs"]
    if name == "roots_web":
        minhash = next(s for s in summary["steps"] if s["op"] == "minhash_dedup")
        assert minhash["removed"] >= 5, "the planted near-duplicates must form clusters"
    if "metadata" in ds.column_names and builder == "json":  # one schema: every key on every document
        keys = [frozenset(m) for m in ds["metadata"]]
        assert len(set(keys)) == 1


def test_uniform_output_fills_missing_keys_with_null(tmp_path):
    """The repair itself, on two shards that disagree (also nested, also inside lists)."""
    import gzip

    from curation.formats.output_schema import uniform_output

    out = tmp_path / "output"
    out.mkdir()
    a = {"text": "a", "id": "a", "metadata": {"lang": "en", "dedup.cluster": 3, "roots": {"x": 1},
                                              "messages": [{"role": "user", "content": "q"}]}}
    b = {"text": "b", "id": "b", "metadata": {"lang": "fr", "roots": {"y": 2}, "messages": [{"role": "user"}]}}
    c = {"text": "c", "id": "c", "metadata": {"lang": "de"}}
    for name, recs in (("00000_00000.jsonl.gz", [a]), ("00001_00000.jsonl.gz", [c, b, c])):
        with gzip.GzipFile(out / name, "wb", mtime=0) as f:
            f.write("".join(json.dumps(r) + "\n" for r in recs).encode())
    assert uniform_output(out) == 2
    first, second = ([json.loads(line) for line in gzip.open(p)] for p in sorted(out.iterdir()))
    # b is the only record with a value for roots.y: it moves to the first shard, so that its type is known there
    assert [r["id"] for r in first] == ["a", "b"] and [r["id"] for r in second] == ["c", "c"]
    assert first[1]["metadata"] == {"lang": "fr", "roots": {"y": 2, "x": None}, "dedup.cluster": None,
                                    "messages": [{"role": "user", "content": None}]}
    assert first[0]["metadata"]["roots"] == {"x": 1, "y": None}
    assert second[0]["metadata"] == {"lang": "de", "dedup.cluster": None, "roots": None, "messages": None}
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert uniform_output(out) == 0  # idempotent: a resumed run finds nothing to do
    assert before == {p.name: p.read_bytes() for p in out.iterdir()}
