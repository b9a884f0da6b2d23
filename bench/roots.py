"""Benchmark of `roots_filters` against datatrove's GopherQuality + GopherRepetition filters.

1. docs/s and MB/s of all ROOTS metrics (one step) vs Gopher quality + repetition (two steps, run
   one after the other) on the same English web documents (<= 20k chars each), medians of 3 runs,
   plus peak RSS;
2. ROOTS removals by reason on those documents (lang = en), and per language on the multilingual
   set after `language_id` (observations, not a quality claim).

Each variant runs in its own forked process (so peak RSS is its own); tokenizer / word-list loading is
done before the clock starts. Usage (repo root):
    python -m bench.roots [--data ../shared/data] [--docs 500] [--multi-docs 2000] [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from datatrove.data import Document
from datatrove.pipeline.filters import GopherQualityFilter, GopherRepetitionFilter

from bench.common import DEFAULT_DATA, metrics, peak_rss_mb, result_row, run_forked, table, write_json
from curation.steps.langid import LanguageIdFilter
from curation.steps.roots import make_filter
from curation.steps.roots.params import RootsParams


def read_docs(path: Path, limit: int | None, max_chars: int | None = None) -> list[dict]:
    out = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if max_chars is None or len(row["text"]) <= max_chars:
                out.append(row)
                if limit is not None and len(out) >= limit:
                    break
    return out


def make_steps(name: str) -> list:
    if name == "roots":  # `roots_filters: {}`: modification, 7 metrics, fastText LID on the modified doc
        return [make_filter(RootsParams())]
    if name == "roots_lid_metadata":  # reuses language_id's lang_score (no second fastText call)
        return [make_filter(RootsParams(lid="metadata"))]
    if name == "gopher_quality":
        return [GopherQualityFilter()]
    return [GopherRepetitionFilter()]


def _timed_run(name: str, rows: list[dict]) -> tuple[float, float]:
    """In a fresh process: warm up (tokenizers, word lists), then time one pass over `rows`."""
    steps = make_steps(name)
    for step in steps:
        list(step.run(iter([Document(text=rows[0]["text"], id="warm", metadata={"lang": "en"})])))
    docs = [Document(text=r["text"], id=r["id"], metadata={"lang": "en", "lang_score": 0.99}) for r in rows]
    start = time.perf_counter()
    for step in steps:
        docs = list(step.run(iter(docs)))
    seconds = time.perf_counter() - start
    return seconds, peak_rss_mb()


def measure(name: str, rows: list[dict], repeats: int) -> tuple[float, float]:
    """Median seconds (model loading excluded) and peak RSS (MB) over `repeats` forked processes.

    Not `bench.common.measure`: that one times the whole call, warm-up included.
    """
    runs = run_forked(_timed_run, name, rows, repeats=repeats)
    return statistics.median(r[0] for r in runs), max(r[1] for r in runs)


def bench_speed(rows: list[dict], repeats: int, json_path: str | None) -> None:
    n, mb = len(rows), sum(len(r["text"].encode("utf-8")) for r in rows) / 1e6
    names = ("roots", "roots_lid_metadata", "gopher_quality", "gopher_repetition")
    res = {name: measure(name, rows, repeats) for name in names}
    gopher_s = res["gopher_quality"][0] + res["gopher_repetition"][0]
    gopher_rss = max(res["gopher_quality"][1], res["gopher_repetition"][1])
    print(
        f"\n## Speed: {n} docs of web/docs_en (<= 20k chars), {mb:.1f} MB, median of {repeats} (own process each)\n"
    )
    out = []
    for label, (sec, rss) in [
        ("roots_filters: {} (ROOTS: modify + 7 metrics + LID)", res["roots"]),
        ("roots_filters lid: metadata", res["roots_lid_metadata"]),
        ("datatrove GopherQualityFilter", res["gopher_quality"]),
        ("datatrove GopherRepetitionFilter", res["gopher_repetition"]),
        ("Gopher quality + repetition (sum)", (gopher_s, gopher_rss)),
    ]:
        out.append([label, f"{n / sec:,.0f}", f"{mb / sec:.2f}", f"{rss:.0f}"])
    print(table(["step", "docs/s", "MB/s", "peak RSS MB"], out))
    print(
        f"\nroots_filters vs Gopher quality + repetition: {gopher_s / res['roots'][0]:.1f}x faster (goal >= 10x); "
        f"lid: metadata {gopher_s / res['roots_lid_metadata'][0]:.1f}x"
    )
    write_json(
        json_path,
        [
            result_row(
                "roots_filters (8 ROOTS metrics)",
                metrics(n, mb, res["roots"][0], res["roots"][1]),
                metrics(n, mb, gopher_s, gopher_rss),
                "datatrove GopherQualityFilter + GopherRepetitionFilter",
                note=f"{n} web/docs_en docs <= 20k chars; MB = UTF-8 text; model/tokenizer loading excluded",
            )
        ],
    )


def bench_removals(rows: list[dict], multi: list[dict]) -> None:
    step = make_filter(RootsParams())
    docs = [Document(text=r["text"], id=r["id"], metadata={"lang": "en", "lang_score": 0.99}) for r in rows]
    kept = len(list(step.run(iter(docs))))
    reasons = Counter(
        {k[len("dropped_") :]: v.total for k, v in step.stats.stats.items() if k.startswith("dropped_")}
    )
    print(
        f"\n## ROOTS removals on {len(rows)} web/docs_en docs (lang=en): kept {kept} ({kept / len(rows):.0%})"
    )
    for reason, count in reasons.most_common():
        print(f"  {reason:28s} {count:6d}")

    lid, roots = LanguageIdFilter(), make_filter(RootsParams())
    docs = [Document(text=r["text"], id=str(i)) for i, r in enumerate(multi)]
    docs = list(lid.run(iter(docs)))
    by_lang: dict[str, Counter] = defaultdict(Counter)
    for doc in docs:
        result = roots.filter(doc)
        by_lang[doc.metadata["lang"]]["in"] += 1
        by_lang[doc.metadata["lang"]][result[1] if isinstance(result, tuple) else "kept"] += 1
    print(
        f"\n## ROOTS per language on {len(multi)} web/docs_multi docs (lang from language_id; top 15 languages)"
    )
    cols = ["kept", "roots_n_words_too_few", "roots_n_words_too_many", "roots_char_rep_ratio", "roots_word_rep_ratio",
            "roots_special_char_ratio", "roots_stopword_ratio", "roots_flagged_word_ratio", "roots_lang_score"]  # fmt: skip
    short = {c: c.replace("roots_", "").replace("n_words_too_", "words_")[:10] for c in cols}
    print(f"{'lang':5s} {'in':>5s} " + " ".join(f"{short[c]:>10s}" for c in cols))
    for lang, c in sorted(by_lang.items(), key=lambda kv: -kv[1]["in"])[:15]:
        print(f"{lang:5s} {c['in']:5d} " + " ".join(f"{c[k] / c['in']:10.0%}" for k in cols))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shared data folder (../shared/data)")
    ap.add_argument(
        "--docs", type=int, default=500, help="English docs <= 20k chars (Gopher is slow, hence 500)"
    )
    ap.add_argument(
        "--multi-docs", type=int, default=2000, help="multilingual docs for the per-language table"
    )
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="one repeat, 200 docs, no removal tables")
    ap.add_argument("--json", help="also write the results as JSON rows (the `curate bench` contract)")
    args = ap.parse_args(argv)
    if args.quick:
        args.repeats, args.docs = 1, min(args.docs, 200)
    from datatrove.utils.logging import logger

    logger.remove()
    rows = read_docs(args.data / "web" / "docs_en.jsonl.gz", args.docs, max_chars=20_000)
    bench_speed(rows, args.repeats, args.json)
    if not args.quick:
        multi = read_docs(args.data / "web" / "docs_multi.jsonl.gz", None, max_chars=20_000)
        multi = multi[:: max(1, len(multi) // args.multi_docs)][: args.multi_docs]  # spread over all sources
        bench_removals(rows, multi)


if __name__ == "__main__":
    main()
