"""`curate mix` sources in any input format (`path:` + `format:`, the recipe readers): documents read
like a recipe's input, unreadable records set aside with file:line and counted in mixture.json."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from curation.errors import RecipeError, UsageError
from curation.mix import mix
from curation.mix_config import load_mix
from runfolder.documents import iter_records
from tests.curation.test_mix import make_run


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, Path]:
    """A jsonl file with two bad lines (malformed JSON at line 3, a number as text at line 6), a folder
    of plain-text files and a run folder."""
    jl = tmp_path / "in" / "notes.jsonl"
    jl.parent.mkdir()
    lines = [json.dumps({"id": f"n{i}", "text": f"note number {i} " * 3, "lang": "en"}) for i in range(8)]
    lines[2] = '{"id": "n2", "text": "unterminated'
    lines[5] = json.dumps({"id": "n5", "text": 5})
    jl.write_text("\n".join(lines) + "\n")
    txt = tmp_path / "txt"
    txt.mkdir()
    for i in range(4):
        (txt / f"doc{i}.txt").write_text(f"plain text file {i}\n" * 4)
    run = make_run(
        tmp_path / "run", [{"id": f"r{i}", "text": f"run doc {i} " * 4, "metadata": {}} for i in range(10)]
    )
    return {"jsonl": jl, "text": txt, "run": run}


def cfg_for(inputs, out: Path, **kw) -> dict:
    cfg = {
        "name": "formats",
        "budget": 24,
        "sources": [
            {"name": "notes", "path": str(inputs["jsonl"]), "format": "jsonl", "weight": 1, "max_epochs": 2},
            {"name": "txt", "path": str(inputs["text"]), "format": "text", "weight": 1, "max_epochs": 2},
            {"name": "run", "run": str(inputs["run"]), "weight": 1},
        ],
        "output": {"path": str(out), "max_shard_docs": 10},
    }
    cfg.update(kw)
    return cfg


def test_inputs_are_read_by_their_format_and_traced(inputs, tmp_path):
    result = mix(cfg_for(inputs, tmp_path / "m"))
    out = list(iter_records(result.output))
    by = {}
    for r in out:
        by.setdefault(r["metadata"]["mix.source"], []).append(r)
    assert {k: len(v) for k, v in by.items()} == {"notes": 8, "txt": 8, "run": 8}
    notes = {r["metadata"]["mix.id"] for r in by["notes"]}
    assert notes == {"n0", "n1", "n3", "n4", "n6", "n7"}  # the two bad lines never became documents
    assert {r["metadata"]["mix.run"] for r in by["notes"]} == {str(inputs["jsonl"])}
    assert all(r["text"].startswith("plain text file") for r in by["txt"])
    assert all(r["metadata"]["lang"] == "en" for r in by["notes"])  # a jsonl field became metadata


def test_bad_records_are_set_aside_with_file_line_and_counted(inputs, tmp_path):
    result = mix(cfg_for(inputs, tmp_path / "m"))
    notes = next(s for s in result.mixture["sources"] if s["name"] == "notes")
    assert (notes["records"], notes["available_documents"], notes["rejected"]) == (8, 6, 2)
    assert result.mixture["rejected"] == 2
    rejected = [
        json.loads(line) for line in (result.path / "rejected" / "notes.jsonl").read_text().splitlines()
    ]
    assert sorted(r["line"] for r in rejected) == [3, 6]  # written once, though notes was read 2 epochs
    assert all(r["source"].endswith("notes.jsonl") for r in rejected)
    assert "malformed JSON" in rejected[0]["error"]
    card = (result.path / "README.md").read_text()
    assert "unreadable: 2" in card


def test_where_applies_to_input_metadata_and_unmatched_are_counted(inputs, tmp_path):
    cfg = cfg_for(inputs, tmp_path / "m")
    cfg["sources"][0]["where"] = {"lang": "fr"}
    with pytest.raises(
        UsageError,
        match=r"notes: no document of .*notes.jsonl matches where=\{'lang': 'fr'\} "
        r"\(8 records, 2 rejected\)",
    ):
        mix(cfg)
    assert not (tmp_path / "m").exists()  # the plan fails before anything is written, rejected/ included


def test_a_damaged_run_record_is_rejected_not_dropped(tmp_path):
    run = tmp_path / "run"
    (run / "output").mkdir(parents=True)
    with gzip.open(run / "output" / "00000_00000.jsonl.gz", "wt") as f:
        f.write(json.dumps({"id": "a", "text": "good text here", "metadata": {}}) + "\n")
        f.write(json.dumps({"id": "b", "text": None, "metadata": {}}) + "\n")
        f.write('{"id": "c", "text": "cut off\n')
        f.write(json.dumps({"id": "d", "text": "after the damage", "metadata": {}}) + "\n")
    source = {"name": "r", "run": str(run), "weight": 1, "max_epochs": 2}
    result = mix({"name": "r", "budget": 4, "sources": [source], "output": {"path": str(tmp_path / "m")}})
    assert result.mixture["rejected"] == 2 and result.mixture["documents"] == 4
    assert {r["metadata"]["mix.id"] for r in iter_records(result.output)} == {"a", "d"}
    rej = [json.loads(x) for x in (result.path / "rejected" / "r.jsonl").read_text().splitlines()]
    assert [r["line"] for r in rej] == [2, 3] and rej[0]["source"].endswith("00000_00000.jsonl.gz")
    assert "not a JSON object" in rej[1]["error"] and "cut off" in rej[1]["raw"]


def test_input_keys_are_validated_like_a_recipe_input(inputs, tmp_path):
    cfg = cfg_for(inputs, tmp_path / "m")
    cfg["sources"][0]["text_kye"] = "body"
    with pytest.raises(RecipeError, match=r"sources\[0\]\.text_kye: unknown key \(did you mean text_key\?\)"):
        load_mix(cfg)
    cfg = cfg_for(inputs, tmp_path / "m")
    cfg["sources"][1]["format"] = "jsnl"
    with pytest.raises(
        RecipeError, match=r"sources\[1\]\.format: unknown input format 'jsnl' \(did you mean"
    ):
        load_mix(cfg)
    cfg = cfg_for(inputs, tmp_path / "m")
    cfg["sources"][2]["path"] = str(inputs["jsonl"])  # run and path together
    cfg["sources"][2]["format"] = "jsonl"
    with pytest.raises(RecipeError, match=r"sources\[2\]: give either run: .* or path: with format:"):
        load_mix(cfg)
    cfg = cfg_for(inputs, tmp_path / "m")
    cfg["sources"][0]["path"] = str(tmp_path / "missing.jsonl")
    with pytest.raises(UsageError, match="source notes: input path does not exist"):
        mix(cfg)


def test_rerun_with_inputs_is_byte_identical(inputs, tmp_path):
    first = mix(cfg_for(inputs, tmp_path / "m"))
    before = {p.name: p.read_bytes() for p in first.output.iterdir()}
    rej = (first.path / "rejected" / "notes.jsonl").read_bytes()
    mix(cfg_for(inputs, tmp_path / "m"))
    assert {p.name: p.read_bytes() for p in first.output.iterdir()} == before
    assert (first.path / "rejected" / "notes.jsonl").read_bytes() == rej
