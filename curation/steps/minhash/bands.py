"""Band-sharded MinHash clustering: the cluster stage spread over tasks, memory independent of the corpus.

The in-memory path keeps a datasketch index of every document (~16.6 KB each at the default 42 bands:
~1.5 TiB at 100M docs).
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
2. `MinhashClusterStage` (1 task, `minhash/cluster.py`) unions the links of every task, in memory
   proportional to the documents that have a link, and writes `clusters.npz` as the in-memory path.

Same buckets + same links => same connected components => same clusters, keepers and numbering
(tests/curation/steps/test_minhash.py compares the two paths).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.logging import logger

from curation.steps.minhash.files import (
    atomic_savez,
    read_meta,
    sig_chunk_docs,
    signature_files,
    signatures_digest,
)
from curation.steps.minhash.plan import choose_mode, link_bucket, lsh_bands, settings_key

KEY_BYTES_PER_DOC = 48  # a share's uint64 key + int64 doc, the argsort's int64, sorted copies
SHARE_BUDGET = 96 << 20  # bytes of keys held at once: parts = ceil(docs * 48 B / budget)
CAND_BYTES_PER_DOC = 40  # per loaded member, besides its signature: numbers, counts, local indices
CAND_BYTES = (
    36 << 20
)  # bucket members' signatures loaded at once, whatever num_perm (one bigger bucket excepted)
_MIX = np.array([0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB], dtype=np.uint64)


def key_budget(params) -> int:
    """Bytes of band keys a task holds at once: `shard_keys_mb`, else SHARE_BUDGET."""
    mb = getattr(params, "shard_keys_mb", None)
    return mb << 20 if mb else SHARE_BUDGET


def cand_batch(sig_bytes: int) -> int:
    """Bucket members whose signatures are loaded at once (68,385 at 128 permutations, 35,478 at
    256): bytes, not members, are fixed, so more permutations cost more batches, not more memory. A
    bucket is never cut, so one bucket larger than this is loaded whole."""
    return max(2, CAND_BYTES // (sig_bytes + CAND_BYTES_PER_DOC))


def share_plan(docs: int, bands: int, budget: int | None = None) -> tuple[int, list[tuple[int, int]]]:
    """(parts, every (band, part) share in order): parts keeps a share's keys under the budget."""
    parts = max(1, -(-docs * KEY_BYTES_PER_DOC // (budget or SHARE_BUDGET)))
    return parts, [(b, q) for b in range(bands) for q in range(parts)]


def band_keys(chunk: np.ndarray, band: int, rows: int) -> np.ndarray:
    """uint64 hash of each row's band values (equal bands -> equal keys; collisions are re-split)."""
    cols = chunk[:, band * rows : (band + 1) * rows].astype(np.uint64)
    h = np.full(len(chunk), band, dtype=np.uint64)
    for j in range(rows):
        h = (h ^ cols[:, j]) * _MIX[j % 3]
        h ^= h >> np.uint64(29)
    return h


def sharded_memory_estimate(docs: int, sig_bytes: int, bands: int, budget: int | None = None) -> dict:
    """Bytes one band task adds, by part: keys of the shares it holds at once (<= SHARE_BUDGET once the
    key space is split in parts), the signature chunk it streams, and one batch of bucket members'
    signatures. None of it grows with the corpus past SHARE_BUDGET."""
    budget = budget or SHARE_BUDGET
    parts, shares = share_plan(docs, bands, budget)
    per_share = -(-docs // parts) * KEY_BYTES_PER_DOC
    held = min(len(shares), max(1, budget // max(1, per_share))) * per_share
    parts_ = {
        "keys": held,
        "chunk": sig_chunk_docs(sig_bytes) * sig_bytes,
        "candidates": min(docs, cand_batch(sig_bytes)) * (sig_bytes + CAND_BYTES_PER_DOC),
    }
    parts_["total"] = sum(parts_.values())
    return {"shares": len(shares), "parts": parts, **parts_}


class MinhashBandStage(PipelineStep):
    """Stage 1 of the cluster step (`tasks` workers): LSH buckets of a share of the bands -> links."""

    type = "🫂 - DEDUP"
    name = "🎯 minhash band shards"

    def __init__(self, params, work_dir: str | Path, expected_tasks: int):
        super().__init__()
        self.params, self.work_dir, self.expected_tasks = params, str(work_dir), expected_tasks

    def run(self, data=None, rank: int = 0, world_size: int = 1):
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
            self._reader = p.rows_reader(files)
            budget = key_budget(p)
            parts, shares = share_plan(docs, bands, budget)
            mine = shares[rank::world_size]
            per_scan = max(1, budget // max(1, -(-docs // parts) * KEY_BYTES_PER_DOC))
            links, runs, batch = [], 0, cand_batch(p.sig_bytes)
            for g in range(0, len(mine), per_scan):  # one pass over the signatures per group of shares
                pending, cand = [], np.zeros(0, dtype=np.int64)
                for band, mem, starts, sizes in self._runs(files, mine[g : g + per_scan], parts, rows):
                    runs += len(starts)
                    for piece in self._pieces(band, mem, starts, sizes, batch):
                        merged = np.union1d(cand, piece[1])
                        if len(merged) > batch and pending:  # the batch is full: link it
                            links += self._link_batch(pending, cand, rows)
                            pending, merged = [], np.unique(piece[1])
                        pending.append(piece)
                        cand = merged
                if pending:
                    links += self._link_batch(pending, cand, rows)
                # a pair collides in many bands: deduplicate after every pass, so the links held
                # stay ~16 B per distinct pair, not per band the pair collided in
                links = [_unique_pairs(links)]
                self.stat_update("shares", value=len(mine[g : g + per_scan]))
            pairs = _unique_pairs(links)
        meta = {"rank": rank, "pairs": len(pairs), "buckets": runs, "digest": digest}
        atomic_savez(out, pairs=pairs, meta=np.array(json.dumps(meta)))
        self.stat_update("buckets", value=runs)
        self.stat_update("links", value=len(pairs))
        logger.info(f"minhash band shards {rank}: {len(mine)} shares, {json.dumps(meta)}")

    def _runs(self, files, group: list[tuple[int, int]], parts: int, rows: int):
        """For each (band, part) share: the docs of runs of 2+ equal band keys, compactly
        (members concatenated, run starts and sizes), from one streaming pass over the signatures."""
        keys = [[] for _ in group]
        nodes = [[] for _ in group]
        for first, chunk in self.params.signature_chunks(files):
            ids = np.arange(first, first + len(chunk), dtype=np.int64)
            for j, (band, part) in enumerate(group):
                k = band_keys(chunk, band, rows)
                keep = (k % np.uint64(parts)) == np.uint64(part) if parts > 1 else slice(None)
                keys[j].append(k[keep])
                nodes[j].append(ids[keep])
        for j, (band, _) in enumerate(group):
            if not keys[j]:
                continue
            k = np.concatenate(keys[j])
            keys[j] = None
            order = np.argsort(k, kind="stable")  # stable: members stay in doc order
            k = k[order]
            n = np.concatenate(nodes[j])[order]
            nodes[j] = None
            starts = np.flatnonzero(np.concatenate([[True], k[1:] != k[:-1]]))
            sizes = np.diff(np.append(starts, len(k)))
            multi = sizes > 1
            starts, sizes = starts[multi], sizes[multi]
            if not len(starts):
                continue
            take = np.repeat(starts - np.cumsum(sizes) + sizes, sizes) + np.arange(sizes.sum())
            yield band, n[take], np.cumsum(sizes) - sizes, sizes

    @staticmethod
    def _pieces(band: int, mem, starts, sizes, batch: int):
        """One share's runs cut into pieces of <= `batch` members (a run is never cut)."""
        lo, ends = 0, np.cumsum(sizes)
        while lo < len(starts):
            hi = int(np.searchsorted(ends, ends[lo] - sizes[lo] + batch, side="right"))
            hi = max(hi, lo + 1)
            seg = mem[starts[lo] : starts[hi - 1] + sizes[hi - 1]]
            yield band, seg, starts[lo:hi] - starts[lo], sizes[lo:hi]
            lo = hi

    def _link_batch(self, pieces, cand: np.ndarray, rows: int) -> list[np.ndarray]:
        """Load the signatures of `cand` (the batch's members, shared by the bands of a group of
        shares) with positioned reads of their rows only, then link every piece's runs."""
        sigs, counts = self._reader.take(cand)
        out = []
        for band, mem, starts, sizes in pieces:
            out += self._decide(band, mem, starts, sizes, cand, sigs, counts, rows)
        return out

    def _decide(self, band, mem, starts, sizes, cand, sigs, counts, rows) -> list[np.ndarray]:
        """Links of one piece's runs, split on exact band values, decided as `link_bucket` decides."""
        p = self.params
        local = np.searchsorted(cand, mem)
        band_cols = slice(band * rows, (band + 1) * rows)
        out = []
        two = sizes == 2  # most runs: vectorized, the same decision link_bucket makes for 2 members
        a, b = local[starts[two]], local[starts[two] + 1]
        same = (sigs[a, band_cols] == sigs[b, band_cols]).all(axis=1)
        if p.verify:
            agree = np.count_nonzero(sigs[a] == sigs[b], axis=1) / sigs.shape[1]
            need = np.full(len(a), p.threshold)
            if p.short_shingles:
                short = np.minimum(counts[a], counts[b]) < p.short_shingles
                need[short] = max(p.threshold, p.short_threshold)
            same &= agree >= need
        out.append(np.stack([cand[a[same]], cand[b[same]]], axis=1))
        links: list[tuple[int, int]] = []
        union = lambda x, y: links.append((int(cand[x]), int(cand[y])))
        for s, z in zip(starts[~two].tolist(), sizes[~two].tolist()):
            members = local[s : s + z]
            groups: dict[bytes, list[int]] = {}
            for loc in members.tolist():  # split key collisions on the exact band values
                groups.setdefault(sigs[loc, band_cols].tobytes(), []).append(loc)
            for group in groups.values():
                if len(group) > 1:
                    link_bucket(sorted(group), sigs, counts, p, union)
        out.append(np.array(links, dtype=np.int64).reshape(-1, 2))
        return out


def _unique_pairs(links: list[np.ndarray]) -> np.ndarray:
    """The distinct (a, b) rows of the link arrays, sorted."""
    pairs = np.concatenate(links) if links else np.zeros((0, 2), dtype=np.int64)
    return np.unique(pairs, axis=0) if len(pairs) else pairs
