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
    except json.JSONDecodeError as e:
        raise SummaryError(f"{path} is not valid JSON: {e}") from None


def read_summary(run_dir: str | Path) -> dict:
    """summary.json of a finished run, exactly as written (schema 1).

    Raises:
        SummaryError: missing (the run did not finish, or this is not a run folder), not JSON, or
            another schema.
    """
    path = Path(run_dir) / "summary.json"
    summary = read_json(path, f"{path} does not exist: is {run_dir} a run folder, and did the run finish?")
    if not isinstance(summary, dict) or summary.get("schema") != SCHEMA:
        got = summary.get("schema") if isinstance(summary, dict) else type(summary).__name__
        raise SummaryError(f"{path}: schema {got!r} is not supported (expected {SCHEMA})")
    return summary
