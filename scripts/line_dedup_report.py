"""What a finished `line_dedup` run removed from ../shared/data/web: the named navigation lines counted in
the input and in the output, and 100 removed lines sampled uniformly (seed 0) with their neighbours, to
read one by one (docs/recipes.md, "Boilerplate lines").

    python scripts/line_dedup_report.py RUN_DIR [--data ../shared/data/web] [--step line_dedup] [--versus RUN_DIR]

RUN_DIR must keep its work/ folder (no `pii` step, or `keep_work: true`): the sample re-applies the
run's decisions (work/<step>/repeated.npz) to the input, line granularity, default `min_unit_chars`, and
the step's `normalize` as recipe.resolved.yaml gives it. `--versus OTHER` samples only the lines RUN_DIR
removed and OTHER (the same data, other line_dedup params) did not: what an option adds.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from curation.steps.line_dedup.units import hash_units, split_units

_NAME = r"[A-Za-z0-9_.:-]+\(\d\w*\)"
PATTERNS = {
    "Debian handbook `Download the ebook`": lambda s: s.strip() == "Download the ebook",
    "Debian handbook (ar) `السابق` / `التالي`": lambda s: s.strip() in ("السابق", "التالي"),
    "PostgreSQL `Prev Up Next`": lambda s: s.replace("\xa0", " ").strip() == "Prev Up Next",
    "PostgreSQL `... Home ...` (page titles inside)": lambda s: "\xa0Home\xa0" in s,
    "man page header `LS(1) User Commands LS(1)`": lambda s: re.match(
        rf"^{_NAME}\s+.+\s+{_NAME}\s*$", s.strip()
    ),
    "man page footer `GNU coreutils 9.1 September 2022 LS(1)`": lambda s: (
        re.match(rf"^\S.*\s{{3,}}{_NAME}\s*$", s.rstrip()) and not re.match(rf"^{_NAME}", s.strip())
    ),
}


def texts(files):
    for path in files:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                doc = json.loads(line)
                yield doc["id"], doc["text"]


def nav_counts(files) -> dict[str, int]:
    counts = dict.fromkeys(PATTERNS, 0)
    for _, text in texts(files):
        for line in text.split("\n"):
            for name, match in PATTERNS.items():
                counts[name] += bool(match(line))
    return counts


class Decisions:
    """One run's line_dedup decisions: its repeated hashes and the `normalize` they were hashed with."""

    def __init__(self, run_dir: Path, step: str):
        with np.load(run_dir / "work" / step / "repeated.npz", allow_pickle=False) as d:
            self.repeated = d["hashes"]
        self.normalize = step_params(run_dir, step).get("normalize", "none")

    def removed(self, units: list[str]) -> set[int]:
        hashes = hash_units(units, 1, self.normalize)
        if not hashes or not len(self.repeated):
            return set()
        arr = np.array([h for _, h in hashes], dtype=np.uint64)
        loc = np.minimum(np.searchsorted(self.repeated, arr), len(self.repeated) - 1)
        return {hashes[j][0] for j in np.flatnonzero(self.repeated[loc] == arr).tolist()}


def step_params(run_dir: Path, step: str) -> dict:
    """The params of the run's line_dedup step `step` (its id: the op name, or op name + index)."""
    import yaml

    resolved = yaml.safe_load((run_dir / "recipe.resolved.yaml").read_text(encoding="utf-8"))
    ops = [(op, params or {}) for entry in resolved.get("steps") or [] for op, params in entry.items()]
    for op, params in ops:
        if op == step or (op == "line_dedup" and step.startswith("line_dedup")):
            return params
    return {}


def sample_removed(files, run: Decisions, versus: Decisions | None = None, n: int = 100, seed: int = 0):
    """Reservoir sample of removed line occurrences (of those `versus` did not remove, when given):
    (doc id, previous line, removed line, next line)."""
    rng, sample, seen = random.Random(seed), [], 0
    for doc_id, text in texts(files):
        units = split_units(text, "line")[0::2]
        removed = run.removed(units) - (versus.removed(units) if versus else set())
        for i in sorted(removed):
            unit = units[i]
            seen += 1
            item = (
                doc_id,
                units[i - 1][:80] if i else "",
                unit[:160],
                units[i + 1][:80] if i + 1 < len(units) else "",
            )
            if len(sample) < n:
                sample.append(item)
            elif (k := rng.randrange(seen)) < n:
                sample[k] = item
    return seen, sorted(sample)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--data", type=Path, default=Path("../shared/data/web"))
    ap.add_argument("--step", default="line_dedup")
    ap.add_argument("--versus", type=Path, help="sample only lines this other run did not remove")
    args = ap.parse_args(argv)
    inputs = sorted(args.data.glob("docs_*.jsonl.gz"))
    before, after = nav_counts(inputs), nav_counts(sorted((args.run_dir / "output").glob("*.jsonl.gz")))
    print("| line | in the input | left in the output |\n|---|---|---|")
    for name in PATTERNS:
        print(f"| {name} | {before[name]:,} | {after[name]:,} |")
    versus = Decisions(args.versus, args.step) if args.versus else None
    seen, sample = sample_removed(inputs, Decisions(args.run_dir, args.step), versus)
    which = f" not removed by {args.versus}" if versus else ""
    print(f"\n{seen:,} removed line occurrences{which}; a uniform sample of {len(sample)} (seed 0):\n")
    for k, (doc_id, prev, unit, nxt) in enumerate(sample):
        print(f"{k:3d} {doc_id}\n     prev: {prev!r}\n  REMOVED: {unit!r}\n     next: {nxt!r}")


if __name__ == "__main__":
    main()
