"""MinHash dedup at scale, parts (c) and (d) of `python -m bench.minhash` (the entry point and the
options are there): whole pipelines on the same documents, ours vs datatrove's, and the band-sharded
cluster stage alone. Every measured pipeline or stage runs in a fresh process (`python -m
bench.minhash_scale --_pipeline ...` / `--_stage ...`), so its peak RSS is its own; this module is that
process's entry point too.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import load_jsonl, table

# --- (c) end to end --------------------------------------------------------------------------------


def _make_corpus(data: Path, n: int, out: Path, shards: int = 2, seed: int = 0) -> int:
    """n distinct web texts of <= 2,000 chars; 25% are mutated copies (~1% of words changed) of earlier ones.

    An original is 4 random quarters (word-aligned, ~500 chars) of the ~45k 2,000-char chunks of
    docs_en, so even 1M originals are distinct (two share at most a quarter: Jaccard ~0.14, far below
    any threshold), rather than the same 45k chunks drawn again and again. Copies are made of a
    uniform sample (reservoir of 50k) of the texts written so far.
    """
    rng = random.Random(seed)
    pieces = []
    for d in load_jsonl(data / "web" / "docs_en.jsonl.gz"):
        t = d["text"]
        for i in range(0, len(t), 2000):
            words = t[i : i + 2000].split()
            if len(words) >= 50:
                q = len(words) // 4
                pieces += [" ".join(words[k * q : (k + 1) * q]) for k in range(4)]
    out.mkdir(parents=True, exist_ok=True)
    texts, copies = [], 0
    with contextlib.ExitStack() as stack:
        files = [
            stack.enter_context(gzip.open(out / f"{k:02d}.jsonl.gz", "wt", compresslevel=1))
            for k in range(shards)
        ]
        for i in range(n):
            if texts and rng.random() < 0.25:
                words = rng.choice(texts).split()
                for _ in range(max(1, len(words) // 100)):
                    words[rng.randrange(len(words))] = rng.choice(("the", "a", "data", "of", "x"))
                text, copies = " ".join(words), copies + 1
            else:
                text = "\n".join(rng.choice(pieces) for _ in range(4))
            if len(texts) < 50_000:
                texts.append(text)
            elif rng.random() < 50_000 / (i + 1):
                texts[rng.randrange(50_000)] = text
            files[i % shards].write(json.dumps({"id": f"d{i:08d}", "text": text}) + "\n")
    return copies


def _reset_peak_rss() -> bool:
    """Reset this process's VmHWM to its current RSS (Linux `clear_refs` 5), so the next stage's peak is
    measured apart from the earlier stages' (their leftover heap still counts). False if unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _pipeline_child(kind: str, inp: str, run: str, tasks: int, params: dict | None = None) -> None:
    """Entry of the fresh process that runs one whole dedup pipeline, its tasks one after the other
    (workers=1), so the process's peak RSS (VmHWM) is the largest single task's; prints JSON, with
    each stage's own peak where the kernel lets the peak be reset. `params`: MinhashParams fields
    (rootstock pipelines only)."""
    import logging

    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    from loguru import logger

    from curation.steps.minhash.cluster import peak_rss_bytes

    logger.remove()
    logging.disable(logging.INFO)
    run_dir, t0 = Path(run), time.perf_counter()
    stages: list[tuple[list, int]] = []
    if kind == "datatrove":
        from datatrove.pipeline.dedup.minhash import (
            MinhashConfig,
            MinhashDedupBuckets,
            MinhashDedupCluster,
            MinhashDedupFilter,
            MinhashDedupSignature,
        )

        cfg = MinhashConfig()
        w = run_dir / "dt"
        stages = [
            ([JsonlReader(inp), MinhashDedupSignature(str(w / "sigs"), config=cfg)], tasks),
            ([MinhashDedupBuckets(str(w / "sigs"), str(w / "buckets"), config=cfg)], cfg.num_buckets),
            ([MinhashDedupCluster(str(w / "buckets"), str(w / "clusters"), config=cfg)], 1),
            ([JsonlReader(inp), MinhashDedupFilter(str(w / "clusters")), JsonlWriter(str(run_dir / "out"))], tasks),
        ]  # fmt: skip
    else:
        from curation.registry import StepContext, get_op
        from curation.steps.minhash import MinhashParams

        barrier = get_op("minhash_dedup").build(
            MinhashParams(**{"mode": kind, **(params or {})}),
            StepContext(run_dir=run_dir, step_id="minhash", tasks=tasks),
        )
        seg = run_dir / "work" / "segments" / "00"
        stages = [([JsonlReader(inp), *barrier.before, JsonlWriter(str(seg))], tasks), *barrier.stages,
                  ([JsonlReader(str(seg)), barrier.filter, JsonlWriter(str(run_dir / "out"))], tasks)]  # fmt: skip
    times, peaks, peak = [], [], 0
    for j, (pipe, n) in enumerate(stages):
        s0, reset = time.perf_counter(), _reset_peak_rss()
        LocalPipelineExecutor(pipe, tasks=n, workers=1, logging_dir=str(run_dir / "logs" / f"s{j}")).run()
        times.append(time.perf_counter() - s0)
        peaks.append(peak_rss_bytes() if reset else None)
        peak = max(peak, peak_rss_bytes())
    kept = 0
    for f in (run_dir / "out").glob("*.jsonl.gz"):
        with gzip.open(f, "rt") as fh:
            kept += sum(1 for _ in fh)
    print(
        json.dumps(
            {
                "seconds": time.perf_counter() - t0,
                "stages": times,
                "stage_peaks": peaks,
                "peak": peak,
                "kept": kept,
                "cpu": _cpu_seconds(),
            }
        )
    )


