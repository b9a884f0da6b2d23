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
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.filters.base_filter import BaseFilter
from pydantic import Field

from curation.registry import Barrier, OpParams, StepContext, register_op
from curation.steps.base import ledger_update
from runfolder import atomic_write

_WS = re.compile(r"\s+")


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


class ExactDedupSignature(PipelineStep):
    """Pass-through: stamps each document's position and writes its content hash for this rank."""

    type = "🫂 - DEDUP"
    name = "#️⃣ Exact hashes"

    def __init__(self, work_dir: str, field: str = "text", lowercase: bool = False):
        super().__init__()
        self.work_dir, self.field, self.lowercase = work_dir, field, lowercase

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        records = []
        for i, doc in enumerate(data):
            with self.track_time():
                pos = f"{rank:05d}:{i:010d}"
                doc.metadata["_dedup_pos"] = pos
                records.append((normalized_hash(field_value(doc, self.field), self.lowercase), doc.id, pos))
            yield doc
        lines = b"".join(orjson.dumps(r, option=orjson.OPT_APPEND_NEWLINE) for r in records)
        atomic_write(Path(self.work_dir) / "hashes" / f"{rank:05d}.jsonl", lines)


class ExactDedupCluster(PipelineStep):
    """Single task: group all hashes, keep the smallest (id, position) of each group."""

    type = "🫂 - DEDUP"
    name = "🧮 Exact clusters"

    def __init__(self, work_dir: str):
        super().__init__()
        self.work_dir = work_dir

    def run(self, data=None, rank: int = 0, world_size: int = 1):
        keeper: dict[str, tuple[str, str]] = {}
        members: list[tuple[str, str, str]] = []
        for path in sorted((Path(self.work_dir) / "hashes").glob("*.jsonl")):
            with open(path, "rb") as f:
                for line in f:
                    h, doc_id, pos = orjson.loads(line)
                    members.append((h, doc_id, pos))
                    if h not in keeper or (doc_id, pos) < keeper[h]:
                        keeper[h] = (doc_id, pos)
        dups = {pos: keeper[h][0] for h, doc_id, pos in members if keeper[h][1] != pos}
        self.stat_update("duplicates", value=len(dups))
        atomic_write(Path(self.work_dir) / "duplicates.json", orjson.dumps(dups))
        return iter(())


class ExactDedupFilter(BaseFilter):
    """Removes every document whose position was marked a duplicate; records `dup_of`."""

    name = "🫂 Exact dedup"

    def __init__(self, work_dir: str, exclusion_writer=None):
        super().__init__(exclusion_writer=exclusion_writer)
        self.work_dir = work_dir
        self._dups: dict[str, str] | None = None

    def filter(self, doc):
        if self._dups is None:
            self._dups = orjson.loads((Path(self.work_dir) / "duplicates.json").read_bytes())
        pos = doc.metadata.pop("_dedup_pos", None)
        keeper = self._dups.get(pos)
        if keeper is None:
            return True
        doc.metadata["dup_of"] = keeper
        ledger_update(self, "dedup", "exact_duplicates")
        return False, "exact_duplicate"


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
