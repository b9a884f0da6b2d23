"""Band-sharded MinHash clustering: the cluster stage spread over tasks, memory independent of the corpus.

The in-memory path keeps a datasketch index of every document (~4 KB each: ~400 GiB at 100M docs).
This path never does:

1. `MinhashBandStage` (`tasks` workers). The (band, part) shares, `bands x parts` in all, are dealt
   round robin to the tasks. For its shares, a task streams the signature files in chunks and keeps,
   per document, a 64-bit hash of the band's values (a share's part is a slice of that hash space, so
   a share holds at most `docs / parts` keys: `parts` grows with the corpus to keep that under
   SHARE_BUDGET). It sorts the keys; runs of equal keys are the LSH buckets (hash collisions are
   split again on the exact band values). It then reads the signatures of the documents that are in
   a bucket with others and links bucket members exactly as the in-memory path does
   (`link_bucket`: same buckets, same member order, same verification), and writes the links to
   `pairs/<rank>.npz`.
2. `MinhashClusterStage` (1 task, `_minhash_lsh.py`) unions the links of every task, in memory
   proportional to the documents that have a link, and writes `clusters.npz` as the in-memory path.

Same buckets + same links => same connected components => same clusters, keepers and numbering
(tests/curation/steps/test_minhash.py compares the two paths).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.logging import logger

from curation.steps._minhash_io import (
    UNKNOWN_COUNT,
    atomic_savez,
    iter_sig_chunks,
    read_member,
    read_meta,
    signature_files,
)

KEY_BYTES_PER_DOC = 24  # a share's uint64 key + uint32 doc + the argsort's int64 (+ slack)
SHARE_BUDGET = 128 << 20  # bytes of keys one share may hold: parts = ceil(docs * 24 B / budget)
CAND_BYTES_PER_DOC = 16  # candidate doc numbers + counts, on top of its signature (num_perm x 4 B)
_MIX = np.array([0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB], dtype=np.uint64)


def share_plan(docs: int, bands: int) -> tuple[int, list[tuple[int, int]]]:
    """(parts, every (band, part) share in order): parts keeps a share's keys under SHARE_BUDGET."""
    parts = max(1, -(-docs * KEY_BYTES_PER_DOC // SHARE_BUDGET))
    return parts, [(b, q) for b in range(bands) for q in range(parts)]


def band_keys(chunk: np.ndarray, band: int, rows: int) -> np.ndarray:
    """uint64 hash of each row's band values (equal bands -> equal keys; collisions are re-split)."""
    cols = chunk[:, band * rows : (band + 1) * rows].astype(np.uint64)
    h = np.full(len(chunk), band, dtype=np.uint64)
    for j in range(rows):
        h = (h ^ cols[:, j]) * _MIX[j % 3]
        h ^= h >> np.uint64(29)
    return h


def sharded_memory_estimate(docs: int, candidates: int, num_perm: int, bands: int, tasks: int) -> dict:
    """Bytes one band task adds: the keys of the shares it holds at once + candidate signatures."""
    parts, shares = share_plan(docs, bands)
    per_share = -(-docs // parts) * KEY_BYTES_PER_DOC
    return {
        "shares": len(shares),
        "parts": parts,
        "keys": per_share,
        "candidates": candidates * (num_perm * 4 + CAND_BYTES_PER_DOC),
    }


class MinhashBandStage(PipelineStep):
    """Stage 1 of the cluster step (`tasks` workers): LSH buckets of a share of the bands -> links."""

    type = "🫂 - DEDUP"
    name = "🎯 minhash band shards"

    def __init__(self, params, work_dir: str | Path, expected_tasks: int):
        super().__init__()
        self.params, self.work_dir, self.expected_tasks = params, str(work_dir), expected_tasks

    def run(self, data=None, rank: int = 0, world_size: int = 1):
        from curation.steps._minhash_lsh import choose_mode, lsh_bands, settings_key

        p, work = self.params, Path(self.work_dir)
        files = signature_files(work / "signatures", self.expected_tasks)
        bands, rows = lsh_bands(p)
        if choose_mode(p, files, bands) != "sharded":
            return  # the in-memory (or Redis) path clusters in the next stage
        docs = sum(m["docs"] for _, m in files)
        digest = signatures_digest(files) + "|" + settings_key(p, bands, rows)
        out = work / "pairs" / f"{rank:05d}.npz"
        if out.exists() and read_meta(out).get("digest") == digest:
            return
        with self.track_time():
            parts, shares = share_plan(docs, bands)
            mine = shares[rank::world_size]
            buckets = []
            for band, part in mine:
                buckets += [(band, m) for m in self._share_buckets(files, band, part, parts, rows)]
                self.stat_update("shares")
            pairs = self._link(files, buckets, bands, rows)
        meta = {"rank": rank, "pairs": len(pairs), "buckets": len(buckets), "digest": digest}
        atomic_savez(out, pairs=pairs, meta=np.array(json.dumps(meta)))
        self.stat_update("buckets", value=len(buckets))
        self.stat_update("links", value=len(pairs))
        logger.info(f"minhash band shards {rank}: {len(mine)} shares, {json.dumps(meta)}")

    def _share_buckets(self, files, band: int, part: int, parts: int, rows: int) -> list[np.ndarray]:
        """Runs of 2+ docs with the same band key, within this part of the key space."""
        keys, nodes = [], []
        for first, chunk in iter_sig_chunks(files, self.params.num_perm):
            k = band_keys(chunk, band, rows)
            keep = (k % np.uint64(parts)) == np.uint64(part) if parts > 1 else slice(None)
            keys.append(k[keep])
            nodes.append((np.arange(len(chunk), dtype=np.int64) + first)[keep])
        if not keys:
            return []
        k, n = np.concatenate(keys), np.concatenate(nodes)
        order = np.argsort(k, kind="stable")  # stable: members stay in doc order
        k, n = k[order], n[order]
        starts = np.flatnonzero(np.concatenate([[True], k[1:] != k[:-1]]))
        sizes = np.diff(np.append(starts, len(k)))
        multi = np.flatnonzero(sizes > 1)
        return [n[starts[i] : starts[i] + sizes[i]] for i in multi]

    def _link(self, files, buckets: list[tuple[int, np.ndarray]], bands: int, rows: int) -> np.ndarray:
        """Links of every (band, members) run, split on the exact band values, decided by `link_bucket`."""
        from curation.steps._minhash_lsh import link_bucket

        if not buckets:
            return np.zeros((0, 2), dtype=np.int64)
        cand = np.unique(np.concatenate([m for _, m in buckets]))
        sigs = np.empty((len(cand), self.params.num_perm), dtype=np.uint32)
        for first, chunk in iter_sig_chunks(files, self.params.num_perm):
            lo, hi = np.searchsorted(cand, [first, first + len(chunk)])
            sigs[lo:hi] = chunk[cand[lo:hi] - first]
        counts = candidate_counts(files, cand)
        links: list[tuple[int, int]] = []
        union = lambda a, b: links.append((int(cand[a]), int(cand[b])))
        for band, members in buckets:
            local = np.searchsorted(cand, members)
            values = sigs[local, band * rows : (band + 1) * rows]
            groups: dict[bytes, list[int]] = {}
            for i, loc in enumerate(local.tolist()):  # split hash collisions on the exact values
                groups.setdefault(values[i].tobytes(), []).append(loc)
            for group in groups.values():
                if len(group) > 1:
                    link_bucket(sorted(group), sigs, counts, self.params, union)
        return np.array(links, dtype=np.int64).reshape(-1, 2)


def candidate_counts(files, cand: np.ndarray) -> np.ndarray:
    """Shingle counts of the candidate docs (sorted global numbers), file by file."""
    out = np.full(len(cand), UNKNOWN_COUNT, dtype=np.uint32)
    base = 0
    for path, meta in files:
        lo, hi = np.searchsorted(cand, [base, base + meta["docs"]])
        if hi > lo:
            c = read_member(path, "counts")
            if c is not None:
                out[lo:hi] = c[cand[lo:hi] - base]
        base += meta["docs"]
    return out


def signatures_digest(files) -> str:
    return hashlib.sha1("".join(m["digest"] for _, m in files).encode()).hexdigest()
