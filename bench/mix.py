"""`curate mix` throughput vs plain reading and writing of the same documents.

Two run folders (the shared web data's docs_en and docs_multi as output/ shards) mixed 1 epoch each
(weights = their sizes, unit documents), against reading every document of both with the run-folder
reader and writing it with the same gzip shard writer. The mix reads each source twice (count, then
emit) and adds its metadata, so a ratio near 0.5 is the expected cost of planning before writing.

    python -m bench.mix [--data ../shared/data] [--repeats 3] [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import tempfile
from pathlib import Path

from bench.common import DEFAULT_DATA, measure, metrics, result_row, table, write_json


def _runs(data: Path, tmp: Path) -> dict[str, tuple[Path, int]]:
    """name -> (run folder, documents)."""
    out = {}
    for name in ("docs_en", "docs_multi"):
        src = data / "web" / f"{name}.jsonl.gz"
        if not src.exists():
            continue
        folder = tmp / name
        (folder / "output").mkdir(parents=True)
        shutil.copy(src, folder / "output" / "00000_00000.jsonl.gz")
        with gzip.open(src) as f:
            out[name] = (folder, sum(1 for line in f if line.strip()))
    return out


def run_mix(runs: dict, out: str) -> int:
    from curation.mix import mix

    total = sum(n for _, n in runs.values())
    cfg = {"name": "bench", "unit": "documents", "budget": total, "seed": 0,
           "sources": [{"name": k, "run": str(f), "weight": n / total, "max_epochs": 1} for k, (f, n) in runs.items()],
           "output": {"path": out + "/mix", "format": "jsonl.gz", "max_shard_docs": 10_000}}
    return mix(cfg).mixture["documents"]


def run_plain(runs: dict, out: str) -> int:
    from curation.mix import ShardWriter
    from runfolder.documents import iter_records

    writer, n = ShardWriter(Path(out) / "plain", "jsonl.gz", 10_000), 0
    for folder, _ in runs.values():
        for rec in iter_records(folder / "output"):
            writer.add(rec)
            n += 1
    writer.flush()
    return n


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="one repeat instead of --repeats")
    ap.add_argument("--json", help="also write the results as JSON rows (the `curate bench` contract)")
    args = ap.parse_args(argv)
    if args.quick:
        args.repeats = 1
    with tempfile.TemporaryDirectory() as tmp:
        runs = _runs(args.data, Path(tmp))
        mb = sum((f / "output" / "00000_00000.jsonl.gz").stat().st_size for f, _ in runs.values()) / 1e6
        rows, measured, base = [], [], None
        for name, fn in [("plain read → write (runfolder reader, gzip shards)", run_plain), ("curate mix", run_mix)]:
            with tempfile.TemporaryDirectory() as out:
                m = measure(fn, runs, out, repeats=args.repeats)
            docs = m["result"]
            base = base or m["seconds"]
            measured.append(metrics(docs, mb, m["seconds"], m["rss_mb"]))
            rows.append([name, f"{docs:,}", f"{docs / m['seconds']:,.0f}", f"{mb / m['seconds']:.1f}",
                         f"{base / m['seconds']:.2f}", f"{m['rss_mb']:.0f}"])
    print(f"{', '.join(runs)} ({mb:.1f} MB compressed), median of {args.repeats}\n")
    print(table(["pipeline", "docs", "docs/s", "MB/s (compressed)", "speed vs plain", "peak RSS MB"], rows))
    write_json(args.json, [result_row("mix: curate mix (2 sources, 1 epoch)", measured[1], measured[0],
                                      "plain read -> write", note="MB = compressed input; median of --repeats")])


if __name__ == "__main__":
    main()
