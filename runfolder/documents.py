"""Reading the document shards of a run folder: output/, removed/<step>/ and rejected/.

Shards are `.jsonl`, `.jsonl.gz` or `.parquet` (docs/CONTRACTS.md, "Run folder"). Records come back
as dicts: documents `{"text", "id", "metadata": {...}}` (parquet's JSON-string metadata is decoded),
rejected records `{"source", "line", "error", "raw"}`.
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from runfolder.layout import RunFolder

try:  # datatrove depends on orjson; the stdlib is the fallback
    import orjson

    _loads = orjson.loads
except ImportError:  # pragma: no cover
    _loads = json.loads

SHARD_SUFFIXES = (".jsonl.gz", ".jsonl", ".parquet")
KEPT, REMOVED, REJECTED = "kept", "removed", "rejected"


def shards(folder: str | Path) -> list[Path]:
    """The shard files of one folder, sorted by name (= rank, then shard)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name.endswith(SHARD_SUFFIXES))


def list_shards(run_dir: str | Path, rejected: bool = False) -> dict[tuple[str, str], list[Path]]:
    """Shards by category: `(kept, "")`, `(removed, step_id)` per removed/<step_id>/, and with
    `rejected=True` also `(rejected, "")`. Categories without shards are left out."""
    run = RunFolder(run_dir)
    cats = {(KEPT, ""): shards(run.output)}
    for step in run.removed_steps():
        cats[(REMOVED, step)] = shards(run.removed(step))
    if rejected:
        cats[(REJECTED, "")] = shards(run.rejected)
    return {k: v for k, v in cats.items() if v}


def _decode_metadata(row: dict) -> dict:
    md = row.get("metadata")
    if isinstance(md, (str, bytes)):
        row["metadata"] = _loads(md) if md else {}
    return row


def _iter_raw(path: Path) -> Iterator[Callable[[], dict]]:
    """One decoder per record of a shard, in order: a record is parsed only when its decoder is called,
    so a sampler can pass over records it does not keep (`sample_records`)."""
    if path.name.endswith(".parquet"):
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=4096):
            for i in range(batch.num_rows):
                yield lambda batch=batch, i=i: _decode_metadata(batch.slice(i, 1).to_pylist()[0])
        return
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as f:
        try:
            for line in f:
                if line.strip():
                    yield lambda line=line: _decode_metadata(_loads(line))
        except (EOFError, OSError):  # a truncated .gz shard (a run still writing) ends early
            return


def iter_shard(path: str | Path) -> Iterator[dict]:
    """Every record of one shard, in order. A truncated .gz shard (a run still writing) ends early."""
    path = Path(path)
    if path.name.endswith(".parquet"):
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=4096):
            for row in batch.to_pylist():
                yield _decode_metadata(row)
        return
    for decode in _iter_raw(path):
        yield decode()


def read_shard(path: str | Path, limit: int) -> list[dict]:
    """Up to `limit` records from the start of one shard."""
    out: list[dict] = []
    if limit <= 0:
        return out
    for rec in iter_shard(path):
        out.append(rec)
        if len(out) >= limit:
            break
    return out


def iter_records(files: str | Path | Iterable[str | Path]) -> Iterator[dict]:
    """Every record of a folder's shards (or of the given shard files), shard by shard."""
    paths = shards(files) if isinstance(files, (str, Path)) else [Path(p) for p in files]
    for path in paths:
        yield from iter_shard(path)


def sample_records(files: str | Path | Iterable[str | Path], n: int, seed: int = 0) -> list[dict]:
    """`n` records drawn uniformly from all shards together (reservoir sampling; one pass).

    Every record has the same chance whatever shard it is in; the same seed gives the same sample.
    Returned in reading order. Only records that enter the reservoir are parsed (about
    n * (1 + ln(N / n)) of N), so the pass costs little more than decompressing the shards.
    """
    rng = random.Random(seed)
    reservoir: list[tuple[int, dict]] = []
    paths = shards(files) if isinstance(files, (str, Path)) else [Path(p) for p in files]
    i = -1
    for path in paths:
        for decode in _iter_raw(path):
            i += 1
            if len(reservoir) < n:
                reservoir.append((i, decode()))
            else:
                j = rng.randrange(i + 1)
                if j < n:
                    reservoir[j] = (i, decode())
    return [rec for _, rec in sorted(reservoir, key=lambda t: t[0])]
