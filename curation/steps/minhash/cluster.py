"""MinHash cluster stage: picks the path, builds the clusters (in-memory datasketch index, the Redis
index of `minhash/redis.py`, or the union of the band tasks' links of `minhash/bands.py`) with
union-find, and writes `clusters.npz`.

Memory of the cluster stage is signatures (4 B x num_perm per doc) + ids + the datasketch index,
whose in-memory (dict) storage costs ~INDEX_BYTES_PER_BAND per doc and band; nothing grows with
document length. Files are described in `minhash/files.py`.
"""

from __future__ import annotations

import json
import os
import resource
import sys
from array import array
from pathlib import Path

import numpy as np
from datasketch import MinHashLSH
from datatrove.utils.logging import logger

from curation.steps.barrier import BarrierDecide
from curation.steps.base import ledger_update
from curation.steps.minhash.bands import key_budget, sharded_memory_estimate
from curation.steps.minhash.files import (
    Signatures,
    atomic_savez,
    pack_ids,
    read_member,
    read_meta,
    signature_files,
    signatures_digest,
)
from curation.steps.minhash.plan import (  # noqa: F401 (re-exported: bench and tests import them here)
    FETCH_BATCH,
    INDEX_BYTES_PER_BAND,
    INDEX_BYTES_PER_DOC,
    REDIS_SCAN_BYTES_PER_DOC,
    UNION_FIND_BYTES_PER_DOC,
    choose_mode,
    cluster_estimate,
    id_bytes,
    link_bucket,
    lsh_bands,
    memory_estimate,
    pair_thresholds,
    settings_key,
)
from curation.steps.minhash.redis import (
    _drop_index,
    lean,
    make_lsh,
    node_of,
    redis_basename,
)


def _announce(message: str) -> None:
    """To the task log and, since the terminal only shows warnings, to stderr too (one line per run)."""
    logger.info(message)
    print(message, file=sys.stderr, flush=True)


