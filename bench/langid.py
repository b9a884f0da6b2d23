"""Benchmark of the `language_id` step: wrapper overhead, accuracy per language, prefix length.

1. docs/s of LanguageIdFilter.run vs a bare `model.predict` loop on the same (normalized) texts;
2. accuracy per ROOTS language on `langid/dev.jsonl.gz` (sampled per language), cased vs lowercased;
3. prediction on a prefix of N chars vs the whole document on long docs (`web/docs_multi.jsonl.gz`):
   agreement with the whole-document label and docs/s.

Timings are medians of 3 runs, side by side in one process. Usage (repo root):
    python -m bench.langid [--data ../shared/data] [--per-lang 200] [--long-docs 500] [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from datatrove.data import Document

from bench.common import DEFAULT_DATA, metrics, result_row, write_json
from curation.steps.langid import LanguageIdFilter, normalize_label

ROOTS_LANGS = ["en", "fr", "es", "ar", "zh", "bn", "ca", "eu", "hi", "id", "pt", "ur", "vi"]
_NEWLINES = re.compile(r"[\r\n\v\f\x00]+")


def median_time(fn, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def read_jsonl(path: Path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)


def sample_dev(path: Path, per_lang: int, seed: int = 0) -> dict[str, list[str]]:
    by_lang = defaultdict(list)
    for row in read_jsonl(path):
        if row["lang"] in ROOTS_LANGS:
            by_lang[row["lang"]].append(row["text"])
    rng = random.Random(seed)
    return {lang: rng.sample(texts, min(per_lang, len(texts))) for lang, texts in sorted(by_lang.items())}


def bench_overhead(texts: list[str], max_chars: int, repeats: int) -> dict:
    step = LanguageIdFilter(max_chars=max_chars)
    model = step.model
    normalized = [_NEWLINES.sub(" ", t[:max_chars] if max_chars else t) for t in texts]

    def raw():
        for t in normalized:
            _labels, _probs = model.predict(t, k=1)

    docs = [Document(text=t, id=str(i)) for i, t in enumerate(texts)]  # reused: run() only sets metadata

    def wrapped():
        for _ in step.run(iter(docs)):
            pass

    t_raw, t_step = median_time(raw, repeats), median_time(wrapped, repeats)
    n = len(texts)
    print(f"\n## Throughput ({n} texts, mean {sum(map(len, texts)) / n:.0f} chars, max_chars={max_chars})")
    print(f"{'':24s} {'docs/s':>10s}")
    print(f"{'raw model.predict loop':24s} {n / t_raw:10.0f}")
    print(f"{'language_id step':24s} {n / t_step:10.0f}")
    print(f"wrapper overhead: {100 * (t_step / t_raw - 1):+.1f}% (goal <= 15%)")
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    return {"ours": metrics(n, mb, t_step, None), "baseline": metrics(n, mb, t_raw, None)}


def bench_accuracy(samples: dict[str, list[str]]) -> None:
    cased, lower = LanguageIdFilter(), LanguageIdFilter(lowercase=True)
    print(f"\n## Accuracy on langid/dev (sampled <= {max(map(len, samples.values()))} per language)")
    print(f"{'lang':5s} {'n':>5s} {'acc':>7s} {'acc_lc':>7s} {'mean_p':>7s}  top confusions")
    totals = [0, 0, 0]
    for lang, texts in samples.items():
        preds = [cased.predict(t) for t in texts]
        preds_lc = [lower.predict(t)[0] for t in texts]
        ok = sum(p == lang for p, _ in preds)
        ok_lc = sum(p == lang for p in preds_lc)
        wrong = defaultdict(int)
        for p, _ in preds:
            if p != lang:
                wrong[p] += 1
        conf = ", ".join(f"{k}:{v}" for k, v in sorted(wrong.items(), key=lambda kv: -kv[1])[:3])
        mean_p = statistics.mean(s for _, s in preds)
        print(
            f"{lang:5s} {len(texts):5d} {ok / len(texts):7.3f} {ok_lc / len(texts):7.3f} {mean_p:7.3f}  {conf}"
        )
        totals[0] += len(texts)
        totals[1] += ok
        totals[2] += ok_lc
    print(f"{'all':5s} {totals[0]:5d} {totals[1] / totals[0]:7.3f} {totals[2] / totals[0]:7.3f}")


def bench_prefix(texts: list[str], repeats: int) -> None:
    full = LanguageIdFilter(max_chars=0)
    reference = [full.predict(t)[0] for t in texts]
    mean = sum(map(len, texts)) / len(texts)
    print(
        f"\n## Prefix length vs whole document ({len(texts)} docs of web/docs_multi, mean {mean:.0f} chars)"
    )
    print(f"{'max_chars':>9s} {'agree':>7s} {'docs/s':>9s}")
    for max_chars in (100, 300, 1000, 2000, 5000, 0):
        step = LanguageIdFilter(max_chars=max_chars)
        elapsed = median_time(lambda step=step: step.predict_many(texts), repeats)
        preds = [lang for lang, _ in step.predict_many(texts)]
        agree = sum(p == r for p, r in zip(preds, reference)) / len(texts)
        print(f"{max_chars or 'all':>9} {agree:7.3f} {len(texts) / elapsed:9.0f}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shared data folder (../shared/data)")
    ap.add_argument("--per-lang", type=int, default=200, help="dev sentences per language")
    ap.add_argument("--long-docs", type=int, default=500, help="docs of web/docs_multi for the prefix table")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="one repeat, 50 sentences per language, 100 docs")
    ap.add_argument("--json", help="also write the results as JSON rows (the `curate bench` contract)")
    args = ap.parse_args(argv)
    if args.quick:
        args.repeats, args.per_lang, args.long_docs = 1, min(args.per_lang, 50), min(args.long_docs, 100)
    assert normalize_label("__label__en") == "en"

    samples = sample_dev(args.data / "langid" / "dev.jsonl.gz", args.per_lang)
    long_docs = [row["text"] for row in read_jsonl(args.data / "web" / "docs_multi.jsonl.gz")]
    long_docs = long_docs[:: max(1, len(long_docs) // args.long_docs)][
        : args.long_docs
    ]  # spread over sources

    short = bench_overhead([t for texts in samples.values() for t in texts], 2000, args.repeats)
    long = bench_overhead(long_docs, 2000, args.repeats)
    bench_accuracy(samples)
    bench_prefix(long_docs, args.repeats)
    name = "raw fastText model.predict loop (same normalized text)"
    write_json(
        args.json,
        [
            result_row(
                "language_id: dev sentences", short["ours"], short["baseline"], name, note="~110 chars each"
            ),
            result_row(
                "language_id: web docs", long["ours"], long["baseline"], name, note="first 2000 chars"
            ),
        ],
    )


if __name__ == "__main__":
    main()
