"""`executor: {kind: ray}` on a real two-node Ray cluster on 127.0.0.1, and a local instance that
listens on loopback only (`curation/executors/cluster.py`).

The cluster is `ray.cluster_utils.Cluster` (a head and a second node, each a raylet of its own with one
CPU) started with `RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`, which keeps Ray on 127.0.0.1. Skipped when
`ray` is not installed (`pip install -e '.[ray]'`).

Run: `.venv/bin/python -m pytest tests/curation/executors/test_ray_cluster.py`
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
from pathlib import Path

import pytest

from curation.cli import main
from tests.conftest import SAMPLE

STEPS = [{"length_filter": {"min_chars": 200}}, {"exact_dedup": {}}, {"minhash_dedup": {"mode": "sharded"}}]


def _run(write_recipe, tmp_path, name, executor) -> Path:
    run_dir = tmp_path / name
    recipe = {
        "name": "ray2",
        "input": {"format": "jsonl", "path": str(SAMPLE.parent), "glob": "web_sample.jsonl.gz"},
        "steps": STEPS,
        "output": {"path": str(run_dir), "keep_removed": True},
        "executor": executor,
    }
    assert main(["run", str(write_recipe(recipe, name=f"{name}.yaml")), "--no-progress"]) == 0
    return run_dir


def _files(run_dir: Path) -> dict[str, bytes]:
    out = {}
    for sub in ("output", "removed"):
        for p in sorted((run_dir / sub).rglob("*")):
            if p.is_file():
                data = p.read_bytes()
                out[str(p.relative_to(run_dir))] = gzip.decompress(data) if p.suffix == ".gz" else data
    return out


def _listening(pids: set[int]) -> list[str]:
    """`address:port` of every TCP socket these processes listen on (`ss -ltnp`)."""
    out = subprocess.run(["ss", "-Hltnp"], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        if any(f"pid={pid}," in line for pid in pids):
            found.append(line.split()[3])
    return found


def _ray_pids() -> set[int]:
    """This process and its descendants (the Ray processes it started), from /proc."""
    parent: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(stat.parent.name)] = int(fields[1])
    found, frontier = {os.getpid()}, {os.getpid()}
    while frontier:
        frontier = {pid for pid, ppid in parent.items() if ppid in frontier} - found
        found |= frontier
    return found


@pytest.fixture
def two_node_cluster(monkeypatch):
    pytest.importorskip("ray", reason="ray is not installed (pip install -e '.[ray]')")
    import ray
    import ray._private.ray_constants as constants
    from ray.cluster_utils import Cluster

    if ray.is_initialized():
        ray.shutdown()
    monkeypatch.setenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    monkeypatch.setattr(constants, "ENABLE_RAY_CLUSTER", False)
    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "include_dashboard": False, "node_ip_address": "127.0.0.1"},
    )
    try:
        cluster.add_node(num_cpus=1, node_ip_address="127.0.0.1")
        cluster.wait_for_nodes()
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()


@pytest.mark.timeout(900)
def test_two_node_ray_cluster_matches_local_and_uses_both_nodes(tmp_path, write_recipe, two_node_cluster):
    import ray

    local = _run(write_recipe, tmp_path, "local", {"kind": "local", "tasks": 2})
    address = two_node_cluster.address
    assert address.startswith("127.0.0.1:")
    on_ray = _run(
        write_recipe, tmp_path, "ray", {"kind": "ray", "tasks": 2, "address": address, "mem_per_cpu_gb": 0.5}
    )
    assert _files(on_ray) == _files(local) and len(_files(local)) >= 3
    s_ray, s_local = (json.loads((d / "summary.json").read_text()) for d in (on_ray, local))
    assert s_ray["output"]["docs"] == s_local["output"]["docs"] and s_ray["invariant"]["ok"]
    # each task noted the raylet that ran it: both nodes ran tasks
    raylets = {n.all_processes["raylet"][0].process.pid for n in two_node_cluster.list_all_nodes()}
    assert len(raylets) == 2
    used = {
        int(json.loads(f.read_text())["raylet_pid"])
        for f in (on_ray / "logs").glob("*/nodes/*")
        if f.is_file()
    }
    assert used == raylets, (used, raylets)
    # everything the cluster started listens on 127.0.0.1 only
    listening = _listening(_ray_pids())
    assert listening and all(a.startswith(("127.0.0.1:", "[::ffff:127.0.0.1]:")) for a in listening), (
        listening
    )
    assert ray.is_initialized()


@pytest.mark.timeout(600)
def test_a_local_ray_instance_listens_on_loopback_only(tmp_path, write_recipe):
    pytest.importorskip("ray", reason="ray is not installed (pip install -e '.[ray]')")
    import ray

    if ray.is_initialized():
        ray.shutdown()
    try:
        run_dir = _run(write_recipe, tmp_path, "ray", {"kind": "ray", "tasks": 2, "mem_per_cpu_gb": 0.5})
        assert json.loads((run_dir / "summary.json").read_text())["invariant"]["ok"]
        listening = _listening(_ray_pids())  # the instance the run started is still up
        assert len(listening) >= 3, listening  # GCS, raylet, the driver's worker at least
        assert all(a.startswith(("127.0.0.1:", "[::ffff:127.0.0.1]:")) for a in listening), listening
    finally:
        ray.shutdown()
