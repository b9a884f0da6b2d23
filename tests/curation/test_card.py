"""The dataset card: every run writes README.md (Hub format) through which `datasets.load_dataset(RUN_DIR)`
reads exactly the kept documents; it states licences from the recipe and holds no document text.

Run: `.venv/bin/python -m pytest tests/curation/test_card.py`
"""

import json

import pytest
import yaml

from curation.card import CARD_MARK, write_card
from tests.conftest import SAMPLE, read_output

CARD = {
    "license": "other",
    "pretty_name": "Sample web",
    "language": ["en"],
    "sources": [{"name": "python-docs", "license": "psf-2.0", "url": "https://docs.python.org"}],
}


def header(run_dir) -> dict:
    text = (run_dir / "README.md").read_text()
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


@pytest.mark.parametrize("fmt", ["jsonl.gz", "parquet"])
def test_load_dataset_reads_the_run_through_its_card(run_recipe, tmp_path, fmt):
    from datasets import load_dataset

    code, run_dir, summary = run_recipe(
        {
            "name": "t",
            "input": {"format": "jsonl", "path": str(SAMPLE)},
            "card": CARD,
            "steps": [{"length_filter": {"min_chars": 200}}],
            "output": {"format": fmt, "max_shard_docs": 40, "keep_removed": True},
        }
    )
    assert code == 0
    ds = load_dataset(str(run_dir), cache_dir=str(tmp_path / "hf_cache"))
    assert list(ds) == ["train"]  # removed/ is not part of the dataset
    assert sorted(ds["train"]["id"]) == sorted(d["id"] for d in read_output(run_dir))
    assert ds["train"].num_rows == summary["output"]["docs"] < summary["input"]["docs"]


def test_card_states_licences_funnel_and_filters_without_document_text(run_recipe):
    code, run_dir, summary = run_recipe(
        {
            "name": "t",
            "input": {"format": "jsonl", "path": str(SAMPLE)},
            "card": CARD,
            "steps": [{"length_filter": {"min_chars": 200}}, {"exact_dedup": {}}],
        }
    )
    assert code == 0
    meta = header(run_dir)
    assert meta["license"] == "other" and meta["language"] == ["en"] and meta["size_categories"] == ["n<1K"]
    assert meta["configs"][0]["data_files"][0]["path"] == "output/*.jsonl.gz"
    text = (run_dir / "README.md").read_text()
    assert "| python-docs | psf-2.0 | https://docs.python.org | " in text
    assert (
        f"| python-docs | psf-2.0 | https://docs.python.org | {summary['sources']['python-docs']} |" in text
    )
    assert "| length_filter | length_filter | min_chars: 200" in text
    assert f"| exact_dedup | {summary['steps'][1]['kept']} | {summary['steps'][1]['removed']} |" in text
    assert "rootstock 0.1.0" in text or "rootstock unknown" in text
    for doc in read_output(run_dir)[:50]:
        assert doc["id"] not in text and doc["text"][:40] not in text


def test_card_languages_default_to_the_runs_language_counts(run_recipe):
    code, run_dir, summary = run_recipe(
        {"name": "t", "input": {"format": "jsonl", "path": str(SAMPLE)}, "steps": [{"language_id": {}}]}
    )
    assert code == 0 and summary["languages"]
    assert (
        header(run_dir)["language"] == sorted(summary["languages"])
        and header(run_dir)["license"] == "unknown"
    )


def test_a_readme_rootstock_did_not_write_is_never_overwritten(tmp_path):
    mine = tmp_path / "README.md"
    mine.write_text("# my notes\n")
    assert write_card(tmp_path, f"---\n---\n{CARD_MARK}\nnew") is None
    assert mine.read_text() == "# my notes\n"
    mine.write_text(f"---\n---\n{CARD_MARK}\nold")
    assert write_card(tmp_path, f"---\n---\n{CARD_MARK}\nnew") == mine and mine.read_text().endswith("new")


@pytest.mark.parametrize(
    ("card", "key"),
    [
        ({"license": "Apache 2.0"}, "card.license"),
        ({"sources": [{"name": "x", "licence": "mit"}]}, "card.sources[0].licence"),
        ({"language": ["English"]}, "card.language"),
    ],
)
def test_bad_card_is_a_recipe_error(run_recipe, capsys, card, key):
    code, _, _ = run_recipe(
        {"name": "t", "input": {"format": "jsonl", "path": str(SAMPLE)}, "steps": [], "card": card}
    )
    assert code == 2
    err = capsys.readouterr().err
    assert f": {key}:" in err and "Traceback" not in err


def test_card_does_not_change_the_run_fingerprint():
    from curation.recipe import load_recipe

    base = {"name": "t", "input": {"format": "jsonl", "path": str(SAMPLE)}, "steps": []}
    assert load_recipe(base).fingerprint() == load_recipe({**base, "card": CARD}).fingerprint()
    assert (
        "card" not in load_recipe(base).resolved() and load_recipe({**base, "card": CARD}).resolved()["card"]
    )
    json.dumps(load_recipe({**base, "card": CARD}).resolved())
