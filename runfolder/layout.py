"""Where everything lives inside a run folder (docs/CONTRACTS.md, "Run folder").

Writers and readers take paths from `RunFolder` instead of joining names themselves, so a change of
layout is one edit here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from runfolder.summary import SummaryError, read_json

# What one `curate run` produces; `--force` deletes exactly these (never tokenizer/ or training output).
PRODUCED = (
    "output",
    "removed",
    "removed_units",
    "rejected",
    "work",
    "logs",
    "summary.json",
    "run.json",
    "recipe.resolved.yaml",
)
# What makes a run.json rootstock's own (curation/api.py writes them all): another tool's run.json must
# never make its folder look like a run folder, or `--force` would delete that tool's output/ and logs/.
IDENTITY_KEYS = {"fingerprint": str, "limit": int, "started": str, "produced": list}


def is_rootstock_identity(obj) -> bool:
    """True when `obj` (a parsed run.json) carries every identity key with its type."""
    return isinstance(obj, dict) and all(isinstance(obj.get(k), t) for k, t in IDENTITY_KEYS.items())


def read_identity(path: Path) -> dict | None:
    """A run.json that is rootstock's own (a regular file, JSON, every identity key), else None."""
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > 50_000_000:
            return None
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # unreadable, not JSON, or nested too deep to parse
        return None
    return obj if is_rootstock_identity(obj) else None


@dataclass(frozen=True)
class RunFolder:
    """Paths of one run folder.

    Attributes:
        root: the run folder (a recipe's `output.path`).
    """

    root: Path

    def __init__(self, root: str | Path):
        object.__setattr__(self, "root", Path(root))

    @property
    def output(self) -> Path:
        """Kept documents: `<rank:05d>_<shard:05d>.<ext>`."""
        return self.root / "output"

    @property
    def removed_root(self) -> Path:
        return self.root / "removed"

    def removed(self, step_id: str) -> Path:
        """Documents removed by one step (only with `output.keep_removed: true`)."""
        return self.root / "removed" / step_id

    def removed_steps(self) -> list[str]:
        """Step ids that have a removed/ folder, sorted."""
        if not self.removed_root.is_dir():
            return []
        return sorted(p.name for p in self.removed_root.iterdir() if p.is_dir())

    def removed_units(self, step_id: str) -> Path:
        """Most-removed text units of a unit-removing step (`line_dedup`): `<rank:05d>.json` of
        `[{unit, count, example_id}]` per task, most frequent first."""
        return self.root / "removed_units" / step_id

    def removed_unit_examples(self, step_id: str, limit: int = 200) -> list[dict]:
        """The removed units of `step_id` summed over its tasks, most frequent first (count, then text)."""
        merged: dict[str, dict] = {}
        for path in sorted(self.removed_units(step_id).glob("*.json")):
            for row in _unit_rows(path):
                entry = merged.setdefault(row["unit"], {**row, "count": 0})
                entry["count"] += row["count"]
        return sorted(merged.values(), key=lambda r: (-r["count"], r["unit"]))[:limit]

    @property
    def rejected(self) -> Path:
        """Unreadable input records: `<rank:05d>.jsonl` of `{source, line, error, raw}`."""
        return self.root / "rejected"

    @property
    def work(self) -> Path:
        """Scratch of barrier steps (hashes, signatures, clusters, intermediate segments)."""
        return self.root / "work"

    def step_work(self, step_id: str) -> Path:
        return self.work / step_id

    def segment(self, k: int) -> Path:
        """Intermediate shards between pipeline segment `k` and the barrier op that ends it."""
        return self.work / "segments" / f"{k:02d}"

    @property
    def logs(self) -> Path:
        """datatrove logging folders, one per stage."""
        return self.root / "logs"

    def stage_logs(self, stage: str) -> Path:
        return self.logs / stage

    @property
    def summary(self) -> Path:
        return self.root / "summary.json"

    @property
    def run_json(self) -> Path:
        """Identity of the run (recipe fingerprint, limit, start time): resume or refuse."""
        return self.root / "run.json"

    @property
    def lock(self) -> Path:
        """Held (flock) by the run using the folder; never deleted (runfolder/lock.py)."""
        return self.root / "run.lock"

    def is_run_folder(self) -> bool:
        """Written by a rootstock run: its run.json is rootstock's own (IDENTITY_KEYS); a lock alone or
        another tool's run.json is not enough."""
        return read_identity(self.run_json) is not None

    @property
    def recipe(self) -> Path:
        """The recipe with every default filled in."""
        return self.root / "recipe.resolved.yaml"

    @property
    def results(self) -> Path:
        """An ablation folder's results.json (its schema: docs/CONTRACTS.md)."""
        return self.root / "results.json"

    def is_run(self) -> bool:
        return self.summary.is_file()

    def produced(self) -> list[Path]:
        """Everything a run writes (what `--force` removes)."""
        return [self.root / name for name in PRODUCED]


def _unit_rows(path: Path) -> list[dict]:
    """One task's removed-units file, checked: a damaged or hand-edited file is a SummaryError (a
    ValueError) naming the file and the entry, shown on the dashboard page, never a KeyError or
    TypeError traceback."""
    rows = read_json(path)
    if not isinstance(rows, list):
        raise SummaryError(
            f"{path}: expected a list of {{unit, count, example_id}}, got {type(rows).__name__}"
        )
    for i, row in enumerate(rows):
        ok = isinstance(row, dict) and isinstance(row.get("unit"), str)
        ok = ok and type(row.get("count")) is int and row["count"] >= 0
        if not ok or not isinstance(row.get("example_id", ""), (str, int)):
            raise SummaryError(f"{path}: [{i}]: expected {{unit: text, count: integer >= 0, example_id}}")
    return rows
