"""runfolder: layout, the atomic-write helper, summary.json, shard reading and sampling, thresholds.

Run: `.venv/bin/python -m pytest tests/runfolder`
"""

from __future__ import annotations

import gzip
import json
from collections import Counter

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import runfolder
from runfolder import RunFolder


def test_layout_paths(tmp_path):
    run = RunFolder(tmp_path)
    assert run.output == tmp_path / "output" and run.removed("pii") == tmp_path / "removed" / "pii"
    assert run.segment(3) == tmp_path / "work" / "segments" / "03"
    assert [p.name for p in run.produced()] == list(runfolder.PRODUCED)
    assert not run.is_run()


def test_atomic_write_leaves_nothing_half_written(tmp_path):
    target = tmp_path / "a" / "b.json"
    runfolder.atomic_write_json(target, {"x": "é"})
    assert json.loads(target.read_text(encoding="utf-8")) == {"x": "é"}
    with pytest.raises(RuntimeError), runfolder.atomic_open(target) as f:
        f.write(b"partial")
        raise RuntimeError("crash mid-write")
    assert json.loads(target.read_text()) == {"x": "é"}  # the old file is intact
    assert sorted(p.name for p in target.parent.iterdir()) == ["b.json"]  # no temp file left


def test_read_summary_accepts_schema_1_only(tmp_path):
    with pytest.raises(runfolder.SummaryError, match="did the run finish"):
        runfolder.read_summary(tmp_path)
    (tmp_path / "summary.json").write_text("{not json")
    with pytest.raises(runfolder.SummaryError, match="not valid JSON"):
        runfolder.read_summary(tmp_path)
    (tmp_path / "summary.json").write_text(json.dumps({"steps": []}))
    with pytest.raises(runfolder.SummaryError, match="schema None"):
        runfolder.read_summary(tmp_path)
    (tmp_path / "summary.json").write_text(json.dumps({"schema": 1, "steps": []}))
    with pytest.raises(runfolder.SummaryError, match="recipe: missing"):  # every key readers index is checked
        runfolder.read_summary(tmp_path)
    from tests.runfolder.test_summary_checked import GOOD

    (tmp_path / "summary.json").write_text(json.dumps(GOOD))
    assert runfolder.read_summary(tmp_path)["schema"] == 1


