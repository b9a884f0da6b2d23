"""line_dedup: units repeated across the corpus are removed (every copy, or all but the first), documents
left too short are removed with a reason, and the ledger counts modified documents and bytes removed.

Run: `.venv/bin/python -m pytest tests/curation/steps/test_line_dedup.py`
"""

import json

import numpy as np

from curation.steps.line_dedup.units import UnitSpill, count_repeats, split_units, unit_hash
from runfolder import RunFolder
from tests.conftest import read_output

NAV = "Prev Up Home Next"
BODY = [
    "PostgreSQL stores tables as heap files split into fixed-size pages of eight kilobytes each.",
    "The planner estimates the cost of each plan from table statistics gathered by ANALYZE.",
    "A B-tree index keeps keys sorted so that range scans read consecutive leaf pages.",
    "Write-ahead logging makes every change durable before the data page itself is written.",
]


def corpus() -> list[dict]:
    """Four pages with the same navigation line, one line shared by two pages (below min_repeats=3),
    and one page that is navigation plus a few words."""
    docs = [
        {
            "id": f"p{i}",
            "text": f"{NAV}\n{body}\n\nQuoted once more: see also.\n{NAV}" if i < 2 else f"{NAV}\n{body}",
        }
        for i, body in enumerate(BODY)
    ]
    docs[0]["text"] = docs[0]["text"].replace("see also.", "shared line here.")
    docs[1]["text"] = docs[1]["text"].replace("see also.", "shared line here.")
    docs.append({"id": "p4", "text": f"{NAV}\nShort page."})
    return docs


def write_jsonl(path, docs):
    path.write_text("".join(json.dumps(d) + "\n" for d in docs))
    return path


def test_units_split_and_join_back_byte_for_byte():
    text = "a\n\n  \nb\r\nc\n"
    assert "".join(split_units(text, "line")) == text
    assert split_units(text, "paragraph")[0::2] == ["a", "b\r\nc\n"]
    assert "".join(split_units(text, "paragraph")) == text


def test_unit_hash_ignores_whitespace_and_skips_short_units():
    assert unit_hash("  Prev  Up\tHome Next ", 1) == unit_hash("Prev Up Home Next", 1)
    assert unit_hash("Prev Up Home Next", 1) != unit_hash("prev up home next", 1)
    assert unit_hash("   ", 1) is None and unit_hash("ok", 3) is None


def test_count_repeats_same_answer_whatever_the_buckets(tmp_path):
    rng = np.random.default_rng(0)
    hashes = rng.integers(0, 2**63, size=50, dtype=np.uint64).tolist()
    rows = [
        (r, d, [(u, hashes[(r * 7 + d * 3 + u) % 50]) for u in range(5)]) for r in range(2) for d in range(20)
    ]
    results = []
    for buckets in (1, 4, 64):
        folder = tmp_path / f"b{buckets}"
        for rank in range(2):
            spill = UnitSpill(folder, buckets)
            for row in rows:
                if row[0] == rank:
                    spill.append(row)
            spill.finish(folder / f"{rank:05d}")
        h, firsts, stats = count_repeats(folder, buckets, min_repeats=3)
        assert list(h) == sorted(h) and not list(folder.glob(".tmp-*"))
        results.append((h.tolist(), firsts.tolist(), stats))
    assert results[0] == results[1] == results[2]
    assert results[0][2]["units"] == 200


def test_repeated_lines_removed_everywhere_and_ledger_counts(run_recipe, tmp_path):
    docs = corpus()
    code, run_dir, summary = run_recipe(
        {
            "name": "t",
            "input": {"format": "jsonl", "path": str(write_jsonl(tmp_path / "in.jsonl", docs))},
            "steps": [{"line_dedup": {"min_repeats": 3, "min_doc_chars": 20}}],
            "executor": {"tasks": 2},
            "output": {"keep_removed": True},
        }
    )
    assert code == 0 and summary["invariant"]["ok"]
    out = {d["id"]: d for d in read_output(run_dir)}
    assert sorted(out) == ["p0", "p1", "p2", "p3"]
    assert out["p2"]["text"] == BODY[2]
    assert out["p0"]["text"] == f"{BODY[0]}\n\nQuoted once more: shared line here."  # seen twice: kept
    assert out["p0"]["metadata"]["line_dedup.removed_units"] == 2
    step = summary["steps"][0]
    assert step["removed_by_reason"] == {"too_short_after_line_dedup": 1}
    assert step["modified"] == 4
    in_bytes = sum(len(d["text"].encode()) for d in docs if d["id"] != "p4")
    assert step["bytes_removed"] == in_bytes - sum(len(d["text"].encode()) for d in out.values())
    assert summary["line_dedup"]["repeated_units"] == 1 and summary["line_dedup"]["repeated_occurrences"] == 7
    examples = RunFolder(run_dir).removed_unit_examples("line_dedup")
    assert examples[0]["unit"] == NAV and examples[0]["count"] == 7


