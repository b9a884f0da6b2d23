"""The run-folder sweep of the `pii` op: after a run, no detected value is left anywhere in the folder.

The `pii` step scrubs the documents that pass through it, but a run folder holds other copies:
- `removed/<step>/` of steps *before* `pii` (with `output.keep_removed: true`) holds the originals;
- `rejected/` holds unreadable input records verbatim (`raw`), and their errors may quote them;
- `work/segments/` holds every document that crossed a barrier (dedup) before `pii`, unscrubbed, and
  `work/<step>/` the barrier ops' scratch;
- `logs/` holds datatrove's task logs, where a warning may quote a record;
- `removed_units/<step>/` quotes the lines a `line_dedup` step before `pii` removed most.

Choice: scrub removed/ and rejected/ in place (rather than not keeping them), so a user who asked to
keep them still can see why a document went and the ledger still counts from the files; delete work/,
which nothing reads once the run finished (`keep_work: true` keeps it, unscrubbed, for debugging);
scrub the task logs. It runs once every stage has finished and before summary.json is written, so an
interrupted sweep is simply redone by the rerun that resumes the run (the sweep is idempotent: a
scrubbed record has nothing left to find). `run_folder: false` opts out explicitly.
"""

from __future__ import annotations

import gzip
import os
import shutil
import time
from pathlib import Path

import orjson
from datatrove.data import Document

from curation.executors.local import called_from_unguarded_script
from curation.steps.pii.scan import scrub, scrub_value
from runfolder import RunFolder, atomic_open, shards

# datatrove's task logs and our own text logs; stats/completions/executor JSON hold counts and config.
_LOG_SUFFIXES = (".log", ".txt")
PARALLEL_BYTES = 4 << 20  # compressed shard bytes from which worker processes pay off


def _records(path: Path):
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as f:
        for line in f:
            if line.strip():
                yield orjson.loads(line)


def _rewrite(path: Path, fix) -> int:
    """Rewrite one JSONL(.gz) shard record by record through `fix(rec) -> rec`, atomically, only if a
    record changed. Returns the number of changed records."""
    out, changed = [], 0
    for rec in _records(path):
        new = fix(rec)
        changed += new != rec
        out.append(orjson.dumps(new, option=orjson.OPT_APPEND_NEWLINE))
    if changed:
        with atomic_open(path) as f:
            if path.name.endswith(".gz"):  # mtime 0 and no file name: the same content gives the same bytes
                with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0) as gz:
                    gz.writelines(out)
            else:
                f.writelines(out)
    return changed


class _Fixer:
    """Scrubs one kind of record (`document` or `rejected`) with a `pii` step's settings; picklable, so
    shards can be swept in worker processes."""

    def __init__(self, params, mode: str):
        self.params, self.mode, self._step = params, mode, None

    def __call__(self, rec: dict) -> dict:
        if self._step is None:
            self._step = self.params.scrubber()  # the `pii` op's own step (params.scrubber: no import cycle)
        step = self._step
        if self.mode == "rejected":
            return scrub_value(rec, step.kinds, step.replace, step.ip_policy)
        doc = Document(text=rec.get("text") or "", id=rec.get("id"), metadata=dict(rec.get("metadata") or {}))
        doc = step.transform(doc)
        # the step's `pii.<kind>` counts describe what it found in the document's own pass; keep those
        # the record had (a second sweep would count zeros) and add none
        meta = {k: v for k, v in doc.metadata.items() if not k.startswith("pii.") or k in rec.get("metadata", {})}
        return {**rec, "text": doc.text, "id": doc.id, "metadata": meta}


def _sweep_shard(job: tuple[Path, _Fixer]) -> int:
    path, fixer = job
    return _rewrite(path, fixer)


def _run_jobs(jobs: list[tuple[Path, _Fixer]], workers: int) -> list[int]:
    """Sweep shards, in `workers` processes when there is enough to do (a process costs ~1 s to start)."""
    size = sum(path.stat().st_size for path, _ in jobs)
    workers = min(workers, len(jobs))
    if workers <= 1 or size < PARALLEL_BYTES or called_from_unguarded_script():
        return [_sweep_shard(job) for job in jobs]  # (worker processes would import such a script again)
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
        return list(pool.map(_sweep_shard, jobs))


def _sweep_removed_units(folder: RunFolder, step_ids: list[str], p) -> int:
    """Scrub `removed_units/<step>/` (the most-removed lines, quoted for the dashboard) of steps before
    `pii`; returns the number of files changed."""
    changed = 0
    for step_id in step_ids:
        for path in sorted(folder.removed_units(step_id).glob("*.json")):
            rows = orjson.loads(path.read_bytes())
            new = scrub_value(rows, p.kinds, p.replace, p.ip_policy())
            if new != rows:
                with atomic_open(path) as f:
                    f.write(orjson.dumps(new))
                changed += 1
    return changed


def after_run(recipe, removed_in: RunFolder | None = None) -> dict | None:
    """The `pii` op's after-run hook (`Op.after_run`): the sweep, reported as summary.json's
    `pii_run_folder`."""
    report = sweep(recipe, removed_in)
    return None if report is None else {"pii_run_folder": report}


def sweep(recipe, removed_in: RunFolder | None = None) -> dict | None:
    """Scrub removed/ (steps before the first `pii`), rejected/ and logs/, and delete work/, as the
    recipe's first `pii` step says. Returns what it did (summary.json `pii_run_folder`), or None when
    the recipe has no `pii` step. Shards are swept in up to `executor.workers` processes.
    `removed_in`: where removed/ is, when not in the run folder (a local copy of an object-store output)."""
    positions = [i for i, s in enumerate(recipe.steps) if s.op == "pii"]
    if not positions:
        return None
    p = recipe.steps[positions[0]].params
    folder = RunFolder(recipe.run_dir)
    removed = removed_in or folder
    t0 = time.perf_counter()
    report = {"scrubbed": bool(p.run_folder), "removed_records": 0, "rejected_records": 0, "log_files": 0,
              "work_removed": False, "seconds": 0.0}
    if p.run_folder:
        already = {s.id for s in recipe.steps[positions[0]:]}  # their removed documents passed `pii`
        documents, rejected = _Fixer(p, "document"), _Fixer(p, "rejected")
        jobs = [(path, documents) for step_id in removed.removed_steps() if step_id not in already
                for path in shards(removed.removed(step_id))]
        n_removed = len(jobs)
        jobs += [(path, rejected) for path in shards(folder.rejected)]
        workers = recipe.executor.workers
        workers = min(recipe.executor.tasks, os.cpu_count() or 1) if workers == -1 else workers
        changed = _run_jobs(jobs, workers)
        report["removed_records"], report["rejected_records"] = sum(changed[:n_removed]), sum(changed[n_removed:])
        policy = p.ip_policy()
        report["removed_unit_files"] = _sweep_removed_units(folder, [s.id for s in recipe.steps[: positions[0]]], p)
        if folder.logs.is_dir():
            for path in sorted(folder.logs.rglob("*")):
                if path.is_file() and path.name.endswith(_LOG_SUFFIXES):
                    text = path.read_text(encoding="utf-8", errors="replace")
                    new, _ = scrub(text, p.kinds, p.replace, policy)
                    if new != text:
                        with atomic_open(path) as f:
                            f.write(new.encode("utf-8"))
                        report["log_files"] += 1
    if not p.keep_work and folder.work.is_dir():
        shutil.rmtree(folder.work)
        report["work_removed"] = True
    report["seconds"] = round(time.perf_counter() - t0, 3)
    return report
