"""Hostile input (issue 12): one record never crashes a run; it goes to rejected/ with file:line or a
byte offset, and the ledger still balances. Every file here is generated in tmp_path.

Run: `.venv/bin/python -m pytest tests/curation/formats/test_hostile.py`
"""

import gzip
import json
from io import BytesIO
from pathlib import Path

import pytest

from tests.conftest import read_output


def rejected(run_dir: Path) -> list[dict]:
    return [json.loads(line) for p in sorted((run_dir / "rejected").glob("*.jsonl")) for line in p.read_text().splitlines()]


def jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def deep(levels: int):
    value = "leaf"
    for _ in range(levels):
        value = {"a": value}
    return value


def run_one(run_recipe, fmt: str, path: Path, **extra):
    out = extra.pop("output", {})
    code, run_dir, summary = run_recipe({"name": "t", "input": {"format": fmt, "path": str(path), **extra},
                                         "steps": [], "output": out}, "--force")
    assert code == 0, "a hostile record must not fail the run"
    assert summary["invariant"]["ok"], summary["invariant"]
    return run_dir, summary


def test_deep_json_is_rejected_with_its_line_not_a_writer_crash(run_recipe, tmp_path):
    # 300 levels: orjson reads it (limit 1024) but cannot write it back (limit 255)
    path = jsonl(tmp_path / "deep.jsonl", [{"text": "ok", "id": "a"}, {"text": "deep", "id": "b", "meta": deep(300)},
                                           {"text": "ok too", "id": "c"}])
    run_dir, summary = run_one(run_recipe, "jsonl", path)
    assert [d["id"] for d in read_output(run_dir)] == ["a", "c"]
    (r,) = rejected(run_dir)
    assert r["source"] == str(path) and r["line"] == 2 and r["error"].startswith("nested deeper than")


def test_parquet_binary_column(run_recipe, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"text": ["one", "two", "three"], "id": ["1", "2", "3"],
                      "blob": [b"\x00\xff\xfe", b"utf-8 text stored as bytes", None]})
    pq.write_table(table, tmp_path / "bin.parquet")
    for out_fmt in ("jsonl.gz", "parquet"):
        run_dir, summary = run_one(run_recipe, "parquet", tmp_path / "bin.parquet", output={"format": out_fmt})
        out = read_output(run_dir)
        assert [d["id"] for d in out] == ["2", "3"]
        meta = out[0]["metadata"] if out_fmt == "jsonl.gz" else json.loads(out[0]["metadata"])
        assert meta["blob"] == "utf-8 text stored as bytes"
        (r,) = rejected(run_dir)
        assert r["line"] == 1 and "binary value in field 'blob'" in r["error"]


def _warc(path: Path, n: int = 3) -> bytes:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buf = BytesIO()
    writer = WARCWriter(buf, gzip=path.name.endswith(".gz"))
    for i in range(n):
        html = (f"<html><body><article><p>Page {i}: a paragraph long enough for the extractor to keep it as the "
                f"main content of this page, with several words in it.</p></article></body></html>")
        headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(f"https://example.org/{i}", "response",
                                                      payload=BytesIO(html.encode()), http_headers=headers))
    path.write_bytes(buf.getvalue())
    return buf.getvalue()


def test_warc_response_without_target_uri(run_recipe, tmp_path):
    raw = _warc(tmp_path / "x.warc")
    (tmp_path / "x.warc").write_bytes(raw.replace(b"WARC-Target-URI: https://example.org/1\r\n", b""))
    run_dir, summary = run_one(run_recipe, "warc", tmp_path / "x.warc", extractor="none")
    assert sorted(d["metadata"]["url"] for d in read_output(run_dir)) == ["https://example.org/0", "https://example.org/2"]
    (r,) = rejected(run_dir)
    assert "no WARC-Target-URI" in r["error"] and r["offset"] > 0