def _write_shards(folder, n_shards, per_shard):
    folder.mkdir(parents=True)
    ids = []
    for s in range(n_shards):
        rows = [{"text": f"t{s}-{i}", "id": f"{s}-{i}", "metadata": {"k": i}} for i in range(per_shard)]
        ids += [r["id"] for r in rows]
        if s % 3 == 0:
            with gzip.open(folder / f"00000_{s:05d}.jsonl.gz", "wt") as f:
                f.writelines(json.dumps(r) + "\n" for r in rows)
        elif s % 3 == 1:
            (folder / f"00000_{s:05d}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        else:
            table = pa.table({"text": [r["text"] for r in rows], "id": [r["id"] for r in rows],
                              "metadata": [json.dumps(r["metadata"]) for r in rows]})
            pq.write_table(table, folder / f"00000_{s:05d}.parquet")
    return ids


def test_iter_records_reads_every_format_in_shard_order(tmp_path):
    ids = _write_shards(tmp_path / "output", 6, 4)
    recs = list(runfolder.iter_records(tmp_path / "output"))
    assert [r["id"] for r in recs] == ids
    assert all(isinstance(r["metadata"], dict) for r in recs)  # parquet's JSON string decoded


def test_iter_numbered_numbers_lines_and_sets_aside_what_it_cannot_read(tmp_path):
    shard = tmp_path / "00000_00000.jsonl"
    shard.write_bytes(
        b'{"text": "a", "id": "1"}\n\nnot json\n[1, 2]\n{"text": "caf\xe9", "id": "4"}\n'
        b'{"text": "b", "id": "5", "metadata": "{broken"}\n{"text": "c", "id": "6"}'
    )
    got = list(runfolder.iter_numbered(shard))
    assert [n for n, _ in got] == [1, 3, 4, 5, 6, 7]  # the blank line 2 is counted, not returned
    assert got[0][1]["id"] == "1" and got[3][1]["text"] == "caf\ufffd" and got[5][1]["id"] == "6"
    assert got[1][1].startswith("malformed JSON line") and got[2][1] == "a JSON list, not an object"
    assert got[4][1] == "metadata is not valid JSON"
    with pytest.raises(ValueError):  # the strict reader refuses the same shard
        list(runfolder.iter_shard(shard))


def test_iter_numbered_reports_a_truncated_gzip_and_reads_parquet_columns(tmp_path):
    ids = _write_shards(tmp_path / "output", 3, 5)
    gz, _, parquet = runfolder.shards(tmp_path / "output")
    whole = gz.read_bytes()
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(whole[: len(whole) - 12])  # the gzip trailer and some data gone
    got = list(runfolder.iter_numbered(cut))
    assert got[-1] == (0, runfolder.TRUNCATED_GZIP) and all(isinstance(r, dict) for _, r in got[:-1])
    assert [r["id"] for _, r in runfolder.iter_numbered(gz)] == ids[:5]
    rows = list(runfolder.iter_numbered(parquet, columns=["text", "id"]))
    assert rows == [(i + 1, {"text": f"t2-{i}", "id": f"2-{i}"}) for i in range(5)]


def test_sampling_is_seeded_and_uniform_over_shards(tmp_path):
    _write_shards(tmp_path / "output", 5, 20)
    a = runfolder.sample_records(tmp_path / "output", 10, seed=7)
    assert a == runfolder.sample_records(tmp_path / "output", 10, seed=7) and len(a) == 10
    hits = Counter()
    for seed in range(300):
        for r in runfolder.sample_records(tmp_path / "output", 10, seed=seed):
            hits[r["id"].split("-")[0]] += 1
    # each shard holds 1/5 of the records: ~600 of the 3,000 draws each (a first-n reader gives 3,000/0)
    assert all(480 < hits[str(s)] < 720 for s in range(5)), hits


def test_thresholds_format(tmp_path):
    ths = runfolder.parse_thresholds({
        "length_filter": {"quality.chars": {"op": "min", "value": 10},
                          "quality.chars_max": {"op": "max", "value": 900, "metric": "quality.chars"}},
        "lid": {"lang_score": {"op": "min", "value": 0.5, "per_lang": {"zh": 0.8}}},
    })
    assert [(t.key, t.metric) for t in ths] == [("quality.chars", "quality.chars"),
                                               ("quality.chars_max", "quality.chars"), ("lang_score", "lang_score")]
    assert ths[1].keeps(900) and not ths[1].keeps(901) and not ths[2].keeps(0.7, "zh") and ths[2].keeps(0.7, "en")
    for bad in ({"op": ">=", "value": 1}, {"op": "min", "value": "1"}, {"op": "min", "value": 1, "extra": 2}):
        with pytest.raises(ValueError, match="thresholds.s.k"):
            runfolder.parse_thresholds({"s": {"k": bad}})


def test_every_op_writes_the_threshold_format():
    """What ops report (summary.json `thresholds`) parses under the contract."""
    from curation.recipe import load_recipe

    recipe = load_recipe({"name": "t", "input": {"format": "jsonl", "path": "x"}, "steps": [
        {"length_filter": {"min_chars": 5, "max_chars": 50}}, {"language_id": {"min_score": {"default": 0.3, "fr": 0.5}}},
        {"roots_filters": {}}, {"code_filters": {}}, {"instruction_filters": {}}]})
    from curation.ledger import collect_thresholds

    ths = runfolder.parse_thresholds(collect_thresholds(recipe))
    assert {t.step for t in ths} == {"length_filter", "language_id", "roots_filters", "code_filters", "instruction_filters"}
