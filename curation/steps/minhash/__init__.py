"""Near-duplicate removal with MinHash signatures and LSH (op `minhash_dedup`, a Barrier).

Parts, so that every shard's signatures exist before any document is judged:

1. `MinhashSignatureStep` (the barrier's `before`): drops lines of fewer than `min_line_words` words
   (boilerplate), normalizes the hashed field (lowercase, letters, digits and combining marks only),
   shingles it (word n-grams, or character n-grams for languages written without spaces; both defined
   in `shingling`, which the ablation's decontamination shares), signs it
   piece by piece (bounded memory, `minhash/signatures.py`) and writes one signature file per task
   (`work/<step>/signatures/<rank>.npz`: signatures, doc ids, shingle counts). Every document passes
   and carries its position (`_rootstock.minhash_pos`, popped again by the filter; a value arriving
   with the input is overwritten), so decisions stay exact when ids repeat. Parts 1, 3 and 4 are the
   shared barrier classes of `steps/barrier.py` (as exact dedup's are).
2. Stage 1 (`tasks` workers): `MinhashBandStage` (`minhash/bands.py`) links LSH bucket members from
   a share of the bands when the band-sharded path is chosen (else a no-op); with Redis storage,
   `MinhashRedisInsertStage` (`minhash/redis.py`) inserts each task's share into the shared index instead.
3. Stage 2 (1 task): `MinhashClusterStage` (`minhash/cluster.py`) picks the path (`mode`, or from its
   printed memory estimate), clusters (in-memory datasketch index, Redis, or the union of the band
   tasks' links), verifies each candidate link by signature agreement (>= threshold, or
   short_threshold when the smaller doc has < short_shingles shingles), keeps the smallest id per
   cluster and writes `clusters.npz` atomically.
4. `MinhashDedupFilter` (the barrier's filter): removes the other cluster members with reason
   `near_duplicate` and `dup_of = <kept id>`; every clustered document gets `dedup.cluster` and
   `dedup.cluster_size`.

Defaults (threshold 0.5, word 5-grams, min_line_words 4, short docs 0.8, `hashing: fast`, 256
permutations with recall-weighted bands, 42 x 4) were chosen on Webis/MRPC in bench/minhash.py (Webis
F1 0.883 averaged over permutation seeds; 128 permutations stay at 0.876); docs/near-duplicates.md has
the tables.
`hashing: sha1` gives signatures bit-identical to datasketch's `MinHash(num_perm, seed)` fed with the
same shingles (tested).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import numpy as np
from datasketch import MinHashLSH
from datasketch.lsh import _optimal_param
from datatrove.data import Document, DocumentsPipeline
from pydantic import ConfigDict, Field, model_validator

from curation.registry import Barrier, OpParams, StepContext, register_op
from curation.steps.barrier import BarrierFilter, BarrierSignature, parse_position
from curation.steps.base import ledger_update
from curation.steps.minhash.bands import MinhashBandStage
from curation.steps.minhash.cluster import MinhashClusterStage
from curation.steps.minhash.files import (
    ClusterLookup,
    SignatureRowsReader,
    Signatures,
    SpilledRows,
    iter_sig_chunks,
    write_signatures,
)
from curation.steps.minhash.redis import MinhashRedisInsertStage, RedisParams
from curation.steps.minhash.signatures import CHUNK_ROWS, Hashing, MinhashSigner  # noqa: F401 (bench)
from shingling import TOKEN_RE, normalize_tokens, shingles  # noqa: F401 (re-exported for tests and bench)

# Scripts written without spaces between words: shingle characters, not words.
CHAR_LANGS = ("zh", "ja", "th", "lo", "km", "my", "bo", "yue", "wuu")  # "zh-Hant", "ja_JP" match too
# Internal metadata keys live under RESERVED (BarrierSignature.run overwrites any value arriving with the
# input, so input cannot name a position and get an unrelated document removed).
RESERVED = "_rootstock."
POS_KEY = RESERVED + "minhash_pos"  # barrier.position(rank, index), stamped by the signature step


class MinhashParams(OpParams):
    """Params of `minhash_dedup`."""

    model_config = ConfigDict(
        **OpParams.model_config, hide_input_in_errors=True
    )  # storage.url may hold a password

    field: str = Field("text", description="what is hashed: 'text' or a metadata key (e.g. 'prompt')")
    ngram: int = Field(5, ge=1, description="word n-gram size of a shingle (words)")
    char_ngram: int = Field(5, ge=1, description="character n-gram size for languages without spaces (chars)")
    shingle: Literal["auto", "word", "char"] = Field(
        "auto", description="'auto': char n-grams when metadata lang is in char_langs, else words"
    )
    char_langs: list[str] = Field(list(CHAR_LANGS), description="languages shingled by characters in 'auto'")
    min_line_words: int = Field(
        4, ge=0, description="drop lines of fewer words before shingling (boilerplate); 0: keep all"
    )
    num_perm: int = Field(
        256, ge=2, description="permutations per signature (4 bytes each; docs/near-duplicates.md: why 256)"
    )
    threshold: float = Field(
        0.5,
        gt=0,
        le=1,
        description="Jaccard similarity that counts as near-duplicate (docs/near-duplicates.md: why 0.5)",
    )
    bands: int | None = Field(None, ge=2, description="LSH bands (with rows); default: from lsh_tuning")
    rows: int | None = Field(None, ge=1, description="LSH rows per band (with bands)")
    lsh_tuning: Literal["recall", "balanced"] | None = Field(
        None,
        description="bands x rows when not given: datasketch's optimum for threshold and num_perm with "
        "false negatives weighted 0.9 ('recall': a verified false candidate costs one comparison, a "
        "missed pair is lost) or 0.5 ('balanced'); default: recall with verify, balanced without",
    )
    seed: int = Field(1, description="permutation seed (same on every worker)")
    hashing: Hashing = Field(
        "fast",
        description="shingle hash: 'sha1' (bit-identical to datasketch MinHash) or 'fast' (numpy, ~3x)",
    )
    short_shingles: int = Field(
        40, ge=0, description="a pair whose smaller doc has fewer shingles needs short_threshold (0: off)"
    )
    short_threshold: float = Field(
        0.8,
        gt=0,
        le=1,
        description="similarity required of short docs (one-sentence paraphrases share a lot)",
    )
    verify: bool = Field(
        True, description="keep an LSH candidate link only if signature agreement >= threshold"
    )
    mode: Literal["auto", "memory", "sharded"] = Field(
        "auto", description="cluster stage: in-memory index, band-sharded over tasks, or by the estimate"
    )
    memory_budget_mb: int = Field(
        2048, ge=0, description="'auto' shards the cluster stage when the in-memory estimate exceeds this"
    )
    shard_keys_mb: int | None = Field(
        None, ge=1, description="sharded: band keys a task holds at once (default 96); more = fewer passes"
    )
    storage: RedisParams | None = Field(None, description="{type: redis, host, port}: shared LSH index")

    @model_validator(mode="after")
    def _check_bands(self):
        if (self.bands is None) != (self.rows is None):
            raise ValueError("give both bands and rows, or neither")
        if self.mode == "sharded" and self.storage is not None:
            raise ValueError("mode: sharded needs no storage (the band tasks read the signature files)")
        if self.bands is not None and self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands x rows = {self.bands * self.rows} exceeds num_perm {self.num_perm}")
        return self

    # num_perm is read here only: the parts get the signer, the signature readers, the LSH index and
    # the size of a signature from these, and never thread the number through themselves.

    @property
    def sig_bytes(self) -> int:
        """Bytes of one document's signature (a uint32 per permutation): the unit of memory estimates."""
        return 4 * self.num_perm

    def signer(self) -> MinhashSigner:
        return MinhashSigner(self.num_perm, self.seed, self.hashing)

    def spilled_rows(self, folder: Path) -> SpilledRows:
        """A signature task's rows, spilled to an unnamed file in `folder` (`minhash/files.py`)."""
        return SpilledRows(folder, self.num_perm)

    def signatures(self, files: list[tuple[Path, dict]]) -> Signatures:
        """Every signature of `files` in one array (the in-memory and Redis paths)."""
        return Signatures(files, self.num_perm)

    def rows_reader(self, files: list[tuple[Path, dict]]) -> SignatureRowsReader:
        """Signatures of `files` by document number, read in place (the band-sharded path)."""
        return SignatureRowsReader(files, self.num_perm)

    def signature_chunks(self, files: list[tuple[Path, dict]]) -> Iterator[tuple[int, np.ndarray]]:
        """(first document number, signatures) over `files`, a chunk at a time (the band-sharded path)."""
        return iter_sig_chunks(files, self.num_perm)

    def lsh_optimum(self, fp_weight: float, fn_weight: float) -> tuple[int, int]:
        """datasketch's (bands, rows) optimum for `threshold` with these error weights."""
        return _optimal_param(self.threshold, self.num_perm, fp_weight, fn_weight)

    def lsh_index(self, bands: int, rows: int, storage: dict | None = None) -> MinHashLSH:
        """A datasketch index: in memory, or on Redis with `storage` (a datasketch storage_config)."""
        if storage is None:
            return MinHashLSH(num_perm=self.num_perm, params=(bands, rows))
        # prepickle=False: members are node_key() bytes; datasketch would otherwise pickle.loads them
        return MinHashLSH(
            num_perm=self.num_perm, params=(bands, rows), storage_config=storage, prepickle=False
        )


