"""A resume writes nothing outside its run folder (curation/run_dir.py): a symlink, a hard link or a
FIFO anywhere under logs/, work/, output/, removed/ (or a hard-linked run.lock) is refused with one
line naming it, exit 2, and the file it shares bytes with is untouched.

datatrove's writers (shards, task logs, completions, stats.json) and ours truncate in place, so a
hard-linked shard or log would overwrite the user's file it is linked to; a symlink is followed.

Run: `.venv/bin/python -m pytest tests/curation/test_run_dir.py`
"""

import json
import os
import shutil
from pathlib import Path

import pytest

from curation.cli import main


@pytest.fixture
def finished(tmp_path, write_recipe):
    """(recipe file, run folder) of a finished run with logs/, work/, output/ and removed/."""
    (tmp_path / "in").mkdir()
    docs = [{"id": str(i), "text": f"document number {i % 15} here"} for i in range(30)]  # 15 duplicates
    docs += [{"id": "short", "text": "x"}]
    (tmp_path / "in" / "a.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    out = tmp_path / "run"
    recipe = write_recipe(
        {
            "name": "t",
            "input": {"format": "jsonl", "path": str(tmp_path / "in")},
            "steps": [{"length_filter": {"min_chars": 5}}, {"exact_dedup": {}}],
            "output": {"path": str(out), "keep_removed": True},
        }
    )
    assert main(["run", str(recipe), "--no-progress"]) == 0
    return recipe, out


def first_file(folder: Path, pattern: str = "*") -> Path:
    return min(p for p in folder.rglob(pattern) if p.is_file())


def plant(path: Path, victim: Path, kind: str) -> bytes:
    """Replace `path` by a link of `kind` to `victim`; returns the bytes it held."""
    held = path.read_bytes()
    path.unlink()
    if kind == "symlink":
        path.symlink_to(victim)
    elif kind == "hardlink":
        os.link(victim, path)
    else:
        os.mkfifo(path)
    return held


def test_a_resume_refuses_links_and_fifos_under_every_folder_a_run_writes(finished, tmp_path, capsys):
    recipe, out = finished
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    targets = {
        "task log": first_file(out / "logs", "task_*.log"),
        "completion": first_file(out / "logs", "completions/*"),
        "stats": first_file(out / "logs", "stats.json"),
        "work": first_file(out / "work"),
        "output shard": first_file(out / "output"),
        "removed shard": first_file(out / "removed"),
    }
    expected = {"symlink": "is a symlink", "hardlink": "is a hard link", "fifo": "not a regular file"}
    for what, path in targets.items():
        for kind, why in expected.items():
            held = plant(path, victim, kind)
            assert main(["run", str(recipe), "--no-progress"]) == 2, (what, kind)
            err = capsys.readouterr().err
            assert err.count("\n") == 1 and str(path) in err and why in err, (what, kind, err)
            assert victim.read_text() == "precious", (what, kind)
            path.unlink()
            path.write_bytes(held)
    assert main(["run", str(recipe), "--no-progress"]) == 0  # nothing planted: the resume goes on


def test_a_hard_linked_shard_of_an_unfinished_task_keeps_the_users_bytes(finished, tmp_path, capsys):
    recipe, out = finished
    for completion in (out / "logs").rglob("completions/*"):  # every task reruns and rewrites its shard
        completion.unlink()
    users = tmp_path / "users.jsonl.gz"
    users.write_bytes(b"the user's own bytes")
    shard = first_file(out / "output")
    shard.unlink()
    os.link(users, shard)
    assert main(["run", str(recipe), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"{shard}: is a hard link" in err and err.count("\n") == 1
    assert users.read_bytes() == b"the user's own bytes"


def test_a_hard_linked_run_lock_or_linked_logs_folder_is_refused_by_name(finished, tmp_path, capsys):
    recipe, out = finished
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (out / "run.lock").unlink()
    os.link(victim, out / "run.lock")
    assert main(["run", str(recipe), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "run.lock" in err and "hard link" in err and err.count("\n") == 1
    (out / "run.lock").unlink()
    elsewhere = tmp_path / "elsewhere"
    shutil.move(out / "logs", elsewhere)
    (out / "logs").symlink_to(elsewhere, target_is_directory=True)
    before = sorted(p.relative_to(elsewhere) for p in elsewhere.rglob("*"))
    assert main(["run", str(recipe), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"{out / 'logs'}: is a symlink" in err and err.count("\n") == 1
    assert sorted(p.relative_to(elsewhere) for p in elsewhere.rglob("*")) == before
    assert victim.read_text() == "precious"


@pytest.mark.parametrize("inputs", ['"abc"', '{"IN": 5}', '{"IN": null}', '{"IN": [1]}', '[[1, 2]]'])
def test_a_damaged_inputs_record_in_run_json_is_one_line_not_a_crash(finished, capsys, inputs):
    """run.json is read from disk: its `inputs` record (file -> [size, mtime]) with another shape is a
    change to report (exit 2, one line), never a TypeError from indexing it."""
    recipe, out = finished
    run_json = json.loads((out / "run.json").read_text())
    (name,) = run_json["inputs"]
    run_json["inputs"] = json.loads(inputs.replace("IN", name))
    (out / "run.json").write_text(json.dumps(run_json))
    capsys.readouterr()
    assert main(["run", str(recipe), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "the input changed since" in err and "Traceback" not in err
