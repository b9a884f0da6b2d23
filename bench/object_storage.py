"""The same recipe to local disk and to an S3-compatible bucket (moto on 127.0.0.1): wall and CPU seconds.

The recipe (length filter + exact dedup, removed documents kept) reads the sample corpus repeated
`--copies` times, from local files or from the bucket, and writes its run folder to local disk or to
the bucket. Each `curate run` is its own process (`--force`, workers 1); runs alternate local/s3,
`--repeats` times, and the medians are printed. CPU is the `curate` process tree's (user + sys); the
moto server is a separate process and its CPU is reported apart (a real store's work is not ours).

Usage (repo root; needs the s3 extra and moto[server]):
    nice -n 15 python -m bench.object_storage [--copies 20] [--repeats 3] [--quick]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "tests" / "data" / "web_sample.jsonl.gz"
ENV = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_CONFIG_FILE": os.devnull,
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a live process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def corpus(copies: int, parts: int) -> dict[str, bytes]:
    with gzip.open(SAMPLE, "rt") as f:
        docs = [json.loads(line) for line in f]
    rows = [dict(d, id=f"{d['id']}@{c}") for c in range(copies) for d in docs]
    return {
        f"part{i:02d}.jsonl.gz": gzip.compress(
            "".join(json.dumps(d) + "\n" for d in rows[i::parts]).encode(), mtime=0
        )
        for i in range(parts)
    }


def timed_run(recipe: Path, env: dict, cwd: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of one `curate run` process and its children."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "rootstock.cli", "run", str(recipe), "--no-progress", "--force"],
        cwd=cwd,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--copies", type=int, default=20, help="the 231-document sample repeated this many times")
    ap.add_argument("--parts", type=int, default=4, help="input files (= tasks)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="4 copies, 1 repeat (`curate bench --quick`)")
    args = ap.parse_args()
    if args.quick:
        args.copies, args.repeats = 4, 1

    import s3fs

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    env = {**os.environ, **ENV, "AWS_ENDPOINT_URL": endpoint, "PYTHONPATH": str(ROOT)}
    os.environ.update({**ENV, "AWS_ENDPOINT_URL": endpoint})
    try:
        fs = s3fs.S3FileSystem(skip_instance_cache=True)
        for _ in range(100):
            try:
                fs.mkdir("bench-bucket")
                break
            except (OSError, ValueError):
                time.sleep(0.1)
        with tempfile.TemporaryDirectory(prefix="bench-s3-") as tmp:
            tmp = Path(tmp)
            files = corpus(args.copies, args.parts)
            (tmp / "in").mkdir()
            for name, body in files.items():
                (tmp / "in" / name).write_bytes(body)
                fs.pipe(f"bench-bucket/in/{name}", body)
            base = {
                "name": "bench",
                "steps": [{"length_filter": {"min_chars": 400}}, {"exact_dedup": {}}],
                "executor": {"tasks": args.parts, "workers": 1},
            }
            sides = {
                "local -> local": (
                    {"format": "jsonl", "path": str(tmp / "in")},
                    {"path": str(tmp / "local"), "keep_removed": True},
                ),
                "s3 -> s3": (
                    {"format": "jsonl", "path": "s3://bench-bucket/in"},
                    {"path": "s3://bench-bucket/run", "keep_removed": True, "control_path": str(tmp / "ctl")},
                ),
            }
            recipes = {}
            for label, (inp, out) in sides.items():
                recipes[label] = tmp / f"{label.split()[0]}.yaml"
                recipes[label].write_text(yaml.safe_dump({**base, "input": inp, "output": out}))
            times: dict[str, list[tuple[float, float]]] = {k: [] for k in sides}
            moto_cpu = 0.0
            for _ in range(args.repeats):
                for label in sides:
                    cpu0 = proc_cpu(server.pid)
                    times[label].append(timed_run(recipes[label], env, tmp))
                    print(
                        f"  {label}: wall {times[label][-1][0]:.2f} s, CPU {times[label][-1][1]:.2f} s",
                        flush=True,
                    )
                    if label.startswith("s3"):
                        moto_cpu += proc_cpu(server.pid) - cpu0
            docs = sum(len(gzip.decompress(b).splitlines()) for b in files.values())
            print(
                f"{docs} documents in {args.parts} files ({sum(map(len, files.values())) / 1e6:.1f} MB gz), "
                f"{args.repeats} alternating runs each, medians; `curate run --force` per run"
            )
            print(f"{'side':<16} {'wall s':>8} {'CPU s':>8}")
            for label, rows in times.items():
                print(
                    f"{label:<16} {statistics.median(r[0] for r in rows):>8.2f} "
                    f"{statistics.median(r[1] for r in rows):>8.2f}"
                )
            print(f"moto server CPU per s3 run: {moto_cpu / args.repeats:.2f} s (not counted above)")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
