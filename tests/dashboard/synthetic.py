"""A synthetic run folder that follows docs/CONTRACTS.md, for dashboard tests, the bench and demos.

It writes what `curate run` writes (summary.json, recipe.resolved.yaml, output/, removed/<step>/,
rejected/) with every metric family the dashboard draws (`roots.*`, `quality.chars`, `lang_score`,
`pii.<kind>`, `dedup.*`, `dup_of`), without running datatrove, so the dashboard can be developed and
benchmarked at any size. The dashboard itself never imports this module: it only reads run folders.

Run `python -m tests.dashboard.synthetic OUT_DIR [N_DOCS]` to write one by hand.
"""

from __future__ import annotations

import gzip
import json
import random
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml

KEEP_LANGS = ["en", "fr", "es", "zh"]
LANG_WEIGHTS = {"en": 55, "fr": 12, "es": 10, "zh": 10, "de": 8, "ru": 5}
MIN_LANG_SCORE = 0.65
# metric -> (op, default, per-language values); the numbers echo BigScience ROOTS' defaults.
ROOTS_THRESHOLDS = {
    "roots.char_rep_ratio": ("max", 0.106, {"zh": 0.1}),
    "roots.word_rep_ratio": ("max", 0.19, {}),
    "roots.special_char_ratio": ("max", 0.3, {"zh": 0.35}),
    "roots.stopword_ratio": ("min", 0.3, {"zh": 0.0}),
}
MIN_CHARS = 120  # length_filter: writes quality.chars, the only quality.* metric an op writes

# Frequent words per language; fmt: off keeps them a few lines each instead of one word a line.
# fmt: off
_WORDS = {
    "en": [
        "the", "of", "and", "to", "in", "data", "model", "is", "for", "that", "with", "learning",
        "on", "as", "be", "text", "are", "this", "by", "we", "training"
    ],
    "fr": [
        "le", "de", "la", "et", "les", "des", "un", "une", "est", "pour", "que", "dans", "du",
        "sur", "pas", "plus", "avec", "par", "modèle", "données"
    ],
    "es": [
        "el", "de", "la", "que", "y", "en", "los", "del", "se", "las", "por", "un", "para", "con",
        "una", "modelo", "datos", "texto", "es", "más"
    ],
    "zh": [
        "的", "一", "是", "在", "不", "了", "有", "和", "人", "这", "中", "大", "为", "上", "个", "国", "我", "以",
        "要", "他"
    ],
    "de": [
        "der", "die", "und", "in", "den", "von", "zu", "das", "mit", "sich", "des", "auf", "für",
        "ist", "im", "dem", "nicht", "ein"
    ],
    "ru": [
        "и", "в", "не", "на", "я", "быть", "он", "с", "что", "а", "по", "это", "она", "этот", "к",
        "но", "они", "мы"
    ],
}
# fmt: on
_SPICE = ["$5", "**bold**", "# heading", "`code`", "$x^2$", "[link](http://x.y)", "<b>", "_it_", "100%"]


def _text(rng: random.Random, lang: str, n_words: int) -> str:
    words = rng.choices(_WORDS[lang], k=n_words)
    for _ in range(rng.randint(0, 2)):
        words[rng.randrange(n_words)] = rng.choice(_SPICE)
    sep = "" if lang == "zh" else " "
    return sep.join(words) + "."


