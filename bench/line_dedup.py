"""line_dedup throughput beside plain read -> write of the same data, in one process each (rank 0 of 1).

line_dedup is three passes, as `curate run` builds it: read -> unit hashes -> intermediate segment
shard; the count stage; segment read -> filter -> output shard. The baseline is the same reader and
output writer with nothing between. CPU seconds are reported beside wall seconds because this machine
is shared (wall time there depends on the neighbours; CPU time much less).

The third row is the same with `normalize: running_title` (page headers and footers with the page's own
name masked), so the option's cost reads off the second and third rows.

    python -m bench.line_dedup [--data ../shared/data] [--glob 'docs_*.jsonl.gz'] [--limit N] [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import gzip
import resource
import tempfile
import time
from functools import partial
from pathlib import Path

from bench.common import DEFAULT_DATA, metrics, result_row, run_forked, table, write_json


def _drain(steps) -> int:
    data = None
    for step in steps:
        data = step.run(data, 0, 1)
    return sum(1 for _ in data)


def _reader(folder: Path, glob: str, limit: int, out: Path):
    from curation.formats.jsonl import RejectingJsonlReader

    reader = RejectingJsonlReader(str(folder), glob_pattern=glob, limit=limit)
    reader.rejected_dir = str(out / "rejected")
    return reader


def run_plain(folder: Path, glob: str, limit: int, out: Path) -> int:
    from curation.formats.jsonl import ShardedJsonlWriter

    return _drain(
        [_reader(folder, glob, limit, out), ShardedJsonlWriter(str(out / "output"), max_shard_docs=100_000)]
    )


def run_line_dedup(folder: Path, glob: str, limit: int, out: Path, normalize: str = "none") -> int:
    from datatrove.pipeline.writers import JsonlWriter

    from curation.formats.jsonl import SegmentReader, ShardedJsonlWriter
    from curation.formats.writers import record_adapter
    from curation.steps.line_dedup import LineDedupCount, LineDedupFilter, LineDedupParams, LineDedupSignature

    p, work = LineDedupParams(normalize=normalize), str(out / "work")
    seg = JsonlWriter(str(out / "segment"), output_filename="${rank}.jsonl.gz", adapter=record_adapter)
    _drain(
        [
            _reader(folder, glob, limit, out),
            LineDedupSignature(work, p.granularity, p.min_unit_chars, p.buckets, p.normalize),
            seg,
        ]
    )
    LineDedupCount(work, p.buckets, p.min_repeats).decide()
    filt = LineDedupFilter(
        work,
        str(out / "examples"),
        p.granularity,
        p.min_unit_chars,
        p.keep,
        p.min_doc_chars,
        normalize=p.normalize,
    )
    return _drain(
        [
            SegmentReader(str(out / "segment"), glob_pattern="*.jsonl.gz"),
            filt,
            ShardedJsonlWriter(str(out / "output"), max_shard_docs=100_000),
        ]
    )


def _timed(fn, folder, glob, limit) -> tuple[float, float, float, int]:
    with tempfile.TemporaryDirectory() as out:
        t0, c0 = time.perf_counter(), time.process_time()
        docs = fn(folder, glob, limit, Path(out))
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return wall, cpu, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, docs


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--glob", default="docs_*.jsonl.gz", help="files under DATA/web")
    ap.add_argument("--limit", type=int, default=-1, help="documents to read (-1: all)")
    ap.add_argument("--quick", action="store_true", help="the first 2,000 documents only")
    ap.add_argument("--json", help="also write the results as JSON rows (the `curate bench` contract)")
    args = ap.parse_args(argv)
    if args.quick and args.limit < 0:
        args.limit = 2000
    from datatrove.utils.logging import logger

    logger.remove()
    folder = args.data / "web"
    mb, left = (
        0.0,
        args.limit,
    )  # MB of the JSON lines the reader takes (files in name order, as it reads them)
    for path in sorted(folder.glob(args.glob)):
        with gzip.open(path) as f:
            for line in f:
                if left == 0:
                    break
                mb, left = mb + len(line) / 1e6, left - 1
    rows, measured, base = [], [], None
    pipelines = [
        ("read → write (baseline)", run_plain),
        ("read → line_dedup → write", run_line_dedup),
        (
            "read → line_dedup (normalize: running_title) → write",
            partial(run_line_dedup, normalize="running_title"),
        ),
    ]
    for name, fn in pipelines:
        wall, cpu, rss, docs = run_forked(_timed, fn, folder, args.glob, args.limit, repeats=1)[0]
        base = base or cpu
        measured.append(metrics(docs, mb, cpu, rss))
        rows.append(
            [
                name,
                f"{docs:,}",
                f"{docs / cpu:,.0f}",
                f"{cpu:.1f}",
                f"{wall:.1f}",
                f"{base / cpu:.2f}",
                f"{rss:.0f}",
            ]
        )
    docs_in = "all documents" if args.limit < 0 else f"the first {args.limit:,} documents"
    print(
        f"{docs_in} of {args.glob} under {folder} ({mb:.1f} MB of JSON lines; line_dedup defaults), "
        "one process each\n"
    )
    print(
        table(
            ["pipeline", "docs out", "docs/CPU-s", "CPU s", "wall s", "speed vs baseline", "peak RSS MB"],
            rows,
        )
    )
    write_json(
        args.json,
        [
            result_row(
                "line_dedup: read -> line_dedup -> write (jsonl.gz)",
                measured[1],
                measured[0],
                "plain read -> write",
                note="CPU seconds; docs = documents written",
            ),
            result_row(
                "line_dedup normalize: running_title: read -> line_dedup -> write (jsonl.gz)",
                measured[2],
                measured[0],
                "plain read -> write",
                note="CPU seconds; docs = documents written",
            ),
        ],
    )


if __name__ == "__main__":
    main()
