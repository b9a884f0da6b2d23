"""`curate mix` throughput vs plain reading and writing of the same documents, by CPU seconds.

Two run folders (the shared web data's docs_en and docs_multi as output/ shards) mixed 1 epoch each
(weights = their sizes, unit documents), against reading every document of both with the run-folder
reader and writing it with the same writer: gzip document shards, and (`tokens`) token shards with a
BPE tokenizer trained on the data first (untimed): plain = read, tokenize in batches of 256, write .npy
shards. The mix reads (and tokenizes) each source twice (count, then emit) and adds its metadata, so a
ratio near 0.5 is the expected cost of planning before writing. CPU seconds (process time, the
tokenizer's threads included) are reported beside wall seconds: the shared machine's wall time is noisy.

    python -m bench.mix [--data ../shared/data] [--repeats 3] [--quick] [--formats jsonl.gz,tokens] [--json PATH]
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import DEFAULT_DATA, metrics, peak_rss_mb, result_row, run_forked, table, write_json


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


def _tokenizer(runs: dict, tmp: Path) -> str:
    """A byte-level BPE (8,192 ids) trained on the first 2,000 documents of each source (not timed)."""
    from runfolder.documents import iter_records
    from training.tokenizer import save_tokenizer, train_bpe

    def texts():
        for folder, _ in runs.values():
            for i, rec in enumerate(iter_records(folder / "output")):
                if i >= 2000:
                    break
                yield rec["text"]

    return str(save_tokenizer(train_bpe(texts(), vocab_size=8192), tmp / "tokenizer"))


def run_mix(runs: dict, out: str, fmt: str, tokenizer: str | None) -> int:
    from curation.mix import mix

    total = sum(n for _, n in runs.values())
    cfg = {
        "name": "bench",
        "unit": "documents",
        "budget": total,
        "seed": 0,
        "tokenizer": tokenizer,
        "sources": [
            {"name": k, "run": str(f), "weight": n / total, "max_epochs": 1} for k, (f, n) in runs.items()
        ],
        "output": {"path": out + "/mix", "format": fmt, "max_shard_docs": 10_000},
    }
    return mix(cfg).mixture["documents"]


def run_plain(runs: dict, out: str, fmt: str, tokenizer: str | None) -> int:
    from curation.mix import ShardWriter
    from runfolder.documents import iter_records

    if fmt == "tokens":
        return _plain_tokens(runs, out, tokenizer)
    writer, n = ShardWriter(Path(out) / "plain", "jsonl.gz", 10_000), 0
    for folder, _ in runs.values():
        for rec in iter_records(folder / "output"):
            writer.add(rec)
            n += 1
    writer.flush()
    return n


def _plain_tokens(runs: dict, out: str, tokenizer: str) -> int:
    """Read, tokenize 256 documents at a time, write EOT + ids as .npy shards of 10,000 documents."""
    import numpy as np

    from runfolder.documents import iter_records
    from training.tokenizer import load_tokenizer

    tok = load_tokenizer(tokenizer)
    eot, folder, n, rows, batch, shard = tok.eos_token_id, Path(out) / "plain", 0, [], [], 0
    folder.mkdir()

    def encode(texts):
        for e in tok.backend_tokenizer.encode_batch(texts, add_special_tokens=False):
            rows.append(np.asarray([eot, *e.ids], dtype=np.uint16))

    for run, _ in runs.values():
        for rec in iter_records(run / "output"):
            batch.append(rec["text"])
            n += 1
            if len(batch) == 256:
                encode(batch)
                batch = []
            if len(rows) >= 10_000:
                np.save(folder / f"{shard:05d}.npy", np.concatenate(rows))
                rows, shard = [], shard + 1
    encode(batch)
    if rows:
        np.save(folder / f"{shard:05d}.npy", np.concatenate(rows))
    return n


def _cpu_timed(fn, args) -> tuple[float, float, float, object]:
    t0, c0 = time.perf_counter(), time.process_time()
    result = fn(*args)
    return time.perf_counter() - t0, time.process_time() - c0, peak_rss_mb(), result


def measure_cpu(fn, *args, repeats: int) -> dict:
    """Median wall and CPU seconds and max peak RSS of `fn(*args)` over `repeats` fresh processes."""
    runs = run_forked(_cpu_timed, fn, args, repeats=repeats)
    return {
        "seconds": statistics.median(r[0] for r in runs),
        "cpu": statistics.median(r[1] for r in runs),
        "rss_mb": max(r[2] for r in runs),
        "result": runs[-1][3],
    }


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="one repeat instead of --repeats")
    ap.add_argument("--formats", default="jsonl.gz,tokens", help="comma-separated: jsonl.gz, tokens")
    ap.add_argument("--json", help="also write the results as JSON rows (the `curate bench` contract)")
    args = ap.parse_args(argv)
    if args.quick:
        args.repeats = 1
    rows, json_rows = [], []
    with tempfile.TemporaryDirectory() as tmp:
        runs = _runs(args.data, Path(tmp))
        mb = sum((f / "output" / "00000_00000.jsonl.gz").stat().st_size for f, _ in runs.values()) / 1e6
        for fmt in args.formats.split(","):
            tokenizer = _tokenizer(runs, Path(tmp)) if fmt == "tokens" else None
            measured, base = [], None
            for name, fn in [(f"plain read → write ({fmt})", run_plain), (f"curate mix ({fmt})", run_mix)]:
                with tempfile.TemporaryDirectory() as out:
                    m = measure_cpu(fn, runs, out, fmt, tokenizer, repeats=args.repeats)
                docs = m["result"]
                base = base or m["cpu"]
                measured.append(metrics(docs, mb, m["cpu"], m["rss_mb"]))
                rows.append(
                    [
                        name,
                        f"{docs:,}",
                        f"{m['cpu']:.1f}",
                        f"{m['seconds']:.1f}",
                        f"{docs / m['cpu']:,.0f}",
                        f"{base / m['cpu']:.2f}",
                        f"{m['rss_mb']:.0f}",
                    ]
                )
            json_rows.append(
                result_row(
                    f"mix: curate mix, {fmt} (2 sources, 1 epoch)",
                    measured[1],
                    measured[0],
                    f"plain read -> write ({fmt})",
                    note="per CPU second; MB = compressed input; median of --repeats",
                )
            )
    print(f"{', '.join(runs)} ({mb:.1f} MB compressed), median of {args.repeats}\n")
    print(
        table(
            ["pipeline", "docs", "CPU s", "wall s", "docs per CPU s", "speed vs plain (CPU)", "peak RSS MB"],
            rows,
        )
    )
    write_json(args.json, json_rows)


if __name__ == "__main__":
    main()
