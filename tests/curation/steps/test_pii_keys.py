"""PII in metadata keys is scrubbed like PII in values: `{"headers": {"<address>": "v"}}` never reaches
output/ with the address, two keys that scrub to the same tag both keep their values, and the count
reaches summary.json.

Run: `.venv/bin/python -m pytest tests/curation/steps/test_pii_keys.py`
"""

import json

from datatrove.data import Document

from curation.steps.pii import PIIScrubber
from tests.conftest import read_output


def test_nested_and_top_level_keys_are_scrubbed_without_losing_a_value():
    meta = {"headers": {"jane.doe@example.org": "v1", "bob@example.com": "v2", "plain": "x"},
            "mallory@example.net": 3}
    out = next(iter(PIIScrubber(kinds=["email"]).run(iter([Document(text="hi", id="1", metadata=meta)]))))
    assert out.metadata["headers"] == {"<EMAIL>": "v1", "<EMAIL>#2": "v2", "plain": "x"}
    assert out.metadata["<EMAIL>"] == 3 and out.metadata["pii.email"] == 3
    assert "example" not in json.dumps(out.metadata)


def test_listed_metadata_keys_keep_their_names():
    meta = {"a@b.io": "x", "headers": {"c@d.io": "y"}}
    out = next(iter(PIIScrubber(kinds=["email"], metadata=["headers"]).run(iter([Document("t", "1", metadata=meta)]))))
    assert out.metadata["a@b.io"] == "x" and out.metadata["headers"] == {"<EMAIL>": "y"}


def test_run_output_holds_no_address_from_a_key(run_recipe, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "a", "text": "hello", "headers": {"jane.doe@example.org": "v"}}) + "\n")
    code, run_dir, summary = run_recipe({"name": "t", "input": {"format": "jsonl", "path": str(src)},
                                         "steps": [{"pii": {"kinds": ["email"]}}]})
    assert code == 0 and summary["pii"]["email"] == 1
    [doc] = read_output(run_dir)
    assert doc["metadata"]["headers"] == {"<EMAIL>": "v"}
    assert not any("jane.doe" in p.read_bytes().decode("latin-1") for p in run_dir.rglob("*") if p.is_file()
                   and not p.name.endswith((".gz", ".parquet")))
