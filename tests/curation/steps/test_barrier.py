"""The barrier helper (steps/barrier.py): positions, per-rank rows written atomically, decide, filter.

A toy barrier op: remove every document whose text is longer than the median over all ranks.
Run: `.venv/bin/python -m pytest tests/curation/steps/test_barrier.py`
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from datatrove.data import Document

from curation.steps.barrier import BarrierDecide, BarrierFilter, BarrierSignature, position, rank_files
from runfolder import atomic_write_json


class LengthRows(BarrierSignature):
    pos_key = "_toy_pos"

    def sign(self, doc, pos):
        return [len(doc.text), pos]


class MedianDecide(BarrierDecide):
    def decide(self):
        rows = [json.loads(line) for p in rank_files(Path(self.work_dir) / "rows", ".jsonl")
                for line in p.read_text().splitlines()]
        median = statistics.median(n for n, _ in rows)
        atomic_write_json(Path(self.work_dir) / "long.json", sorted(pos for n, pos in rows if n > median))


class DropLong(BarrierFilter):
    pos_key = "_toy_pos"

    def load(self):
        return set(json.loads((Path(self.work_dir) / "long.json").read_text()))

    def filter_at(self, doc, pos, decisions):
        return (False, "long") if pos in decisions else True


def test_toy_barrier_op_across_two_ranks(tmp_path):
    work = str(tmp_path)
    ranks = {0: ["a", "bbbb", "cc"], 1: ["dddddd", "e"]}
    stamped = {}
    for rank, texts in ranks.items():
        docs = [Document(text=t, id=f"{rank}-{i}") for i, t in enumerate(texts)]
        sig = LengthRows(work)
        out = sig.run(iter(docs), rank=rank)
        next(out)
        assert not (tmp_path / "rows" / f"{rank:05d}.jsonl").exists()  # written only once the shard is done
        stamped[rank] = [docs[0], *out]
    assert stamped[1][1].metadata["_toy_pos"] == position(1, 1) == "00001:0000000001"
    assert [p.name for p in rank_files(tmp_path / "rows", ".jsonl")] == ["00000.jsonl", "00001.jsonl"]
    assert list(MedianDecide(work).run()) == []
    flt = DropLong(work)
    kept = [d.text for rank in ranks for d in flt.run(iter(stamped[rank]), rank=rank)]
    assert kept == ["a", "cc", "e"]  # median length 2: "bbbb" and "dddddd" removed
    assert all("_toy_pos" not in d.metadata for rank in ranks for d in stamped[rank])
    assert flt.stats["dropped_long"].total == 2
