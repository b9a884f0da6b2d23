"""Cost of the resume-time link check (`curation.run_dir.refuse_planted_links`) on a big run folder.

Builds a run folder of N small files spread like a real one (output/, removed/<step>/, logs/<stage>/
completions/ and stats/, work/<step>/) and times one check: wall and CPU seconds, and files per second.

    python bench/resume_check.py --files 100000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def build(root: Path, n: int) -> None:
    folders = ["output", "removed/length", "logs/stage_00/completions", "logs/stage_00/stats", "work/dedup"]
    for i in range(n):
        folder = root / folders[i % len(folders)]
        if i < len(folders):
            folder.mkdir(parents=True)
        (folder / f"{i:07d}").write_bytes(b"x")


def main(argv=None) -> None:
    from curation.run_dir import refuse_planted_links

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--quick", action="store_true", help="10,000 files")
    ap.add_argument("--data", help="unused; accepted so `curate bench` can run this")
    args = ap.parse_args(argv)
    if args.quick:
        args.files = 10_000
    with tempfile.TemporaryDirectory() as tmp:
        build(Path(tmp), args.files)
        wall, cpu = time.perf_counter(), time.process_time()
        refuse_planted_links(Path(tmp))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print("| files | wall s | CPU s | files/s (CPU) |\n|---|---|---|---|")
    print(f"| {args.files:,} | {wall:.3f} | {cpu:.3f} | {args.files / max(cpu, 1e-9):,.0f} |")


if __name__ == "__main__":
    main()