@pytest.mark.parametrize("name", ["cut.warc.gz", "cut.warc"])
def test_warc_cut_at_two_thirds(run_recipe, tmp_path, name):
    from warcio.archiveiterator import ArchiveIterator

    raw = _warc(tmp_path / name, n=6)
    cut = len(raw) * 2 // 3 + 17  # inside a record, not at a boundary
    (tmp_path / name).write_bytes(raw[:cut])
    readable = 0
    try:  # what warcio alone gets out of the file
        for rec in ArchiveIterator(open(tmp_path / name, "rb")):
            readable += rec.rec_headers.get_header("Content-Length") is not None and rec.length is not None
    except Exception:  # noqa: BLE001, S110
        pass
    run_dir, summary = run_one(run_recipe, "warc", tmp_path / name, extractor="none")
    assert summary["output"]["docs"] == 4 and summary["rejected"] == 1
    (r,) = rejected(run_dir)
    assert r["error"].startswith("truncated WARC") and 0 < r["offset"] < cut


@pytest.mark.parametrize("length", [b"50", b"700"])
def test_warc_bad_content_length_loses_nothing_unaccounted(run_recipe, tmp_path, length):
    raw = _warc(tmp_path / "x.warc")
    first = raw.index(b"Content-Length: ")
    end = raw.index(b"\r\n", first)
    (tmp_path / "x.warc").write_bytes(raw[:first] + b"Content-Length: " + length + raw[end:])
    run_dir, summary = run_one(run_recipe, "warc", tmp_path / "x.warc", extractor="none")
    urls = sorted(d["metadata"]["url"] for d in read_output(run_dir))
    rej = rejected(run_dir)
    assert rej[0]["offset"] == 0 and "Content-Length" in rej[0]["error"]  # the record with the bad length
    if length == b"50":  # too short: warcio stumbles on the rest of record 0; records 1 and 2 are read after it
        assert urls == ["https://example.org/1", "https://example.org/2"]
        assert rej[1]["error"].startswith("unreadable WARC data") and rej[1]["offset"] > 0
    else:  # too long: record 0 swallows record 1; the rejection says so, record 2 is read
        assert urls == ["https://example.org/2"] and "swallows" in rej[0]["error"]


