"""MinHash near-duplicate accuracy, parts (b) and (b2) of `python -m bench.minhash` (the entry point and
the options are there): every shingling option x threshold on human-judged Webis pairs, MRPC
paraphrases and synthetic pairs of known Jaccard, decided as the cluster stage decides; and the
candidates for the defaults over several permutation seeds.
"""

from __future__ import annotations

import csv
import random
import statistics
import sys
from pathlib import Path

import numpy as np

from bench.common import load_jsonl, table

# --- (b) accuracy ----------------------------------------------------------------------------------


def _collide(sa, sb, bands, rows) -> bool:
    """An LSH band collision: some band's `rows` values all equal (what puts two docs in one bucket)."""
    eq = sa[: bands * rows] == sb[: bands * rows]
    return bool(eq.reshape(bands, rows).all(axis=1).any())


def _prf(pred, gold) -> tuple[float, float, float]:
    tp = sum(p and g for p, g in zip(pred, gold))
    fp = sum(p and not g for p, g in zip(pred, gold))
    fn = sum(g and not p for p, g in zip(pred, gold))
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    return prec, rec, (2 * prec * rec / (prec + rec) if prec + rec else 0.0)


def _mrpc(data: Path) -> list[tuple[str, str]]:
    """MRPC paraphrase pairs (quality 1), train + test: they should mostly NOT count as near-duplicates."""
    rows = []
    for name in ("msr_paraphrase_train.txt", "msr_paraphrase_test.txt"):
        with open(data / "neardup" / "mrpc" / name, encoding="utf-8-sig") as f:
            rows += list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [(m["#1 String"], m["#2 String"]) for m in rows if m["Quality"] == "1"]


def _synthetic_pairs(data: Path, n: int = 800, seed: int = 0) -> list[tuple[str, str]]:
    """Doc pairs spread over Jaccard 0..1: a web doc (<= 600 words, its lines kept) and a copy with each
    word replaced, deleted or followed by an insert with probability p ~ U(0, 0.6)."""
    rng = random.Random(seed)
    docs = [d["text"] for d in load_jsonl(data / "web" / "docs_en.jsonl.gz", limit=4000)]
    docs = [d for d in docs if 80 <= len(d.split()) <= 600]
    vocab = " ".join(docs[:200]).split()
    pairs = []
    for text in rng.sample(docs, min(n, len(docs))):
        p = rng.uniform(0, 0.1) if rng.random() < 0.4 else rng.uniform(0, 0.6)  # 40% light edits
        lines = []
        for line in text.split("\n"):
            words = []
            for w in line.split():
                r = rng.random()
                if r < p / 3:
                    words.append(rng.choice(vocab))
                elif r < 2 * p / 3:
                    continue
                else:
                    words.append(w)
                    if r > 1 - p / 3:
                        words.append(rng.choice(vocab))
            lines.append(" ".join(words))
        pairs.append((text, "\n".join(lines)))
    return pairs


def _jaccard(a: str, b: str, n: int = 5) -> float:
    sa, sb = set(shingles_ref(a, n)), set(shingles_ref(b, n))
    return len(sa & sb) / len(sa | sb) if sa | sb else 1.0


def shingles_ref(text, n):
    from curation.steps.minhash import shingles

    return shingles(text, n)


ACC_CONFIGS = [  # (hashing, ngram, min_line_words, short_shingles): options compared side by side
    ("sha1", 5, 0, 0), ("fast", 5, 0, 0), ("fast", 3, 0, 0), ("fast", 4, 0, 0), ("fast", 5, 4, 0),
    ("fast", 4, 4, 0), ("sha1", 5, 4, 0), ("fast", 5, 4, 40), ("fast", 4, 4, 40), ("fast", 3, 4, 40),
    ("sha1", 5, 4, 40), ("fast", 5, 0, 40),
]  # fmt: skip
ACC_THRESHOLDS = (0.45, 0.5, 0.55, 0.6, 0.7, 0.8)
SHORT_THRESHOLD = 0.8