def _write_jsonl_gz(path: Path, docs: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")


def _write_shards(folder: Path, docs: list[dict], max_shard_docs: int, fmt: str) -> list[str]:
    names = []
    for shard, start in enumerate(range(0, max(len(docs), 1), max_shard_docs)):
        chunk = docs[start : start + max_shard_docs]
        if not chunk:
            break
        if fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            path = folder / f"00000_{shard:05d}.parquet"
            folder.mkdir(parents=True, exist_ok=True)
            table = pa.table(
                {
                    "text": [d["text"] for d in chunk],
                    "id": [d["id"] for d in chunk],
                    "metadata": [json.dumps(d["metadata"], ensure_ascii=False) for d in chunk],
                }
            )
            pq.write_table(table, path)
        else:
            path = folder / f"00000_{shard:05d}.jsonl.gz"
            _write_jsonl_gz(path, chunk)
        names.append(path.name)
    return names


def write_synthetic_run(
    run_dir: str | Path,
    n_docs: int = 2000,
    seed: int = 0,
    fmt: str = "jsonl.gz",
    max_shard_docs: int = 50_000,
    name: str = "synthetic-web",
    roots_scale: float = 1.0,
) -> dict:
    """Write a run folder of `n_docs` input records and return its summary.json content.

    Args:
        run_dir: folder to create (the run folder).
        n_docs: input records, rejected ones included.
        seed: random seed; the same seed gives the same folder.
        fmt: `jsonl.gz` or `parquet` shards.
        max_shard_docs: documents per shard.
        name: recipe name.
        roots_scale: multiplies the ROOTS metrics (> 1 removes more), to make two runs differ.
    """
    rng = random.Random(seed)
    run = Path(run_dir)
    run.mkdir(parents=True, exist_ok=True)
    langs, weights = list(LANG_WEIGHTS), list(LANG_WEIGHTS.values())
    n_rejected = n_docs // 200
    kept: list[dict] = []
    removed: dict[str, list[dict]] = {
        s: [] for s in ["language_id", "roots_filters", "length_filter", "exact_dedup", "minhash_dedup"]
    }
    reasons: dict[str, dict[str, int]] = {s: {} for s in removed}
    step_in = {s: 0 for s in removed} | {"pii": 0}
    languages: dict[str, int] = {}
    pii_counts: dict[str, int] = {}
    seen_texts: dict[str, str] = {}  # text -> id of the first (kept) copy
    recent_texts: list[str] = []
    cluster_heads: list[dict] = []
    in_bytes = 0

    def drop(step: str, doc: dict, reason: str) -> None:
        doc["metadata"].update({"removed_by": step, "reason": reason})
        removed[step].append(doc)
        reasons[step][reason] = reasons[step].get(reason, 0) + 1

    for i in range(n_docs - n_rejected):
        lang = rng.choices(langs, weights)[0]
        if cluster_heads and rng.random() < 0.06:  # near duplicate of an earlier kept doc
            head = rng.choice(cluster_heads)
            words = head["text"].split(" ")
            for _ in range(max(1, len(words) // 15)):
                words[rng.randrange(len(words))] = rng.choice(_WORDS[head["metadata"]["lang"]])
            text, lang, near_of = " ".join(words), head["metadata"]["lang"], head
        elif seen_texts and rng.random() < 0.03:  # exact duplicate
            text = rng.choice(recent_texts)
            near_of = None
        else:
            n_words = int(rng.lognormvariate(4.0, 0.8)) + 3
            text, near_of = _text(rng, lang, min(n_words, 3000)), None
            if rng.random() < 0.04:
                text += f" Contact jane.doe{i}@example.com or call +1 555 0100."
            if rng.random() < 0.02:
                text += f" Server 10.0.{i % 250}.{i % 199} is down."
        in_bytes += len(text.encode())
        doc = {"text": text, "id": f"doc-{i:07d}", "metadata": {"source": f"crawl-{i % 3}.jsonl.gz"}}
        md = doc["metadata"]
        # language_id
        step_in["language_id"] += 1
        score = round(min(1.0, rng.betavariate(8, 1.5)), 4)
        md.update({"lang": lang, "lang_score": score})
        languages[lang] = languages.get(lang, 0) + 1
        if lang not in KEEP_LANGS:
            drop("language_id", doc, "lang_not_kept")
            continue
        if score < MIN_LANG_SCORE:
            drop("language_id", doc, "lang_score_low")
            continue
        # roots_filters: metrics for kept and removed docs
        step_in["roots_filters"] += 1
        metrics = {
            "roots.char_rep_ratio": rng.betavariate(2, 30) * roots_scale,
            "roots.word_rep_ratio": rng.betavariate(2, 16) * roots_scale,
            "roots.special_char_ratio": rng.betavariate(2, 14) * roots_scale,
            "roots.stopword_ratio": rng.betavariate(6, 8) / roots_scale,
            "roots.n_words": float(len(text.split())),
        }
        md.update({k: round(v, 5) for k, v in metrics.items()})
        why = None
        for metric, (op, value, per_lang) in ROOTS_THRESHOLDS.items():
            limit = per_lang.get(lang, value)
            if (op == "max" and md[metric] > limit) or (op == "min" and md[metric] < limit):
                why = metric.split(".", 1)[1]
                break
        if why:
            drop("roots_filters", doc, why)
            continue
        step_in["length_filter"] += 1
        md["quality.chars"] = len(text)
        if md["quality.chars"] < MIN_CHARS:
            drop("length_filter", doc, "too_short")
            continue
        # pii: a transform, never removes
        step_in["pii"] += 1
        if "@example.com" in doc["text"]:
            doc["text"] = (
                doc["text"].replace(f"jane.doe{i}@example.com", "<EMAIL>").replace("+1 555 0100", "<PHONE>")
            )
            md.update({"pii.email": 1, "pii.phone": 1})
            pii_counts["email"] = pii_counts.get("email", 0) + 1
            pii_counts["phone"] = pii_counts.get("phone", 0) + 1
        if "Server 10.0." in doc["text"]:
            doc["text"] = doc["text"].replace(f"10.0.{i % 250}.{i % 199}", "<IP_ADDRESS>")
            md["pii.ip_address"] = 1
            pii_counts["ip_address"] = pii_counts.get("ip_address", 0) + 1
        step_in["exact_dedup"] += 1
        if doc["text"] in seen_texts:
            md["dup_of"] = seen_texts[doc["text"]]
            drop("exact_dedup", doc, "exact_duplicate")
            continue
        seen_texts[doc["text"]] = doc["id"]
        recent_texts.append(doc["text"])
        del recent_texts[:-200]
        step_in["minhash_dedup"] += 1
        if near_of is not None:
            head_md = near_of["metadata"]
            cluster = head_md.setdefault("dedup.cluster", f"c{len(cluster_heads):06d}-{near_of['id']}")
            head_md["dedup.cluster_size"] = head_md.get("dedup.cluster_size", 1) + 1
            md.update({"dedup.cluster": cluster, "dup_of": near_of["id"]})
            drop("minhash_dedup", doc, "near_duplicate")
            continue
        kept.append(doc)
        if rng.random() < 0.05:
            cluster_heads.append(doc)
    heads = {h["id"]: h for h in cluster_heads}
    for doc in removed["minhash_dedup"]:  # every member knows its cluster's final size
        head = heads[doc["metadata"]["dup_of"]]
        doc["metadata"]["dedup.cluster_size"] = head["metadata"]["dedup.cluster_size"]

    out_names = _write_shards(run / "output", kept, max_shard_docs, fmt)
    for step, docs in removed.items():
        if docs:
            _write_shards(run / "removed" / step, docs, max_shard_docs, fmt)
    rej_reasons = {"malformed JSON": 0, "invalid UTF-8": 0}
    (run / "rejected").mkdir(exist_ok=True)
    with open(run / "rejected" / "00000.jsonl", "w", encoding="utf-8") as f:
        for j in range(n_rejected):
            err = "malformed JSON" if j % 3 else "invalid UTF-8"
            rej_reasons[err] += 1
            raw = '{"text": "broken $ record' if err == "malformed JSON" else "b'\\xff\\xfe text'"
            f.write(
                json.dumps({"source": "crawl-0.jsonl.gz", "line": 10 + j, "error": err, "raw": raw}) + "\n"
            )

    secs = {
        "language_id": 2.1,
        "roots_filters": 5.3,
        "length_filter": 0.2,
        "pii": 0.9,
        "exact_dedup": 0.6,
        "minhash_dedup": 7.8,
    }
    steps = []
    for step in ["language_id", "roots_filters", "length_filter", "pii", "exact_dedup", "minhash_dedup"]:
        n_removed = len(removed.get(step, []))
        steps.append(
            {
                "name": step,
                "op": step,
                "in": step_in[step],
                "kept": step_in[step] - n_removed,
                "removed": n_removed,
                "removed_by_reason": dict(sorted(reasons.get(step, {}).items())),
                "seconds": secs[step] * n_docs / 1000,
            }
        )
    start = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
    total_secs = sum(s["seconds"] for s in steps)
    out_bytes = sum(len(d["text"].encode()) for d in kept)
    n_removed = sum(s["removed"] for s in steps)
    per = lambda d: {"op": d[0], "value": d[1], **({"per_lang": d[2]} if d[2] else {})}
    summary = {
        "schema": 1,
        "recipe": name,
        "recipe_file": f"recipes/{name}.yaml",
        "started": start.isoformat(),
        "finished": (start + timedelta(seconds=total_secs)).isoformat(),
        "seconds": total_secs,
        "input": {"docs": n_docs, "bytes": in_bytes},
        "steps": steps,
        "output": {
            "docs": len(kept),
            "bytes": out_bytes,
            "format": fmt,
            "shards": [f"output/{n}" for n in out_names],
        },
        "rejected": n_rejected,
        "rejected_by_reason": {k: v for k, v in rej_reasons.items() if v},
        "languages": dict(sorted(languages.items(), key=lambda kv: -kv[1])),
        "pii": pii_counts,
        "dedup": {
            "clusters": sum(1 for h in cluster_heads if "dedup.cluster" in h["metadata"]),
            "exact_duplicates": len(removed["exact_dedup"]),
            "near_duplicates": len(removed["minhash_dedup"]),
        },
        "decontamination": {},
        "thresholds": {
            "language_id": {"lang_score": {"op": "min", "value": MIN_LANG_SCORE}},
            "roots_filters": {m: per(v) for m, v in ROOTS_THRESHOLDS.items()},
            "length_filter": {"quality.chars": {"op": "min", "value": MIN_CHARS}},
        },
        "invariant": {
            "ok": True,
            "input": n_docs,
            "output": len(kept),
            "removed": n_removed,
            "rejected": n_rejected,
        },
    }
    assert n_docs == len(kept) + n_removed + n_rejected, "synthetic run must balance"
    (run / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    recipe = {
        "name": name,
        "input": {"format": "jsonl", "path": "data/web/*.jsonl.gz", "text_key": "text", "id_key": "id"},
        "steps": [
            {"language_id": {"keep": KEEP_LANGS, "min_score": MIN_LANG_SCORE}},
            {
                "roots_filters": {
                    "max_char_rep_ratio": 0.106,
                    "max_word_rep_ratio": 0.19,
                    "max_special_char_ratio": 0.3,
                    "min_stopword_ratio": 0.3,
                    "per_lang": {
                        "zh": {
                            "max_char_rep_ratio": 0.1,
                            "max_special_char_ratio": 0.35,
                            "min_stopword_ratio": 0.0,
                        }
                    },
                }
            },
            {"length_filter": {"min_chars": MIN_CHARS, "max_chars": None}},
            {"pii": {"replace": "tag"}},
            {"exact_dedup": {}},
            {"minhash_dedup": {"ngram": 5, "num_perm": 128, "threshold": 0.8}},
        ],
        "output": {"path": str(run), "format": fmt, "max_shard_docs": max_shard_docs, "keep_removed": True},
        "executor": {"kind": "local", "tasks": 1, "workers": 1},
    }
    (run / "recipe.resolved.yaml").write_text(
        yaml.safe_dump(recipe, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    return summary


if __name__ == "__main__":
    out = Path(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    write_synthetic_run(out / "synthetic-web", n_docs=n)
    write_synthetic_run(
        out / "synthetic-web-strict", n_docs=n, seed=1, roots_scale=1.15, name="synthetic-web-strict"
    )
    print(f"wrote {out}/synthetic-web and {out}/synthetic-web-strict")  # ablations: tests/dashboard/
