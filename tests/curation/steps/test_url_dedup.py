"""url_dedup: URL normalization (known answers) and one document per URL across shards, from WARC and JSONL.

Run: `.venv/bin/python -m pytest tests/curation/steps/test_url_dedup.py`
"""

import gzip
import json
from io import BytesIO

import pytest

from curation.steps.url_dedup import normalize_url
from tests.conftest import read_output


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://Example.ORG/Path?q=1#top", "http://example.org/Path?q=1"),
        ("https://example.org:443/a", "https://example.org/a"),
        ("http://example.org:80", "http://example.org/"),
        ("http://example.org:8080/a", "http://example.org:8080/a"),
        ("  https://www.example.org/a/  ", "https://www.example.org/a/"),
        ("https://User:pw@Example.org/", "https://User:pw@example.org/"),
        ("http://example.org:bad/", "http://example.org:bad/"),  # unparsable port: compared as written
        ("", ""),
    ],
)
def test_normalize_url_known_answers(url, expected):
    assert normalize_url(url) == expected


def test_ignore_scheme_merges_http_and_https():
    assert normalize_url("https://a.org/x") != normalize_url("http://a.org/x")
    assert normalize_url("https://a.org/x", ignore_scheme=True) == normalize_url(
        "http://a.org/x", ignore_scheme=True
    )


def read_removed(folder):
    docs = []
    for p in sorted(folder.glob("*.jsonl.gz")):
        with gzip.open(p, "rt") as f:
            docs += [json.loads(line) for line in f]
    return docs


def write_warc(path, pages):
    """A WARC of HTML responses: `pages` is a list of (url, paragraph text)."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as f:
        writer = WARCWriter(f, gzip=True)
        for url, text in pages:
            html = f"<html><body><article><p>{text}</p></article></body></html>"
            headers = StatusAndHeaders(
                "200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1"
            )
            writer.write_record(
                writer.create_warc_record(
                    url, "response", payload=BytesIO(html.encode()), http_headers=headers
                )
            )


def test_two_crawls_of_one_url_keep_one_warc(run_recipe, tmp_path):
    crawl = tmp_path / "crawls"
    crawl.mkdir()
    para = "The quick brown fox jumps over the lazy dog near the river bank on a sunny afternoon. " * 3
    write_warc(
        crawl / "2023.warc.gz",
        [
            ("https://docs.example.org/guide", "First crawl. " + para),
            ("https://docs.example.org/other", "Another page. " + para),
        ],
    )
    write_warc(
        crawl / "2024.warc.gz", [("HTTPS://Docs.Example.org:443/guide#intro", "Second crawl. " + para)]
    )
    code, run_dir, summary = run_recipe(
        {
            "name": "t",
            "input": {"format": "warc", "path": str(crawl), "glob": "*.warc.gz", "timeout_s": 60},
            "steps": [{"url_dedup": {}}],
            "executor": {"tasks": 2},
            "output": {"keep_removed": True},
        }
    )
    assert code == 0 and summary["invariant"]["ok"]
    out = read_output(run_dir)
    urls = sorted(normalize_url(d["metadata"]["url"]) for d in out)
    assert urls == ["https://docs.example.org/guide", "https://docs.example.org/other"]
    step = summary["steps"][-1]
    assert step["removed_by_reason"] == {"url_duplicate": 1} and summary["dedup"]["url_duplicates"] == 1
    removed = read_removed(run_dir / "removed" / "url_dedup")
    assert len(removed) == 1 and removed[0]["metadata"]["reason"] == "url_duplicate"
    kept = next(d for d in out if normalize_url(d["metadata"]["url"]).endswith("/guide"))
    both = sorted([kept["id"], removed[0]["id"]])
    assert removed[0]["metadata"]["dup_of"] == kept["id"] == both[0]  # the smallest id is kept
    assert not any("_dedup_pos" in d["metadata"] for d in out)


def test_lowest_id_wins_and_documents_without_url_are_kept(run_recipe, tmp_path):
    rows = [
        {"id": "b", "text": "copy one", "page": "http://a.org/x"},
        {"id": "a", "text": "copy two", "page": "HTTP://A.org:80/x#frag"},
        {"id": "c", "text": "no url"},
        {"id": "d", "text": "also no url", "page": ""},
        {"id": "e", "text": "another page", "page": "http://a.org/y"},
    ]
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, run_dir, summary = run_recipe(
        {
            "name": "t",
            "input": {"format": "jsonl", "path": str(path)},
            "steps": [{"url_dedup": {"field": "page"}}],
        }
    )
    assert code == 0 and summary["invariant"]["ok"]
    out = {d["id"]: d for d in read_output(run_dir)}
    assert sorted(out) == ["a", "c", "d", "e"]
    assert summary["dedup"] == {"url_duplicates": 1, "no_url": 2}
