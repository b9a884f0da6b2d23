"""Benchmark of `decontaminate`: recall on planted benchmark items and false removals of clean Alpaca data.

Plants test items of GSM8K, HumanEval, MMLU, TruthfulQA and MT-bench into the Alpaca 5,000 subset in
three ways, runs the op exactly as `recipes/instructions.yaml` configures it, and prints markdown tables:

1. recall per benchmark and planting mode:
   - `verbatim`: the item is the instruction;
   - `edited`: lower-cased, punctuation dropped, "Question:" prefixed and one word in 20 (at least one)
     replaced: what a careless copy or a templating pass does;
   - `embedded`: the item is the Alpaca `input` under a generic instruction, with an answer attached.
2. clean examples removed (Alpaca records, none planted), with the benchmark item each one matched:
   these are either false positives or real overlaps of Alpaca with a test set.
3. cost: index build time, peak RSS, documents per second.

Usage (from the repo root): `python bench/decontam.py [--data ../shared/data] [--per-bench 50] [--json PATH]`
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import random
import re
import resource
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import DEFAULT_DATA, metrics, result_row, table, write_json
from curation.formats.instruct import from_alpaca, make_document
from curation.steps.decontam import Decontaminate, DecontaminateParams

AGAINST = [
    "gsm8k/test.jsonl",
    "humaneval/HumanEval.jsonl.gz",
    "mmlu/data/mmlu/test",
    "truthfulqa/TruthfulQA.csv",
    "mt_bench",
]
FILLER = ["thing", "item", "value", "person", "place"]


def bench_items(inst: Path, rng: random.Random, k: int) -> dict[str, list[str]]:
    """k test items per benchmark, as the text a contaminated prompt would carry."""

    def jsonl(path):
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]

    gsm = [r["question"] for r in jsonl(inst / "gsm8k/test.jsonl")]
    he = [r["prompt"] for r in jsonl(inst / "humaneval/HumanEval.jsonl.gz")]
    mmlu = []
    for path in sorted((inst / "mmlu/data/mmlu/test").glob("*.csv")):
        rows = list(csv.DictReader(path.open(encoding="utf-8")))
        mmlu += [
            r["question"] + "\n" + "\n".join(f"{c}. {r[f'choice{i}']}" for i, c in enumerate("ABCD"))
            for r in rows
        ]
    tqa = [r["Question"] for r in csv.DictReader((inst / "truthfulqa/TruthfulQA.csv").open(encoding="utf-8"))]
    mt = [r["turns"][0] for r in jsonl(inst / "mt_bench/mt_bench_question.jsonl")]
    pools = {"GSM8K": gsm, "HumanEval": he, "MMLU": mmlu, "TruthfulQA": tqa, "MT-bench": mt}
    return {name: rng.sample(pool, min(k, len(pool))) for name, pool in pools.items()}


def edit(text: str, rng: random.Random) -> str:
    words = re.sub(r"[^\w\s]", " ", text.lower()).split()
    for _ in range(max(1, len(words) // 20)):
        words[rng.randrange(len(words))] = rng.choice(FILLER)
    return "Question: " + " ".join(words)


def plant(item: str, mode: str, answer: str, rng: random.Random) -> dict:
    if mode == "verbatim":
        return {"instruction": item, "input": "", "output": answer}
    if mode == "edited":
        return {"instruction": edit(item, rng), "input": "", "output": answer}
    return {
        "instruction": "Answer the following question and explain your reasoning.",
        "input": item,
        "output": answer,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    ap.add_argument("--per-bench", type=int, default=50, help="items planted per benchmark and mode")
    ap.add_argument("--ngram", type=int, default=13)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--show", type=int, default=15, help="clean removals listed")
    ap.add_argument("--quick", action="store_true", help="10 items per benchmark")
    ap.add_argument("--json", help="write the machine-readable row here (bench/common.py contract)")
    args = ap.parse_args()
    inst = args.data / "instruct"
    rng = random.Random(args.seed)
    k = 10 if args.quick else args.per_bench

    alpaca = json.loads((inst / "alpaca/alpaca_5000_subset.json").read_text())
    docs = []  # (document, benchmark or None, mode or None)
    for i, rec in enumerate(alpaca):
        for msgs, extra in from_alpaca(rec):
            docs.append((make_document(msgs, f"alpaca:{i}", "alpaca", extra), None, None))
    items = bench_items(inst, rng, k)
    modes = ["verbatim", "edited", "embedded"]
    for name, texts in items.items():
        for mode in modes:
            for j, text in enumerate(texts):
                rec = plant(text, mode, rng.choice(alpaca)["output"], rng)
                msgs, extra = from_alpaca(rec)[0]
                docs.append((make_document(msgs, f"{name}:{mode}:{j}", "alpaca", extra), name, mode))

    params = DecontaminateParams(against=[str(inst / p) for p in AGAINST], ngram=args.ngram)
    f = Decontaminate(params)
    t0 = time.perf_counter()
    index = f.index
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    verdicts = [f.filter(doc) for doc, _, _ in docs]
    match_s = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    hit = Counter()
    for (doc, name, mode), v in zip(docs, verdicts):
        if name and v is not True:
            hit[name, mode] += 1
    rows = []
    for name, texts in items.items():
        rows.append([name, len(texts)] + [f"{hit[name, m] / len(texts):.0%}" for m in modes])
    tot = {m: sum(hit[n, m] for n in items) / sum(len(t) for t in items.values()) for m in modes}
    rows.append(["**all**", sum(len(t) for t in items.values())] + [f"**{tot[m]:.0%}**" for m in modes])
    print(f"## Recall on planted items ({args.ngram}-gram, {len(index.names)} benchmark files)\n")
    print(table(["benchmark", "items"] + [f"recall {m}" for m in modes], rows))

    clean = [(doc, v) for (doc, name, _), v in zip(docs, verdicts) if name is None]
    removed = [(doc, v) for doc, v in clean if v is not True]
    print(
        f"\n## Clean Alpaca examples removed: {len(removed)} of {len(clean)} ({len(removed) / len(clean):.2%})\n"
    )
    if removed:
        show = [
            [
                doc.id,
                doc.metadata["decontam.benchmark"],
                doc.metadata["decontam.item"],
                doc.metadata["decontam.match"][:70],
                doc.metadata["messages"][0]["content"][:70].replace("\n", " ").replace("|", "/"),
            ]
            for doc, _ in removed[: args.show]
        ]
        print(table(["doc", "benchmark file", "item", "matched (normalized)", "prompt"], show))
    by_file = Counter(
        doc.metadata["decontam.benchmark"]
        for doc, v in zip((d for d, _, _ in docs), verdicts)
        if v is not True
    )
    print("\n## Cost\n")
    mb = sum(len(d.text.encode()) for d, _, _ in docs) / 1e6
    print(
        table(
            ["index n-grams", "short items", "index MiB", "build s", "docs", "docs/s", "peak RSS MB"],
            [[len(index.grams), len(index.short), f"{(index.grams.nbytes + index.owners.nbytes) / 2**20:.1f}",
              f"{build_s:.1f}", len(docs), f"{len(docs) / match_s:.0f}", f"{rss:.0f}"]],
        )
    )  # fmt: skip
    print("\nhits per benchmark file (summary.json `decontamination`):", dict(by_file.most_common(8)))
    write_json(
        args.json,
        [
            result_row(
                "decontaminate (13-gram, 5 benchmarks)",
                metrics(len(docs), mb, match_s, rss),
                note=f"recall verbatim {tot['verbatim']:.0%} / edited {tot['edited']:.0%} / embedded "
                f"{tot['embedded']:.0%}; clean removed {len(removed)}/{len(clean)}; index build {build_s:.1f}s",
            )
        ],
    )


if __name__ == "__main__":
    main()
