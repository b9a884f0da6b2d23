"""`curate eval` reads its eval sets whole: a malformed line is an error naming file:line (exit 2 through
the training CLI's ConfigError), not a silently smaller eval set (issue 14 item 12).

Run: `.venv/bin/python -m pytest tests/training/test_eval_set.py`
"""

import gzip

import pytest

from training.data import ConfigError, read_eval_set, read_jsonl


def test_malformed_eval_line_names_file_and_line(tmp_path):
    path = tmp_path / "heldout.jsonl.gz"
    with gzip.open(path, "wt") as f:
        f.write('{"text": "one"}\n{"text": "two"\n{"text": "three"}\n')
    with pytest.raises(ConfigError, match=r"heldout\.jsonl\.gz:2: malformed JSON line"):
        read_eval_set(path)
    path2 = tmp_path / "list.jsonl"
    path2.write_text('{"text": "one"}\n["not", "an", "object"]\n')
    with pytest.raises(ConfigError, match=r"list\.jsonl:2: a JSON list, not an object"):
        read_eval_set(path2)


def test_training_data_reader_still_skips_bad_lines(tmp_path):
    path = tmp_path / "shard.jsonl"
    path.write_text('{"text": "one"}\nnot json\n[1]\n{"text": "two"}\n')
    assert [d["text"] for d in read_jsonl(path)] == ["one", "two"]
