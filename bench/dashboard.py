"""Dashboard first-paint benchmark: a synthetic run of N documents (100k by default) in a temp folder,
then the time of the first (cold-cache) run of each page under Streamlit's AppTest.

The target is first paint <= 3 s on a 100k-document run. Overview reads only summary.json; Filters
reads the document sample (up to 20k docs) and draws every metric. Prints a markdown table.

Run: `.venv/bin/python bench/dashboard.py [--docs 100000] [--pages overview filters ...] [--quick]`
(or `curate bench --only dashboard`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dashboard import data
from tests.dashboard.synthetic import write_synthetic_run  # a test fixture, not shipped

APP = ROOT / "dashboard" / "app.py"
TARGET_S = 3.0


def first_paint(page: str) -> tuple[float, float, int]:
    """First run of `page` in a fresh AppTest with empty caches: AppTest seconds, script seconds, elements.

    AppTest seconds include AppTest's own set-up (it scans installed packages for components); script
    seconds are the app's own run, what a browser waits for after connecting.
    """
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.cache_data.clear()
    at = AppTest.from_file(str(APP), default_timeout=120)
    if page != "overview":
        at.switch_page(f"views/{page}.py")
    start = time.perf_counter()
    at.run()
    seconds = time.perf_counter() - start
    if at.exception:
        raise RuntimeError(f"{page}: {at.exception[0].message}")
    title = at.title[0].value if at.title else ""
    if not title.lower().startswith(page[:5]):
        raise RuntimeError(f"expected the {page} page, got {title!r}")
    return seconds, float(at.session_state["_script_s"]), len(list(at.main))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000, help="input records of the synthetic run")
    parser.add_argument(
        "--pages",
        nargs="+",
        default=["overview", "filters"],
        help="pages to time (overview filters languages duplicates pii samples)",
    )
    parser.add_argument("--repeat", type=int, default=2, help="cold runs per page (the best is reported)")
    parser.add_argument("--quick", action="store_true", help="20k documents, one run per page")
    parser.add_argument("--data", help="ignored: the run is synthetic (accepted for `curate bench`)")
    args = parser.parse_args()
    if args.quick:
        args.docs, args.repeat = min(args.docs, 20_000), 1

    with tempfile.TemporaryDirectory(prefix="rootstock-bench-") as tmp:
        run = Path(tmp) / "bench-run"
        t0 = time.perf_counter()
        summary = write_synthetic_run(run, n_docs=args.docs, max_shard_docs=25_000)
        gen_s = time.perf_counter() - t0
        size_mb = sum(p.stat().st_size for p in run.rglob("*") if p.is_file()) / 1e6
        os.environ["ROOTSTOCK_DASHBOARD_ARGS"] = json.dumps([str(run)])

        t0 = time.perf_counter()
        frame = data.sample_documents(run)
        sample_s = time.perf_counter() - t0

        rows = []
        for page in args.pages:
            times = [first_paint(page) for _ in range(args.repeat)]
            rows.append(
                (
                    page,
                    min(t[0] for t in times),
                    max(t[0] for t in times),
                    min(t[1] for t in times),
                    times[0][2],
                )
            )

    print(
        f"\nSynthetic run: {args.docs:,} input docs, {summary['output']['docs']:,} kept, "
        f"{size_mb:.1f} MB on disk (written in {gen_s:.1f} s); sample: {len(frame):,} docs read in {sample_s:.2f} s.\n"
    )
    print("| page | AppTest first run, best (s) | worst (s) | app script (s) | elements | <= 3 s |")
    print("|---|---:|---:|---:|---:|:---:|")
    for page, best, worst, script, n in rows:
        print(
            f"| {page} | {best:.2f} | {worst:.2f} | {script:.2f} | {n} | {'yes' if best <= TARGET_S else 'NO'} |"
        )


if __name__ == "__main__":
    main()
