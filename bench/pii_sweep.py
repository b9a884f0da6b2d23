"""Cost of the `pii` run-folder sweep (scrubbing removed/ and rejected/ after a run), 1 vs N processes.

Runs a recipe with a `pii` step once with `run_folder: false` (originals kept), then sweeps copies of
that run folder with 1 and with N worker processes and prints the time and the bytes swept.

    python bench/pii_sweep.py recipes/roots_web.yaml --limit 6000 --workers 2
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv=None) -> None:
    from curation import api
    from curation.steps.pii import sweep as pii_sweep

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("recipe", nargs="?", default="recipes/sample.yaml", help="a recipe with a pii step")
    ap.add_argument("--limit", type=int, default=6000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--data", help="unused (the recipe names its input); accepted so `curate bench` can run this")
    ap.add_argument("--quick", action="store_true", help="--limit 500 (`curate bench --quick`)")
    args = ap.parse_args(argv)
    if args.quick:
        args.limit = min(args.limit, 500)
    recipe = api.load_recipe(args.recipe)
    pii = next(i for i, s in enumerate(recipe.steps) if s.op == "pii")
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "run"
        over = {"output.path": str(base), f"steps.{pii}.pii.run_folder": False, f"steps.{pii}.pii.keep_work": True}
        api.run(recipe, overrides=over, limit=args.limit, force=True)
        swept = api.load_recipe(recipe, {"output.path": str(base)})
        size = sum(p.stat().st_size for d in ("removed", "rejected") for p in (base / d).rglob("*") if p.is_file())
        print("| workers | seconds | compressed MB swept (removed/ + rejected/, all steps) |\n|---|---|---|")
        for workers in (1, args.workers):
            copy = Path(tmp) / f"w{workers}"
            shutil.copytree(base, copy)
            rec = api.load_recipe(swept, {"output.path": str(copy), "executor.workers": workers})
            pii_sweep.PARALLEL_BYTES = 0
            t0 = time.perf_counter()
            report = pii_sweep.sweep(rec)
            print(f"| {workers} | {time.perf_counter() - t0:.1f} | {size / 1e6:.1f} | {report['removed_records']} records changed")


if __name__ == "__main__":
    main()
