"""Benchmark of the `quality_classifier` op: its throughput against a bare fastText `predict` loop.

Both sides get the same documents; the raw loop predicts on the text the model sees (normalized as
the model card says, prepared outside the timer), the op does everything itself (normalization,
batched predict, metadata, counters). Side by side in one process, interleaved, medians of
`--repeats` runs. The issue's bar: op >= 0.85x the raw loop. Also times training from the shipped
config when the model is missing (or with `--train`).

Usage (repo root, with ../shared/data present):
    python -m bench.classifier [--model runs/classifiers/web-vs-curated/model.bin] [--docs 2000] [--json PATH]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from datatrove.data import Document

from bench.common import DEFAULT_DATA, load_jsonl, metrics, peak_rss_mb, result_row, write_json
from curation.recipe import RecipeError
from curation.steps.classifier.op import QualityClassifierFilter
from curation.steps.classifier.train import normalize_text, train_classifier

CONFIG = Path("recipes/quality_classifier/train.yaml")


def bench_throughput(model_path: str, label: str, texts: list[str], repeats: int) -> dict:
    step = QualityClassifierFilter(model_path, label, "quality.bench", min_score=None)
    model = step.model
    lines = [normalize_text(t, step.norm) for t in texts]
    docs = [Document(text=t, id=str(i)) for i, t in enumerate(texts)]  # reused: run() only sets metadata

    def raw():
        for line in lines:
            model.predict(line, k=-1)

    def op():
        for _ in step.run(iter(docs)):
            pass

    raw(), op()  # warm-up (page in the model)
    wall: dict[str, list[float]] = {"raw": [], "op": []}
    cpu: dict[str, list[float]] = {"raw": [], "op": []}  # CPU time of this process: less hurt by other jobs
    for _ in range(repeats):  # interleaved, so load changes hit both sides alike
        for name, fn in (("raw", raw), ("op", op)):
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            wall[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
    n = len(texts)
    med = {k: statistics.median(v) for k, v in wall.items()}
    r = {
        "docs": n,
        "mean_chars": sum(map(len, texts)) / n,
        "max_chars": step.norm.max_chars,
        "mb": sum(len(t.encode("utf-8", "surrogatepass")) for t in texts) / 1e6,
        "raw_seconds": med["raw"],
        "op_seconds": med["op"],
        "raw_docs_per_s": n / med["raw"],
        "op_docs_per_s": n / med["op"],
        "cpu_ratio": statistics.median(cpu["raw"]) / statistics.median(cpu["op"]),
    }
    r["ratio"] = r["op_docs_per_s"] / r["raw_docs_per_s"]
    return r


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--model", default="runs/classifiers/web-vs-curated/model.bin")
    ap.add_argument("--label", default="hq")
    ap.add_argument("--docs", type=int, default=2000, help="documents of web/docs_en.jsonl.gz to score")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--train", action="store_true", help=f"(re)train from {CONFIG} first and time it")
    ap.add_argument("--quick", action="store_true", help="500 docs, 3 repeats")
    ap.add_argument("--json", type=Path, help="write rows in the bench/common.py contract")
    args = ap.parse_args(argv)
    from curation.executors.base import quiet_terminal_logging

    quiet_terminal_logging()
    out: dict = {}
    if args.train or not Path(args.model).is_file():
        t0 = time.perf_counter()
        try:  # the config reads ../shared/data relative to the repo root, whatever --data says
            card = train_classifier(CONFIG)
        except RecipeError as e:
            print(f"cannot train the benchmark model: {e}", file=sys.stderr)
            return 2
        out["train"] = {
            "seconds": time.perf_counter() - t0,
            "heldout": card["heldout"],
            "counts": card["counts"],
        }
        print(f"## Training ({CONFIG})\n{out['train']['seconds']:.1f}s; held-out {card['heldout']}")
    if args.quick:
        args.docs, args.repeats = min(args.docs, 500), 3
    texts = [d["text"] for d in load_jsonl(args.data / "web" / "docs_en.jsonl.gz", limit=args.docs)]
    r = out["throughput"] = bench_throughput(args.model, args.label, texts, args.repeats)
    print(
        f"\n## Throughput ({r['docs']} docs, mean {r['mean_chars']:.0f} chars, model sees <= {r['max_chars']} chars;"
        f" medians of {args.repeats})"
    )
    print(f"{'':28s} {'docs/s':>10s}")
    print(f"{'raw model.predict loop':28s} {r['raw_docs_per_s']:10.0f}")
    print(f"{'quality_classifier op':28s} {r['op_docs_per_s']:10.0f}")
    print(f"{'op / raw':28s} {r['ratio']:10.2f}x  (bar: >= 0.85x; by CPU time: {r['cpu_ratio']:.2f}x)")
    rss = peak_rss_mb()  # one process runs both sides: the model dominates it
    write_json(
        args.json,
        [
            result_row(
                "quality_classifier op",
                metrics(r["docs"], r["mb"], r["op_seconds"], rss),
                metrics(r["docs"], r["mb"], r["raw_seconds"], rss),
                "raw fastText predict loop (pre-normalized text)",
                f"op/raw {r['ratio']:.2f}x (CPU time {r['cpu_ratio']:.2f}x); model sees <= {r['max_chars']} chars; MB of full document text",
            )
        ],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
