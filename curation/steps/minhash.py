"""Near-duplicate removal with MinHash signatures and an LSH index (op `minhash_dedup`, a Barrier).

Three parts, so that every shard's signatures exist before any document is judged:

1. `MinhashSignatureStep` (the barrier's `before`): normalizes the hashed field (lowercase, letters,
   digits and combining marks only, single spaces), shingles it (word n-grams, or character n-grams
   for languages written without spaces), and writes one compact signature file per task
   (`work/<step>/signatures/<rank>.npz`: uint32 signatures + doc ids). Every document passes; the
   signed ones carry their position (`_minhash_pos`, popped again by the filter), so decisions stay
   exact when ids repeat, as in `exact_dedup`.
2. `MinhashClusterStage` (the barrier's stage, 1 task, after all tasks finished): inserts every
   signature into a datasketch `MinHashLSH` (in memory, or Redis so several processes share one
   index), turns band collisions into clusters with union-find, verifies each candidate link by the
   signature agreement (the MinHash estimate of Jaccard, not the exact shingle-set Jaccard), keeps
   the document with the smallest id per cluster, and writes `clusters.npz` atomically.
3. `MinhashDedupFilter` (the barrier's filter): removes the other cluster members with reason
   `near_duplicate` and `dup_of = <kept id>`; every clustered document gets `dedup.cluster` and
   `dedup.cluster_size`.

Signatures are bit-identical to datasketch's `MinHash(num_perm, seed)` (scheme `affine32`, default
`sha1_hash32`) fed with the UTF-8 shingles: we compute the same hashes, vectorized with numpy over
all shingles of a document (tests/curation/steps/test_minhash.py asserts it).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

import numpy as np
import regex
from datasketch import MinHash
from datasketch.minhash import _fmix
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.filters.base_filter import BaseFilter
from pydantic import Field, model_validator

from curation.registry import Barrier, OpParams, StepContext, register_op
from curation.steps._minhash_io import load_clusters, write_signatures
from curation.steps._minhash_lsh import MinhashClusterStage, MinhashRedisInsertStage, RedisParams
from curation.steps.base import ledger_update

# Letters, digits and combining marks (Devanagari/Thai vowel signs are marks: `re`'s \w splits on them).
TOKEN_RE = regex.compile(r"[\p{L}\p{N}\p{M}]+")
# Scripts written without spaces between words: shingle characters, not words.
CHAR_LANGS = ("zh", "ja", "th", "lo", "km", "my", "bo", "yue", "wuu")  # "zh-Hant", "ja_JP" match too
POS_KEY = "_minhash_pos"  # "rank:index" stamped by the signature step, popped by the filter
CHUNK_ROWS = 1024  # shingles per permutation block: num_perm x 1024 x 4 B = 512 KB, stays in L2 cache


class MinhashParams(OpParams):
    """Params of `minhash_dedup`."""

    field: str = Field("text", description="what is hashed: 'text' or a metadata key (e.g. 'prompt')")
    ngram: int = Field(5, ge=1, description="word n-gram size of a shingle (words)")
    char_ngram: int = Field(5, ge=1, description="character n-gram size for languages without spaces (chars)")
    shingle: Literal["auto", "word", "char"] = Field(
        "auto", description="'auto': char n-grams when metadata lang is in char_langs, else words"
    )
    char_langs: list[str] = Field(list(CHAR_LANGS), description="languages shingled by characters in 'auto'")
    num_perm: int = Field(128, ge=2, description="permutations per signature (4 bytes each)")
    threshold: float = Field(0.8, gt=0, le=1, description="Jaccard similarity that counts as near-duplicate")
    bands: int | None = Field(None, ge=2, description="LSH bands (with rows); default: datasketch optimum")
    rows: int | None = Field(None, ge=1, description="LSH rows per band (with bands)")
    seed: int = Field(1, description="permutation seed (same on every worker)")
    verify: bool = Field(
        True, description="keep an LSH candidate link only if signature agreement >= threshold"
    )
    storage: RedisParams | None = Field(None, description="{type: redis, host, port}: shared LSH index")

    @model_validator(mode="after")
    def _check_bands(self):
        if (self.bands is None) != (self.rows is None):
            raise ValueError("give both bands and rows, or neither")
        if self.bands is not None and self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands x rows = {self.bands * self.rows} exceeds num_perm {self.num_perm}")
        return self


def _ascii_table() -> bytes:
    table = bytearray(b" " * 256)
    for c in b"abcdefghijklmnopqrstuvwxyz0123456789":
        table[c] = c
    for c in b"ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        table[c] = c + 32
    return bytes(table)


_ASCII_TABLE = _ascii_table()  # lowercase letters and digits kept, every other byte -> space


def normalize_tokens(text: str) -> list[bytes]:
    """UTF-8 tokens: lowercased runs of letters/digits/marks; punctuation and whitespace separate them.

    ASCII text (most of the web) takes a 3x faster byte-table path with the same result.
    """
    if text.isascii():
        return text.encode().translate(_ASCII_TABLE).split()
    return [t.encode() for t in TOKEN_RE.findall(text.lower())]


def shingles(text: str, ngram: int = 5, char: bool = False) -> list[bytes]:
    """The UTF-8 shingles of `text` after normalization (repeats included: MinHash ignores them).

    Word mode: space-joined word n-grams. Char mode: n-grams of the text with spaces removed. A text
    shorter than one n-gram is a single shingle; an empty text has none.
    """
    if char:
        chars = "".join(t.decode() for t in normalize_tokens(text))
        if len(chars) <= ngram:
            return [chars.encode()] if chars else []
        return [chars[i : i + ngram].encode() for i in range(len(chars) - ngram + 1)]
    tokens = normalize_tokens(text)
    if len(tokens) <= ngram:
        return [b" ".join(tokens)] if tokens else []
    return list(map(b" ".join, zip(*[tokens[i:] for i in range(ngram)])))


class MinhashSigner:
    """datasketch-identical MinHash signatures (scheme affine32, sha1_hash32), vectorized with numpy."""

    def __init__(self, num_perm: int = 128, seed: int = 1):
        self.num_perm, self.seed = num_perm, seed
        a, b = MinHash(num_perm=num_perm, seed=seed).permutations
        self.a, self.b = a.astype(np.uint32), b.astype(np.uint32)[:, None]

    def signature(self, shingle_list: list[bytes]) -> np.ndarray:
        """uint32[num_perm]: min over shingles of a * fmix32(sha1_32(shingle)) + b (mod 2^32)."""
        sha1 = hashlib.sha1
        # sha1_hash32 = first 4 digest bytes, little endian; every 5th uint32 of the joined digests.
        hv = np.frombuffer(b"".join([sha1(s).digest() for s in shingle_list]), dtype="<u4")[::5]
        hv = _fmix(hv.astype(np.uint32), 32)
        sig = np.full(self.num_perm, np.iinfo(np.uint32).max, dtype=np.uint32)
        for start in range(0, len(hv), CHUNK_ROWS):
            # (num_perm, shingles) layout: the min runs along contiguous rows (3x faster than axis 0)
            block = np.multiply.outer(self.a, hv[start : start + CHUNK_ROWS])  # wraps mod 2^32, as datasketch
            block += self.b
            np.minimum(sig, block.min(axis=1), out=sig)
        return sig


class MinhashSignatureStep(PipelineStep):
    """Barrier part 1: writes each task's signatures + doc ids; yields every document unchanged."""

    type = "🫂 - DEDUP"
    name = "🎯 minhash signatures"

    def __init__(self, params: MinhashParams, work_dir: str | Path):
        super().__init__()
        self.params = params
        self.work_dir = str(work_dir)
        self.signer = MinhashSigner(params.num_perm, params.seed)
        self.char_langs = {lang.lower() for lang in params.char_langs}

    def doc_shingles(self, doc: Document) -> list[bytes] | None:
        p = self.params
        value = doc.text if p.field == "text" else doc.metadata.get(p.field)
        if not isinstance(value, str):
            return None
        lang = str(doc.metadata.get("lang") or "").lower().replace("_", "-")
        char = p.shingle == "char" or (
            p.shingle == "auto" and (lang in self.char_langs or lang.split("-")[0] in self.char_langs)
        )
        return shingles(value, p.char_ngram if char else p.ngram, char=char)

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        sigs, ids, positions = [], [], []
        for i, doc in enumerate(data):
            with self.track_time():
                sh = self.doc_shingles(doc)
                if sh:
                    sigs.append(self.signer.signature(sh))
                    ids.append(str(doc.id))
                    positions.append(i)
                    # the position, not the id, names the document in the filter: ids may repeat
                    doc.metadata[POS_KEY] = f"{rank}:{i}"
                    self.stat_update("signed")
                else:  # nothing to compare (empty or missing field): never clustered
                    self.stat_update("no_shingles")
            yield doc
        sig_array = np.stack(sigs) if sigs else np.zeros((0, self.params.num_perm), dtype=np.uint32)
        write_signatures(Path(self.work_dir) / "signatures", rank, world_size, sig_array, ids, positions)


