"""What a finished `line_dedup` run removed from ../shared/data/web: the named navigation lines counted in
the input and in the output, and 100 removed lines sampled uniformly (seed 0) with their neighbours, to
read one by one (docs/recipes.md, "Boilerplate lines").

    python scripts/line_dedup_report.py RUN_DIR [--data ../shared/data/web] [--step line_dedup]

RUN_DIR must keep its work/ folder (no `pii` step, or `keep_work: true`): the sample re-applies the
run's decisions (work/<step>/repeated.npz) to the input, line granularity, default `min_unit_chars`.
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
from curation.steps.line_dedup.units import split_units, unit_hash

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


def sample_removed(files, repeated: np.ndarray, n: int = 100, seed: int = 0):
    """Reservoir sample of removed line occurrences: (doc id, previous line, removed line, next line)."""
    rng, sample, seen = random.Random(seed), [], 0
    for doc_id, text in texts(files):
        units = split_units(text, "line")[0::2]
        for i, unit in enumerate(units):
            h = unit_hash(unit, 1)
            if h is None:
                continue
            j = np.searchsorted(repeated, np.uint64(h))
            if j == len(repeated) or repeated[j] != np.uint64(h):
                continue
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
    args = ap.parse_args(argv)
    inputs = sorted(args.data.glob("docs_*.jsonl.gz"))
    before, after = nav_counts(inputs), nav_counts(sorted((args.run_dir / "output").glob("*.jsonl.gz")))
    print("| line | in the input | left in the output |\n|---|---|---|")
    for name in PATTERNS:
        print(f"| {name} | {before[name]:,} | {after[name]:,} |")
    with np.load(args.run_dir / "work" / args.step / "repeated.npz", allow_pickle=False) as d:
        repeated = d["hashes"]
    seen, sample = sample_removed(inputs, repeated)
    print(f"\n{seen:,} removed line occurrences; a uniform sample of {len(sample)} (seed 0):\n")
    for k, (doc_id, prev, unit, nxt) in enumerate(sample):
        print(f"{k:3d} {doc_id}\n     prev: {prev!r}\n  REMOVED: {unit!r}\n     next: {nxt!r}")


if __name__ == "__main__":
    main()
