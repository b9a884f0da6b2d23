"""The ablation's shared input: eval hold-outs, a block sample, MinHash decontamination, planted copies.

Why clusters: hash-sampling single documents at a few percent keeps both members of a duplicate pair
with probability ~fraction^2, so a dedup variant sees almost no duplicates (4% sampling left 5
duplicates in 316 documents where 6,000 consecutive documents hold 857 in 2,453). The sample unit is
therefore a duplicate cluster, in or out as a whole (sha1("sample" + cluster key) < fraction). The
corpus's near-duplicates are pages that differ only in boilerplate (the Debian handbook's untranslated
pages repeat the English body under every locale's navigation header; man pages per package), so the
cluster key is a content key that ignores boilerplate: the sha1 of the document's three longest lines
(of >= 40 characters; the whole normalized text when it has none). Exact duplicates share it too.
It is a cheap stand-in for MinHash clusters over the whole 180 MB pool (which would cost more than the
demo): near-duplicates that differ inside their longest lines are still split. `unit: block` instead
samples blocks of `block_docs` consecutive documents of one file.

Why MinHash decontamination: an eval document can reappear in training under another id and with small
edits (a translation that kept the English code blocks, another version of a page); id and exact-text
exclusion miss those. Every sample document whose estimated Jaccard similarity (word 5-gram shingles,
datasketch MinHash + LSH) with any eval document reaches `threshold` is dropped, and the count is
reported per eval set.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from training.ablation_config import Decontam, EvalSet, Plant, Sample, eval_name
from training.data import ConfigError, id_fraction, text_key, write_jsonl_gz


def read_records(path: str | Path) -> Iterator[dict]:
    """Every JSON line of a .jsonl(.gz) file with a non-empty string `text` and an id (all fields kept);
    malformed lines are skipped (the sample is input to curation, which reports its own rejects)."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"input not found: {path}")
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
        for i, line in enumerate(fh):
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(rec, dict) and isinstance(rec.get("text"), str) and rec["text"]:
                rec["id"] = str(rec.get("id") or f"{path.name}:{i}")
                yield rec


def holdout(e: EvalSet) -> tuple[list[dict], set[str], set[str]]:
    """(evaluated documents, ids and text keys of the whole hold-out slice) of an eval set with
    `holdout_fraction`."""
    cands = [
        r
        for r in read_records(e.path)
        if (not e.sources or r.get("source") in e.sources)
        and (not e.langs or r.get("lang") in e.langs)
        and id_fraction(r["id"], "eval") < e.holdout_fraction
    ]
    if not cands:
        raise ConfigError(f"eval set {eval_name(e)}: holdout_fraction/sources/langs select no documents")
    docs = sorted(cands, key=lambda r: id_fraction(r["id"], "eval"))[: e.max_docs]
    return (
        [{"id": r["id"], "text": r["text"]} for r in docs],
        {r["id"] for r in cands},
        {text_key(r["text"]) for r in cands},
    )


def shingles(text: str, n: int) -> set[bytes]:
    """Word n-grams; character 2n-grams for text without spaces between words (Chinese, Japanese)."""
    words = text.split()
    if len(text) > 15 * max(len(words), 1):
        return {text[i : i + 2 * n].encode() for i in range(max(1, len(text) - 2 * n + 1))}
    return {" ".join(words[i : i + n]).encode() for i in range(max(1, len(words) - n + 1))}


def _minhash(text: str, d: Decontam):
    from datasketch import MinHash

    m = MinHash(num_perm=d.num_perm, seed=1)
    m.update_batch(list(shingles(text, d.ngram)))
    return m


class Decontaminator:
    """MinHash LSH over the eval documents; `match(text)` names the eval sets a text near-duplicates."""

    def __init__(self, eval_docs: dict[str, list[dict]], d: Decontam):
        from datasketch import MinHashLSH

        self.d = d
        self.lsh = MinHashLSH(threshold=d.threshold, num_perm=d.num_perm)
        self.texts = set()
        for name, docs in eval_docs.items():
            for i, doc in enumerate(docs):
                self.lsh.insert(f"{name}\t{i}", _minhash(doc["text"], d))
                self.texts.add(text_key(doc["text"]))

    def match(self, text: str) -> set[str]:
        if text_key(text) in self.texts:
            return {"exact"}
        return {k.split("\t")[0] for k in self.lsh.query(_minhash(text, self.d))}