def _cpu_seconds() -> float:
    """User + system CPU seconds of this process and its finished children (load-independent, unlike wall)."""
    import resource

    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _run_child(kind: str, inp: Path, run: Path, tasks: int, params: dict | None = None) -> dict:
    child = subprocess.run(
        [sys.executable, "-m", "bench.minhash_scale", "--_pipeline", kind, str(inp), str(run), str(tasks),
         json.dumps(params or {})],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(child.stdout.strip().splitlines()[-1])


E2E_KINDS = (("memory", "rootstock, in-memory index"), ("sharded", "rootstock, band-sharded"),
             ("datatrove", "datatrove 4-stage MinHash (baseline)"))  # fmt: skip


def bench_end_to_end(
    data: Path,
    sizes: list[int],
    kinds=("memory", "sharded", "datatrove"),
    tasks: int = 2,
    workdir: Path | None = None,
    params: dict | None = None,
) -> None:
    """`workdir` (outside the repo, e.g. /tmp/mh) keeps each generated corpus there for the next call;
    `params` (MinhashParams fields) apply to the rootstock pipelines."""
    rows = []
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        for n in sizes:
            inp = (workdir or Path(tmp)) / f"in{n}x{tasks}"
            if workdir and inp.with_suffix(".copies").exists():
                copies = int(inp.with_suffix(".copies").read_text())
            else:
                copies = _make_corpus(data, n, inp, shards=tasks)
                inp.with_suffix(".copies").write_text(str(copies))
            res = {}
            for kind, label in E2E_KINDS:
                if kind not in kinds:
                    continue
                res[kind] = r = _run_child(kind, inp, Path(tmp) / f"{kind}{n}", tasks, params)
                shutil.rmtree(Path(tmp) / f"{kind}{n}")
                print(f"  {label}: {n:,} docs in {r['seconds']:.0f} s", file=sys.stderr)
            dt = res.get("datatrove")
            for kind, label in E2E_KINDS:
                if kind in res:
                    r = res[kind]
                    rows.append([f"{n:,}", label, f"{r['seconds']:.1f}", " / ".join(f"{t:.1f}" for t in r["stages"]),
                                 f"{r['peak'] / 2**20:.0f}", _stage_peaks(r), f"{n - r['kept']:,}", f"{copies:,}",
                                 f"{dt['seconds'] / r['seconds']:.1f}x" if dt else "-",
                                 f"{r['cpu']:.0f}", f"{dt['cpu'] / r['cpu']:.1f}x" if dt else "-"])  # fmt: skip
            if not workdir:
                shutil.rmtree(inp)
    print(f"\n### (c) End to end: web chunks <= 2,000 chars, 25% mutated copies, {tasks} tasks run one after "
          "the other in one fresh process per pipeline (peak RSS = the largest task's), "
          f"{json.dumps(params) if params else 'defaults'}\n")  # fmt: skip
    print(table(["docs", "pipeline", "total s", "per stage s", "peak RSS MiB", "per stage peak MiB", "removed", "copies made",
                 "speed vs datatrove (wall)", "CPU s", "speed vs datatrove (CPU)"], rows))  # fmt: skip


def _stage_peaks(r: dict) -> str:
    peaks = r.get("stage_peaks") or []
    return " / ".join("-" if p is None else f"{p / 2**20:.0f}" for p in peaks) or "-"


# --- (d) the cluster stage alone at scale -------------------------------------------------------------


def _synthetic_signatures(work: Path, n: int, tasks: int, num_perm: int = 128, seed: int = 0) -> int:
    """`tasks` signature files of n docs in all, as the signature step writes them: random originals,
    25% copies of an earlier doc of the same task with 5% of their values redrawn (agreement ~0.95).

    Stands in for signing n real documents when only the cluster stage's memory and time are measured
    (signing 1M documents takes ~1 CPU hour here)."""
    from curation.steps.minhash.files import write_signatures

    rng, per, copies = np.random.default_rng(seed), -(-n // tasks), 0
    for r in range(tasks):
        m = max(0, min(per, n - r * per))
        sigs = rng.integers(0, 2**32, size=(m, num_perm), dtype=np.uint32)
        dup = np.flatnonzero(rng.random(m) < 0.25)
        dup = dup[dup > 0]
        src = (rng.random(len(dup)) * dup).astype(np.int64)
        for i, j in zip(dup.tolist(), src.tolist()):  # in order: a copy of a copy stays a copy
            sigs[i] = sigs[j]
        redraw = rng.random((len(dup), num_perm)) < 0.05
        block = sigs[dup]
        block[redraw] = rng.integers(0, 2**32, size=int(redraw.sum()), dtype=np.uint32)
        sigs[dup] = block
        copies += len(dup)
        ids = [f"d{r:02d}{i:08d}" for i in range(m)]
        write_signatures(work / "signatures", r, tasks, sigs, ids, range(m), [300] * m)
    return copies


def _stage_child(run: str, tasks: int, stage: int, params: dict | None = None) -> None:
    """Fresh process: one stage of the sharded cluster path (0: band tasks one after the other, 1: union)."""
    import logging

    from datatrove.executor import LocalPipelineExecutor
    from loguru import logger

    from curation.registry import StepContext, get_op
    from curation.steps.minhash import MinhashParams
    from curation.steps.minhash.cluster import peak_rss_bytes

    logger.remove()
    logging.disable(logging.INFO)
    barrier = get_op("minhash_dedup").build(
        MinhashParams(**{"mode": "sharded", **(params or {})}),
        StepContext(run_dir=Path(run), step_id="minhash", tasks=tasks),
    )
    pipe, n = barrier.stages[stage]
    t0 = time.perf_counter()
    LocalPipelineExecutor(pipe, tasks=n, workers=1, logging_dir=str(Path(run) / "logs" / f"c{stage}")).run()
    print(json.dumps({"seconds": time.perf_counter() - t0, "peak": peak_rss_bytes()}))


def bench_cluster_scale(
    sizes: list[int], tasks: int, workdir: Path | None, params: dict | None = None
) -> None:
    """(d) per-process peak RSS and time of the band-sharded cluster stage (band tasks, union) vs docs."""
    from curation.registry import StepContext
    from curation.steps.minhash import MinhashParams

    num_perm = MinhashParams(**(params or {})).num_perm
    rows = []
    for n in sizes:
        with tempfile.TemporaryDirectory(dir=workdir) as tmp:
            work = StepContext(run_dir=Path(tmp), step_id="minhash", tasks=tasks).work_dir
            copies = _synthetic_signatures(work, n, tasks, num_perm)
            res = []
            for stage in (0, 1):
                child = subprocess.run(
                    [sys.executable, "-m", "bench.minhash_scale", "--_stage", tmp, str(tasks), str(stage),
                     json.dumps(params or {})],
                    capture_output=True, text=True, check=True,
                )  # fmt: skip
                res.append(json.loads(child.stdout.strip().splitlines()[-1]))
            with np.load(work / "clusters.npz") as z:
                meta = json.loads(str(z["meta"]))
            rows.append([f"{n:,}", f"{res[0]['seconds']:.0f}", f"{res[0]['peak'] / 2**20:.0f}",
                         f"{res[1]['seconds']:.0f}", f"{res[1]['peak'] / 2**20:.0f}",
                         f"{meta['duplicates']:,}", f"{copies:,}"])  # fmt: skip
            print(f"  cluster stage at {n:,} docs: {rows[-1]}", file=sys.stderr, flush=True)
    print(f"\n### (d) Band-sharded cluster stage alone, synthetic signatures (25% copies at agreement ~0.95), "
          f"{tasks} band tasks run one after the other in one fresh process, the union in another, "
          f"{json.dumps(params) if params else 'defaults'}\n")  # fmt: skip
    print(table(["docs", "band tasks s", "band tasks peak RSS MiB", "union s", "union peak RSS MiB",
                 "removed", "copies made"], rows))  # fmt: skip


def main(argv=None) -> None:
    """Entry of the fresh child processes only (the benchmark itself runs from bench.minhash)."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--_pipeline", nargs=5)
    ap.add_argument("--_stage", nargs=4)
    args = ap.parse_args(argv)
    if args._pipeline:
        kind, inp, run, tasks, params = args._pipeline
        return _pipeline_child(kind, inp, run, int(tasks), json.loads(params))
    if args._stage:
        run, tasks, stage, params = args._stage
        return _stage_child(run, int(tasks), int(stage), json.loads(params))
    ap.error("use `python -m bench.minhash --parts c,d`; this module is its child processes' entry")


if __name__ == "__main__":
    main()
