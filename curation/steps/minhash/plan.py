"""MinHash cluster planning shared by the in-memory, Redis and band-sharded paths: LSH bands, the
memory estimate, which path runs, and how one bucket's members are linked (`link_bucket`), so every
path links the same pairs. (A module of its own so `minhash.cluster` and `minhash.bands` import it, not
each other.)"""

from __future__ import annotations

import numpy as np

# RSS growth of a dict-storage MinHashLSH, measured on CPython 3.11 / datasketch 2.0.0 with 100k random
# signatures: 3,619 B/doc at 9x13, 9,100 at 25x5, 2,364 at 5x25 -> ~360 B per band (a bytes key of
# rows x 4 B, its dict slot, a one-element set) + ~400 B per doc (the `keys` entry, an int key).
INDEX_BYTES_PER_BAND = 360
INDEX_BYTES_PER_DOC = 400
UNION_FIND_BYTES_PER_DOC = 8  # array('q') parent pointer
REDIS_SCAN_BYTES_PER_DOC = 120  # one band's keys fetched at a time from Redis (bytes objects in a list)
FETCH_BATCH = 5000  # Redis bucket fetches per pipeline round trip


LSH_WEIGHTS = {"recall": (0.1, 0.9), "balanced": (0.5, 0.5)}  # (false positive, false negative) weights


def lsh_bands(params) -> tuple[int, int]:
    """(bands, rows): explicit, or datasketch's optimum for threshold and num_perm with the weights of
    `lsh_tuning` (defaults 0.5, 256, recall -> 42 x 4; balanced -> 42 x 6; 0.8, 128, balanced -> 9 x 13).
    Unset, it is recall when candidates are verified and balanced when they are merged unchecked."""
    if params.bands is not None:
        return params.bands, params.rows
    tuning = params.lsh_tuning or ("recall" if params.verify else "balanced")
    return params.lsh_optimum(*LSH_WEIGHTS[tuning])


def memory_estimate(docs: int, bands: int, sig_bytes: int, id_bytes: int, redis: bool) -> dict[str, int]:
    """Bytes the cluster stage adds to the process, by part (docs x bands for the index; `sig_bytes`:
    one document's signature)."""
    parts = {
        "signatures": docs * sig_bytes,
        "ids": id_bytes + docs * 12,  # + offset and shingle count
        "union_find": docs * UNION_FIND_BYTES_PER_DOC,
        "index": docs * REDIS_SCAN_BYTES_PER_DOC
        if redis
        else docs * (bands * INDEX_BYTES_PER_BAND + INDEX_BYTES_PER_DOC),
    }
    parts["total"] = sum(parts.values())
    return parts


def settings_key(params, bands: int, rows: int) -> str:
    """What, besides the signatures, decides the clusters (a change reruns the cluster stage)."""
    p = params
    return f"{bands}x{rows}|{p.verify}|{p.threshold}|{p.short_shingles}|{p.short_threshold}"


def pair_thresholds(counts: np.ndarray, reps: list[int], x: int, params) -> np.ndarray | float:
    """Agreement each (rep, x) link needs: threshold, or short_threshold when the smaller doc is short."""
    if not params.short_shingles:
        return params.threshold
    short = np.minimum(counts[reps], counts[x]) < params.short_shingles
    return np.where(short, max(params.threshold, params.short_threshold), params.threshold)


def link_bucket(members: list[int], s: np.ndarray, counts: np.ndarray, params, union) -> None:
    """Union one bucket's members (sorted node ints); with `verify`, only links that agree enough.

    Each member is compared with the bucket's representatives so far (vectorized), not with every
    other member, so a bucket of m copies costs m comparisons, not m^2. The in-memory and the
    band-sharded paths both call this on the same buckets, so they link the same pairs.
    """
    if not params.verify:
        for m in members[1:]:
            union(members[0], m)
        return
    reps = [members[0]]
    for x in members[1:]:
        agree = np.count_nonzero(s[reps] == s[x], axis=1) / s.shape[1]
        hits = np.flatnonzero(agree >= pair_thresholds(counts, reps, x, params))
        if len(hits) == 0:
            reps.append(x)
        for h in hits:
            union(reps[h], x)


def id_bytes(files, sig_bytes: int) -> int:
    docs = sum(m["docs"] for _, m in files)
    return max(sum(f.stat().st_size for f, _ in files) - docs * sig_bytes, 0)


def cluster_estimate(params, files, bands: int) -> dict[str, int]:
    """`memory_estimate` of the cluster stage over these signature files (computed here only, so the
    path choice and the printed estimate agree)."""
    docs = sum(m["docs"] for _, m in files)
    sig = params.sig_bytes
    return memory_estimate(docs, bands, sig, id_bytes(files, sig), params.storage is not None)


def choose_mode(params, files, bands: int) -> str:
    """'redis' with storage; else `mode`, or for 'auto' the in-memory index while its estimate stays
    under memory_budget_mb, the band-sharded path beyond. Every stage decides the same way."""
    if params.storage is not None:
        return "redis"
    if params.mode != "auto":
        return params.mode
    est = cluster_estimate(params, files, bands)
    return "sharded" if est["total"] > params.memory_budget_mb * 2**20 else "memory"

