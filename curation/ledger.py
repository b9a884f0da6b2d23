"""The ledger: datatrove's per-task stats -> summary.json, and the invariant that nothing is lost.

Every step counts the documents it receives (`total`) and passes on (`forwarded`); readers count
what they read (`documents`) and what they could not (`rejected`). Summing the per-task stats files
of every stage gives the funnel; `input = output + Σ removed + rejected` is then checked, and also
that each step received exactly what the previous one kept, so a step that loses documents without
counting them is caught by name.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from pathlib import Path

from curation.build import Stage, parse_tag
from curation.steps.base import LEDGER_PREFIX
from curation.timing import BYTES_IN, BYTES_KEPT, OWN_CPU_SECONDS, OWN_SECONDS
from runfolder import RunFolder, atomic_write_json

# what a text-changing step counts (kept documents whose text it changed, UTF-8 bytes it took out)
TEXT_CHANGES = ("modified", "bytes_removed")
# datatrove's HTML extractors count why they dropped a page under these names instead of dropped_<reason>
EXTRACTOR_REASONS = ("timeout", "broken_process", "clean_error")


def _total(value) -> float:
    if isinstance(value, dict):
        return value.get("total", 0)
    return value or 0


def load_stage_stats(logging_dir: Path) -> list[tuple[str, str | None, dict[str, float]]]:
    """Sum the per-rank stats files of one stage by step label: `[(role, step_id, {stat: total})]`.

    Entries are matched across ranks by their stats name (the label `curation.build.tag` gave each
    pipeline step), never by list position.
    """
    merged: dict[str, dict[str, float]] = {}
    for path in sorted((logging_dir / "stats").glob("*.json")):
        for step in json.loads(path.read_text()):
            acc = merged.setdefault(step["name"], defaultdict(float))
            for key, value in step.get("stats", {}).items():
                acc[key] += _total(value)
            acc["__seconds"] += _total(step.get("time_stats", 0))
    return [(*parse_tag(name), stats) for name, stats in merged.items()]


def _rejected_reasons(run_dir: Path) -> dict[str, int]:
    reasons: Counter = Counter()
    for path in sorted(RunFolder(run_dir).rejected.glob("*.jsonl")):
        with open(path, "rb") as f:
            for line in f:
                try:
                    error = json.loads(line)["error"]
                except (ValueError, KeyError):
                    error = "unknown"
                reasons[error.split(":")[0]] += 1
    return dict(reasons)


def build_summary(run_dir: Path, stages: list[Stage], recipe, started: str, thresholds: dict) -> dict:
    """Assemble summary.json (schema 1, see docs/CONTRACTS.md) from the stats of every stage."""
    steps: dict[str, dict] = {}
    order: list[str] = []
    extra: dict[str, Counter] = defaultdict(Counter)
    inp = {"docs": 0, "bytes": 0}
    out = {"docs": 0, "bytes": 0}
    rejected = 0  # records a reader could not read (they are input, never documents)
    unwritable = 0  # documents the output format could not write (read, kept, then set aside)
    op_of = {s.id: s.op for s in recipe.steps}
    for stage in stages:
        for role, step_id, s in load_stage_stats(RunFolder(run_dir).stage_logs(stage.name)):
            for key, value in s.items():
                if key.startswith(LEDGER_PREFIX):
                    section, _, name = key[len(LEDGER_PREFIX):].partition(":")
                    extra[section][name] += int(value)
            if role == "output":
                unwritable += int(s.get("rejected", 0))
            else:
                rejected += int(s.get("rejected", 0))
            if role == "reader":
                inp["docs"] += int(s.get("documents", 0))
                inp["bytes"] += int(s.get("input_bytes", 0))
            elif role == "output":
                out["docs"] += int(s.get("total", 0))
                out["bytes"] += int(s.get("output_bytes", 0))
            elif role in ("step", "aux"):
                if step_id not in steps:
                    steps[step_id] = {"name": step_id, "op": op_of.get(step_id, step_id), "in": 0, "kept": 0, "removed": 0,
                                      "removed_by_reason": {}, "seconds": 0.0, "cpu_seconds": 0.0}
                    order.append(step_id)
                entry = steps[step_id]
                # the step's own time (curation.timing); datatrove's track_time only for older stats files
                own = s.get(OWN_SECONDS, s.get("__seconds", 0.0))
                entry["seconds"] = round(entry["seconds"] + own, 3)
                entry["cpu_seconds"] = round(entry["cpu_seconds"] + s.get(OWN_CPU_SECONDS, 0.0), 3)
                if role == "step":
                    entry["in"] += int(s.get("total", 0))
                    entry["kept"] += int(s.get("forwarded", 0))
                    for key in (BYTES_IN, BYTES_KEPT):  # absent from stats files written before they existed
                        if key in s:
                            entry[key] = entry.get(key, 0) + int(s[key])
                    for key in TEXT_CHANGES:  # only steps that change text count these
                        if key in s:
                            entry[key] = entry.get(key, 0) + int(s[key])
                    for key, value in s.items():
                        if key.startswith("dropped_") or key in EXTRACTOR_REASONS:
                            reason = key.removeprefix("dropped_")
                            entry["removed_by_reason"][reason] = entry["removed_by_reason"].get(reason, 0) + int(value)
    step_list = []
    for step_id in order:
        entry = steps[step_id]
        entry["removed"] = entry["in"] - entry["kept"]
        unexplained = entry["removed"] - sum(entry["removed_by_reason"].values())
        if unexplained > 0:
            entry["removed_by_reason"]["unspecified"] = unexplained
        step_list.append(entry)

    removed = sum(s["removed"] for s in step_list)
    problems = []
    expected = inp["docs"]
    for s in step_list:
        if s["in"] != expected:
            problems.append(f"step {s['name']} received {s['in']} documents but the previous step kept {expected}")
        expected = s["kept"]
    if out["docs"] + unwritable != expected:
        problems.append(f"output wrote {out['docs']} documents (+ {unwritable} unwritable) but the last step "
                        f"kept {expected}")
    total_in = inp["docs"] + rejected
    rejected += unwritable
    ok = total_in == out["docs"] + removed + rejected and not problems
    finished = dt.datetime.now(dt.timezone.utc)
    summary = {
        "schema": 1,
        "recipe": recipe.name,
        "recipe_file": recipe.source,
        "started": started,
        "finished": finished.isoformat(timespec="seconds"),
        "seconds": round((finished - dt.datetime.fromisoformat(started)).total_seconds(), 3),
        "input": {"docs": total_in, "bytes": inp["bytes"], "readable_docs": inp["docs"]},
        "steps": step_list,
        "output": {
            **out,
            "format": recipe.output.format,
            "shards": sorted(str(p.relative_to(run_dir)) for p in RunFolder(run_dir).output.glob("*") if p.is_file()),
        },
        "rejected": rejected,
        "rejected_by_reason": _rejected_reasons(run_dir),
        "languages": dict(extra.pop("languages", {})),
        "pii": dict(extra.pop("pii", {})),
        "dedup": dict(extra.pop("dedup", {})),
        "decontamination": dict(extra.pop("decontamination", {})),
        **{section: dict(counts) for section, counts in extra.items()},
        "thresholds": thresholds,
        "invariant": {"ok": ok, "input": total_in, "output": out["docs"], "removed": removed,
                      "rejected": rejected, "problems": problems},
    }
    return summary


def collect_thresholds(recipe) -> dict:
    """summary.json `thresholds`: per step id, what its op's `thresholds(params)` reports (format:
    docs/CONTRACTS.md, "Thresholds"; parsed by `runfolder.parse_thresholds`)."""
    from curation.registry import get_op

    out = {}
    for step in recipe.steps:
        fn = get_op(step.op).thresholds
        if fn is not None:
            out[step.id] = fn(step.params)
    return out


def write_summary(run_dir: Path, summary: dict) -> Path:
    return atomic_write_json(RunFolder(run_dir).summary, summary)
