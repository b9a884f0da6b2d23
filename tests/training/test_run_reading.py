"""Training reads run folders through `runfolder` only: every kept document as {text, id} in shard
order, records it cannot use skipped, a truncated shard refused as one ConfigError (exit 2).

Run: `.venv/bin/python -m pytest tests/training/test_run_reading.py`
"""

from __future__ import annotations

import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from training.data import read_run, run_bytes, run_shards
from training.errors import ConfigError


def _run(tmp_path):
    out = tmp_path / "run" / "output"
    out.mkdir(parents=True)
    with gzip.open(out / "00000_00000.jsonl.gz", "wt") as f:
        f.write(json.dumps({"text": "first", "id": "a", "metadata": {}}) + "\n")
        f.write("not json\n")
        f.write(json.dumps({"text": "", "id": "empty"}) + "\n")
        f.write(json.dumps({"text": "no id"}) + "\n")
    pq.write_table(
        pa.table({"text": ["third"], "id": ["c"], "metadata": ["{}"]}), out / "00000_00001.parquet"
    )
    return tmp_path / "run"


def test_read_run_yields_text_and_id_in_shard_order_and_skips_unusable_records(tmp_path):
    run = _run(tmp_path)
    assert list(read_run(run)) == [
        {"text": "first", "id": "a"},
        {"text": "no id", "id": "00000_00000.jsonl.gz:3"},  # file:0-based line, as before
        {"text": "third", "id": "c"},
    ]
    assert run_bytes(run) == len("first") + len("no id") + len("third")  # no summary.json: counted


def test_a_truncated_shard_or_an_empty_run_is_a_config_error(tmp_path):
    run = _run(tmp_path)
    gz = run / "output" / "00000_00000.jsonl.gz"
    data = gz.read_bytes()
    gz.write_bytes(data[:-10])
    with pytest.raises(ConfigError, match="00000_00000.jsonl.gz: truncated or damaged gzip"):
        list(read_run(run))
    (run / "output" / "00000_00001.parquet").unlink()
    gz.unlink()
    with pytest.raises(ConfigError, match="holds no .jsonl.gz"):
        run_shards(run)