class MinhashSignatureStep(BarrierSignature):
    """Barrier part 1: writes each task's signatures + doc ids; yields every document unchanged."""

    type = "🫂 - DEDUP"
    name = "🎯 minhash signatures"
    pos_key = POS_KEY
    subdir = "signatures"
    suffix = ".npz"

    def __init__(self, params: MinhashParams, work_dir: str | Path):
        super().__init__(str(work_dir))
        self.params = params
        self.signer = params.signer()
        self.char_langs = {lang.lower() for lang in params.char_langs}
        self._rank, self._world_size = 0, 1

    def _value_and_mode(self, doc: Document) -> tuple[str | None, bool]:
        p = self.params
        value = doc.text if p.field == "text" else doc.metadata.get(p.field)
        lang = str(doc.metadata.get("lang") or "").lower().replace("_", "-")
        char = p.shingle == "char" or (
            p.shingle == "auto" and (lang in self.char_langs or lang.split("-")[0] in self.char_langs)
        )
        return (value if isinstance(value, str) else None), char

    def doc_shingles(self, doc: Document) -> list[bytes] | None:
        """The shingles `doc` is signed with (None: no string to hash). For tests and inspection."""
        value, char = self._value_and_mode(doc)
        if value is None:
            return None
        p = self.params
        return shingles(value, p.char_ngram if char else p.ngram, char=char, min_line_words=p.min_line_words)

    def doc_signature(self, doc: Document) -> np.ndarray | None:
        """Signature of the hashed field, streamed in pieces (bounded memory); None: no shingles."""
        value, char = self._value_and_mode(doc)
        if value is None:
            return None
        p = self.params
        return self.signer.sign_text(value, p.char_ngram if char else p.ngram, char, p.min_line_words)

    def sign(self, doc: Document, pos: str):
        """`(signature, id, index, shingle count)`, or None: nothing to compare (never clustered)."""
        sig = self.doc_signature(doc)
        if sig is None:  # empty or missing field
            self.stat_update("no_shingles")
            return None
        self.stat_update("signed")
        # the position, not the id, names the document in the filter: ids may repeat
        return sig, str(doc.id), parse_position(pos)[1], self.signer.last_count

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        self._rank, self._world_size = rank, world_size  # recorded in the signature file's meta
        yield from super().run(data, rank, world_size)

    def new_rows(self) -> SpilledRows:
        return self.params.spilled_rows(Path(self.work_dir) / self.subdir)

    def write_rows(self, path: Path, rows: SpilledRows) -> None:
        write_signatures(path.parent, self._rank, self._world_size, rows, rows.ids, rows.index, rows.counts)


