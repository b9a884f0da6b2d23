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

Why containment decontamination: an evaluated text (capped at `max_chars`) can reappear inside a
longer training document under another id (a page that embeds it, a translation that kept the English
code blocks). Jaccard similarity of whole documents misses that when the training document is much
longer than the excerpt; containment does not: a sample document is dropped when it holds >=
`threshold` of the word 5-gram shingles (character 10-grams for text without spaces) of any evaluated
text, computed exactly with an inverted index over the evaluated texts' shingles. The shingles are
curation's MinHash shingles (`shingling`: lowercase, runs of letters, digits and marks), so
"near-duplicate" means one thing in both. The count is reported per eval set. The same check runs
again when any variant is tokenized (training/ablate.py), so `{run: FOLDER}` variants, which never
pass through the sample, get it too.

A/A sample (`alt_path`): the same fraction drawn with another salt, for the negative control. Planted
counterpart (`plant.fresh_path`): the sample plus as many extra bytes as the planted copies, as unique
documents of the planted documents' sources and languages from outside the sample, so that planted vs
planted_fresh differ by repetition alone.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

from shingling import shingles
from training.ablation_config import Decontam, Plant, Sample
from training.data import id_fraction, text_key, write_jsonl_gz
from training.errors import ConfigError


def json_objects(path: Path, missing: str) -> Iterator[tuple[int, dict]]:
    """(line index, object) of every JSON-object line of a .jsonl(.gz) file; malformed lines are skipped
    (a sample is input to curation, which reports its own rejects). ConfigError `missing` if absent."""
    if not path.exists():
        raise ConfigError(missing)
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
        for i, line in enumerate(fh):
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(rec, dict):
                yield i, rec


def read_records(path: str | Path) -> Iterator[dict]:
    """Every JSON line of a .jsonl(.gz) file with a non-empty string `text` and an id (all fields kept)."""
    path = Path(path)
    for i, rec in json_objects(path, f"input not found: {path}"):
        if isinstance(rec.get("text"), str) and rec["text"]:
            rec["id"] = str(rec.get("id") or f"{path.name}:{i}")
            yield rec


def decontam_shingles(text: str, n: int) -> set[bytes]:
    """The shared shingles (`shingling`: the near-duplicate definition of curation's MinHash) of `text`:
    word n-grams, or character 2n-grams for text without spaces between words (Chinese, Japanese: an
    eval text has no language tag, so the spacing decides, where curation reads `metadata.lang`)."""
    if len(text) > 15 * max(len(text.split()), 1):
        return set(shingles(text, 2 * n, char=True))
    return set(shingles(text, n))


