"""Dashboard details a new user tripped on: PII kinds found zero times are an exact 0 (not None / ≈0),
cluster ids read as integers beside `dup_of:` keys, a limit far past the data does not squash a
histogram into one bar, and the output's tokens are counted (tokenizer) or estimated, labelled.

Run: `.venv/bin/python -m pytest tests/dashboard/test_details.py`
"""

import json

import numpy as np
import pandas as pd

from dashboard import analysis, documents
from runfolder.tokens import output_tokens, tokens_label


def test_a_pii_kind_found_zero_times_is_an_exact_zero():
    summary = {"steps": [{"name": "pii", "op": "pii"}], "pii": {"email": 3}}
    frame = pd.DataFrame({"pii.email": [2, 1], "pii.phone": [0, 0], "weight": [1.0, 1.0]})
    counts = documents.pii_frame(summary, frame).set_index("kind")
    assert counts.loc["phone", "summary"] == 0 and counts.loc["email", "summary"] == 3
    no_step = documents.pii_frame({"steps": [], "pii": {}}, frame).set_index("kind")
    assert pd.isna(no_step.loc["phone", "summary"])  # no pii step in the ledger: unknown, not 0


def test_cluster_ids_are_integers_and_members_are_found():
    frame = pd.DataFrame(
        {
            "id": ["a", "b", "c", "d", "e"],
            "kind": ["kept", "removed", "kept", "removed", "kept"],
            "dedup.cluster": [5.0, 5.0, np.nan, np.nan, np.nan],
            "dup_of": [np.nan, np.nan, np.nan, "c", np.nan],
        }
    )
    clusters = documents.clusters_frame(frame)
    assert sorted(clusters["cluster"]) == ["5", "dup_of:c"]
    assert list(documents.cluster_members(frame, "5")["id"]) == ["a", "b"]
    assert documents.cluster_label("5") == "near-duplicates #5"
    assert documents.cluster_label("dup_of:c") == "exact duplicates of c"


def test_a_limit_far_past_the_data_does_not_squash_the_histogram():
    frame = pd.DataFrame(
        {"roots.n_words": np.arange(10, 510), "kind": "kept", "step": "", "reason": "", "weight": 1.0}
    )
    hist = analysis.histogram(frame, "roots.n_words", bins=40, include=[100_000, 20])
    assert hist["end"].max() < 1_000 and hist["start"].min() <= 20  # 20 is near the data: drawn
    assert (hist["docs"] > 0).sum() > 20  # spread over many bars, not one


def test_output_tokens_counted_or_estimated_and_labelled(tmp_path):
    summary = {"output": {"bytes": 450_000}}
    assert output_tokens(tmp_path, summary) == (112_500, "estimate")
    assert tokens_label(112_500, "estimate") == "≈ 110,000 tokens (est.)"
    (tmp_path / "tokenized").mkdir()
    index = {
        "splits": {"train": {"docs": 100, "tokens": 100_100}, "validation": {"docs": 2, "tokens": 2_002}}
    }
    (tmp_path / "tokenized" / "index.json").write_text(json.dumps(index))
    assert output_tokens(tmp_path, summary) == (102_000, "tokenizer")
    assert tokens_label(102_000, "tokenizer") == "102,000 tokens"
    assert output_tokens(tmp_path / "none", {"output": {}}) == (None, "unknown")


def test_the_cli_funnel_labels_its_token_count(tmp_path):
    from rich.console import Console

    from curation.cli_display import funnel_table

    summary = {"recipe": "r", "input": {"docs": 2}, "rejected": 0, "steps": [],
               "output": {"docs": 2, "bytes": 4_000_000, "shards": ["output/a.jsonl.gz"]}}  # fmt: skip
    con = Console(width=200, record=True)
    con.print(funnel_table(summary, str(tmp_path)))
    text = con.export_text()
    assert "4.00 MB in 1 shards" in text and "≈1M" in text and "≈ (est.): UTF-8 bytes / 4" in text


def _step_summary(bytes_kept):
    step = {"name": "f", "op": "f", "in": 2, "kept": 1, "removed": 1, "removed_by_reason": {"x": 1},
            "seconds": 0.1, **({"bytes_kept": bytes_kept} if bytes_kept is not None else {})}  # fmt: skip
    return {"recipe": "r", "input": {"docs": 2, "bytes": 8_000}, "rejected": 0, "steps": [step],
            "output": {"docs": 1, "bytes": 4_000, "shards": ["output/a.jsonl.gz"]}}  # fmt: skip


def _funnel_rows(summary, run_dir) -> dict[str, str]:
    from rich.console import Console

    from curation.cli_display import funnel_table

    con = Console(width=200, record=True)
    con.print(funnel_table(summary, str(run_dir)))
    return {
        line.split("│")[1].strip(): line for line in con.export_text().splitlines() if line.count("│") > 2
    }


def test_the_cli_funnel_gives_each_step_an_estimated_token_count(tmp_path):
    rows = _funnel_rows(_step_summary(bytes_kept=4_000), tmp_path)
    assert " ≈2k │" in rows["input"] and " ≈1k │" in rows["f"] and " ≈1k │" in rows["output"]
    old_run = _funnel_rows(_step_summary(bytes_kept=None), tmp_path)  # ledger without per-step bytes
    assert "≈" not in old_run["f"] and " - │" in old_run["f"]


def test_the_cli_funnel_counts_output_tokens_and_scales_steps_by_the_tokenizer(tmp_path):
    (tmp_path / "tokenized").mkdir()
    index = {"splits": {"train": {"docs": 1, "tokens": 501}}}  # 500 tokens of text: 8 bytes/token
    (tmp_path / "tokenized" / "index.json").write_text(json.dumps(index))
    rows = _funnel_rows(_step_summary(bytes_kept=4_000), tmp_path)
    assert " 500 │" in rows["output"] and "≈" not in rows["output"]
    assert " ≈500 │" in rows["f"] and " ≈1k │" in rows["input"]