def bench_accuracy(data: Path, num_perm: int | None = None) -> list[dict]:
    """Every config x threshold, as the cluster stage decides (LSH collision, then signature agreement
    >= threshold): Webis P/R/F1, MRPC paraphrase firing rate, synthetic clear-duplicate recall and
    false merges. Exact-Jaccard rows (no MinHash noise) show what the shingling itself can do.
    num_perm and the LSH weighting are the defaults' (MinhashParams) unless given."""
    from datasketch.lsh import _optimal_param

    from curation.steps.minhash import MinhashParams, MinhashSigner, shingles
    from curation.steps.minhash.plan import LSH_WEIGHTS

    defaults = MinhashParams()
    tuning = defaults.lsh_tuning or "recall"  # the default with verification, as decided below
    num_perm, weights = num_perm or defaults.num_perm, LSH_WEIGHTS[tuning]

    pairs = load_jsonl(data / "neardup" / "webis_pairs.jsonl.gz")
    gold = [p["label"] >= 1 for p in pairs]
    webis = [(p["text_a"], p["text_b"]) for p in pairs]
    mrpc = _mrpc(data)
    synth = _synthetic_pairs(data)
    ref_j = [_jaccard(a, b) for a, b in synth]
    clear = [j >= 0.85 for j in ref_j]
    low = [j < 0.5 for j in ref_j]
    results = []
    for hashing, n, mlw, short in ACC_CONFIGS:
        signer = MinhashSigner(num_perm, 1, hashing)
        empty = np.full(num_perm, 0, dtype=np.uint32)

        def sig(text, signer=signer, n=n, mlw=mlw, empty=empty):
            s = signer.sign_text(text, n, False, mlw)
            return (empty if s is None else s), signer.last_count

        sets = {}
        for name, prs in (("webis", webis), ("mrpc", mrpc), ("synth", synth)):
            sets[name] = [(*sig(a), *sig(b)) for a, b in prs]
        ex = []
        for a, b in webis:
            sa, sb = set(shingles(a, n, min_line_words=mlw)), set(shingles(b, n, min_line_words=mlw))
            ex.append(len(sa & sb) / len(sa | sb) if sa | sb else 1.0)
        for t in ACC_THRESHOLDS:
            bands, rows = _optimal_param(t, num_perm, *weights)

            def decide(pair, t=t, bands=bands, rows=rows, short=short):
                sa, ca, sb, cb = pair
                need = max(t, SHORT_THRESHOLD) if min(ca, cb) < short else t
                return _collide(sa, sb, bands, rows) and np.count_nonzero(sa == sb) / num_perm >= need

            w = [decide(x) for x in sets["webis"]]
            syn = [decide(x) for x in sets["synth"]]
            results.append({
                "hashing": hashing, "ngram": n, "min_line_words": mlw, "short": short, "threshold": t,
                "lsh": f"{bands}x{rows}",
                "webis": _prf(w, gold), "webis_exact": _prf([j >= t for j in ex], gold),
                "mrpc": sum(decide(x) for x in sets["mrpc"]) / len(mrpc),
                "clear_recall": sum(d for d, c in zip(syn, clear) if c) / max(1, sum(clear)),
                "low_merged": sum(d for d, lo in zip(syn, low) if lo) / max(1, sum(low)),
            })  # fmt: skip
    ok = lambda r: r["mrpc"] <= 0.02 and r["clear_recall"] >= 0.97 and r["low_merged"] <= 0.02
    print(f"\n### (b) Accuracy: {len(pairs)} Webis pairs ({sum(gold)} near-duplicates, label >= 1), "
          f"{len(mrpc)} MRPC paraphrase pairs, {len(synth)} synthetic pairs ({sum(clear)} with word-5-gram "
          f"Jaccard >= 0.85, {sum(low)} below 0.5); {num_perm} perms, LSH bands x rows = datasketch optimum "
          f"for the threshold ({tuning}: weights {weights}), then signature agreement >= threshold\n")  # fmt: skip
    rows = []
    for r in sorted(results, key=lambda r: -r["webis"][2]):
        rows.append([r["hashing"], r["ngram"], r["min_line_words"], r["short"] or "-", r["threshold"], r["lsh"],
                     *(f"{x:.3f}" for x in r["webis"]), f"{r['webis_exact'][2]:.3f}", f"{r['mrpc']:.2%}",
                     f"{r['clear_recall']:.1%}", f"{r['low_merged']:.1%}", "yes" if ok(r) else "no"])  # fmt: skip
    print(table(["hashing", "word n-gram", "min line words", f"short docs (< n shingles need {SHORT_THRESHOLD})",
                 "threshold", "LSH", "Webis P", "Webis R", "Webis F1",
                 "F1 exact J>=t", "MRPC fired", "clear dups found", "J<0.5 merged", "constraints"], rows))  # fmt: skip
    return results


