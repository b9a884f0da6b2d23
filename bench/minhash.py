"""MinHash near-dup benchmarks: (a) signature speed, (b) accuracy on labelled pairs, (c) end-to-end cost.

(a) docs/s on 1,000 English docs (text <= 20k chars), normalization and shingling included, side by
    side: ours with `hashing: fast` and `hashing: sha1` (datasketch-identical), datasketch per-shingle
    `update`, `update_batch`, `MinHash.bulk`, and datatrove's `MinhashDedupSignature`; plus the
    arithmetic floor (sha1 of every shingle in one C call + the permutation arithmetic, no Python).
(b) every shingling option (hashing, word n-gram, boilerplate-line drop, short-doc rule) x threshold,
    decided as the cluster stage decides: Webis P/R/F1 (label >= 1), MRPC paraphrase firing rate,
    recall of clear near-duplicates (synthetic pairs, word-5-gram Jaccard >= 0.85) and merges below
    Jaccard 0.5; plus the F1 of exact Jaccard of the same shingles (no MinHash noise).
(b2) the candidates for the defaults over several permutation seeds (mean, spread, the default seed):
    MinHash noise moves Webis F1 by about as much as the options differ.
(c) whole dedup pipelines on the same documents (distinct web texts <= 2,000 chars, 25% mutated
    copies, `--tasks` tasks): ours in-memory, ours band-sharded, datatrove's 4-stage MinHash pipeline
    (signatures, buckets, cluster, filter); each in a fresh process, so its peak RSS is its own.
(d) the band-sharded cluster stage alone (band tasks, then the union, each in a fresh process) on
    synthetic signatures, for sizes where signing real documents would take hours here.
(c) and (d) live in bench/minhash_scale.py, which is also their child processes' entry point.

    python -m bench.minhash [--data ../shared/data] [--parts a,b,b2,c,d] [--sizes 10000,100000]
        [--kinds memory,sharded,datatrove] [--tasks 2] [--workdir /tmp/mh] [--repeats 3] [--seeds 1,2,3]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import DEFAULT_DATA, load_jsonl, measure, table
from bench.minhash_scale import bench_cluster_scale, bench_end_to_end

# --- (a) signature speed ---------------------------------------------------------------------------


def _num_perm() -> int:
    """The default permutations (MinhashParams): what (a) and (b) measure."""
    from curation.steps.minhash import MinhashParams

    return MinhashParams().num_perm


def _ours(texts, hashing="sha1"):
    """The signature step's own call (streamed pieces, normalization and shingling included)."""
    from curation.steps.minhash import MinhashSigner

    signer = MinhashSigner(_num_perm(), 1, hashing)
    t0 = time.perf_counter()
    for t in texts:
        signer.sign_text(t, 5)
    return time.perf_counter() - t0


def _ours_fast(texts):
    return _ours(texts, "fast")


def _ds_update(texts):
    from datasketch import MinHash

    from curation.steps.minhash import shingles

    t0 = time.perf_counter()
    for t in texts:
        m = MinHash(_num_perm(), 1)
        for s in shingles(t):
            m.update(s)
    return time.perf_counter() - t0


def _ds_update_batch(texts):
    from datasketch import MinHash

    from curation.steps.minhash import shingles

    t0 = time.perf_counter()
    for t in texts:
        m = MinHash(_num_perm(), 1)
        m.update_batch(list(shingles(t)))
    return time.perf_counter() - t0


def _ds_bulk(texts):
    from datasketch import MinHash

    from curation.steps.minhash import shingles

    t0 = time.perf_counter()
    MinHash.bulk([list(shingles(t)) for t in texts], num_perm=_num_perm(), seed=1)
    return time.perf_counter() - t0


def _datatrove(texts):
    from datatrove.data import Document
    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature

    with tempfile.TemporaryDirectory() as tmp:
        step = MinhashDedupSignature(output_folder=tmp, config=MinhashConfig())
        step.get_shingles("warm up the spacy tokenizer")
        docs = [Document(text=t, id=str(i)) for i, t in enumerate(texts)]
        t0 = time.perf_counter()
        step.run(iter(docs), 0, 1)
        return time.perf_counter() - t0


