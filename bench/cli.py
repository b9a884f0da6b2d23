"""`curate bench` / `python -m bench`: run every benchmark in bench/ and print one combined table.

Each `bench/<name>.py` runs as `python -m bench.<name> --data DIR` in its own process (one failure or
hang does not stop the rest; each has a time cap and its process group is killed past it). Scripts
that accept `--json PATH` write rows in the contract of `bench/common.py` and land in the combined
table (ours vs baseline: docs/s, MB/s, peak RSS, speed ratio); the printed output of the others is
passed through under their name. `--quick` is forwarded to the scripts that accept it.

Data: `--data`, else `../shared/data` when present, else a stand-in built from the bundled test
corpus (`tests/data/web_sample.jsonl.gz` as `web/docs_en.jsonl.gz`); benchmarks needing other
files then fail and say so in the status table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
# helpers and parts of other benchmarks (bench.minhash runs minhash_accuracy / minhash_scale; roots_oracle
# is roots_agreement's oracle): run alone they measure nothing
NOT_BENCHMARKS = {
    "__init__",
    "__main__",
    "cli",
    "common",
    "minhash_accuracy",
    "minhash_scale",
    "roots_oracle",
}
SAMPLE = ROOT / "tests" / "data" / "web_sample.jsonl.gz"

EXAMPLES = """examples:
  curate bench --quick                       every benchmark, short settings, on ../shared/data
  curate bench --only io,e2e --data ../shared/data --json bench.json
  python -m bench --quick                    the same without the curate entry point
