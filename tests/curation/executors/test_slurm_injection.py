"""Nothing a recipe says reaches a shell unquoted (`curation/executors/_slurm_grammar.py`, `slurm.py`).

Each hostile value (a `$()`, backticks, `;`, a newline, quotes) in the recipe `name`, `executor.time`,
`partition` or `sbatch_args` is refused by `curate validate`, `curate run --dry-run` and `curate run`
(a real submission when the live cluster of conftest.py is up, else an `sbatch` on PATH that records
being called) with exit 2 and `file:line: key`, and the command it carries never runs. Paths may hold
any printable character: they are quoted, and a run whose folder is named like an injection runs with
the marker file never created.

Run: `.venv/bin/python -m pytest tests/curation/executors/test_slurm_injection.py`
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from curation.cli import main
from tests.conftest import SAMPLE
from tests.curation.executors.conftest import wait_for_queue

STEPS = [{"length_filter": {"min_chars": 200}}]


def _injections(marker) -> list[tuple[str, dict, str]]:
    """(what, recipe changes, the key the error must name); each would `touch marker` if it ran."""
    cmd = f"touch {marker}"
    ex = {"kind": "slurm"}
    return [
        ("name $()", {"name": f"demo$({cmd})"}, "name"),
        ("name backticks", {"name": f"demo`{cmd}`"}, "name"),
        ("name ;", {"name": f"demo;{cmd}"}, "name"),
        ("name newline", {"name": f"demo\n{cmd}"}, "name"),
        ("name quotes", {"name": f"demo'\"; {cmd}; echo \"'"}, "name"),
        ("time newline", {"executor": {**ex, "time": f"01:00:00\n{cmd}"}}, "executor.time"),
        ("time $()", {"executor": {**ex, "time": f"$({cmd})"}}, "executor.time"),
        ("partition ;", {"executor": {**ex, "partition": f"cpu;{cmd}"}}, "executor.partition"),
        ("partition newline", {"executor": {**ex, "partition": f"cpu\n{cmd}"}}, "executor.partition"),
        ("args $()", {"executor": {**ex, "sbatch_args": {"account": f"x$({cmd})"}}}, "executor.sbatch_args.account"),
        ("args backticks", {"executor": {**ex, "sbatch_args": {"comment": f"`{cmd}`"}}}, "executor.sbatch_args.comment"),
        ("args newline", {"executor": {**ex, "sbatch_args": {"qos": f"normal\n{cmd}"}}}, "executor.sbatch_args.qos"),
        ("args unknown option", {"executor": {**ex, "sbatch_args": {"wrap": cmd}}}, "executor.sbatch_args.wrap"),
        ("args flag with value", {"executor": {**ex, "sbatch_args": {"exclusive": cmd}}}, "executor.sbatch_args.exclusive"),
        ("output.path newline", {"output": {"path": f"RUN\n{cmd}"}}, "output.path"),
    ]  # fmt: skip


@pytest.fixture
def fake_sbatch(tmp_path, monkeypatch, request):
    """The live cluster when it is up; else an `sbatch` that only records that it was called."""
    try:
        request.getfixturevalue("slurm_cluster")
        return None
    except pytest.skip.Exception:
        folder = tmp_path / "bin"
        folder.mkdir()
        for name in ("sbatch", "squeue"):
            (folder / name).write_text(
                f"#!/bin/bash\ntouch {tmp_path}/{name}_called\necho 'Submitted batch job 1'\n"
            )
            (folder / name).chmod(0o755)
        monkeypatch.setenv("PATH", f"{folder}:{__import__('os').environ['PATH']}")
        return tmp_path / "sbatch_called"


def _recipe(write_recipe, tmp_path, changes: dict, i: int):
    recipe = {
        "name": "demo",
        "input": {"format": "jsonl", "path": str(SAMPLE)},
        "steps": STEPS,
        "output": {"path": str(tmp_path / f"run{i}")},
        "executor": {"kind": "slurm"},
    }
    for key, value in changes.items():
        if key == "output":
            value = {"path": value["path"].replace("RUN", str(tmp_path / f"run{i}"))}
        recipe[key] = value
    return write_recipe(recipe, name=f"r{i}.yaml"), recipe


def test_every_injection_is_exit_2_naming_file_line_key_and_nothing_runs(
    tmp_path, write_recipe, fake_sbatch, capsys
):
    marker = tmp_path / "INJECTED"
    for i, (what, changes, key) in enumerate(_injections(marker)):
        path, _ = _recipe(write_recipe, tmp_path, changes, i)
        for args in (
            ["validate", str(path)],
            ["run", str(path), "--dry-run"],
            ["run", str(path), "--no-progress"],
        ):
            capsys.readouterr()
            assert main(args) == 2, (what, args)
            err = capsys.readouterr().err.strip()
            assert len(err.splitlines()) == 1, (what, err)
            assert re.match(rf"error: {re.escape(str(path))}:\d+: {re.escape(key)}: ", err), (what, err)
        assert not (tmp_path / f"run{i}").exists(), what  # nothing written
    assert not marker.exists()
    if fake_sbatch is not None:
        assert not fake_sbatch.exists()  # nothing was submitted


@pytest.mark.timeout(600)
def test_a_run_folder_named_like_an_injection_is_quoted_and_runs(tmp_path, write_recipe, slurm_cluster):
    """Paths may hold `$()`, backticks, `;`, spaces and quotes: written quoted, they stay file names."""
    marker = tmp_path / "INJECTED"
    odd = tmp_path / f"run $(touch {marker}) `touch {marker}`; touch {marker} 'q' \"dq\""
    recipe = {
        "name": "demo",
        "input": {"format": "jsonl", "path": str(SAMPLE)},
        "steps": STEPS,
        "output": {"path": str(odd)},
        "executor": {"kind": "slurm", "time": "00:10:00", "sbatch_args": {"comment": "quoted-values"}},
    }
    dry = write_recipe({**recipe, "output": {"path": f"{odd} dry"}}, name="dry.yaml")
    assert main(["run", str(dry), "--dry-run"]) == 0
    script = Path(f"{odd} dry", "slurm", "00_segment_0.slurm").read_text()
    path = write_recipe(recipe)
    assert subprocess.run(["bash", "-n"], input=script, text=True, check=False).returncode == 0
    assert main(["run", str(path), "--no-progress"]) == 0  # real sbatch
    wait_for_queue()
    assert main(["run", str(path), "--no-progress"]) == 0
    assert json.loads((odd / "summary.json").read_text())["invariant"]["ok"]
    assert not marker.exists()
