"""A real full disk: `curate run` with its run folder on a 512 KiB tmpfs (the output needs ~1.6 MB).

ENOSPC is raised inside datatrove's worker processes (two at a time here); the terminal must show one
line and exit 1 — not datatrove's logged traceback, nor loguru's "Logging error" for the task log that
lives on the same full disk. After the filesystem grows (remount), the same command resumes and gives
the documents of a run that never ran out of space. Needs root (mount); skipped with the reason otherwise.
"""

import gzip
import json
import random
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).parents[2]


def curate(*args) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "rootstock.cli", *args, "--no-progress"], capture_output=True,
                          text=True, env=env, timeout=300, check=False)  # fmt: skip


def mix_cli(*args) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "rootstock.cli", "mix", *args], capture_output=True, text=True,
                          env=env, timeout=300, check=False)  # fmt: skip


def documents(run: Path) -> list[str]:
    lines = []
    for f in sorted((run / "output").glob("*.jsonl.gz")):
        with gzip.open(f, "rt") as g:
            lines += g.read().splitlines()
    return sorted(lines)


def test_full_disk_is_one_line_exit_1_and_the_rerun_resumes(tmp_path, tiny_disk):
    rng = random.Random(0)  # hex words: gzip cannot shrink the output below the disk
    (tmp_path / "in").mkdir()
    for part in range(2):  # one file per task
        with open(tmp_path / "in" / f"{part}.jsonl", "w") as f:
            for i in range(1000):
                text = " ".join(f"{rng.getrandbits(32):08x}" for _ in range(120))
                f.write(json.dumps({"id": f"{part}-{i}", "text": text}) + "\n")
    recipe = {"name": "full", "input": {"format": "jsonl", "path": str(tmp_path / "in")}, "steps": [],
              "output": {"path": str(tiny_disk / "run")}, "executor": {"kind": "local", "tasks": 2, "workers": 2}}  # fmt: skip
    (tmp_path / "r.yaml").write_text(yaml.safe_dump(recipe))
    full = curate("run", str(tmp_path / "r.yaml"))
    assert full.returncode == 1, full.stderr[-2000:]
    assert (
        full.stderr.count("\n") == 1 and "Traceback" not in full.stderr and "Logging error" not in full.stderr
    )
    assert full.stderr.startswith(
        "error: [Errno 28] No space left on device; free some space and run the same"
    )

    subprocess.run(["mount", "-o", "remount,size=64m", str(tiny_disk)], check=True)  # space freed
    again = curate("run", str(tmp_path / "r.yaml"))
    assert again.returncode == 0, again.stderr[-2000:]
    straight = curate("run", str(tmp_path / "r.yaml"), "--output", str(tmp_path / "straight"))
    assert straight.returncode == 0, straight.stderr[-2000:]
    assert (
        documents(tiny_disk / "run") == documents(tmp_path / "straight")
        and len(documents(tmp_path / "straight")) == 2000
    )
    summary = json.loads((tiny_disk / "run" / "summary.json").read_text())
    assert json.loads((tmp_path / "straight" / "summary.json").read_text())["output"] == summary["output"]


def test_a_mix_on_a_full_disk_leaves_no_truncated_shard_and_the_rerun_is_identical(tmp_path, tiny_disk):
    """`curate mix` writes each output shard under a temporary name and renames it when whole: a full disk
    is one line, exit 1, and leaves only whole shards (a shard cut at 53,248 bytes was left under its
    final name); after space is freed the rerun gives the shards of a mix that never ran out."""
    rng = random.Random(1)
    docs = [{"id": f"d{i}", "text": f"{rng.getrandbits(2400):0600x}"} for i in range(3000)]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    mix = {"name": "m", "unit": "documents", "budget": 3000, "seed": 0,
           "sources": [{"name": "a", "path": str(tmp_path / "in.jsonl"), "format": "jsonl", "weight": 1}],
           "output": {"path": str(tiny_disk / "mix"), "format": "jsonl", "max_shard_docs": 200}}  # fmt: skip
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(mix))
    full = mix_cli(str(tmp_path / "m.yaml"))
    assert full.returncode == 1 and full.stderr.count("\n") == 1 and "No space left" in full.stderr
    shards = sorted((tiny_disk / "mix" / "output").glob("*.jsonl"))
    assert shards and all(len(s.read_text().splitlines()) == 200 for s in shards)  # whole or absent
    subprocess.run(["mount", "-o", "remount,size=64m", str(tiny_disk)], check=True)
    assert mix_cli(str(tmp_path / "m.yaml")).returncode == 0
    assert mix_cli(str(tmp_path / "m.yaml"), "--output", str(tmp_path / "straight")).returncode == 0
    for s in sorted((tmp_path / "straight" / "output").glob("*.jsonl")):
        assert (tiny_disk / "mix" / "output" / s.name).read_bytes() == s.read_bytes()