def available_bytes() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss_bytes() -> int:
    """This process image's peak RSS (VmHWM; ru_maxrss would carry the forking parent's peak over exec)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class UnionFind:
    def __init__(self, n: int):
        self.parent = array("q", range(n))
        self.touched: set[int] = set()

    def find(self, x: int) -> int:
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)
            self.touched.update((a, b))

    def groups(self) -> list[list[int]]:
        out: dict[int, list[int]] = {}
        for node in sorted(self.touched):
            out.setdefault(self.find(node), []).append(node)
        return list(out.values())


def _buckets(lsh: MinHashLSH, docs: int, redis: bool):
    """Yield each LSH bucket with 2+ members as a sorted list of node ints (band by band).

    Redis members are parsed as 8-byte ints (`node_of`), never unpickled; anything else is skipped.
    """
    skipped = 0
    for table in lsh.hashtables:
        if redis:  # one band's bucket names, then their members in pipelined batches
            names = table.keys()
            for start in range(0, len(names), FETCH_BATCH):
                for members in table.getmany(*names[start : start + FETCH_BATCH]):
                    nodes = [node_of(m, docs) for m in members]
                    skipped += nodes.count(None)
                    nodes = sorted(n for n in nodes if n is not None)
                    if len(nodes) > 1:
                        yield nodes
        else:
            for name in table.keys():  # noqa: SIM118 (a datasketch Storage, not a dict)
                members = table.get(name)
                if len(members) > 1:
                    yield sorted(members)
    if skipped:
        logger.warning(f"minhash clusters: skipped {skipped} index members that are not document numbers")


class MinhashClusterStage(BarrierDecide):
    """Stage run once after all tasks: LSH candidates -> verified union-find clusters -> clusters.npz."""

    type = "🫂 - DEDUP"
    name = "🎯 minhash clusters"

    def __init__(self, params, work_dir: str | Path, expected_tasks: int):
        super().__init__(str(work_dir))
        self.params, self.expected_tasks = params, expected_tasks

    def decide(self) -> None:
        p, work = self.params, Path(self.work_dir)
        out = work / "clusters.npz"
        files = signature_files(work / "signatures", self.expected_tasks)
        bands, rows = lsh_bands(p)
        docs = sum(m["docs"] for _, m in files)
        mode = choose_mode(p, files, bands)
        digest = f"{signatures_digest(files)}|{settings_key(p, bands, rows)}"
        if out.exists() and read_meta(out).get("digest") == digest:
            logger.info(f"minhash clusters: {out} is up to date, skipping")
            return self._count(read_meta(out))
        est = cluster_estimate(p, files, bands)
        base = rss_bytes()
        sharded = ""
        if mode == "sharded":
            s = sharded_memory_estimate(docs, p.sig_bytes, bands, key_budget(p))
            sharded = (
                f"; band-sharded instead ({s['shares']} shares over {self.expected_tasks} tasks): each task "
                f"process + {s['total'] / 2**20:.0f} MiB (keys {s['keys'] / 2**20:.0f}, chunk "
                f"{s['chunk'] / 2**20:.0f}, candidates {s['candidates'] / 2**20:.0f}), then this union step "
                "+ ~200 B per document that has a duplicate"
            )
        _announce(
            f"minhash clusters ({mode}): {docs} docs x {bands} bands ({rows} rows): in-memory estimate "
            f"{(base + est['total']) / 2**20:.0f} MiB (process {base / 2**20:.0f} + "
            + ", ".join(f"{k} {v / 2**20:.1f}" for k, v in est.items() if k != "total")
            + f" MiB){sharded}; disk: signatures {sum(f.stat().st_size for f, _ in files) / 2**20:.1f} MiB"
        )
        avail = available_bytes()
        if mode != "sharded" and avail is not None and est["total"] > avail:
            logger.warning(
                f"minhash clusters: the estimate ({est['total'] / 2**30:.1f} GiB) exceeds available memory "
                f"({avail / 2**30:.1f} GiB); use mode: sharded"
            )
        with self.track_time():
            if mode == "sharded":
                groups, key = self._union(work, files, digest)
            else:
                sigs = p.signatures(files)
                basename = redis_basename(work, sigs.digest, bands, rows) if p.storage is not None else None
                lsh = make_lsh(p, bands, rows, basename)
                if p.storage is None:
                    for i in range(sigs.docs):
                        lsh.insert(i, lean(p.seed, sigs.sigs[i]), check_duplication=False)
                uf = self._cluster(lsh, sigs, UnionFind(sigs.docs))
                groups, key = uf.groups(), sigs.key
            meta = self._write(out, groups, key, docs, digest)
            if mode == "redis" and not p.storage.keep_index:
                _drop_index(p.storage, basename)
        meta.update(mode=mode, estimate_bytes=base + est["total"], peak_rss_bytes=peak_rss_bytes())
        logger.info(f"minhash clusters: {json.dumps(meta)}")
        self._count(meta)

    def _count(self, meta: dict) -> None:
        """Run-level numbers, counted once: this stage is a single task."""
        ledger_update(self, "dedup", "clusters", meta["clusters"])
        self.stat_update("clusters", value=meta["clusters"])
        self.stat_update("duplicates", value=meta["duplicates"])

    def _cluster(self, lsh: MinHashLSH, sigs: Signatures, uf: UnionFind) -> UnionFind:
        """Union bucket members (band by band); with `verify`, only links that agree enough."""
        s, p = sigs.sigs, self.params
        for members in _buckets(lsh, sigs.docs, p.storage is not None):
            link_bucket(members, s, sigs.counts, p, uf.union)
        return uf

    def _union(self, work: Path, files, digest: str):
        """Band-sharded path: union every task's links; memory ~ the documents that have a link."""
        links = []
        for r in range(self.expected_tasks):
            path = work / "pairs" / f"{r:05d}.npz"
            if not path.exists():
                raise FileNotFoundError(f"{path} missing: band task {r} has not run (or failed)")
            if read_meta(path).get("digest") != digest:
                raise RuntimeError(f"{path} is from other signatures or settings; rerun the band stage")
            links.append(read_member(path, "pairs"))
        pairs = np.unique(np.concatenate(links), axis=0) if links else np.zeros((0, 2), dtype=np.int64)
        uf = DictUnionFind()
        for a, b in pairs.tolist():
            uf.union(a, b)
        groups = uf.groups()
        return groups, node_keys(files, sorted(n for g in groups for n in g))

    def _write(self, out: Path, groups: list[list[int]], key, docs: int, digest: str) -> dict:
        clusters = sorted(sorted(key(m) for m in members) for members in groups)
        rows = [(r, i, no, len(keys)) for no, keys in enumerate(clusters) for _, r, i in keys]
        table = np.array(rows, dtype=np.int64).reshape(-1, 4)  # rank, index, cluster, size
        kblob, koffsets = pack_ids([keys[0][0].decode() for keys in clusters])
        meta = {
            "clusters": len(clusters),
            "clustered_docs": len(rows),
            "duplicates": len(rows) - len(clusters),
        }
        meta.update(docs=docs, digest=digest)
        atomic_savez(
            out, table=table, keepers=kblob, keeper_offsets=koffsets, meta=np.array(json.dumps(meta))
        )
        return meta


def node_keys(files, nodes: list[int]):
    """Keeper-order key (id bytes, rank, index) of the given global doc numbers, read file by file."""
    keys: dict[int, tuple[bytes, int, int]] = {}
    base, k = 0, 0
    for path, meta in files:
        end = base + meta["docs"]
        mine = []
        while k < len(nodes) and nodes[k] < end:
            mine.append(nodes[k])
            k += 1
        if mine:
            with np.load(path) as z:
                blob, off, index = z["ids"].tobytes(), z["id_offsets"], z["index"]
            for n in mine:
                j = n - base
                keys[n] = (blob[off[j] : off[j + 1]], meta["rank"], int(index[j]))
        base = end
    return keys.__getitem__


class DictUnionFind:
    """Union-find over the documents that have a link only (memory ~ linked docs, not the corpus)."""

    def __init__(self):
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        parent = self.parent
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while x != root:
            parent[x], x = root, parent[x]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            lo, hi = min(ra, rb), max(ra, rb)
            self.parent[hi] = lo
            self.parent.setdefault(lo, lo)

    def groups(self) -> list[list[int]]:
        out: dict[int, list[int]] = {}
        for node in sorted(self.parent):
            out.setdefault(self.find(node), []).append(node)
        return list(out.values())