class MinhashDedupFilter(BaseFilter):
    """Barrier part 3: drops every clustered document but its cluster's keeper (`near_duplicate`)."""

    name = "🫂 minhash dedup"

    def __init__(self, work_dir: str | Path, exclusion_writer=None):
        super().__init__(exclusion_writer=exclusion_writer)
        self.work_dir = str(work_dir)
        self._clusters: dict | None = None

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        entry = self._clusters.get(doc.metadata.pop(POS_KEY, None))
        if entry is None:
            return True
        cluster, size, dup_of = entry
        doc.metadata["dedup.cluster"] = cluster
        doc.metadata["dedup.cluster_size"] = size
        if dup_of is None:
            return True
        doc.metadata["dup_of"] = dup_of
        ledger_update(self, "dedup", "duplicates_removed")
        return False, "near_duplicate"

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        self._clusters = load_clusters(Path(self.work_dir) / "clusters.npz")
        yield from super().run(data, rank, world_size)


@register_op("minhash_dedup", MinhashParams)
def minhash_dedup(params: MinhashParams, ctx: StepContext) -> Barrier:
    """Near-duplicate removal: MinHash signatures + LSH (datasketch), one kept document per cluster.

    Keeps the smallest id of each cluster; removed documents get reason `near_duplicate` and `dup_of`.
    `storage: {type: redis, host, port}` shares the LSH index between processes or machines.
    """
    work = ctx.work_dir
    cluster = MinhashClusterStage(params, work, expected_tasks=ctx.tasks)
    stages = [([cluster], 1)]
    if params.storage is not None:  # every task inserts its share into the shared index, then cluster
        stages.insert(0, ([MinhashRedisInsertStage(params, work, expected_tasks=ctx.tasks)], ctx.tasks))
    return Barrier(
        before=[MinhashSignatureStep(params, work)],
        stages=stages,
        filter=MinhashDedupFilter(work, exclusion_writer=ctx.removed_writer()),
    )
