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
(b) and (b2) live in bench/minhash_accuracy.py; (c) and (d) in bench/minhash_scale.py, which is also
their child processes' entry point.

    python -m bench.minhash [--data ../shared/data] [--parts a,b,b2,c,d] [--sizes 10000,100000]
        [--kinds memory,sharded,datatrove] [--tasks 2] [--workdir /tmp/mh] [--repeats 3] [--seeds 1,2,3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import DEFAULT_DATA, load_jsonl, measure, table
from bench.minhash_accuracy import bench_accuracy, bench_accuracy_seeds
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

    num_perm, t0 = _num_perm(), time.perf_counter()  # the default looked up once, outside the timing
    for t in texts:
        m = MinHash(num_perm, 1)
        for s in shingles(t):
            m.update(s)
    return time.perf_counter() - t0


def _ds_update_batch(texts):
    from datasketch import MinHash

    from curation.steps.minhash import shingles

    num_perm, t0 = _num_perm(), time.perf_counter()
    for t in texts:
        m = MinHash(num_perm, 1)
        m.update_batch(list(shingles(t)))
    return time.perf_counter() - t0


def _ds_bulk(texts):
    from datasketch import MinHash

    from curation.steps.minhash import shingles

    num_perm, t0 = _num_perm(), time.perf_counter()
    MinHash.bulk([list(shingles(t)) for t in texts], num_perm=num_perm, seed=1)
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


def bench_signatures(data: Path, repeats: int, docs: int = 1000) -> None:
    texts = [d["text"] for d in load_jsonl(data / "web" / "docs_en.jsonl.gz", limit=docs, max_chars=20000)]
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


# --quick: a smoke run sized for a loaded machine. Niced (nice -n 15) at load ~16 on the shared 2 cores,
# (a) with 1,000 docs ran ~5 min (every variant in a fresh process: imports dominate) and with 100 docs
# 3.6 min; (c) starts four more processes. So quick is (a) alone on 100 docs; the tables come from the
# full run.
QUICK = {"parts": "a", "repeats": 1, "signature_docs": 100}


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
    ap.add_argument("--signature-docs", type=int, default=1000, help="documents of web/docs_en for (a)")
    ap.add_argument("--kinds", default="memory,sharded,datatrove", help="pipelines for (c)")
    ap.add_argument("--tasks", type=int, default=2, help="tasks (input shards) for (c)")
    ap.add_argument("--workdir", type=Path, help="for (c): keep generated corpora here (never in the repo)")
    ap.add_argument("--seeds", default="1,2,3,4,5", help="permutation seeds for (b2)")
    ap.add_argument(
        "--params",
        type=json.loads,
        help="for (c) and (d): MinhashParams fields as JSON, e.g. '{\"num_perm\": 128}'",
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help=f"a smoke run that fits `curate bench --quick`'s cap on a shared machine: part {QUICK['parts']} "
        f"only, {QUICK['repeats']} repeat of {QUICK['signature_docs']} docs ((b) and (c): the full run)",
    )
    args = ap.parse_args(argv)
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    parts = set(args.parts.split(","))
    if "a" in parts:
        bench_signatures(args.data, args.repeats, args.signature_docs)
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
