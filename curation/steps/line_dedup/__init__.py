"""Line / paragraph deduplication across the whole corpus: boilerplate that document dedup leaves behind.

Navigation bars, page headers and licence footers repeat across thousands of otherwise different pages
(CCNet removes repeated lines, Dolma repeated paragraphs). This op is a barrier (`steps/barrier.py`):
1. every task hashes each unit (a line, or a paragraph: text between blank lines) of each document and
   spills `(hash, rank, doc, unit)` records to bucket files (`_line_units.UnitSpill`);
2. one task counts the hashes bucket by bucket and keeps those seen at least `min_repeats` times in the
   whole corpus, with each one's first occurrence in input order (task rank, then position in the
   task's shard) (`_line_units.count_repeats`);
3. the filter removes those units from each document: every occurrence (`keep: none`, CCNet's choice:
   the first copy of a navigation bar is boilerplate too), or all but the first (`keep: first`,
   Dolma's). A document that lost units and is left with fewer than `min_doc_chars` characters is
   removed with reason `too_short_after_line_dedup` (its text as it came in); the others go on with
   `line_dedup.removed_units` / `line_dedup.removed_bytes` in their metadata, and the step counts
   `modified` documents and `bytes_removed` for summary.json.

`normalize: running_title` catches headers and footers that differ per page only by the page's own name
("LS(1)  User Commands  LS(1)", "GNU coreutils 9.1  September 2022  LS(1)"): when a document's first line
starts and ends with the same word sequence (its running title), that sequence is masked in its first and
last unit before hashing. Only those two positions are masked, and only in documents with such a first
line, so every other unit hashes as before (docs/recipes.md has what it removes on the shared web data).

Units shorter than `min_unit_chars` (after whitespace normalization; blank lines always) are never
counted or removed. Each task also writes up to MAX_EXAMPLES of the units it removed most, with counts
(lower bounds once the list was full) and one document id, to `removed_units/<step>/<rank>.json` for
the dashboard.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, field_validator

from curation.registry import Barrier, OpParams, StepContext, register_op
from curation.steps.barrier import BarrierDecide, BarrierFilter, BarrierSignature, parse_position
from curation.steps.base import ledger_update
from curation.steps.line_dedup.units import UnitSpill, count_repeats, hash_units, split_units
from runfolder import RunFolder, atomic_open, atomic_write_json

POS_KEY = "_line_dedup_pos"
MAX_EXAMPLES = 500  # distinct removed units remembered per task (see LineDedupFilter._remember)
EXAMPLE_CHARS = 300
TOO_SHORT = "too_short_after_line_dedup"


def unit_hashes(
    text: str, granularity: str, min_chars: int, normalize: str = "none"
) -> list[tuple[int, int]]:
    """`[(unit index, hash)]` of the units of `text` that are long enough to count."""
    return hash_units(split_units(text, granularity)[0::2], min_chars, normalize)


class LineDedupSignature(BarrierSignature):
    """Pass-through: stamps positions and spills the hash of every unit of every document."""

    name = "📃 Unit hashes"
    pos_key = POS_KEY
    subdir = "units"
    suffix = ""

    def __init__(
        self, work_dir: str, granularity: str, min_unit_chars: int, buckets: int, normalize: str = "none"
    ):
        super().__init__(work_dir)
        self.granularity, self.min_unit_chars, self.buckets = granularity, min_unit_chars, buckets
        self.normalize = normalize

    def new_rows(self):
        return UnitSpill(Path(self.work_dir) / self.subdir, self.buckets)

    def sign(self, doc, pos: str):
        rank, index = parse_position(pos)
        return rank, index, unit_hashes(doc.text, self.granularity, self.min_unit_chars, self.normalize)

    def write_rows(self, path: Path, rows: UnitSpill) -> None:
        rows.finish(path)


class LineDedupCount(BarrierDecide):
    """Single task: count unit hashes over every task's spill, bucket by bucket; write the repeated ones."""

    name = "🧮 Unit counts"

    def __init__(self, work_dir: str, buckets: int, min_repeats: int):
        super().__init__(work_dir)
        self.buckets, self.min_repeats = buckets, min_repeats

    def decide(self) -> None:
        work = Path(self.work_dir)
        hashes, firsts, stats = count_repeats(
            work / LineDedupSignature.subdir, self.buckets, self.min_repeats
        )
        for key, value in stats.items():
            ledger_update(self, "line_dedup", key, value)
        with atomic_open(work / "repeated.npz") as f:
            np.savez(f, hashes=hashes, firsts=firsts)


