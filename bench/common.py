"""Shared benchmark helpers: run a variant in a fresh process, time it, read its peak RSS.

Each variant runs in its own forked process so peak RSS (ru_maxrss) is that variant's alone and the
variants don't warm each other's caches; medians over repeats tame this noisy 2-core machine.
"""

from __future__ import annotations

import gzip
import json
import multiprocessing as mp
import resource
import statistics
import time
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MB (Linux reports ru_maxrss in KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(fn, args, q):
    q.put(fn(*args))


def run_forked(fn, *args, repeats: int) -> list:
    """`fn(*args)` in `repeats` fresh forked processes, one after the other; what each returned."""
    ctx = mp.get_context("fork")
    runs = []
    for _ in range(repeats):
        q = ctx.Queue()
        p = ctx.Process(target=_child, args=(fn, args, q))
        p.start()
        runs.append(q.get())
        p.join()
    return runs


def _timed(fn, args) -> tuple[float, float, object]:
    t0 = time.perf_counter()
    result = fn(*args)
    seconds = time.perf_counter() - t0
    return seconds, peak_rss_mb(), result


def measure(fn, *args, repeats: int = 3) -> dict:
    """Median seconds and max peak RSS (MB) of `fn(*args)` over `repeats` fresh processes."""
    runs = run_forked(_timed, fn, args, repeats=repeats)
    return {
        "seconds": statistics.median(r[0] for r in runs),
        "rss_mb": max(r[1] for r in runs),
        "result": runs[-1][2],
    }


def load_jsonl(path: Path, limit: int | None = None, max_chars: int | None = None) -> list[dict]:
    docs = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            if max_chars and len(d.get("text", "")) > max_chars:
                continue
            docs.append(d)
            if limit and len(docs) >= limit:
                break
    return docs


def table(headers: list[str], rows: list[list]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


# --- the machine-readable contract (`--json PATH`) read by `curate bench` --------------------------
#
# A bench script that accepts `--json PATH` writes there a JSON list of rows, one per component:
#   {"component": "io: read -> write",
#    "ours":     {"docs_per_s": float, "mb_per_s": float, "rss_mb": float},
#    "baseline": {"name": "datatrove JsonlReader -> JsonlWriter", "docs_per_s": ..., "mb_per_s": ..., "rss_mb": ...},
#    "note": "optional short text"}
# `baseline` may be null when there is none; any metric may be null when it does not apply.
# MB are 1e6 bytes of the input (document text unless `note` says otherwise); RSS is the peak resident set
# (MB) of the process that did the work.


def metrics(docs: int, mb: float, seconds: float, rss_mb: float | None) -> dict:
    """docs/s, MB/s and peak RSS of one measured variant (the `ours` / `baseline` object)."""
    return {
        "docs_per_s": docs / seconds if seconds else None,
        "mb_per_s": mb / seconds if seconds else None,
        "rss_mb": rss_mb,
    }


def result_row(
    component: str, ours: dict, baseline: dict | None = None, baseline_name: str = "", note: str = ""
) -> dict:
    """One row of the `--json` contract (see above)."""
    row = {
        "component": component,
        "ours": ours,
        "baseline": {"name": baseline_name, **baseline} if baseline else None,
    }
    if note:
        row["note"] = note
    return row


def write_json(path, rows: list[dict]) -> None:
    """Write `--json` rows (a no-op when path is None)."""
    if path:
        Path(path).write_text(json.dumps(rows, indent=2))
