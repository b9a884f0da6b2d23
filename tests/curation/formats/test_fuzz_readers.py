"""Fuzz every input reader with generated hostile input (Hypothesis): no exception escapes a reader,
every record becomes a document or a rejection (input = kept + rejected at the reader; the steps'
`removed` side is covered by the ledger tests), and nothing is written outside the run folder.

Budget: the `ci` profile (tests/conftest.py) runs 40 derandomized examples per test; set
HYPOTHESIS_PROFILE=long for 2,000 fresh ones.

Run: `.venv/bin/python -m pytest tests/curation/formats/test_fuzz_readers.py`
"""

from __future__ import annotations

import gzip
import json
import os

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import example, given
from hypothesis import strategies as st

from curation.registry import ReaderContext, all_readers
from tests.sandbox import freeze, sandbox

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40)
json_values = st.recursive(scalars, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
                           max_leaves=15)
raw_lines = st.binary(min_size=1, max_size=120).map(lambda b: b.replace(b"\n", b" ")).filter(lambda b: b.strip())


def encode(value) -> bytes:
    """JSON as a crawler might have written it: NaN allowed, lone surrogates kept (invalid UTF-8)."""
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


def read(fmt: str, path, run, **params) -> tuple[list, int]:
    """(documents, rejected records) of one reader over `path`, rejections written under `run`."""
    spec = all_readers()[fmt]
    built = spec.build(spec.params(format=fmt, path=str(path), **params), ReaderContext(run_dir=run, limit=-1))
    steps = built if isinstance(built, list) else [built]  # warc: reader + HTML extractor
    stream = None
    for step in steps:
        stream = step.run(stream)
    docs = list(stream)
    reader = steps[0]
    files = list((run / "rejected").glob("*.jsonl")) if (run / "rejected").exists() else []
    rejected = sum(len(p.read_bytes().splitlines()) for p in files)
    assert rejected == reader.stats.stats["rejected"].total if "rejected" in reader.stats.stats else rejected == 0
    return docs, rejected


jsonl_records = st.lists(
    st.one_of(
        st.fixed_dictionaries({"text": st.text(max_size=60), "id": st.text(max_size=10) | st.integers()},
                              optional={"meta": json_values}).map(encode),
        json_values.map(encode).filter(lambda b: b.strip()),
        raw_lines,
    ),
    min_size=1, max_size=12,
)


@given(jsonl_records, st.booleans())
def test_fuzz_jsonl(lines, compress):
    with sandbox() as (inp, run, holder):
        data = b"\n".join(lines) + b"\n"
        path = inp / ("a.jsonl.gz" if compress else "a.jsonl")
        path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
        freeze(inp, holder)
        docs, rejected = read("jsonl", path, run)
        assert len(docs) + rejected == len(lines)


@given(jsonl_records, st.floats(0.05, 0.95))
def test_fuzz_truncated_jsonl_gz(lines, cut):
    with sandbox() as (inp, run, holder):
        data = gzip.compress(b"\n".join(lines) + b"\n", mtime=0)
        path = inp / "a.jsonl.gz"
        path.write_bytes(data[: max(1, int(len(data) * cut))])
        freeze(inp, holder)
        docs, rejected = read("jsonl", path, run)
        assert len(docs) + rejected >= 1  # the cut is reported (rejected) when no record survives it


@given(st.lists(st.binary(max_size=300), min_size=1, max_size=5))
def test_fuzz_text(contents):
    with sandbox() as (inp, run, holder):
        for i, b in enumerate(contents):
            (inp / f"{i}.txt").write_bytes(b)
        freeze(inp, holder)
        docs, rejected = read("text", inp, run)
        assert len(docs) + rejected == len(contents)


@st.composite
def parquet_tables(draw):
    kind = draw(st.sampled_from(["string", "binary", "int", "list"]))
    n = draw(st.integers(1, 10))
    values = {"string": st.text(max_size=40), "binary": st.binary(max_size=40), "int": st.integers(-10, 10),
              "list": st.lists(st.text(max_size=5), max_size=3)}[kind]
    texts = draw(st.lists(st.none() | values, min_size=n, max_size=n))
    ids = draw(st.lists(st.none() | st.text(max_size=8), min_size=n, max_size=n))
    extra = draw(st.lists(st.none() | st.binary(max_size=20), min_size=n, max_size=n))
    return {"text": texts, "id": ids, "extra": extra}


@given(parquet_tables())
def test_fuzz_parquet(columns):
    import pyarrow as pa
    import pyarrow.parquet as pq

    with sandbox() as (inp, run, holder):
        pq.write_table(pa.table(columns), inp / "a.parquet")
        freeze(inp, holder)
        docs, rejected = read("parquet", inp / "a.parquet", run)
        assert len(docs) + rejected == len(columns["text"])


