"""Which eval documents an ablation scores: drawn across the domain's sources, capped per document,
and described as evaluated.

Why stratified: drawing the first `max_docs` of a domain in id-hash order follows the pool's mix, and a
token cap on top used to keep only the first 8-13 documents (en_prose was 8 documents, no speeches).
Here the candidates of each source are put in id-hash order and taken round-robin over the sources, so
a domain of six sources and 48 documents holds 8 of each (or every document of a small source), and
`max_chars` caps every document so that no single long page dominates the domain's bytes. The
documents written to `eval/<name>.jsonl.gz` are exactly the ones scored (no token cap: the ablation
sets `eval_max_tokens: null`), and `describe()` reports them.

Out of pool: an eval set whose file is not one of the sample's inputs measures text the variants never
saw any of (generalization, not composition matching). Field names are configurable so that a file of
another shape (the webis near-duplicate pairs: `text_a`, `doc_a`, `corpus`) can serve.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from training.ablation_config import EvalSet, eval_name
from training.data import id_fraction, text_key
from training.errors import ConfigError
from training.sample import json_objects


def _records(e: EvalSet):
    """`{id, text, source, lang}` of every usable line of the eval file (malformed lines skipped)."""
    path = Path(e.path)
    for i, rec in json_objects(path, f"eval set {eval_name(e)}: not found: {path}"):
        if not isinstance(rec.get(e.text_field), str) or not rec[e.text_field].strip():
            continue
        yield {
            "id": str(rec.get(e.id_field) or f"{path.name}:{i}"),
            "text": rec[e.text_field],
            "source": str(rec.get(e.source_field) or "?"),
            "lang": rec.get("lang"),
        }


def candidates(e: EvalSet) -> list[dict]:
    """Records that pass `sources`/`langs` and (for a hold-out) the id-hash slice; one per id and text."""
    seen_ids, seen_texts, out = set(), set(), []
    for r in _records(e):
        if e.sources and r["source"] not in e.sources or e.langs and r["lang"] not in e.langs:
            continue
        if e.holdout_fraction is not None and id_fraction(r["id"], "eval") >= e.holdout_fraction:
            continue
        key = text_key(r["text"])
        if r["id"] in seen_ids or key in seen_texts:
            continue
        seen_ids.add(r["id"])
        seen_texts.add(key)
        out.append(r)
    if not out:
        raise ConfigError(f"eval set {eval_name(e)}: holdout_fraction/sources/langs select no documents")
    return out


def stratified(cands: list[dict], max_docs: int | None) -> list[dict]:
    """Round-robin over sources (sorted by name), each source's documents in id-hash order."""
    by_src: dict[str, list[dict]] = defaultdict(list)
    for r in sorted(cands, key=lambda r: id_fraction(r["id"], "eval")):
        by_src[r["source"]].append(r)
    queues = [by_src[s] for s in sorted(by_src)]
    out, k = [], 0
    limit = max_docs or len(cands)
    while len(out) < limit and any(k < len(q) for q in queues):
        out += [q[k] for q in queues if k < len(q)][: limit - len(out)]
        k += 1
    return out


def select(e: EvalSet) -> tuple[list[dict], list[dict], set[str], set[str]]:
    """(evaluated documents, capped at max_chars; the same documents uncapped; ids and text keys to
    keep out of training: the whole hold-out slice for a hold-out, else the selected documents)."""
    cands = candidates(e)
    chosen = stratified(cands, e.max_docs)
    capped = [
        {"id": r["id"], "text": r["text"][: e.max_chars] if e.max_chars else r["text"], "source": r["source"]}
        for r in chosen
    ]
    pool = cands if e.holdout_fraction is not None else chosen
    return capped, chosen, {r["id"] for r in pool}, {text_key(r["text"]) for r in pool}


def describe(docs: list[dict], out_of_pool: bool) -> dict:
    """results.json `evals.<name>`: what is scored (documents, UTF-8 bytes, documents per source)."""
    sources: dict[str, int] = defaultdict(int)
    for d in docs:
        sources[d.get("source") or "?"] += 1
    return {
        "docs": len(docs),
        "bytes": sum(len(d["text"].encode("utf-8")) for d in docs),
        "sources": dict(sorted(sources.items())),
        "out_of_pool": out_of_pool,
    }
