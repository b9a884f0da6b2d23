"""The ledger: counters reach their funnel line by step label (not list position); the invariant.

Run: `.venv/bin/python -m pytest tests/curation/test_ledger.py`
"""

from __future__ import annotations

import json

import pytest

from curation.build import Stage, parse_tag
from curation.ledger import build_summary, load_stage_stats
from curation.recipe import load_recipe
from tests.conftest import SAMPLE


def _write_stats(folder, rank, entries):
    (folder / "stats").mkdir(parents=True, exist_ok=True)
    rows = [{"name": name, "time_stats": {"total": 0.5}, "stats": stats} for name, stats in entries]
    (folder / "stats" / f"{rank:05d}.json").write_text(json.dumps(rows))


def test_counters_are_matched_by_label_not_position(tmp_path):
    recipe = load_recipe({"name": "t", "input": {"format": "jsonl", "path": str(SAMPLE)},
                          "steps": [{"length_filter": {"min_chars": 10}}, {"language_id": {"keep": ["en"]}}],
                          "output": {"path": str(tmp_path)}})
    logs = tmp_path / "logs" / "segment_0"
    reader = ("reader: | 📖 READER", {"documents": {"total": 10}, "input_bytes": {"total": 100}})
    length = ("step:length_filter | 🔻 length", {"total": 10, "forwarded": 9, "dropped_too_short": 1})
    lid = ("step:language_id | 🔻 lid", {"total": 9, "forwarded": 6, "dropped_lang_not_kept": 3})
    out = ("output: | 💽 WRITER", {"total": 6, "output_bytes": 60})
    _write_stats(logs, 0, [reader, length, lid, out])
    _write_stats(logs, 1, [out, lid, reader, length])  # another order in another rank: same sums
    (tmp_path / "output").mkdir()
    summary = build_summary(tmp_path, [Stage("segment_0", [], 2)], recipe, "2026-01-01T00:00:00+00:00", {})
    steps = {s["name"]: s for s in summary["steps"]}
    assert [s["name"] for s in summary["steps"]] == ["length_filter", "language_id"]
    assert steps["length_filter"]["removed_by_reason"] == {"too_short": 2}
    assert steps["language_id"]["in"] == 18 and steps["language_id"]["kept"] == 12
    assert summary["input"]["docs"] == 20 and summary["output"]["docs"] == 12
    assert summary["invariant"]["ok"]


def test_a_lost_document_breaks_the_invariant_by_name(tmp_path):
    recipe = load_recipe({"name": "t", "input": {"format": "jsonl", "path": str(SAMPLE)},
                          "steps": [{"length_filter": {}}], "output": {"path": str(tmp_path)}})
    _write_stats(tmp_path / "logs" / "segment_0", 0, [
        ("reader: | r", {"documents": 5}), ("step:length_filter | f", {"total": 4, "forwarded": 4}),
        ("output: | w", {"total": 4})])
    (tmp_path / "output").mkdir()
    summary = build_summary(tmp_path, [Stage("segment_0", [], 1)], recipe, "2026-01-01T00:00:00+00:00", {})
    assert not summary["invariant"]["ok"]
    assert summary["invariant"]["problems"] == ["step length_filter received 4 documents but the previous step kept 5"]


def test_untagged_stats_are_an_error(tmp_path):
    _write_stats(tmp_path, 0, [("🔻 - FILTER: something", {"total": 1})])
    with pytest.raises(ValueError, match="without a ledger tag"):
        load_stage_stats(tmp_path)
    assert parse_tag("aux:minhash_dedup | x | y") == ("aux", "minhash_dedup")


def test_each_step_records_the_text_bytes_it_received_and_kept(tmp_path):
    """`bytes_in` / `bytes_kept` per step (the funnel's token estimates): UTF-8 text bytes, for a
    filter that removes some documents and a step after it."""
    import gzip

    import curation

    n, min_chars = 40, 2_000
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line, _ in zip(f, range(n))]
    kept = [t for t in texts if len(t) >= min_chars]
    assert 0 < len(kept) < n  # the threshold splits the sample
    run = curation.run(
        {
            "name": "bytes",
            "input": {"format": "jsonl", "path": str(SAMPLE)},
            "steps": [{"length_filter": {"min_chars": min_chars}}, {"exact_dedup": {}}],
            "output": {"path": str(tmp_path / "run")},
            "executor": {"kind": "local", "tasks": 1},
        },
        limit=n,
    )
    steps = {s["name"]: s for s in run.summary["steps"]}
    assert steps["length_filter"]["bytes_in"] == sum(len(t.encode()) for t in texts)
    assert steps["length_filter"]["bytes_kept"] == sum(len(t.encode()) for t in kept)
    assert steps["exact_dedup"]["bytes_in"] == steps["length_filter"]["bytes_kept"]
    assert 0 < steps["exact_dedup"]["bytes_kept"] <= steps["exact_dedup"]["bytes_in"]
