"""The run-folder sweep of the `pii` op: after a run, no detected value is left anywhere in the folder.

The `pii` step scrubs the documents that pass through it, but a run folder holds other copies:
- `removed/<step>/` of steps *before* `pii` (with `output.keep_removed: true`) holds the originals;
- `rejected/` holds unreadable input records verbatim (`raw`), and their errors may quote them;
- `work/segments/` holds every document that crossed a barrier (dedup) before `pii`, unscrubbed, and
  `work/<step>/` the barrier ops' scratch;
- `logs/` holds datatrove's task logs, where a warning may quote a record.

Choice: scrub removed/ and rejected/ in place (rather than not keeping them), so a user who asked to
keep them still can see why a document went and the ledger still counts from the files; delete work/,
which nothing reads once the run finished (`keep_work: true` keeps it, unscrubbed, for debugging);
scrub the task logs. It runs once every stage has finished and before summary.json is written, so an
interrupted sweep is simply redone by the rerun that resumes the run (the sweep is idempotent: a
scrubbed record has nothing left to find). `run_folder: false` opts out explicitly.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import orjson
from datatrove.data import Document

from curation.steps._pii_scan import scrub, scrub_value
from runfolder import RunFolder, atomic_open, shards

# datatrove's task logs and our own text logs; stats/completions/executor JSON hold counts and config.
_LOG_SUFFIXES = (".log", ".txt")


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


def sweep(recipe) -> dict | None:
    """Scrub removed/ (steps before the first `pii`), rejected/ and logs/, and delete work/, as the
    recipe's first `pii` step says. Returns what it did (summary.json `pii_run_folder`), or None when
    the recipe has no `pii` step."""
    from curation.steps.pii import PIIScrubber

    positions = [i for i, s in enumerate(recipe.steps) if s.op == "pii"]
    if not positions:
        return None
    first = recipe.steps[positions[0]]
    p = first.params
    folder = RunFolder(recipe.run_dir)
    report = {"scrubbed": bool(p.run_folder), "removed_records": 0, "rejected_records": 0, "log_files": 0,
              "work_removed": False}
    if p.run_folder:
        step = PIIScrubber(p.kinds, p.replace, p.ip_policy(), p.ids, p.metadata)
        kinds, replace, policy = step.kinds, step.replace, step.ip_policy

        def fix_document(rec: dict) -> dict:
            doc = Document(text=rec.get("text") or "", id=rec.get("id"), metadata=dict(rec.get("metadata") or {}))
            doc = step.transform(doc)
            # the step's `pii.<kind>` counts describe what it found in the document's own pass; keep
            # those the record had (a second sweep would count zeros) and add none
            meta = {k: v for k, v in doc.metadata.items() if not k.startswith("pii.") or k in rec.get("metadata", {})}
            return {**rec, "text": doc.text, "id": doc.id, "metadata": meta}

        def fix_rejected(rec: dict) -> dict:
            return scrub_value(rec, kinds, replace, policy)

        already = {s.id for s in recipe.steps[positions[0]:]}  # their removed documents passed `pii`
        for step_id in folder.removed_steps():
            if step_id not in already:
                for path in shards(folder.removed(step_id)):
                    report["removed_records"] += _rewrite(path, fix_document)
        for path in shards(folder.rejected):
            report["rejected_records"] += _rewrite(path, fix_rejected)
        if folder.logs.is_dir():
            for path in sorted(folder.logs.rglob("*")):
                if path.is_file() and path.name.endswith(_LOG_SUFFIXES):
                    text = path.read_text(encoding="utf-8", errors="replace")
                    new, _ = scrub(text, kinds, replace, policy)
                    if new != text:
                        with atomic_open(path) as f:
                            f.write(new.encode("utf-8"))
                        report["log_files"] += 1
    if not p.keep_work and folder.work.is_dir():
        shutil.rmtree(folder.work)
        report["work_removed"] = True
    return report
