"""One record schema for a whole run's output, so that `datasets.load_dataset` loads it.

Steps add metadata keys only to some documents (`dedup.cluster` only on cluster representatives,
`alpaca` `history` only on multi-turn records), and pyarrow infers a schema per file or block: the
first file without a key and the second with it gave `TypeError: Couldn't cast ...`. After the last
stage, every output record gets every key any record has, missing values as null, nested mappings
included (lists of mappings too). A shard is rewritten (atomically, gzip reproducible) only when one
of its records lacks a key, so a rerun or a resume that finds the shards uniform reads them and stops.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson

from runfolder import atomic_open, iter_shard, shards

LIST = "[]"  # the shape key of a list's mapping elements


def _shape(value) -> dict | None:
    """Keys of a mapping (recursively); None for a leaf. Lists of mappings have their elements' union."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        out: dict = {}
        for v in value:
            if isinstance(v, dict):
                _merge(out, {LIST: _shape(v)})
        return out or None
    return None


def _merge(into: dict, shape: dict | None) -> None:
    for k, sub in (shape or {}).items():
        if sub is None:
            into.setdefault(k, None)
        elif into.get(k) is None:
            into[k] = {}
            _merge(into[k], sub)
        else:
            _merge(into[k], sub)


def _fill(value, shape: dict | None) -> bool:
    """Add every key of `shape` missing from `value` as null (in place); True when something was added."""
    changed = False
    if isinstance(value, dict) and shape:
        for k, sub in shape.items():
            if k == LIST:
                continue
            if k not in value:
                value[k] = None
                changed = True
            elif sub is not None:
                changed |= _fill(value[k], sub)
    elif isinstance(value, list) and shape and LIST in shape:
        for v in value:
            changed |= _fill(v, shape[LIST])
    return changed


def _rewrite(path: Path, union: dict) -> None:
    if path.name.endswith(".parquet"):  # parquet shards are read whole anyway
        import pyarrow as pa
        import pyarrow.parquet as pq

        records = list(iter_shard(path))
        for r in records:  # parquet output stores metadata as a JSON string (formats/parquet.py)
            _fill(r, union)
            r["metadata"] = orjson.dumps(r.get("metadata"), default=str).decode()
        with atomic_open(path) as f:
            pq.write_table(pa.Table.from_pylist(records), f)
        return
    with atomic_open(path) as f:
        out = gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0) if path.name.endswith(".gz") else f
        for record in iter_shard(path):  # streamed: a shard can be larger than memory
            _fill(record, union)
            out.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
        if out is not f:
            out.close()


def uniform_output(folder: str | Path) -> int:
    """Give every record of the shards in `folder` the same keys (missing as null); returns the number
    of shards rewritten."""
    files = shards(folder)
    union: dict = {}
    for path in files:
        for record in iter_shard(path):
            _merge(union, _shape(record))
    rewritten = 0
    for path in files:
        if any(_fill(record, union) for record in iter_shard(path)):
            _rewrite(path, union)
            rewritten += 1
    return rewritten