"""


def discover() -> list[str]:
    """Benchmark module names in bench/ (every .py but helpers), sorted."""
    return sorted(
        p.stem for p in BENCH.glob("*.py") if p.stem not in NOT_BENCHMARKS and not p.stem.startswith("_")
    )


def _accepts(name: str, flag: str) -> bool:
    """Whether bench/<name>.py declares `flag` (read from its source: no import, no process)."""
    return f'"{flag}"' in (BENCH / f"{name}.py").read_text(encoding="utf-8")


def resolve_data(data: str | None, tmp: Path) -> tuple[Path, str]:
    """The data folder to use and how it was chosen."""
    if data:
        return Path(data), "--data"
    shared = ROOT.parent / "shared" / "data"
    if shared.is_dir():
        return shared, "../shared/data"
    stand_in = tmp / "data"
    (stand_in / "web").mkdir(parents=True, exist_ok=True)
    shutil.copy(SAMPLE, stand_in / "web" / "docs_en.jsonl.gz")
    return stand_in, "stand-in from tests/data/web_sample.jsonl.gz (../shared/data not found)"


def command(name: str, data: Path, quick: bool) -> list[str]:
    """`python -m bench.<name>` with only the flags it declares (one without `--data` exits 2 on it)."""
    cmd = [sys.executable, "-m", f"bench.{name}"]
    if _accepts(name, "--data"):
        cmd += ["--data", str(data)]
    if quick and _accepts(name, "--quick"):
        cmd.append("--quick")
    return cmd


def read_rows(path: Path | None) -> tuple[list[dict] | None, str | None]:
    """(rows, problem) from a `--json` file: a list of row objects, or None when the script wrote none
    or wrote a report of its own shape (its printed output is shown instead)."""
    if path is None or not path.exists():
        return None, None
    try:
        rows = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        return None, f"bad --json output: {e}"
    if isinstance(rows, list) and all(isinstance(r, dict) for r in rows):
        return rows, None
    return None, None


def run_one(name: str, data: Path, quick: bool, timeout: float, tmp: Path) -> dict:
    """Run one benchmark in its own process group; returns status, seconds, peak RSS, rows or output."""
    json_path = tmp / f"{name}.json" if _accepts(name, "--json") else None
    cmd = command(name, data, quick)
    if json_path:
        cmd += ["--json", str(json_path)]
    env = dict(
        os.environ,
        PYTHONPATH=f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}".rstrip(os.pathsep),
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        HF_HUB_DISABLE_TELEMETRY="1",
    )
    out_path, err_path = tmp / f"{name}.out", tmp / f"{name}.err"
    t0 = time.perf_counter()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=err, start_new_session=True)
        status, rss_mb = None, None
        while status is None:  # wait4: this benchmark's own peak RSS (with its waited-for children)
            pid, code, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                status, rss_mb = os.waitstatus_to_exitcode(code), usage.ru_maxrss / 1024
                proc.returncode = status
            elif time.perf_counter() - t0 > timeout:
                os.killpg(proc.pid, signal.SIGKILL)
                _, code, usage = os.wait4(proc.pid, 0)
                status, rss_mb = "timeout", usage.ru_maxrss / 1024
                proc.returncode = -9
            else:
                time.sleep(0.2)
    seconds = time.perf_counter() - t0
    rows, problem = read_rows(json_path)
    if problem:
        status = problem
    return {
        "bench": name,
        "command": " ".join(cmd[1:]),
        "status": "ok" if status == 0 else f"exit {status}" if isinstance(status, int) else status,
        "seconds": seconds,
        "rss_mb": rss_mb,
        "rows": rows,
        "stdout": out_path.read_text(errors="replace"),
        "stderr": err_path.read_text(errors="replace"),
    }


def _num(v, fmt: str = "{:,.0f}") -> str:
    return "-" if v is None else fmt.format(v)


def combined_table(results: list[dict]) -> str:
    """The markdown table of every `--json` row: ours vs baseline and the speed ratio."""
    from bench.common import table

    rows = []
    for r in results:
        for row in r["rows"] or []:
            ours, base = row.get("ours") or {}, row.get("baseline") or {}
            ratio = None
            if ours.get("docs_per_s") and base.get("docs_per_s"):
                ratio = ours["docs_per_s"] / base["docs_per_s"]
            elif ours.get("mb_per_s") and base.get("mb_per_s"):
                ratio = ours["mb_per_s"] / base["mb_per_s"]
            rows.append(
                [
                    row.get("component", r["bench"]),
                    _num(ours.get("docs_per_s")),
                    _num(ours.get("mb_per_s"), "{:.2f}"),
                    _num(ours.get("rss_mb")),
                    base.get("name") or "-",
                    _num(base.get("docs_per_s")),
                    _num(base.get("mb_per_s"), "{:.2f}"),
                    _num(base.get("rss_mb")),
                    _num(ratio, "{:.2f}x"),
                    r["bench"],
                ]
            )
    headers = [
        "component",
        "ours docs/s",
        "ours MB/s",
        "ours RSS MB",
        "baseline",
        "base docs/s",
        "base MB/s",
        "base RSS MB",
        "speed ours/base",
        "bench",
    ]
    return table(headers, rows) if rows else "(no benchmark wrote --json rows)"


def status_table(results: list[dict]) -> str:
    from bench.common import table

    rows = []
    for r in results:
        how = (
            f"{len(r['rows'])} row(s) above"
            if r["rows"]
            else "printed output below"
            if r["status"] == "ok"
            else ""
        )
        rows.append([r["bench"], r["status"], f"{r['seconds']:.0f}", _num(r["rss_mb"]), how])
    return table(["bench", "status", "s", "peak RSS MB", "results"], rows)


def _tail(text: str, lines: int = 8) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def cmd_bench(args) -> int:
    names = discover()
    if args.only:
        wanted = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = sorted(set(wanted) - set(names))
        if unknown:
            print(
                f"error: unknown benchmark(s) {', '.join(unknown)}; available: {', '.join(names)}",
                file=sys.stderr,
            )
            return 2
        names = [n for n in names if n in wanted]
    timeout = args.timeout or (300 if args.quick else 1200)
    with tempfile.TemporaryDirectory(prefix="curate-bench-") as tmp_name:
        tmp = Path(tmp_name)
        data, how = resolve_data(args.data, tmp)
        print(
            f"data: {data} ({how}); {len(names)} benchmark(s): {', '.join(names)}; cap {timeout:.0f} s each"
            f"{'; --quick' if args.quick else ''}",
            flush=True,
        )
        results = []
        for name in names:
            print(f"  running bench.{name} ...", end=" ", flush=True)
            r = run_one(name, data, args.quick, timeout, tmp)
            print(f"{r['status']} in {r['seconds']:.0f} s", flush=True)
            results.append(r)
    print("\n## Throughput: ours vs baseline (each variant in its own process)\n")
    print(combined_table(results))
    print("\n## Benchmarks\n")
    print(status_table(results))
    for r in results:
        if r["status"] == "ok" and not r["rows"]:
            print(f"\n### bench.{r['bench']} (printed output)\n")
            print(r["stdout"].rstrip())
        elif r["status"] != "ok":
            print(f"\n### bench.{r['bench']}: {r['status']} (`python -m bench.{r['bench']} ...`)\n")
            print(_tail(r["stderr"] or r["stdout"]))
    if args.json:
        keep = ("bench", "command", "status", "seconds", "rss_mb", "rows")
        Path(args.json).write_text(json.dumps([{k: r[k] for k in keep} for r in results], indent=2))
        print(f"\nresults: {args.json}")
    return 0 if all(r["status"] == "ok" for r in results) else 1


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", help="benchmark data folder (default ../shared/data, else a stand-in sample)")
    p.add_argument("--quick", action="store_true", help="short settings, for scripts that support --quick")
    p.add_argument("--only", help="comma-separated benchmark names (default: every bench/*.py)")
    p.add_argument(
        "--timeout", type=float, help="cap per benchmark in seconds (default 1200, 300 with --quick)"
    )
    p.add_argument("--json", help="also write every result (rows, status, seconds, RSS) to this file")


def register_cli(subparsers) -> None:
    """Add `curate bench` to the `curate` command."""
    p = subparsers.add_parser(
        "bench",
        help="run every benchmark in bench/ and print one combined table",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(p)
    p.set_defaults(func=cmd_bench)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(p)
    return cmd_bench(p.parse_args(argv))
