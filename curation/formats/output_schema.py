"""One record schema for a whole run's output, so that `datasets.load_dataset` loads it.

Steps add metadata keys only to some documents (`dedup.cluster` only on cluster representatives,
`alpaca` `history` only on multi-turn records), and `datasets` fixes its schema from the first file it
reads: a later file with a key the first one lacks (or has only as null) failed with
`TypeError: Couldn't cast ...`. After the last stage, every output record gets every key any record
has, missing values as null (nested mappings and lists of mappings too), and the first shard in name
order gets a record with a non-null value of each key (moved from a later shard), so loading the
shards in name order (`sorted(glob(...))`, as docs/run-folder.md shows) always works. A shard is rewritten
(atomically, gzip reproducible) only when it changes, so a resumed run that finds the shards uniform
reads them and stops."""

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


def _typed(value, path: tuple = ()) -> set[tuple]:
    """Paths (keys, LIST for list elements) that hold a non-null value: what tells pyarrow a type."""
    out: set[tuple] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            if v is not None:
                out.add(path + (k,))
                out |= _typed(v, path + (k,))
    elif isinstance(value, list):
        for v in value:
            if v is not None:
                out.add(path + (LIST,))
                out |= _typed(v, path + (LIST,))
    return out


def _write(path: Path, records, union: dict) -> None:
    """Write `records` (filled with `union`) to `path` atomically, in the shard's own format."""
    if path.name.endswith(".parquet"):
        import pyarrow as pa
        import pyarrow.parquet as pq

        rows = []
        for r in records:  # parquet output stores metadata as a JSON string (formats/parquet.py)
            _fill(r, union)
            rows.append({**r, "metadata": orjson.dumps(r.get("metadata"), default=str).decode()})
        with atomic_open(path) as f:
            pq.write_table(pa.Table.from_pylist(rows), f)
        return
    with atomic_open(path) as f:
        out = gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0) if path.name.endswith(".gz") else f
        for record in records:  # streamed: a shard can be larger than memory
            _fill(record, union)
            out.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
        if out is not f:
            out.close()


def uniform_output(folder: str | Path) -> int:
    """Give every record of the shards in `folder` the same keys (missing as null), and make the first
    shard (in name order) hold a non-null value of every key that has one anywhere.

    Why the second part: `datasets` fixes its schema from the first file it reads, and a key that is
    null (or absent) in every record of that file gets type `null`, which later files cannot be cast
    to. Records that give the first shard a missing type are moved there from later shards (at most
    one per such key, picked in name order, so the result is deterministic). Returns the number of
    shards rewritten.
    """
    files = shards(folder)
    if not files:
        return 0
    union: dict = {}
    first_typed: set[tuple] = set()
    all_typed: set[tuple] = set()
    for i, path in enumerate(files):
        for record in iter_shard(path):
            _merge(union, _shape(record))
            typed = _typed(record)
            all_typed |= typed
            if i == 0:
                first_typed |= typed
    moved: dict[Path, set[int]] = {}
    exemplars: list[dict] = []
    need = all_typed - first_typed
    if need and not files[0].name.endswith(".parquet"):  # parquet metadata is one JSON string column
        for path in files[1:]:
            for j, record in enumerate(iter_shard(path)):
                if (gain := _typed(record) & need):
                    moved.setdefault(path, set()).add(j)
                    exemplars.append(record)
                    need -= gain
                if not need:
                    break
            if not need:
                break
    rewritten = 0
    for i, path in enumerate(files):
        gone = moved.get(path, set())
        if not gone and not (i == 0 and exemplars) and not any(_fill(r, union) for r in iter_shard(path)):
            continue
        records = (r for j, r in enumerate(iter_shard(path)) if j not in gone)
        if i == 0 and exemplars:
            records = list(records) + exemplars
        _write(path, records, union)
        rewritten += 1
    return rewritten
