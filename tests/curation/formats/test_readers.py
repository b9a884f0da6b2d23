"""Readers: each input format round-trips real text, and unreadable records are rejected, never lost.

Run: `.venv/bin/python -m pytest tests/curation/formats/test_readers.py`
"""

import gzip
import json

import pytest

from tests.conftest import DATA, SAMPLE, read_output


def sample_docs(n=None):
    with gzip.open(SAMPLE, "rt") as f:
        docs = [json.loads(line) for line in f]
    return docs[:n] if n else docs


def test_jsonl_gz_round_trip(run_recipe):
    code, run_dir, summary = run_recipe({"name": "t", "input": {"format": "jsonl", "path": str(SAMPLE)}, "steps": []})
    assert code == 0
    out = read_output(run_dir)
    src = sample_docs()
    assert [d["text"] for d in out] == [d["text"] for d in src]
    assert [d["id"] for d in out] == [d["id"] for d in src]
    assert out[0]["metadata"]["source"] == src[0]["source"]  # extra fields become metadata
    assert summary["input"]["docs"] == len(src) and summary["output"]["docs"] == len(src)
    assert summary["input"]["bytes"] == sum(len(d["text"].encode()) for d in src)


def test_jsonl_glob_folder_and_custom_keys(run_recipe, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(3):
        with open(folder / f"part{i}.jsonl", "w") as f:
            for d in sample_docs(30)[i * 10:(i + 1) * 10]:
                f.write(json.dumps({"body": d["text"], "uid": d["id"]}) + "\n")
    (folder / "notes.txt").write_text("not part of the glob")
    recipe = {"name": "t", "steps": [], "executor": {"tasks": 3},
              "input": {"format": "jsonl", "path": str(folder / "*.jsonl"), "text_key": "body", "id_key": "uid"}}
    code, run_dir, summary = run_recipe(recipe)
    assert code == 0
    assert sorted(d["id"] for d in read_output(run_dir)) == sorted(d["id"] for d in sample_docs(30))
    assert len(summary["output"]["shards"]) == 3  # one per task


def test_missing_ids_are_derived_from_file_and_line(run_recipe, tmp_path):
    path = tmp_path / "noid.jsonl"
    path.write_text("".join(json.dumps({"text": d["text"]}) + "\n" for d in sample_docs(3)))
    code, run_dir, _ = run_recipe({"name": "t", "input": {"format": "jsonl", "path": str(path)}, "steps": []})
    assert [d["id"] for d in read_output(run_dir)] == ["noid.jsonl:1", "noid.jsonl:2", "noid.jsonl:3"]


def test_parquet_round_trip(run_recipe, tmp_path):
    import pandas as pd

    src = sample_docs(40)
    pd.DataFrame(src).to_parquet(tmp_path / "in.parquet")
    code, run_dir, summary = run_recipe({"name": "t", "input": {"format": "parquet", "path": str(tmp_path / "in.parquet")},
                                         "steps": [], "output": {"format": "parquet"}})
    assert code == 0
    out = read_output(run_dir)
    assert [d["text"] for d in out] == [d["text"] for d in src]
    assert json.loads(out[0]["metadata"])["lang"] == src[0]["lang"]


def test_text_files_one_doc_per_file_and_bad_utf8_rejected(run_recipe, tmp_path):
    folder = tmp_path / "txt"
    folder.mkdir()
    docs = sample_docs(5)
    for i, d in enumerate(docs):
        (folder / f"{i}.txt").write_text(d["text"])
    (folder / "latin1.txt").write_bytes("café crème brûlée".encode("latin-1"))
    code, run_dir, summary = run_recipe({"name": "t", "input": {"format": "text", "path": str(folder)}, "steps": []})
    assert code == 0
    out = read_output(run_dir)
    assert sorted(d["text"] for d in out) == sorted(d["text"] for d in docs)
    assert summary["rejected"] == 1 and summary["invariant"]["ok"]
    assert "invalid UTF-8" in (run_dir / "rejected" / "00000.jsonl").read_text()


def test_hf_save_to_disk_round_trip(run_recipe, tmp_path):
    from datasets import Dataset

    src = sample_docs(25)
    Dataset.from_list(src).save_to_disk(str(tmp_path / "ds"))
    code, run_dir, summary = run_recipe({"name": "t", "input": {"format": "hf", "path": str(tmp_path / "ds")},
                                         "steps": [], "executor": {"tasks": 2}})
    assert code == 0
    assert sorted(d["id"] for d in read_output(run_dir)) == sorted(d["id"] for d in src)
    assert summary["input"]["docs"] == 25


def test_warc_html_to_text_keeps_url(run_recipe, tmp_path):
    from io import BytesIO

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    docs = [d for d in sample_docs() if d["source"] == "python-docs"][:4]
    with open(tmp_path / "crawl.warc.gz", "wb") as f:
        writer = WARCWriter(f, gzip=True)
        for i, d in enumerate(docs):
            paras = "".join(f"<p>{p}</p>" for p in d["text"].split("\n\n"))
            html = f"<html><head><title>{d['id']}</title></head><body><nav>menu</nav><article>{paras}</article></body></html>"
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            rec = writer.create_warc_record(f"https://docs.example.org/{i}", "response",
                                            payload=BytesIO(html.encode()), http_headers=headers)
            writer.write_record(rec)
    code, run_dir, summary = run_recipe({"name": "t", "input": {"format": "warc", "path": str(tmp_path / "crawl.warc.gz"), "timeout_s": 60},
                                         "steps": []})
    assert code == 0 and summary["invariant"]["ok"]
    out = read_output(run_dir)
    assert len(out) == 4
    assert out[0]["metadata"]["url"] == "https://docs.example.org/0"
    first_words = " ".join(docs[0]["text"].split()[4:12])
    assert first_words in " ".join(out[0]["text"].split())
    assert "<p>" not in out[0]["text"]


def test_hostile_file_everything_accounted(run_recipe):
    recipe = {"name": "t", "input": {"format": "jsonl", "path": str(DATA / "hostile.jsonl")},
              "steps": [{"length_filter": {"min_chars": 1}}], "output": {"keep_removed": True}}
    code, run_dir, summary = run_recipe(recipe)
    assert code == 0
    inv = summary["invariant"]
    assert inv["ok"] and inv["input"] == 9 and inv["rejected"] == 5 and inv["output"] == 3 and inv["removed"] == 1
    rejected = [json.loads(line) for line in (run_dir / "rejected" / "00000.jsonl").read_text().splitlines()]
    assert {r["line"] for r in rejected} == {2, 3, 4, 5, 7}
    assert {r["error"].split(":")[0] for r in rejected} == {
        "malformed JSON", "invalid UTF-8", "missing text field 'text'", "text field 'text' is int",
        "record is a list, not an object"}
    # the empty document is a document: removed by the filter, with its reason, not rejected
    removed = [json.loads(line) for line in gzip.open(run_dir / "removed" / "length_filter" / "00000.jsonl.gz")]
    assert removed[0]["id"] == "empty" and removed[0]["metadata"]["reason"] == "too_short"


def test_truncated_gzip_keeps_what_was_readable(run_recipe):
    code, run_dir, summary = run_recipe({"name": "t", "input": {"format": "jsonl", "path": str(DATA / "truncated.jsonl.gz")},
                                         "steps": []})
    assert code == 0 and summary["invariant"]["ok"]
    assert summary["rejected"] == 1 and 0 < summary["output"]["docs"] < 40
    assert summary["rejected_by_reason"] == {"truncated or corrupt compressed stream": 1}


def test_huge_document_is_bounded(run_recipe, tmp_path):
    text = " ".join(d["text"] for d in sample_docs())
    huge = (text + " ") * (50_000_000 // len(text) + 1)
    path = tmp_path / "huge.jsonl"
    path.write_text(json.dumps({"id": "huge", "text": huge[:50_000_000]}) + "\n")
    code, run_dir, summary = run_recipe({"name": "t", "input": {"format": "jsonl", "path": str(path),
                                                                 "max_doc_bytes": 100_000_000},  # let it in
                                         "steps": [{"length_filter": {"max_chars": 1_000_000}}, {"exact_dedup": {}}],
                                         "output": {"allow_empty": True}})  # its one document is removed
    assert code == 0 and summary["steps"][0]["removed_by_reason"] == {"too_long": 1}