class LineDedupFilter(BarrierFilter):
    """Removes repeated units from each document; drops documents left too short."""

    name = "📃 Line dedup"
    pos_key = POS_KEY

    def __init__(
        self,
        work_dir: str,
        examples_dir: str,
        granularity: str,
        min_unit_chars: int,
        keep: str,
        min_doc_chars: int,
        exclusion_writer=None,
        normalize: str = "none",
    ):
        super().__init__(work_dir, exclusion_writer=exclusion_writer)
        self.examples_dir, self.granularity, self.min_unit_chars = examples_dir, granularity, min_unit_chars
        self.keep, self.min_doc_chars, self.normalize = keep, min_doc_chars, normalize
        self._examples: dict[str, list] = {}

    def load(self):
        with np.load(Path(self.work_dir) / "repeated.npz", allow_pickle=False) as d:
            return d["hashes"], d["firsts"]

    def removed_units(self, pieces: list[str], pos: str | None, decisions) -> set[int]:
        """Indices (in `pieces[0::2]`) of the units to remove."""
        hashes, firsts = decisions
        units = hash_units(pieces[0::2], self.min_unit_chars, self.normalize)
        if not units or not len(hashes):
            return set()
        arr = np.fromiter((h for _, h in units), dtype=np.uint64, count=len(units))
        loc = np.minimum(np.searchsorted(hashes, arr), len(hashes) - 1)
        hit = np.flatnonzero(hashes[loc] == arr)
        if not len(hit):
            return set()
        first: set[int] = set()
        if self.keep == "first" and pos is not None:
            rank, index = parse_position(pos)
            key = np.uint64((rank << 32) | index)
            lo, hi = np.searchsorted(firsts["key"], key, "left"), np.searchsorted(firsts["key"], key, "right")
            first = set(firsts["unit"][lo:hi].tolist())
        return {units[j][0] for j in hit.tolist()} - first

    def filter_at(self, doc, pos, decisions):
        pieces = split_units(doc.text, self.granularity)
        removed = self.removed_units(pieces, pos, decisions)
        doc.metadata["line_dedup.removed_units"] = len(removed)
        doc.metadata["line_dedup.removed_bytes"] = 0
        if not removed:
            return True
        out: list[str] = []
        for i, unit in enumerate(pieces[0::2]):
            if i in removed:
                self._remember(unit, doc.id)
                continue
            if out:
                out.append(pieces[2 * i - 1])  # the separator before this unit
            out.append(unit)
        text = "".join(out)
        lost = len(doc.text.encode("utf-8", errors="surrogatepass")) - len(
            text.encode("utf-8", errors="surrogatepass")
        )
        doc.metadata["line_dedup.removed_bytes"] = lost
        if len(text.strip()) < self.min_doc_chars:
            return False, TOO_SHORT
        doc.text = text
        self.stat_update("modified")
        self.stat_update("bytes_removed", value=lost)
        return True

    def _remember(self, unit: str, doc_id: str) -> None:
        """Count a removed unit for the dashboard's examples. When MAX_EXAMPLES units are tracked, those
        seen once are forgotten to make room (a unit repeated across the corpus is soon seen again), so
        the list leans to the most removed units at bounded memory; counts are lower bounds."""
        key = " ".join(unit.split())[:EXAMPLE_CHARS]
        entry = self._examples.get(key)
        if entry is not None:
            entry[0] += 1
            return
        if len(self._examples) >= MAX_EXAMPLES:
            self._examples = {k: v for k, v in self._examples.items() if v[0] > 1}
        if len(self._examples) < MAX_EXAMPLES:
            self._examples[key] = [1, doc_id]

    def run(self, data, rank: int = 0, world_size: int = 1):
        yield from super().run(data, rank, world_size)
        top = Counter({k: v[0] for k, v in self._examples.items()}).most_common()
        rows = [{"unit": k, "count": n, "example_id": self._examples[k][1]} for k, n in top]
        atomic_write_json(Path(self.examples_dir) / f"{rank:05d}.json", rows, indent=None)


class LineDedupParams(OpParams):
    granularity: Literal["line", "paragraph"] = Field(
        "line", description="unit: a line, or text between blank lines"
    )
    min_repeats: int = Field(
        3, ge=2, description="remove units seen at least this many times in the whole corpus"
    )
    keep: Literal["none", "first"] = Field(
        "none", description="`none`: remove every occurrence; `first`: keep the first in input order"
    )
    min_unit_chars: int = Field(
        1, ge=1, description="shorter units (characters, whitespace-normalized) are never counted or removed"
    )
    min_doc_chars: int = Field(50, ge=0, description="remove a modified document left with fewer characters")
    normalize: Literal["none", "running_title"] = Field(
        "none",
        description="`running_title`: in a document's first and last unit, its running title (the words "
        "its first line starts and ends with, as man-page headers 'LS(1) ... LS(1)') is masked before "
        "hashing, so per-page headers and footers count as one unit",
    )
    buckets: int = Field(
        64,
        ge=1,
        le=4096,
        description="on-disk count buckets (power of two): count memory ≈ 60 bytes × units / buckets",
    )

    @field_validator("buckets")
    @classmethod
    def _power_of_two(cls, v: int) -> int:
        if v & (v - 1):
            raise ValueError(f"must be a power of two, got {v}")
        return v


@register_op("line_dedup", LineDedupParams)
def line_dedup(p: LineDedupParams, ctx: StepContext):
    """Remove lines (or paragraphs) seen at least `min_repeats` times across all shards (boilerplate:
    navigation, headers); drop documents left shorter than `min_doc_chars`."""
    work = str(ctx.work_dir)
    examples = str(RunFolder(ctx.run_dir).removed_units(ctx.step_id))
    return Barrier(
        before=[LineDedupSignature(work, p.granularity, p.min_unit_chars, p.buckets, p.normalize)],
        stages=[([LineDedupCount(work, p.buckets, p.min_repeats)], 1)],
        filter=LineDedupFilter(
            work,
            examples,
            p.granularity,
            p.min_unit_chars,
            p.keep,
            p.min_doc_chars,
            exclusion_writer=ctx.removed_writer(),
            normalize=p.normalize,
        ),
    )
