"""A live one-node Slurm cluster (scripts/slurm_local.sh) shared by the tests of this folder.

Started once per session, on 127.0.0.1, in a temp folder; stopped at the end. Tests that need it skip
with the reason when it cannot start (no Slurm packages, not root, a daemon that fails).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SCRIPT = REPO / "scripts" / "slurm_local.sh"


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory):
    """`SLURM_CONF` of a running cluster (set in os.environ while the session lasts)."""
    missing = [
        b for b in ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scancel") if not shutil.which(b)
    ]
    if missing:
        pytest.skip(
            f"Slurm not installed ({', '.join(missing)} missing; apt-get install slurmctld slurmd slurm-client munge)"
        )
    if os.geteuid() != 0:
        pytest.skip("a local Slurm cluster needs root (slurmd runs the jobs)")
    folder = tmp_path_factory.mktemp("slurm")
    out = subprocess.run(
        ["bash", str(SCRIPT), "start", str(folder)], capture_output=True, text=True, timeout=120, check=False
    )
    if out.returncode != 0:
        pytest.skip(f"the local Slurm cluster did not start: {(out.stderr or out.stdout).strip()[-500:]}")
    old = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = str(folder / "slurm.conf")
    try:
        yield folder / "slurm.conf"
    finally:
        subprocess.run(["scancel", "--full", "--quiet", "--user", "root"], check=False, timeout=30)
        subprocess.run(["bash", str(SCRIPT), "stop", str(folder)], check=False, timeout=60)
        if old is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = old


def squeue(*job_ids: str, fmt: str = "%i %T %E") -> list[list[str]]:
    """Rows of `squeue -h -o fmt` for these jobs (all jobs when none is given)."""
    args = ["squeue", "-h", "-o", fmt] + (["-j", ",".join(job_ids)] if job_ids else [])
    out = subprocess.run(args, capture_output=True, text=True, check=True, timeout=30).stdout
    return [line.split() for line in out.splitlines() if line.strip()]


def wait_for_queue(timeout: float = 240) -> None:
    """Until no job is queued or running (fails the test after `timeout` seconds)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if not squeue():
            return
        time.sleep(1)
    pytest.fail(f"slurm jobs still queued after {timeout:.0f} s: {squeue()}")
