"""Exact deduplication across every shard and task: hash -> cluster -> filter (a Barrier op).

A document can only be called a duplicate once every shard has been hashed, so the op runs in three
parts: each task writes `(hash, id, position)` records for its documents; one task groups them and
keeps the smallest id of each group (deterministic, whatever the sharding); the next segment removes
the others with `dup_of` = the keeper's id. Positions (`rank:index` stamped into metadata) make the
decision exact even when input ids are not unique.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import orjson
from pydantic import Field

from curation.registry import Barrier, OpParams, StepContext, register_op
from curation.steps.barrier import BarrierDecide, BarrierFilter, BarrierSignature, rank_files
from curation.steps.base import ledger_update
from runfolder import atomic_write

_WS = re.compile(r"\s+")
POS_KEY = "_dedup_pos"  # the document's `rank:index`, stamped by the signature step, popped by the filter


def field_value(doc, field: str) -> str:
    """The text a dedup op hashes: the document text, or a metadata field (e.g. `prompt`)."""
    if field == "text":
        return doc.text
    value = doc.metadata.get(field, "")
    return value if isinstance(value, str) else orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def normalized_hash(text: str, lowercase: bool = False) -> str:
    """128-bit BLAKE2b of whitespace-normalized text (collision odds are negligible at 1e12 docs)."""
    text = _WS.sub(" ", text).strip()
    if lowercase:
        text = text.lower()
    return hashlib.blake2b(text.encode("utf-8", errors="surrogatepass"), digest_size=16).hexdigest()


class ExactDedupSignature(BarrierSignature):
    """Pass-through: stamps each document's position and writes its content hash for this rank."""

    name = "#️⃣ Exact hashes"
    pos_key = POS_KEY
    subdir = "hashes"

    def __init__(self, work_dir: str, field: str = "text", lowercase: bool = False):
        super().__init__(work_dir)
        self.field, self.lowercase = field, lowercase

    def sign(self, doc, pos: str):
        return (normalized_hash(field_value(doc, self.field), self.lowercase), doc.id, pos)


class ExactDedupCluster(BarrierDecide):
    """Single task: group all hashes, keep the smallest (id, position) of each group."""

    name = "🧮 Exact clusters"

    def decide(self) -> None:
        keeper: dict[str, tuple[str, str]] = {}
        members: list[tuple[str, str, str]] = []
        for path in rank_files(Path(self.work_dir) / ExactDedupSignature.subdir, ExactDedupSignature.suffix):
            with open(path, "rb") as f:
                for line in f:
                    h, doc_id, pos = orjson.loads(line)
                    members.append((h, doc_id, pos))
                    if h not in keeper or (doc_id, pos) < keeper[h]:
                        keeper[h] = (doc_id, pos)
        dups = {pos: keeper[h][0] for h, doc_id, pos in members if keeper[h][1] != pos}
        self.stat_update("duplicates", value=len(dups))
        atomic_write(Path(self.work_dir) / "duplicates.json", orjson.dumps(dups))


class ExactDedupFilter(BarrierFilter):
    """Removes every document whose position was marked a duplicate; records `dup_of`."""

    name = "🫂 Exact dedup"
    pos_key = POS_KEY
    reason = "exact_duplicate"  # the removal reason, and (pluralized) the `dedup` ledger counter

    def load(self) -> dict[str, str]:
        return orjson.loads((Path(self.work_dir) / "duplicates.json").read_bytes())

    def filter_at(self, doc, pos, decisions):
        keeper = decisions.get(pos)
        if keeper is None:
            return True
        doc.metadata["dup_of"] = keeper
        ledger_update(self, "dedup", f"{self.reason}s")
        return False, self.reason


class ExactDedupParams(OpParams):
    field: str = Field("text", description="what is hashed: `text` or a metadata key such as `prompt`")
    lowercase: bool = Field(False, description="also ignore case when comparing")


@register_op("exact_dedup", ExactDedupParams)
def exact_dedup(p: ExactDedupParams, ctx: StepContext):
    """Remove exact duplicates (whitespace-normalized) across all shards; keep the smallest id."""
    work = str(ctx.work_dir)
    return Barrier(
        before=[ExactDedupSignature(work, p.field, p.lowercase)],
        stages=[([ExactDedupCluster(work)], 1)],
        filter=ExactDedupFilter(work, exclusion_writer=ctx.removed_writer()),
    )
