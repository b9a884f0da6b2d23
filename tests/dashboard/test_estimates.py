"""The dashboard's estimates against the exact counts of a real run (issue 14, item 3).

Each input file of the run holds its documents with an email first and those without after (as a
crawl sorted by site would): a sample taken from the head of each shard says every document has
one. The uniform sample must land near the exact count, and the Filters page's exact number must be
the ledger's.

Run: `.venv/bin/python -m pytest tests/dashboard/test_estimates.py`
"""

from __future__ import annotations

import json
import math

import pytest

import curation
import runfolder
from dashboard import analysis, data, documents

PER_FILE, WITH_EMAIL = 400, 120  # per input file: 120 docs with an email, then 280 without


@pytest.fixture(scope="module")
def ordered_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ordered")
    for f in range(2):
        with open(tmp / f"part{f}.jsonl", "w") as out:
            for i in range(PER_FILE):
                contact = f" Write to user{i}@example.org for details." if i < WITH_EMAIL else ""
                text = f"Document {f}-{i} about gardening and the weather in spring.{contact}" + " word" * (i % 40)
                out.write(json.dumps({"id": f"{f}-{i}", "text": text}) + "\n")
    run = curation.run(
        {
            "name": "ordered",
            "input": {"format": "jsonl", "path": str(tmp / "part*.jsonl")},
            "steps": [{"length_filter": {"min_chars": 80}}, {"pii": {}}],
            "output": {"path": str(tmp / "run"), "format": "jsonl.gz", "keep_removed": True},
            "executor": {"kind": "local", "tasks": 2, "workers": 1},  # 2 shards, no worker processes
        }
    )
    assert run.ok and len(runfolder.shards(tmp / "run" / "output")) == 2
    return tmp / "run"


def _exact_docs_with_email(run) -> int:
    return sum(1 for r in runfolder.iter_records(run / "output") if r["metadata"].get("pii.email"))


def test_pii_docs_estimate_is_near_the_exact_count(ordered_run, monkeypatch):
    monkeypatch.setattr(data, "MIN_PER_CATEGORY", 20)
    summary = data.load_summary(ordered_run)
    frame = data.sample_documents(ordered_run, cap=120)
    kept = frame[frame["kind"] == data.KEPT]
    n, total = len(kept), summary["output"]["docs"]
    assert 0 < n < total / 3  # a real sample, not the whole run
    exact = _exact_docs_with_email(ordered_run)
    assert exact == summary["pii"]["email"] == 2 * WITH_EMAIL  # one email per such document
    est = documents.pii_frame(summary, frame).set_index("kind").loc["email", "docs_est"]
    p = exact / total
    se = total * math.sqrt(p * (1 - p) / n)
    # the head of each shard would say ~every kept document (est ~= total, 8+ standard errors away)
    assert abs(est - exact) < 4 * se, (est, exact, se)


def test_the_sample_is_seeded_and_spread_over_all_shards(ordered_run):
    a = data.sample_documents(ordered_run, cap=100)
    b = data.sample_documents(ordered_run, cap=100)
    assert list(a["id"]) == list(b["id"])
    kept_ids = a.loc[a["kind"] == data.KEPT, "id"]
    positions = kept_ids.str.split("-").str[1].astype(int)
    assert set(kept_ids.str[0]) == {"0", "1"}  # both shards
    assert positions.max() > WITH_EMAIL  # not only the heads
    assert data.sample_documents(ordered_run, cap=100, seed=1)["id"].tolist() != list(a["id"])


def test_filters_page_number_is_the_ledgers(ordered_run):
    summary = data.load_summary(ordered_run)
    th = next(t for t in analysis.thresholds_from_summary(summary) if t.step == "length_filter")
    step = next(s for s in summary["steps"] if s["name"] == "length_filter")
    removed = step["removed_by_reason"]
    assert removed, "the fixture makes the length filter remove documents"
    # length_filter's reasons (too_short) do not name the metric: no exact number is claimed for it
    assert analysis.ledger_removed(summary, th) is None
    fake = {"steps": [{"name": "roots_filters", "removed_by_reason": {
        "roots_n_words_too_few": 893, "roots_n_words_too_many": 2, "roots_char_rep_ratio": 40}}]}
    low = runfolder.Threshold("roots_filters", "roots.n_words", "min", 20, {}, "roots.n_words", None)
    high = runfolder.Threshold("roots_filters", "roots.n_words_max", "max", 1e5, {}, "roots.n_words", None)
    rep = runfolder.Threshold("roots_filters", "roots.char_rep_ratio", "max", 0.1, {}, "roots.char_rep_ratio", None)
    assert [analysis.ledger_removed(fake, t) for t in (low, high, rep)] == [893, 2, 40]