def test_truncated_jsonl_gz_read_as_alpaca(run_recipe, tmp_path):
    rows = [{"instruction": f"Say {i} in words, please, with a full sentence.", "input": "", "output": f"It is {i}. " * 30}
            for i in range(200)]
    data = gzip.compress("".join(json.dumps(r) + "\n" for r in rows).encode())
    (tmp_path / "alp.jsonl.gz").write_bytes(data[: len(data) // 2])
    run_dir, summary = run_one(run_recipe, "alpaca", tmp_path / "alp.jsonl.gz")
    assert 0 < summary["output"]["docs"] < 200
    (r,) = rejected(run_dir)
    assert r["error"].startswith("truncated or corrupt compressed stream") and r["line"] == summary["output"]["docs"] + 1


def test_zst_input(run_recipe, tmp_path):
    import zstandard

    body = "".join(json.dumps({"text": f"document {i}", "id": str(i)}) + "\n" for i in range(5)).encode()
    (tmp_path / "five.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(body))
    run_dir, summary = run_one(run_recipe, "jsonl", tmp_path / "five.jsonl.zst")
    assert summary["output"]["docs"] == 5 and summary["rejected"] == 0


@pytest.mark.parametrize("fmt", ["jsonl", "messages", "text"])
def test_utf8_bom_keeps_the_first_record(run_recipe, tmp_path, fmt):
    if fmt == "text":
        (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbfplain text")
        run_dir, summary = run_one(run_recipe, fmt, tmp_path / "bom.txt")
        assert read_output(run_dir)[0]["text"] == "plain text"
        return
    rows = ([{"text": f"doc {i}", "id": str(i)} for i in range(3)] if fmt == "jsonl" else
            [{"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}]} for i in range(3)])
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + "".join(json.dumps(r) + "\n" for r in rows).encode())
    run_dir, summary = run_one(run_recipe, fmt, path)
    assert summary["output"]["docs"] == 3 and summary["rejected"] == 0


def test_max_doc_bytes_rejects_longer_documents_with_the_reason(run_recipe, tmp_path):
    path = jsonl(tmp_path / "big.jsonl", [{"text": "x" * 2000, "id": "big"}, {"text": "small", "id": "small"}])
    run_dir, summary = run_one(run_recipe, "jsonl", path, max_doc_bytes=1000)
    assert [d["id"] for d in read_output(run_dir)] == ["small"]
    (r,) = rejected(run_dir)
    assert r["line"] == 1 and r["error"].startswith("document too large") and "max_doc_bytes" in r["error"]
    assert summary["rejected_by_reason"] == {"document too large": 1}


def test_max_doc_bytes_has_a_sane_default():
    from curation.registry import InputParams

    default = InputParams(format="jsonl", path="x").max_doc_bytes
    assert 1_000_000 <= default <= 100_000_000


def test_a_document_the_writer_cannot_write_is_rejected_not_fatal(tmp_path):
    """Safety net behind the readers: a step could still hand the writer something unwritable."""
    from datatrove.data import Document

    from curation.formats.writers import make_output_writer
    from curation.registry import all_readers

    all_readers()
    for fmt in ("jsonl.gz", "parquet"):
        writer = make_output_writer(str(tmp_path / fmt / "output"), fmt)
        writer.rejected_dir = str(tmp_path / fmt / "rejected")
        docs = [Document(text="a", id="a"), Document(text="b", id="b", metadata={"x": deep(300)}),
                Document(text="c", id="c")]
        assert [d.id for d in writer.run(iter(docs), rank=0)] == ["a", "b", "c"]
        assert writer.stats["rejected"].total == 1 and writer.stats["total"].total == 2
        (r,) = [json.loads(line) for line in (tmp_path / fmt / "rejected" / "00000.output.jsonl").read_text().splitlines()]
        assert r["source"] == "b" and r["error"].startswith("unwritable document")


def test_gzip_output_has_no_time_or_name_in_its_header(run_recipe, tmp_path):
    path = jsonl(tmp_path / "in.jsonl", [{"text": f"doc {i}", "id": str(i)} for i in range(3)])
    run_dir, _ = run_one(run_recipe, "jsonl", path)
    data = next((run_dir / "output").glob("*.jsonl.gz")).read_bytes()
    assert data[4:8] == b"\0\0\0\0"  # MTIME
    assert not data[3] & 0x08  # FLG.FNAME


def test_limit_with_more_tasks_than_files(run_recipe, tmp_path):
    path = jsonl(tmp_path / "in.jsonl", [{"text": f"doc {i}", "id": str(i)} for i in range(1000)])
    code, run_dir, summary = run_recipe({"name": "t", "input": {"format": "jsonl", "path": str(path)}, "steps": [],
                                         "executor": {"tasks": 2}}, "--limit", "600")
    assert code == 0 and summary["output"]["docs"] == 600


# --- the hostile corpus (issue 12, "done when") -----------------------------------------------------


def count_from_files(run_dir: Path) -> tuple[int, int, int]:
    """(kept, removed, rejected) counted from the run folder's files, not from summary.json."""
    from runfolder import iter_records, shards

    kept = sum(1 for _ in iter_records(run_dir / "output"))
    removed = sum(1 for step in (run_dir / "removed").glob("*") for _ in iter_records(step))
    rejected = sum(1 for p in shards(run_dir / "rejected") for _ in p.read_bytes().splitlines())
    return kept, removed, rejected


def truncated_gz(path: Path, lines: list[str]) -> int:
    """Write `lines` gzip-compressed and cut at 60%; returns how many whole lines a reader can get."""
    data = gzip.compress("".join(line + "\n" for line in lines).encode())
    path.write_bytes(data[: len(data) * 6 // 10])
    got = 0
    try:
        with gzip.open(path, "rt") as f:
            for line in f:
                got += line.endswith("\n")
    except (EOFError, OSError):
        pass
    return got


def hostile_jsonl_folder(folder: Path) -> int:
    """Every kind of bad JSON-lines input; returns the number of records (readable or not) planted."""
    import zstandard

    folder.mkdir()
    good = [json.dumps({"text": f"a normal document number {i}", "id": f"g{i}"}) for i in range(20)]
    lines = [
        *good[:5],
        '{"text": "unterminated',  # bad JSON
        b'{"text": "caf\xe9 latin-1"}'.decode("latin-1"),  # becomes bad UTF-8 below
        json.dumps({"text": "a NUL \u0000 inside", "id": "nul"}),
        json.dumps({"text": "deep", "id": "deep", "m": deep(300)}),
        json.dumps({"text": "x", "id": "short"}),  # removed by the length filter
        json.dumps({"id": "no text"}),
        json.dumps([1, 2]),
    ]
    raw = b"\xef\xbb\xbf" + b"".join(
        (line.encode("latin-1") if "caf" in line else line.encode()) + b"\n" for line in lines)
    (folder / "bad.jsonl").write_bytes(raw)
    (folder / "nul_byte.jsonl").write_bytes(b'{"text": "raw \x00 byte"}\n' + good[5].encode() + b"\n")
    planted = len(lines) + 2
    (folder / "ok.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(("\n".join(good[6:11]) + "\n").encode()))
    planted += 5
    readable = truncated_gz(folder / "cut.jsonl.gz", [json.dumps({"text": f"line {i} " * 20}) for i in range(300)])
    planted += readable + 1  # the cut is one rejection
    with open(folder / "huge.jsonl", "w") as f:  # 50 MB: over the default input.max_doc_bytes
        f.write(json.dumps({"id": "huge", "text": "word " * 10_000_000}) + "\n")
    return planted + 1


def test_hostile_corpus_every_format_runs_and_every_record_is_accounted(run_recipe, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    runs = []  # (format, input path, planted records or None when only the files can say)
    runs.append(("jsonl", tmp_path / "jsonl", hostile_jsonl_folder(tmp_path / "jsonl")))
    pdir = tmp_path / "parquet"
    pdir.mkdir()
    pq.write_table(pa.table({"text": ["one", "two", "three"], "id": ["1", "2", "3"],
                             "blob": [b"\x00\xff", b"fine", None]}), pdir / "bin.parquet")
    (pdir / "broken.parquet").write_bytes(b"PAR1 this is not parquet")
    runs.append(("parquet", pdir, None))
    wdir = tmp_path / "warc"
    wdir.mkdir()
    raw = _warc(wdir / "cut.warc.gz", n=6)
    (wdir / "cut.warc.gz").write_bytes(raw[: len(raw) * 2 // 3 + 17])
    plain = _warc(wdir / "bad.warc")
    (wdir / "bad.warc").write_bytes(plain.replace(b"WARC-Target-URI: https://example.org/1\r\n", b"", 1))
    runs.append(("warc", wdir, None))
    for fmt, rec in (("alpaca", {"instruction": "Say hi", "input": "", "output": "Hi there"}),
                     ("sharegpt", {"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "yo"}]}),
                     ("messages", {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}),
                     ("prompt_completion", {"prompt": "p", "completion": "c"})):
        folder = tmp_path / fmt
        folder.mkdir()
        readable = truncated_gz(folder / "cut.jsonl.gz", [json.dumps(dict(rec, id=str(i), pad="x" * i)) for i in range(200)])
        (folder / "bom.jsonl").write_bytes(b"\xef\xbb\xbf" + json.dumps(rec).encode() + b"\n")
        runs.append((fmt, folder, readable + 1 + 1))
    for fmt, path, planted in runs:
        code, run_dir, summary = run_recipe(
            {"name": "hostile", "input": {"format": fmt, "path": str(path), **({"extractor": "none"} if fmt == "warc" else {})},
             "steps": [{"length_filter": {"min_chars": 2}}], "output": {"keep_removed": True}}, "--force")
        assert code == 0, fmt
        kept, removed, rejected_n = count_from_files(run_dir)
        assert kept + removed + rejected_n == summary["input"]["docs"], fmt  # the files, not just the ledger
        assert (kept, removed, rejected_n) == (summary["output"]["docs"], summary["invariant"]["removed"],
                                               summary["rejected"]), fmt
        if planted is not None:
            assert summary["input"]["docs"] == planted, fmt
        assert rejected_n > 0, f"{fmt}: the hostile records must be in rejected/"
        for r in rejected(run_dir):
            assert r["source"] and (r["line"] is not None or r.get("offset") is not None or fmt == "parquet"), r
