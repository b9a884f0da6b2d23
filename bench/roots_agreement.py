"""Keep/remove agreement of `roots_filters` with the original ROOTS code, per language, on the shared data.

Pipeline compared (perplexity off on both sides: no KenLM model offline):
- rootstock: `language_id` as in recipes/roots_web.yaml (defaults, keep the 13 ROOTS languages) writes
  `metadata.lang`; then `roots_filters` with the defaults (`roots_filters: {}`) and with each option that
  deviates from ROOTS (one at a time);
- ROOTS: the original code (bench/roots_oracle.py, imported from ../shared/reference/roots) run on the
  same document as a member of the `metadata.lang` split (ROOTS filtered per-language OSCAR splits):
  `FunctionDatasetModifyingDocuments` then `Filtering.filtering`, with zh words from jieba on both sides.
Documents whose language_id label is not one of the 13 have no ROOTS split and are only counted.

Usage (repo root):
    python -m bench.roots_agreement [--data ../shared/data] [--en-docs 2000] [--multi-docs 0]
        [--langid-per-lang 1000] [--every 1] [--json PATH] [--show 3]
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from datatrove.data import Document

from bench import roots_oracle
from bench.common import DEFAULT_DATA
from curation.steps.langid import LanguageIdFilter
from curation.steps.roots import make_filter
from curation.steps.roots.params import RootsParams

LANGS = roots_oracle.LANGS
VARIANTS = {
    "roots_filters: {}": {},
    "modify_text: false": {"modify_text": False},
    "stopwords: iso": {"stopwords": "iso"},
    "lid: metadata": {"lid": "metadata"},
}


def read(
    path: Path, limit: int | None, per_lang: int | None = None, langs=None, every: int = 1
) -> list[dict]:
    out, seen = [], Counter()
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i % every:
                continue
            row = json.loads(line)
            if langs is not None and row.get("lang") not in langs:
                continue
            if per_lang is not None:
                if seen[row.get("lang")] >= per_lang:
                    continue
                seen[row.get("lang")] += 1
            out.append(row)
            if limit and len(out) >= limit:
                break
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--en-docs", type=int, default=2000, help="docs from web/docs_en (0: all)")
    ap.add_argument("--multi-docs", type=int, default=0, help="docs from web/docs_multi (0: all)")
    ap.add_argument(
        "--every", type=int, default=1, help="take every N-th line of the web files (spread sample)"
    )
    ap.add_argument(
        "--langid-per-lang", type=int, default=1000, help="langid/dev passages per ROOTS language"
    )
    ap.add_argument("--json", help="write the table as JSON here")
    ap.add_argument("--show", type=int, default=3, help="print this many disagreements per language")
    ap.add_argument(
        "--quick",
        action="store_true",
        help="100 English + 100 multilingual web docs, 30 langid passages per language (`curate bench --quick`)",
    )
    args = ap.parse_args()
    if args.quick:
        args.en_docs, args.multi_docs, args.langid_per_lang = 100, 100, 30
    reason = roots_oracle.missing_reason()
    if reason:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    data = Path(args.data)
    sets = {
        "web": read(data / "web" / "docs_en.jsonl.gz", args.en_docs or None, every=args.every)
        + read(data / "web" / "docs_multi.jsonl.gz", args.multi_docs or None, every=args.every),
        "langid": read(data / "langid" / "dev.jsonl.gz", None, args.langid_per_lang, set(LANGS)),
    }
    roots = roots_oracle.load()
    lid = LanguageIdFilter(keep=LANGS)
    ours = {name: make_filter(RootsParams(**kw)) for name, kw in VARIANTS.items()}
    oracles = {lang: roots_oracle.Oracle(roots, lang, ours["roots_filters: {}"]._lid_model) for lang in LANGS}
    stats: dict = defaultdict(lambda: defaultdict(Counter))
    shown = Counter()
    t0 = time.time()
    for set_name, rows in sets.items():
        preds = lid.predict_many([r["text"] for r in rows])
        for row, (lang, score) in zip(rows, preds):
            st = stats[set_name][lang if lang in LANGS else "other"]
            st["docs"] += 1
            if lang not in LANGS:
                continue
            expected = oracles[lang].keep(row["text"])
            st["roots_keeps"] += expected
            for name, step in ours.items():
                doc = Document(
                    text=row["text"], id=str(row.get("id")), metadata={"lang": lang, "lang_score": score}
                )
                keep = step.decide(doc, step.score(doc)) is True
                st[f"agree:{name}"] += keep == expected
                if name == "roots_filters: {}":
                    st["ours_keeps"] += keep
                    if keep != expected and shown[lang] < args.show:
                        shown[lang] += 1
                        print(f"DISAGREE {set_name} {lang} id={row.get('id')} roots={expected} ours={keep}")
        print(f"{set_name}: {len(rows)} docs, {time.time() - t0:.0f} s", file=sys.stderr)
    report(stats, args.json)
    return 0


def report(stats: dict, json_path: str | None) -> None:
    names = list(VARIANTS)
    header = (
        "| set | lang | docs | ROOTS keeps | ours keeps | " + " | ".join(f"agree `{n}`" for n in names) + " |"
    )
    print(header)
    print("|" + "---|" * (5 + len(names)))
    out = {}
    for set_name, per_lang in stats.items():
        total: Counter = Counter()
        for lang in [*LANGS, "other"]:
            st = per_lang.get(lang)
            if not st:
                continue
            out.setdefault(set_name, {})[lang] = dict(st)
            if lang == "other":
                print(f"| {set_name} | (not a ROOTS language) | {st['docs']} | - | - |" + " - |" * len(names))
                continue
            total.update(st)
            cells = " | ".join(f"{100 * st[f'agree:{n}'] / st['docs']:.1f}%" for n in names)
            print(
                f"| {set_name} | {lang} | {st['docs']} | {st['roots_keeps']} | {st['ours_keeps']} | {cells} |"
            )
        if total["docs"]:
            cells = " | ".join(f"{100 * total[f'agree:{n}'] / total['docs']:.1f}%" for n in names)
            print(
                f"| {set_name} | **all 13** | {total['docs']} | {total['roots_keeps']} | {total['ours_keeps']} | {cells} |"
            )
    if json_path:
        Path(json_path).write_text(json.dumps(out, indent=1), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
