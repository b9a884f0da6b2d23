"""Shared by the MinHash tests (test_minhash.py, test_minhash_redis.py): a small corpus with known
near-duplicate families across shards, and a runner that executes the barrier's parts as build.py does."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter

from curation.registry import StepContext, get_op
from curation.steps.minhash import MinhashParams

VOCAB = [f"w{i}" for i in range(3000)]


def _text(rng: random.Random, words: int = 120) -> str:
    return " ".join(rng.choice(VOCAB) for _ in range(words)) + "."


def _mutate(text: str, rng: random.Random, changes: int = 1) -> str:
    words = text.split()
    for _ in range(changes):
        words[rng.randrange(len(words))] = rng.choice(VOCAB)
    return " ".join(words).upper()  # case and punctuation are normalized away


def _corpus() -> tuple[list[list[dict]], dict[str, set[str]]]:
    """3 shards; 3 near-dup families spread across shards, plus unrelated docs and an empty one."""
    rng = random.Random(7)
    shards: list[list[dict]] = [[], [], []]
    families = {}
    for f in range(3):
        base = _text(rng)
        ids = {f"doc-{f}-{k}" for k in range(f + 2)}  # families of 2, 3 and 4 docs
        families[f"doc-{f}-0"] = ids
        for k, doc_id in enumerate(sorted(ids)):
            text = base if k == 0 else _mutate(base, rng)
            shards[(f + k) % 3].append({"id": doc_id, "text": text})
    for i in range(30):
        shards[i % 3].append({"id": f"solo-{i:02d}", "text": _text(rng)})
    shards[1].append({"id": "empty", "text": "  ...  "})
    for shard in shards:
        rng.shuffle(shard)
    return shards, families


def _write_shards(folder: Path, shards: list[list[dict]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, docs in enumerate(shards):
        with gzip.open(folder / f"shard{i}.jsonl.gz", "wt") as f:
            for d in docs:
                f.write(json.dumps(d) + "\n")
    return folder


def _run_barrier(run_dir: Path, input_dir: Path, tasks: int, max_workers: int = 2, **params) -> list[dict]:
    """Run the barrier's parts like build.py does; returns every output doc (kept and removed)."""
    barrier = get_op("minhash_dedup").build(
        MinhashParams(**params), StepContext(run_dir=run_dir, step_id="minhash_dedup", tasks=tasks)
    )
    seg = run_dir / "work" / "segments" / "00"
    logs = run_dir / "logs"
    LocalPipelineExecutor(
        [JsonlReader(str(input_dir)), *barrier.before, JsonlWriter(str(seg), output_filename="${rank}.jsonl.gz")],
        tasks=tasks, workers=1, logging_dir=str(logs / "segment_0"),
    ).run()  # fmt: skip
    for j, (pipe, n) in enumerate(barrier.stages, start=1):
        LocalPipelineExecutor(
            pipe, tasks=n, workers=min(n, max_workers), logging_dir=str(logs / f"stage_{j}")
        ).run()
    kept_dir, removed_dir = run_dir / "output", run_dir / "removed"
    barrier.filter.exclusion_writer = JsonlWriter(str(removed_dir), output_filename="${rank}.jsonl.gz")
    LocalPipelineExecutor(
        [JsonlReader(str(seg)), barrier.filter, JsonlWriter(str(kept_dir), output_filename="${rank}.jsonl.gz")],
        tasks=tasks, workers=1, logging_dir=str(logs / "segment_1"),
    ).run()  # fmt: skip
    docs = []
    for kind, folder in (("kept", kept_dir), ("removed", removed_dir)):
        for path in sorted(folder.glob("*.jsonl.gz")):
            with gzip.open(path, "rt") as f:
                docs += [{**json.loads(line), "kind": kind} for line in f]
    return docs


def _decisions(docs: list[dict]) -> dict[str, tuple]:
    return {
        d["id"]: (d["kind"], d["metadata"].get("dedup.cluster"), d["metadata"].get("dedup.cluster_size"),
                  d["metadata"].get("dup_of"))
        for d in docs
    }  # fmt: skip