class MinhashDedupFilter(BarrierFilter):
    """Barrier part 3: drops every clustered document but its cluster's keeper (`near_duplicate`)."""

    name = "🫂 minhash dedup"
    pos_key = POS_KEY

    def __init__(self, work_dir: str | Path, exclusion_writer=None):
        super().__init__(str(work_dir), exclusion_writer=exclusion_writer)

    def load(self) -> ClusterLookup:
        return ClusterLookup(Path(self.work_dir) / "clusters.npz")

    def filter_at(self, doc: Document, pos: str | None, clusters: ClusterLookup) -> bool | tuple[bool, str]:
        entry = clusters.get(pos)
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


@register_op("minhash_dedup", MinhashParams)
def minhash_dedup(params: MinhashParams, ctx: StepContext) -> Barrier:
    """Near-duplicate removal: MinHash signatures + LSH (datasketch), one kept document per cluster.

    Keeps the smallest id of each cluster; removed documents get reason `near_duplicate` and `dup_of`.
    `storage: {type: redis, host, port}` shares the LSH index between processes or machines.
    """
    work = ctx.work_dir
    if params.storage is not None:  # every task inserts its share into the shared index
        first = MinhashRedisInsertStage(params, work, expected_tasks=ctx.tasks)
    else:  # band shards (a no-op when the in-memory path is chosen from the estimate)
        first = MinhashBandStage(params, work, expected_tasks=ctx.tasks)
    stages = [([first], ctx.tasks), ([MinhashClusterStage(params, work, expected_tasks=ctx.tasks)], 1)]
    return Barrier(
        before=[MinhashSignatureStep(params, work)],
        stages=stages,
        filter=MinhashDedupFilter(work, exclusion_writer=ctx.removed_writer()),
    )
