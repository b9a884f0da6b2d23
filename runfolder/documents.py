"""Reading the document shards of a run folder: output/, removed/<step>/ and rejected/.

Shards are `.jsonl`, `.jsonl.gz` or `.parquet` (docs/CONTRACTS.md, "Run folder"). Records come back
as dicts: documents `{"text", "id", "metadata": {...}}` (parquet's JSON-string metadata is decoded),
rejected records `{"source", "line", "error", "raw"}`.
"""

from __future__ import annotations

import json
import random
import zlib
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
TRUNCATED_GZIP = "truncated or damaged gzip (a run still writing?)"  # iter_numbered's last item then


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


_CHUNK = 1 << 22  # bytes of decompressed text split into lines at once (readline per line is 3x slower)


def _gunzip(f, state: dict) -> Iterator[bytes]:
    """Decompressed chunks of a gzip file (several members allowed). A truncated or damaged file ends
    after the last byte that could be decompressed, instead of losing the chunk being read;
    `state["complete"]` says whether the file ended cleanly."""
    d = zlib.decompressobj(wbits=31)
    state["complete"] = False
    while comp := f.read(_CHUNK // 4):
        while comp:
            try:
                out = d.decompress(comp)
            except zlib.error:
                return
            if out:
                yield out
            comp = b""
            if d.eof and d.unused_data:  # the next gzip member
                comp, d = d.unused_data, zlib.decompressobj(wbits=31)
    state["complete"] = d.eof


def _jsonl_lines(path: Path, state: dict | None = None) -> Iterator[tuple[int, bytes]]:
    """`(line number, line)` of the non-blank lines of a .jsonl / .jsonl.gz shard (blank lines counted,
    from 1). A truncated .gz (a run still writing) ends early, without its partial last line;
    `state["complete"]` says whether the file ended cleanly."""
    state = {} if state is None else state
    state["complete"], number = True, 0
    with open(path, "rb") as f:
        if path.name.endswith(".gz"):
            chunks = _gunzip(f, state)
        else:
            chunks = iter(lambda: f.read(_CHUNK), b"")
        rest = b""
        for chunk in chunks:
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            yield from ((k, line) for k, line in enumerate(lines, number + 1) if line.strip())
            number += len(lines)
        if rest.strip() and state["complete"]:
            yield number + 1, rest


def _decode_line(line: bytes) -> dict:
    return _decode_metadata(_loads(line))


def _decode_row(item: tuple) -> dict:
    batch, i = item
    return _decode_metadata(batch.slice(i, 1).to_pylist()[0])


def _iter_raw(path: Path) -> Iterator[tuple[object, Callable[[object], dict]]]:
    """`(raw, decode)` per record of a shard, in order; `decode(raw)` parses it. A sampler parses only
    the records it keeps (`sample_records`)."""
    if path.name.endswith(".parquet"):
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=4096):
            for i in range(batch.num_rows):
                yield (batch, i), _decode_row
        return
    for _, line in _jsonl_lines(path):
        yield line, _decode_line


def iter_shard(path: str | Path) -> Iterator[dict]:
    """Every record of one shard, in order. A truncated .gz shard (a run still writing) ends early."""
    path = Path(path)
    if path.name.endswith(".parquet"):
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=4096):
            for row in batch.to_pylist():
                yield _decode_metadata(row)
        return
    for _, line in _jsonl_lines(path):
        yield _decode_line(line)