SEED_CONFIGS = [  # (ngram, num_perm, lsh): candidates for the defaults, judged over permutation seeds
    (5, 128, "balanced"), (5, 128, "recall"), (6, 128, "balanced"), (6, 128, "recall"),
    (5, 256, "balanced"), (5, 256, "recall"), (6, 256, "recall"),
]  # fmt: skip


def bench_accuracy_seeds(data: Path, seeds: list[int], threshold: float = 0.5) -> None:
    """(b2) MinHash noise: each candidate's Webis F1 over permutation seeds (mean, min..max, seed 1), with
    the constraints at their worst seed. `lsh`: `balanced` is datasketch's optimum with false positives
    and negatives weighted 0.5/0.5; `recall` (the default `lsh_tuning`) weighs false negatives 0.9, since a
    verified candidate's false positive costs one comparison while a missed pair is lost."""
    from datasketch.lsh import _optimal_param

    from curation.steps.minhash import MinhashSigner
    from curation.steps.minhash.plan import LSH_WEIGHTS

    pairs = load_jsonl(data / "neardup" / "webis_pairs.jsonl.gz")
    gold = [p["label"] >= 1 for p in pairs]
    webis = [(p["text_a"], p["text_b"]) for p in pairs]
    mrpc, synth = _mrpc(data), _synthetic_pairs(data)
    ref_j = [_jaccard(a, b) for a, b in synth]
    clear, low = [j >= 0.85 for j in ref_j], [j < 0.5 for j in ref_j]
    rows = []
    for n, perm, lsh in SEED_CONFIGS:
        bands, r = _optimal_param(threshold, perm, *LSH_WEIGHTS[lsh])
        f1s, worst = [], [0.0, 1.0, 0.0]  # MRPC max, clear recall min, low merged max
        for seed in seeds:
            signer = MinhashSigner(perm, seed, "fast")
            empty = np.zeros(perm, dtype=np.uint32)

            def decide(a, b, signer=signer, empty=empty, n=n, perm=perm, bands=bands, r=r):
                sa, ca = signer.sign_text(a, n, False, 4), signer.last_count
                sb, cb = signer.sign_text(b, n, False, 4), signer.last_count
                sa, sb = (empty if sa is None else sa), (empty if sb is None else sb)
                need = max(threshold, SHORT_THRESHOLD) if min(ca, cb) < 40 else threshold
                return _collide(sa, sb, bands, r) and np.count_nonzero(sa == sb) / perm >= need

            f1s.append(_prf([decide(a, b) for a, b in webis], gold)[2])
            syn = [decide(a, b) for a, b in synth]
            worst[0] = max(worst[0], sum(decide(a, b) for a, b in mrpc) / len(mrpc))
            worst[1] = min(worst[1], sum(d for d, c in zip(syn, clear) if c) / max(1, sum(clear)))
            worst[2] = max(worst[2], sum(d for d, lo in zip(syn, low) if lo) / max(1, sum(low)))
        rows.append([n, perm, f"{lsh} {bands}x{r}", f"{1 - (1 - threshold**r) ** bands:.2f}",
                     f"{statistics.mean(f1s):.3f}", f"{min(f1s):.3f}..{max(f1s):.3f}", f"{f1s[0]:.3f}",
                     f"{worst[0]:.2%}", f"{worst[1]:.1%}", f"{worst[2]:.1%}"])  # fmt: skip
        print(f"  seeds: {rows[-1]}", file=sys.stderr, flush=True)
    print(f"\n### (b2) Webis F1 over {len(seeds)} permutation seeds ({seeds[0]} = the default seed), "
          f"threshold {threshold}, word n-grams, lines < 4 words dropped, short docs need {SHORT_THRESHOLD}; "
          "constraints at their worst seed\n")  # fmt: skip
    print(table(["word n-gram", "num_perm", "LSH", "P(candidate) at J = threshold", "Webis F1 mean",
                 "min..max", f"seed {seeds[0]}", "MRPC fired (max)", "clear dups found (min)",
                 "J<0.5 merged (max)"], rows))  # fmt: skip