class Decontaminator:
    """Containment of evaluated texts: `match(text)` names the eval sets of which some evaluated text
    has >= threshold of its shingles inside `text` ("exact" for an exact copy of one)."""

    def __init__(self, eval_docs: dict[str, list[dict]], d: Decontam):
        self.d = d
        self.names: list[str] = []
        self.sizes: list[int] = []
        self.index: dict[bytes, list[int]] = defaultdict(list)
        self.texts: set[str] = set()
        for name, docs in eval_docs.items():
            for doc in docs:
                sh = decontam_shingles(doc["text"], d.ngram)
                for s in sh:
                    self.index[s].append(len(self.names))
                self.names.append(name)
                self.sizes.append(len(sh))
                self.texts.add(text_key(doc["text"]))

    def match(self, text: str) -> set[str]:
        if text_key(text) in self.texts:
            return {"exact"}
        hits: Counter = Counter()
        for s in decontam_shingles(text, self.d.ngram):
            hits.update(self.index.get(s, ()))
        return {self.names[j] for j, n in hits.items() if n >= self.d.threshold * self.sizes[j]}


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
    """Write the sample (minus eval ids and documents that contain eval text) and, as configured, the
    planted copy, its fresh counterpart and the A/A sample; returns stats (reused with the stats of
    the last write when the spec is unchanged)."""
    path = Path(sample.path)
    spec = {
        "inputs": sample.inputs,
        "fraction": sample.fraction,
        "block_docs": sample.block_docs,
        **({"unit": sample.unit} if sample.unit != "block" else {}),  # block samples predate `unit`
        "plant": None if sample.plant is None else vars(sample.plant),
        "alt_path": sample.alt_path,
        "excluded_ids": len(exclude_ids),
        **spec_extra,
    }
    meta = path.parent / (path.name + ".spec.json")
    if path.exists() and meta.exists():
        old = json.loads(meta.read_text())
        if old.get("spec") == spec:
            return {**old["stats"], "reused": True}
    p = sample.plant
    fresh_sources = set(p.sources or []) if p and p.fresh_path else set()
    stats = {"docs": 0, "bytes": 0, "units": 0, "excluded_eval_ids": 0, "decontam_removed": {}}
    docs, alt, outside, pool_keys, units = [], [], [], Counter(), set()
    for inp in sample.inputs:
        for i, rec in enumerate(read_records(inp)):
            if sample.unit == "block":
                unit = f"{Path(inp).name}:{i // sample.block_docs}"
            else:
                unit = cluster_key(rec["text"])
                pool_keys[unit] += 1
            in_main = id_fraction(unit, "sample") < sample.fraction
            in_alt = bool(sample.alt_path) and id_fraction(unit, "sample-alt") < sample.fraction
            fresh = (
                not in_main
                and (not fresh_sources or rec.get("source") in fresh_sources)
                and bool(p and p.fresh_path)
            )
            if not (in_main or in_alt or fresh):
                continue
            if in_main:
                units.add(unit)
            rec["_unit"] = unit
            if rec["id"] in exclude_ids:
                stats["excluded_eval_ids"] += in_main
                continue
            hits = decon.match(rec["text"]) if decon else set()
            if hits:
                for h in hits if in_main else ():
                    stats["decontam_removed"][h] = stats["decontam_removed"].get(h, 0) + 1
                continue
            if in_main:
                docs.append(rec)
                stats["docs"] += 1
                stats["bytes"] += len(rec["text"].encode("utf-8"))
            if in_alt:
                alt.append(rec)
            if fresh:
                outside.append(rec)
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
    if sample.alt_path:
        alt = [{k: v for k, v in d.items() if k != "_unit"} for d in alt]
        stats["alt"] = {
            "docs": write_jsonl_gz(sample.alt_path, alt),
            "bytes": _bytes(alt),
            "shared_docs": len({d["id"] for d in docs} & {d["id"] for d in alt}),
        }
    if p:
        stats["planted"] = plant(docs, p, outside)
    meta.write_text(json.dumps({"spec": spec, "stats": stats}, indent=2))
    return stats


def _bytes(docs: list[dict]) -> int:
    return sum(len(d["text"].encode("utf-8")) for d in docs)


def plant(docs: list[dict], p: Plant, outside: list[dict] | None = None) -> dict:
    """Positive control input: the sample plus `copies - 1` extra exact copies (new ids) of `fraction` of
    its documents (by id hash; of `sources` only, when given). With `fresh_path`, the counterpart: the
    sample plus, per (source, lang) of the planted documents, as many bytes of unique documents from
    `outside` the sample (id-hash order) as that group's copies add."""
    chosen = [
        d
        for d in docs
        if (not p.sources or d.get("source") in p.sources) and id_fraction(d["id"], "plant") < p.fraction
    ]
    extra = [{**d, "id": f"{d['id']}#copy{k}"} for k in range(1, p.copies) for d in chosen]
    n = write_jsonl_gz(p.path, [*docs, *extra])
    out = {"docs": n, "chosen": len(chosen), "copies": p.copies, "extra_bytes": _bytes(extra),
           "sources": dict(Counter(d.get("source") or "?" for d in chosen))}  # fmt: skip
    if p.fresh_path:
        need: Counter = Counter()
        for d in extra:
            need[d.get("source"), d.get("lang")] += len(d["text"].encode("utf-8"))
        fresh, used = [], set()  # one document per duplicate cluster: unique text
        for r in sorted(outside or [], key=lambda r: id_fraction(r["id"], "fresh")):
            g = (r.get("source"), r.get("lang"))
            if need[g] > 0 and r.get("_unit") not in used:
                used.add(r.get("_unit"))
                fresh.append({k: v for k, v in r.items() if k != "_unit"})
                need[g] -= len(r["text"].encode("utf-8"))
        write_jsonl_gz(p.fresh_path, [*docs, *fresh])
        out["fresh"] = {
            "extra_docs": len(fresh),
            "extra_bytes": _bytes(fresh),
            "shortfall_bytes": sum(max(v, 0) for v in need.values()),
        }
    return out