def iter_numbered(path: str | Path, columns: list[str] | None = None) -> Iterator[tuple[int, dict | str]]:
    """`(number, record)` per record of one shard, leniently: for a reader that sets bad records aside
    with file:line (training) where `iter_shard` raises.

    Args:
        path: a .jsonl, .jsonl.gz or .parquet shard.
        columns: the parquet columns to read (all by default; a reader of text and ids skips the
            metadata); .jsonl lines come back whole.

    Returns:
        An iterator of `(line number, record)` (blank lines counted; parquet: row number), both from 1.
        A record that cannot be read comes as `(number, why)`, a string: a line that is not JSON or not
        an object, metadata that is not valid JSON. Invalid UTF-8 is read with replacement characters.
        A truncated .gz shard ends with `(0, TRUNCATED_GZIP)` after its last complete line.
    """
    path = Path(path)
    if path.name.endswith(".parquet"):
        import pyarrow.parquet as pq

        number = 0
        for batch in pq.ParquetFile(path).iter_batches(batch_size=4096, columns=columns):
            for row in batch.to_pylist():
                number += 1
                try:
                    yield number, _decode_metadata(row)
                except (ValueError, RecursionError):
                    yield number, "metadata is not valid JSON"
        return
    state: dict = {}
    for number, line in _jsonl_lines(path, state):
        try:
            rec = _loads(line)
        except ValueError:
            try:
                rec = json.loads(line.decode("utf-8", errors="replace"))
            except (ValueError, RecursionError) as e:
                yield number, f"malformed JSON line ({type(e).__name__})"
                continue
        if not isinstance(rec, dict):
            yield number, f"a JSON {type(rec).__name__}, not an object"
            continue
        try:
            yield number, _decode_metadata(rec)
        except (ValueError, RecursionError):
            yield number, "metadata is not valid JSON"
    if not state["complete"]:
        yield 0, TRUNCATED_GZIP


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


def iter_shard_checked(path: str | Path) -> Iterator[tuple[int, dict | None, object]]:
    """`(n, record, raw)` per record of one shard, n counting from 1: `record` is None (and `raw` the line
    or row) when it cannot be decoded as a JSON object, so a reader that must account for every record
    (`curate mix`) sets it aside and goes on instead of stopping at a damaged line."""
    for n, (raw, decode) in enumerate(_iter_raw(Path(path)), start=1):
        try:
            rec = decode(raw)
        except (ValueError, TypeError):
            rec = None
        if isinstance(rec, dict):
            yield n, rec, None
        else:
            yield n, None, raw if isinstance(raw, bytes) else repr(raw[0].slice(raw[1], 1).to_pylist())


def iter_records(files: str | Path | Iterable[str | Path]) -> Iterator[dict]:
    """Every record of a folder's shards (or of the given shard files), shard by shard."""
    paths = shards(files) if isinstance(files, (str, Path)) else [Path(p) for p in files]
    for path in paths:
        yield from iter_shard(path)


def sample_records(
    files: str | Path | Iterable[str | Path], n: int, seed: int = 0, total: int | None = None
) -> list[dict]:
    """`n` records drawn uniformly from all shards together, in one pass; returned in reading order.

    Every record has the same chance whatever shard it is in; the same seed gives the same sample.
    Only the sampled records are parsed, so the pass costs little more than decompressing the shards.

    Args:
        files: a folder of shards or the shard files.
        n: sample size (all records when there are fewer).
        seed: the random seed.
        total: the number of records, when known (e.g. from summary.json): the sampled positions are
            drawn up front, so exactly `n` records are parsed. Should the shards hold another number
            (a run still writing), the sample is drawn again without it.
    """
    paths = shards(files) if isinstance(files, (str, Path)) else [Path(p) for p in files]
    if total is not None and 0 <= n < total:
        wanted = sorted(random.Random(seed).sample(range(total), n))
        out, k, i = [], 0, -1
        for path in paths:
            for raw, decode in _iter_raw(path):
                i += 1
                if k < n and wanted[k] == i:
                    out.append(decode(raw))
                    k += 1
        if i + 1 == total:
            return out
    # reservoir sampling (algorithm R): record i replaces a random slot with probability n / (i + 1)
    rng = random.Random(seed)
    reservoir: list[tuple[int, dict]] = []
    i = -1
    for path in paths:
        for raw, decode in _iter_raw(path):
            i += 1
            if len(reservoir) < n:
                reservoir.append((i, decode(raw)))
            else:
                j = rng.randrange(i + 1)
                if j < n:
                    reservoir[j] = (i, decode(raw))
    return [rec for _, rec in sorted(reservoir, key=lambda t: t[0])]