def cluster_key(text: str) -> str:
    """Content key shared by documents that differ only in boilerplate (see the module docstring)."""
    lines = sorted(
        {ln.strip() for ln in text.splitlines() if len(ln.strip()) >= 40}, key=lambda x: (-len(x), x)
    )
    body = "\n".join(sorted(lines[:3])) if lines else " ".join(text.split()).lower()
    return hashlib.sha1(body.encode("utf-8")).hexdigest()


def write_sample(
    sample: Sample, exclude_ids: set[str], decon: Decontaminator | None, spec_extra: dict
) -> dict:
    """Write the block sample (minus eval ids and near-duplicates of eval documents) and, with `plant`,
    the planted copy; returns stats (reused with the stats of the last write when the spec is unchanged)."""
    path = Path(sample.path)
    spec = {
        "inputs": sample.inputs,
        "fraction": sample.fraction,
        "block_docs": sample.block_docs,
        **({"unit": sample.unit} if sample.unit != "block" else {}),  # block samples predate `unit`
        "plant": None if sample.plant is None else vars(sample.plant),
        "excluded_ids": len(exclude_ids),
        **spec_extra,
    }
    meta = path.parent / (path.name + ".spec.json")
    if path.exists() and meta.exists():
        old = json.loads(meta.read_text())
        if old.get("spec") == spec:
            return {**old["stats"], "reused": True}
    stats = {"docs": 0, "bytes": 0, "units": 0, "excluded_eval_ids": 0, "decontam_removed": {}}
    docs, pool_keys, units = [], Counter(), set()
    for inp in sample.inputs:
        for i, rec in enumerate(read_records(inp)):
            if sample.unit == "block":
                unit = f"{Path(inp).name}:{i // sample.block_docs}"
            else:
                unit = cluster_key(rec["text"])
                pool_keys[unit] += 1
            if id_fraction(unit, "sample") >= sample.fraction:
                continue
            units.add(unit)
            rec["_unit"] = unit
            if rec["id"] in exclude_ids:
                stats["excluded_eval_ids"] += 1
                continue
            hits = decon.match(rec["text"]) if decon else set()
            if hits:
                for h in hits:
                    stats["decontam_removed"][h] = stats["decontam_removed"].get(h, 0) + 1
                continue
            docs.append(rec)
            stats["docs"] += 1
            stats["bytes"] += len(rec["text"].encode("utf-8"))
    if not docs:
        raise ConfigError(f"sample {path}: no documents (fraction {sample.fraction} too small?)")
    stats["units"] = len(units)
    if pool_keys:  # how duplicated the pool and the sample are, by cluster key: the sample should match
        in_sample = Counter(d["_unit"] for d in docs)
        stats["dup_share_pool"] = round(
            sum(n for n in pool_keys.values() if n > 1) / sum(pool_keys.values()), 4
        )
        stats["dup_share_sample"] = round(sum(n for n in in_sample.values() if n > 1) / len(docs), 4)
    docs = [{k: v for k, v in d.items() if k != "_unit"} for d in docs]
    write_jsonl_gz(path, docs)
    if sample.plant:
        stats["planted"] = plant(docs, sample.plant)
    meta.write_text(json.dumps({"spec": spec, "stats": stats}, indent=2))
    return stats


def plant(docs: list[dict], p: Plant) -> dict:
    """Positive control input: the sample plus `copies - 1` extra exact copies (new ids) of `fraction` of
    its documents (by id hash). exact_dedup / minhash_dedup should remove them all again."""
    chosen = [d for d in docs if id_fraction(d["id"], "plant") < p.fraction]
    extra = [{**d, "id": f"{d['id']}#copy{k}"} for k in range(1, p.copies) for d in chosen]
    n = write_jsonl_gz(p.path, [*docs, *extra])
    planted_bytes = sum(len(d["text"].encode("utf-8")) for d in extra)
    return {"docs": n, "chosen": len(chosen), "copies": p.copies, "extra_bytes": planted_bytes}
