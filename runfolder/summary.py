"""Reading summary.json (schema 1, docs/CONTRACTS.md) with errors a person can act on."""

from __future__ import annotations

import json
from pathlib import Path

SCHEMA = 1


class SummaryError(ValueError):
    """summary.json (or another run-folder JSON file) is missing, not JSON, or of another schema."""


def read_json(path: str | Path, missing: str | None = None):
    """A JSON file, or SummaryError with `missing` (or a default) / the parse error."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SummaryError(missing or f"{path} does not exist") from None
    except (ValueError, RecursionError) as e:  # bad JSON or UTF-8, a 5,000-digit integer, nesting 10^5 deep
        raise SummaryError(f"{path} is not valid JSON: {type(e).__name__}: {str(e)[:200]}") from None


def read_summary(run_dir: str | Path, fill_missing: bool = False) -> dict:
    """summary.json of a finished run, exactly as written (schema 1).

    `fill_missing`: absent (or null) sections are filled first (`fill_missing_sections`), so that a
    partial summary.json (an older writer, a hand-made one) can still be shown; a section that is
    present with the wrong type is refused all the same.

    Raises:
        SummaryError: missing (the run did not finish, or this is not a run folder), not JSON, or
            another schema.
    """
    path = Path(run_dir) / "summary.json"
    summary = read_json(path, f"{path} does not exist: is {run_dir} a run folder, and did the run finish?")
    if not isinstance(summary, dict) or summary.get("schema") != SCHEMA:
        got = summary.get("schema") if isinstance(summary, dict) else type(summary).__name__
        raise SummaryError(f"{path}: schema {got!r} is not supported (expected {SCHEMA})")
    if fill_missing:
        fill_missing_sections(summary)
    problem = check_summary(summary)
    if problem:
        raise SummaryError(f"{path}: {problem}")
    return summary


def fill_missing_sections(summary: dict) -> None:
    """Fill absent or null sections in place with empty values; the invariant, when absent, is computed
    from the counts that are there (never assumed to hold)."""
    for key, empty in (("recipe", ""), ("rejected", 0), ("steps", []), ("input", {}), ("output", {})):
        if summary.get(key) is None:
            summary[key] = empty
    for key in _OPTIONAL_OBJECTS:
        if summary.get(key) is None:
            summary[key] = {}
    for section, keys in (("input", ("docs",)), ("output", ("docs", "bytes"))):
        if isinstance(summary[section], dict):
            for key in keys:
                summary[section].setdefault(key, 0)
    if isinstance(summary["output"], dict):
        summary["output"].setdefault("shards", [])
    if summary.get("invariant") is None and all(isinstance(summary[k], t) for k, t in
                                                (("input", dict), ("output", dict), ("steps", list))):
        removed = sum(s.get("removed", 0) for s in summary["steps"] if isinstance(s, dict) and _int(s.get("removed", 0)))
        counts = {"input": summary["input"]["docs"], "output": summary["output"]["docs"], "removed": removed,
                  "rejected": summary["rejected"]}
        if all(_int(v) for v in counts.values()):
            ok = counts["input"] == counts["output"] + counts["removed"] + counts["rejected"]
            summary["invariant"] = {"ok": ok, **counts, "problems": []}


def _int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _num(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


# The keys every reader (`curate stats`, the dashboard, training) indexes without a default, with the
# check each value must pass: a crafted summary.json ("steps": "x", "output": [], "invariant": null)
# is refused here with the key named, instead of raising deep inside a table or a page.
_TOP = {"recipe": (lambda v: isinstance(v, str), "a string"), "rejected": (_int, "an integer"),
        "input": (lambda v: isinstance(v, dict), "an object"), "output": (lambda v: isinstance(v, dict), "an object"),
        "steps": (lambda v: isinstance(v, list), "a list"), "invariant": (lambda v: isinstance(v, dict), "an object")}
_SECTIONS = {"input": {"docs": _int}, "output": {"docs": _int, "bytes": _num},
             "invariant": {"ok": lambda v: isinstance(v, bool), "input": _int, "output": _int, "removed": _int,
                           "rejected": _int}}
_STEP = {"name": lambda v: isinstance(v, str), "in": _int, "kept": _int, "removed": _int, "seconds": _num,
         "removed_by_reason": lambda v: isinstance(v, dict) and all(isinstance(k, str) and _int(n) for k, n in v.items())}
_OPTIONAL_OBJECTS = ("languages", "pii", "dedup", "decontamination", "thresholds", "rejected_by_reason")


def check_summary(summary: dict) -> str | None:
    """The first key of `summary` that breaks the schema, as `key: problem`; None when it is sound."""
    for key, (ok, what) in _TOP.items():
        if not ok(summary.get(key)):
            return f"{key}: missing or not {what} (got {type(summary.get(key)).__name__})"
    for section, keys in _SECTIONS.items():
        for key, ok in keys.items():
            if not ok(summary[section].get(key)):
                return f"{section}.{key}: missing or of the wrong type"
    if "readable_docs" in summary["input"] and not _int(summary["input"]["readable_docs"]):
        return "input.readable_docs: not an integer"
    swept = summary.get("pii_run_folder")
    counts = ("removed_records", "rejected_records", "log_files")
    if swept is not None and not (isinstance(swept, dict) and all(_int(swept.get(k, 0)) for k in counts)):
        return "pii_run_folder: not an object with record and file counts"
    if not isinstance(summary["output"].get("shards"), list):
        return "output.shards: missing or not a list"
    problems = summary["invariant"].get("problems", [])
    if not isinstance(problems, list) or not all(isinstance(p, str) for p in problems):
        return "invariant.problems: not a list of strings"
    for i, step in enumerate(summary["steps"]):
        if not isinstance(step, dict):
            return f"steps[{i}]: not an object"
        for key, ok in _STEP.items():
            if not ok(step.get(key)):
                return f"steps[{i}].{key}: missing or of the wrong type"
    for key in _OPTIONAL_OBJECTS:
        if summary.get(key) is not None and not isinstance(summary[key], dict):
            return f"{key}: not an object"
    return None