@st.composite
def warc_files(draw):
    records, n = [], draw(st.integers(1, 4))
    for i in range(n):
        payload = draw(st.binary(max_size=200) | st.text(max_size=200).map(lambda t: f"<html><p>{t}</p></html>".encode("utf-8", "surrogatepass")))
        http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" + payload
        uri = draw(st.sampled_from([f"http://e.com/{i}", "", None]))
        length = len(http) + draw(st.sampled_from([0, 0, 0, -3, 5]))
        head = [b"WARC/1.0", b"WARC-Type: response", f"WARC-Record-ID: <urn:uuid:{i:08d}>".encode()]
        head += [f"WARC-Target-URI: {uri}".encode()] if uri is not None else []
        head += [b"WARC-Date: 2024-01-01T00:00:00Z", f"Content-Length: {max(0, length)}".encode()]
        records.append(b"\r\n".join(head) + b"\r\n\r\n" + http + b"\r\n\r\n")
    data = b"".join(records)
    cut = draw(st.none() | st.integers(1, max(1, len(data) - 1)))
    return data if cut is None else data[:cut]


# found by the fuzzer: warcio reports a negative offset (-18) for this gzip member; seeking there raised EINVAL
NEGATIVE_OFFSET_WARC = b"".join(b'WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:0000000%d>\r\nWARC-Target-URI: http://e.com/%d\r\nWARC-Date: 2024-01-01T00:00:00Z\r\nContent-Length: 44\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n\r\n\r\n' % (i, i) for i in range(2))


@given(warc_files(), st.booleans())
@example(NEGATIVE_OFFSET_WARC, True)
def test_fuzz_warc(data, compress):
    with sandbox() as (inp, run, holder):
        path = inp / ("a.warc.gz" if compress else "a.warc")
        path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
        freeze(inp, holder)
        read("warc", path, run)  # the property: nothing escapes, nothing written outside run/


names = st.text(alphabet="abcdefgh._-", min_size=1, max_size=8).filter(lambda s: s not in (".", ".."))


@given(st.dictionaries(names, st.binary(max_size=200), min_size=1, max_size=6),
       st.lists(st.sampled_from(["out", "in", "fifo", "devzero", "dir"]), max_size=3), st.booleans())
def test_fuzz_code_tree(files, specials, follow):
    with sandbox() as (inp, run, holder):
        tree = inp / "tree"
        tree.mkdir()
        (inp / "secret.txt").write_text("CANARY-OUTSIDE")
        for name, content in files.items():
            (tree / name).write_bytes(content)
        listed = len(files)
        for i, kind in enumerate(specials):
            p = tree / f"special{i}.py"
            if kind == "out":
                os.symlink(inp / "secret.txt", p)
            elif kind == "in":
                os.symlink(next(iter(files)), p)
            elif kind == "fifo":
                os.mkfifo(p)
            elif kind == "devzero":
                os.symlink("/dev/zero", p)
            else:
                os.symlink(".", p)
            listed += 1
        freeze(inp, holder)
        docs, rejected = read("code", tree, run, follow_symlinks=follow, max_doc_bytes=150)
        assert len(docs) + rejected == listed
        assert not any("CANARY-OUTSIDE" in d.text for d in docs)


turns = st.lists(st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant", "system", "x"]) | json_values,
                                        "content": st.text(max_size=30) | json_values}), max_size=4)
instruct_records = {
    "alpaca": st.fixed_dictionaries({}, optional={"instruction": st.text(max_size=30) | json_values,
                                                  "input": st.text(max_size=30) | json_values,
                                                  "output": st.text(max_size=30) | json_values}),
    "sharegpt": st.fixed_dictionaries({"conversations": st.lists(st.fixed_dictionaries(
        {"from": st.sampled_from(["human", "gpt", "system", "?"]) | json_values, "value": st.text(max_size=30) | json_values}),
        max_size=4) | json_values}),
    "messages": st.fixed_dictionaries({"messages": turns | json_values}),
}


@pytest.mark.parametrize("fmt", sorted(instruct_records))
@given(data=st.data())
def test_fuzz_instruct(fmt, data):
    lines = data.draw(st.lists(instruct_records[fmt].map(encode) | json_values.map(encode).filter(lambda b: b.strip())
                               | raw_lines, min_size=1, max_size=8))
    with sandbox() as (inp, run, holder):
        (inp / "a.jsonl").write_bytes(b"\n".join(lines) + b"\n")
        freeze(inp, holder)
        docs, rejected = read(fmt, inp / "a.jsonl", run)
        try:  # a file whose first byte is `[` and that parses whole is one JSON array of records
            whole = json.loads(b"\n".join(lines))
            records = len(whole) if isinstance(whole, list) else len(lines)
        except ValueError:
            records = len(lines)
        assert len(docs) + rejected >= records  # a sharegpt record may hold several conversations


def test_the_fuzzer_sees_a_broken_reader(monkeypatch):
    """Sanity: the accounting property fails when a reader drops a record silently."""
    from curation.formats import jsonl

    def drop(self, raw, filepath, line_no):
        return None

    monkeypatch.setattr(jsonl.RejectingJsonlReader, "_parse_line", drop)
    with sandbox() as (inp, run, _):
        (inp / "a.jsonl").write_bytes(b'{"text": "x"}\n')
        docs, rejected = read("jsonl", inp / "a.jsonl", run)
        assert len(docs) + rejected == 0