def test_keep_first_keeps_the_first_occurrence_in_input_order(run_recipe, tmp_path):
    path = write_jsonl(tmp_path / "in.jsonl", corpus())
    code, run_dir, summary = run_recipe(
        {
            "name": "t",
            "input": {"format": "jsonl", "path": str(path)},
            "steps": [{"line_dedup": {"keep": "first", "min_doc_chars": 0}}],
        }
    )
    assert code == 0 and summary["invariant"]["ok"]
    out = {d["id"]: d["text"] for d in read_output(run_dir)}
    assert out["p0"].count(NAV) == 1 and out["p0"].startswith(NAV)  # first copy kept, its second removed
    assert all(NAV not in out[i] for i in ("p1", "p2", "p3", "p4"))


def test_paragraph_granularity_removes_whole_paragraphs(run_recipe, tmp_path):
    footer = "Licensed under the GNU Free Documentation License.\nCopyright the authors."
    docs = [{"id": f"d{i}", "text": f"{body}\n\n{footer}"} for i, body in enumerate(BODY)]
    docs.append({"id": "d9", "text": f"{BODY[0]}\n\nCopyright the authors."})  # one line of it alone: kept
    path = write_jsonl(tmp_path / "in.jsonl", docs)
    code, run_dir, _ = run_recipe(
        {
            "name": "t",
            "input": {"format": "jsonl", "path": str(path)},
            "steps": [{"line_dedup": {"granularity": "paragraph"}}],
        }
    )
    assert code == 0
    out = {d["id"]: d["text"] for d in read_output(run_dir)}
    assert [out[f"d{i}"] for i in range(4)] == BODY
    assert out["d9"].endswith("Copyright the authors.")


def test_buckets_must_be_a_power_of_two(run_recipe, tmp_path, capsys):
    path = write_jsonl(tmp_path / "in.jsonl", corpus())
    code, _, _ = run_recipe(
        {
            "name": "t",
            "input": {"format": "jsonl", "path": str(path)},
            "steps": [{"line_dedup": {"buckets": 3}}],
        }
    )
    assert code == 2
    assert "buckets" in capsys.readouterr().err


def test_pii_sweep_scrubs_removed_lines_of_steps_before_it(run_recipe, tmp_path):
    docs = [{"id": f"d{i}", "text": f"Write to jane.doe@example.com for help.\n{body}"} for i, body in enumerate(BODY)]
    path = write_jsonl(tmp_path / "in.jsonl", docs)
    code, run_dir, summary = run_recipe({"name": "t", "input": {"format": "jsonl", "path": str(path)},
                                         "steps": [{"line_dedup": {}}, {"pii": {}}]})
    assert code == 0 and summary["pii_run_folder"]["removed_unit_files"] == 1
    examples = RunFolder(run_dir).removed_unit_examples("line_dedup")
    assert examples[0]["count"] == 4 and "jane.doe" not in examples[0]["unit"] and "EMAIL" in examples[0]["unit"]


def test_removed_examples_stay_bounded_and_keep_the_frequent_units(monkeypatch, tmp_path):
    from curation.steps import line_dedup

    monkeypatch.setattr(line_dedup, "MAX_EXAMPLES", 3)
    f = line_dedup.LineDedupFilter(str(tmp_path), str(tmp_path), "line", 1, "none", 0)
    for unit in ["nav", "nav", "a", "b", "c", "nav", "d", "d"]:
        f._remember(unit, "id")
    assert len(f._examples) <= 3 and f._examples["nav"][0] == 3 and f._examples["d"][0] == 2