def _parts(texts):
    """Our per-doc time split into normalize, shingle, sha1, permute (same code as MinhashSigner)."""
    import hashlib

    from datasketch.minhash import _fmix

    from curation.steps.minhash import MinhashSigner, normalize_tokens

    signer, n = MinhashSigner(_num_perm(), 1), 5
    t = {"normalize": 0.0, "shingles": 0.0, "sha1": 0.0, "permute+min": 0.0}
    for text in texts:
        t0 = time.perf_counter()
        tok = normalize_tokens(text)
        t1 = time.perf_counter()
        sh = list(map(b" ".join, zip(*[tok[i:] for i in range(n)])))
        t2 = time.perf_counter()
        hv = np.frombuffer(b"".join([hashlib.sha1(s).digest() for s in sh]), dtype="<u4")[::5]
        t3 = time.perf_counter()
        if len(hv):
            (np.multiply.outer(signer.a, _fmix(hv.astype(np.uint32), 32)) + signer.b).min(axis=1)
        t4 = time.perf_counter()
        for k, dt in zip(t, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            t[k] += dt
    return t


def _floor(texts):
    """Unavoidable arithmetic: one SHA-1 block per shingle + num_perm multiply-add-min per shingle.

    SHA-1 is timed on one buffer of 64 B x shingles (a 5-word shingle is one 64-byte block), the
    permutation on all shingles at once: no Python per shingle or per document.
    """
    import hashlib

    from datasketch.minhash import _fmix

    from curation.steps.minhash import CHUNK_ROWS, MinhashSigner, shingles

    signer = MinhashSigner(_num_perm(), 1)
    count = sum(len(shingles(t)) for t in texts)
    buf = bytes(64 * count)
    t0 = time.perf_counter()
    hashlib.sha1(buf).digest()
    t1 = time.perf_counter()
    hv = _fmix(np.arange(count, dtype=np.uint32), 32)
    for s in range(0, count, CHUNK_ROWS):
        (np.multiply.outer(signer.a, hv[s : s + CHUNK_ROWS]) + signer.b).min(axis=1)
    t2 = time.perf_counter()
    return {"sha1": t1 - t0, "permute": t2 - t1, "shingles": count}


def bench_signatures(data: Path, repeats: int) -> None:
    texts = [d["text"] for d in load_jsonl(data / "web" / "docs_en.jsonl.gz", limit=1000, max_chars=20000)]
    n = len(texts)
    variants = [
        ("rootstock hashing: fast (numpy token hashes)", _ours_fast),
        ("rootstock hashing: sha1 (datasketch-identical)", _ours),
        ("datasketch MinHash.update per shingle", _ds_update),
        ("datasketch MinHash.update_batch", _ds_update_batch),
        ("datasketch MinHash.bulk", _ds_bulk),
        ("datatrove MinhashDedupSignature", _datatrove),
    ]
    secs: dict[str, list[float]] = {name: [] for name, _ in variants}
    for _ in range(repeats):  # round robin, so every variant sees the same mix of machine load
        for name, fn in variants:
            secs[name].append(measure(fn, texts, repeats=1)["result"])
    res = {name: statistics.median(v) for name, v in secs.items()}
    dt = res["datatrove MinhashDedupSignature"]
    rows = [[k, f"{n / v:,.0f}", f"{v / n * 1e6:,.0f}", f"{dt / v:.1f}x"] for k, v in res.items()]
    print(f"\n### (a) Signatures, {n} docs of docs_en (<= 20k chars, {sum(map(len, texts)) / 1e6:.1f} M chars), "
          f"{_num_perm()} perms (datatrove: its default config), 5-word shingles, 1 core, median of {repeats}\n")  # fmt: skip
    print(table(["method", "docs/s", "µs/doc", "vs datatrove"], rows))
    parts = _parts(texts)
    fl = _floor(texts)
    floor = fl["sha1"] + fl["permute"]
    print("\nsha1 path by part (µs/doc): " + ", ".join(f"{k} {v / n * 1e6:.0f}" for k, v in parts.items()))
    print(f"Arithmetic floor ({fl['shingles']:,} shingles): sha1 {fl['sha1'] / n * 1e6:.0f} µs/doc + "
          f"permute {fl['permute'] / n * 1e6:.0f} µs/doc = {n / floor:,.0f} docs/s.")  # fmt: skip
    for name in (
        "rootstock hashing: fast (numpy token hashes)",
        "rootstock hashing: sha1 (datasketch-identical)",
    ):
        print(f"- {name}: {n / res[name]:,.0f} docs/s = {floor / res[name]:.0%} of the floor")


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

    from curation.steps._minhash_plan import LSH_WEIGHTS
    from curation.steps.minhash import MinhashParams, MinhashSigner, shingles

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

    from curation.steps._minhash_plan import LSH_WEIGHTS
    from curation.steps.minhash import MinhashSigner

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


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shared data folder (../shared/data)")
    ap.add_argument(
        "--parts",
        default="a,b,c",
        help="which benchmarks: a (speed), b (accuracy), b2 (accuracy over seeds), c (end to end), "
        "d (sharded cluster stage alone)",
    )
    ap.add_argument("--sizes", default="10000,100000", help="corpus sizes (docs) for (c)")
    ap.add_argument("--repeats", type=int, default=3, help="repeats for (a); the median is reported")
    ap.add_argument("--kinds", default="memory,sharded,datatrove", help="pipelines for (c)")
    ap.add_argument("--tasks", type=int, default=2, help="tasks (input shards) for (c)")
    ap.add_argument("--workdir", type=Path, help="for (c): keep generated corpora here (never in the repo)")
    ap.add_argument("--seeds", default="1,2,3,4,5", help="permutation seeds for (b2)")
    ap.add_argument(
        "--params",
        type=json.loads,
        help="for (c) and (d): MinhashParams fields as JSON, e.g. '{\"num_perm\": 128}'",
    )
    args = ap.parse_args(argv)
    parts = set(args.parts.split(","))
    if "a" in parts:
        bench_signatures(args.data, args.repeats)
    if "b" in parts:
        bench_accuracy(args.data)
    if "b2" in parts:
        bench_accuracy_seeds(args.data, [int(x) for x in args.seeds.split(",")])
    if "d" in parts:
        bench_cluster_scale([int(s) for s in args.sizes.split(",")], args.tasks, args.workdir, args.params)
    if "c" in parts:
        bench_end_to_end(
            args.data,
            [int(s) for s in args.sizes.split(",")],
            args.kinds.split(","),
            args.tasks,
            args.workdir,
            args.params,
        )


if __name__ == "__main__":
    main()
