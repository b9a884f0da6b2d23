"""Retention-matched random baselines: `random_<filter>` keeps as many documents as the filter kept,
drawn at random from the same input.

Why: a filter's delta against raw mixes *which* documents it keeps with *how many* (roots keeps ~63 %
of the documents, the classifier ~50 %). At a fixed token budget far below one epoch, fewer documents
should not matter, but the removed share changes the mix of sources and languages. filter - random
(same retention, same input) isolates the choice of documents; filter - raw is what a user gets.
(DCLM compares filters against random removal at the same retention for the same reason.)

The random pick is the k documents with the smallest sha1("random:<variant>" + id), k = the filter's
kept count: bytes match in expectation, and the result says how close they came.
"""

from __future__ import annotations

import json
from pathlib import Path

from training.data import id_fraction, read_run, write_jsonl_gz
from training.sample import read_records


def random_run(name: str, filter_run: Path, input_path: str, out: Path) -> tuple[Path, dict]:
    """Write (or reuse) the run folder `out/runs/<name>`: output/00000_00000.jsonl.gz with as many
    documents of `input_path` as `filter_run` kept; returns (folder, {docs, bytes, filter_docs,
    filter_bytes, input_docs})."""
    kept = [len(d["text"].encode("utf-8")) for d in read_run(filter_run)]
    docs = list(read_records(input_path))
    folder = out / "runs" / name
    spec_file = folder / "random_spec.json"
    shard = folder / "output" / "00000_00000.jsonl.gz"
    spec = {"filter_run": str(filter_run), "filter_docs": len(kept), "filter_bytes": sum(kept),
            "input": input_path, "input_docs": len(docs), "input_mtime_ns": Path(input_path).stat().st_mtime_ns}  # fmt: skip
    if shard.exists() and spec_file.exists():
        old = json.loads(spec_file.read_text())
        if old.get("spec") == spec:
            return folder, old["stats"]
    pick = sorted(docs, key=lambda d: id_fraction(d["id"], f"random:{name}"))[: len(kept)]
    write_jsonl_gz(shard, [{"text": d["text"], "id": d["id"], "metadata": {}} for d in pick])
    stats = {**spec, "docs": len(pick), "bytes": sum(len(d["text"].encode("utf-8")) for d in pick)}
    spec_file.write_text(json.dumps({"spec": spec, "stats": stats}, indent=2) + "\n")
    return folder, stats
