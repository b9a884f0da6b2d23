"""Read -> write throughput: our ledger reader + sharded writer vs datatrove's JsonlReader -> JsonlWriter.

Our reader does more per record (strict UTF-8, rejected records, byte counts) and the writer more per
document (shard rollover); this measures what that costs. Expected ratio ~1.

    python -m bench.io [--data ../shared/data] [--repeats 3] [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench.common import DEFAULT_DATA, measure, metrics, result_row, table, write_json

# --quick: the whole file once per variant ran 66 s of a 300 s cap on the shared machine (load ~4)
QUICK_DOCS = 5_000


def _head(src: Path, n: int, dest: Path) -> Path:
    """The first `n` lines of `src` as a jsonl.gz of their own (a smaller input for --quick)."""
    import gzip

    with gzip.open(src, "rb") as f, gzip.open(dest, "wb", compresslevel=1) as out:
        for line, _ in zip(f, range(n)):
            out.write(line)
    return dest


def _drain(reader, writer) -> int:
    n = 0
    for _ in writer.run(reader.run(None, 0, 1), 0, 1):
        n += 1
    return n


def run_datatrove(src: Path, out: str) -> int:
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter

    return _drain(JsonlReader(str(src.parent), glob_pattern=src.name), JsonlWriter(out))


def run_rootstock(src: Path, out: str) -> int:
    from curation.formats.jsonl import RejectingJsonlReader, ShardedJsonlWriter

    reader = RejectingJsonlReader(str(src.parent), glob_pattern=src.name)
    reader.rejected_dir = str(Path(out) / "rejected")
    return _drain(reader, ShardedJsonlWriter(out, max_shard_docs=100_000))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument(
        "--quick",
        action="store_true",
        help=f"one repeat of the first {QUICK_DOCS:,} documents (`curate bench --quick`)",
    )
    ap.add_argument("--json", help="also write the results as JSON rows (the `curate bench` contract)")
    args = ap.parse_args(argv)
    if args.quick:
        args.repeats = 1
    from datatrove.utils.logging import logger

    logger.remove()
    src = args.data / "web" / "docs_en.jsonl.gz"
    import gzip

    tmp = tempfile.TemporaryDirectory(prefix="bench-io-")
    if args.quick:
        src = _head(src, QUICK_DOCS, Path(tmp.name) / "docs_en_head.jsonl.gz")

    with gzip.open(src) as f:
        mb = sum(len(line) for line in f) / 1e6
    rows, measured = [], []
    base = None
    for name, fn in [
        ("datatrove JsonlReader → JsonlWriter", run_datatrove),
        ("rootstock RejectingJsonlReader → ShardedJsonlWriter", run_rootstock),
    ]:
        with tempfile.TemporaryDirectory() as out:
            m = measure(fn, src, out, repeats=args.repeats)
        docs = m["result"]
        base = base or m["seconds"]
        measured.append(metrics(docs, mb, m["seconds"], m["rss_mb"]))
        rows.append(
            [
                name,
                f"{docs:,}",
                f"{docs / m['seconds']:,.0f}",
                f"{mb / m['seconds']:.1f}",
                f"{base / m['seconds']:.2f}",
                f"{m['rss_mb']:.0f}",
            ]
        )
    tmp.cleanup()
    print(f"read→write of {src.name} ({mb:.1f} MB uncompressed JSON), median of {args.repeats}\n")
    print(table(["pipeline", "docs", "docs/s", "MB/s", "speed vs datatrove", "peak RSS MB"], rows))
    write_json(
        args.json,
        [
            result_row(
                "io: read -> write (jsonl.gz)",
                measured[1],
                measured[0],
                "datatrove JsonlReader -> JsonlWriter",
                note="MB = uncompressed JSON lines; median of --repeats",
            )
        ],
    )


if __name__ == "__main__":
    main()
