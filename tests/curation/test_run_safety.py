"""Run-folder safety (issue 12.1, 12.5, 12.14, 14.7): `--force` never deletes a file no run wrote,
one run at a time per folder, a changed input is noticed, a run that cannot start writes nothing.

Run: `.venv/bin/python -m pytest tests/curation/test_run_safety.py`
"""

import json
import os
import shutil
import subprocess
import sys
import time

from curation.cli import main


def recipe(tmp_path, write_recipe, inp, out, **extra):
    return write_recipe(
        {
            "name": "t",
            "input": {"format": "jsonl", "path": str(inp)},
            "steps": [{"length_filter": {"min_chars": 1}}],
            "output": {"path": str(out)},
            **extra,
        }
    )


def small_input(tmp_path, n=20):
    inp = tmp_path / "in"
    inp.mkdir(exist_ok=True)
    (inp / "a.jsonl").write_text(
        "".join(json.dumps({"text": f"doc {i}", "id": str(i)}) + "\n" for i in range(n))
    )
    return inp


def test_force_deletes_only_what_runs_write(tmp_path, write_recipe):
    inp = small_input(tmp_path)
    out = tmp_path / "run"
    path = recipe(tmp_path, write_recipe, inp, out)
    assert main(["run", str(path), "--no-progress"]) == 0
    (out / "my_notes.txt").write_text("mine")  # added by the user after the run
    (out / "tokenizer").mkdir()
    (out / "tokenizer" / "vocab.json").write_text("{}")
    assert main(["run", str(path), "--no-progress", "--force"]) == 0
    assert (out / "my_notes.txt").read_text() == "mine" and (out / "tokenizer" / "vocab.json").exists()
    assert json.loads((out / "run.json").read_text())["produced"]  # what --force may delete is recorded


def test_force_never_touches_an_input_folder_or_a_foreign_folder(tmp_path, write_recipe, capsys):
    inp = small_input(tmp_path)
    (inp / "output").mkdir()
    (inp / "output" / "planted.txt").write_text("user file")  # named like what a run writes
    for out in (inp, tmp_path, tmp_path / "foreign"):
        (tmp_path / "foreign").mkdir(exist_ok=True)
        (tmp_path / "foreign" / "logs").write_text("user file")
        path = recipe(tmp_path, write_recipe, inp, out)
        for cmd in (["validate"], ["run", "--force", "--no-progress"], ["run", "--dry-run"]):
            assert main([cmd[0], str(path), *cmd[1:]]) == 2
            assert f"{path}:" in capsys.readouterr().err
    assert (inp / "output" / "planted.txt").read_text() == "user file"
    assert (tmp_path / "foreign" / "logs").read_text() == "user file"
    assert sorted(p.name for p in inp.iterdir()) == ["a.jsonl", "output"]


def test_second_run_exits_2_naming_the_holder(tmp_path, write_recipe, capsys):
    from runfolder import RunLock

    inp = small_input(tmp_path)
    out = tmp_path / "run"
    path = recipe(tmp_path, write_recipe, inp, out)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from runfolder import RunLock; "
            f"RunLock({str(out)!r}).acquire(); print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        assert main(["run", str(path), "--no-progress", "--force"]) == 2
        err = capsys.readouterr().err
        assert f"PID {holder.pid}" in err and "Traceback" not in err
        assert not (out / "run.json").exists()  # the refused run wrote nothing
    finally:
        holder.kill()
        holder.wait()
    # the holder died without releasing anything: its lock is stale and the next run takes it over
    assert json.loads((out / "run.lock").read_text())["pid"] == holder.pid
    assert main(["run", str(path), "--no-progress"]) == 0
    with RunLock(out):  # and released it when done
        pass


def test_changed_input_is_refused_without_force(tmp_path, write_recipe, capsys):
    inp = small_input(tmp_path)
    out = tmp_path / "run"
    path = recipe(tmp_path, write_recipe, inp, out)
    assert main(["run", str(path), "--no-progress"]) == 0
    assert main(["run", str(path), "--no-progress"]) == 0  # unchanged: resumes (nothing to do)
    time.sleep(0.01)
    small_input(tmp_path, n=25)  # the input grew
    assert main(["run", str(path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "input changed" in err and "a.jsonl" in err
    assert main(["run", str(path), "--no-progress", "--force"]) == 0
    assert json.loads((out / "summary.json").read_text())["output"]["docs"] == 25


def test_a_run_that_cannot_start_writes_nothing(tmp_path, write_recipe, capsys):
    out = tmp_path / "run"
    path = recipe(tmp_path, write_recipe, tmp_path / "typo.jsonl", out)
    assert main(["run", str(path), "--no-progress"]) == 2
    assert not out.exists()
    fixed = recipe(tmp_path, write_recipe, small_input(tmp_path), out)
    assert main(["run", str(fixed), "--no-progress"]) == 0  # no --force needed


def test_another_tools_run_json_does_not_make_a_run_folder(tmp_path, write_recipe, capsys):
    inp = small_input(tmp_path)
    out = tmp_path / "project"
    (out / "output").mkdir(parents=True)
    (out / "logs").mkdir()
    (out / "run.json").write_text(json.dumps({"model": "x", "epochs": 3}))  # another tool's
    (out / "output" / "model.bin").write_bytes(b"weights")
    (out / "logs" / "train.log").write_text("epoch 1")
    path = recipe(tmp_path, write_recipe, inp, out)
    for args in (["run", "--no-progress"], ["run", "--no-progress", "--force"], ["validate"]):
        assert main([args[0], str(path), *args[1:]]) == 2
        err = capsys.readouterr().err
        assert "not a rootstock run folder" in err and err.count("\n") == 1
    assert (out / "output" / "model.bin").read_bytes() == b"weights"
    assert (out / "logs" / "train.log").read_text() == "epoch 1"


def test_a_lock_alone_does_not_make_a_run_folder_but_is_no_obstacle(tmp_path, write_recipe, capsys):
    inp = small_input(tmp_path)
    out = tmp_path / "run"
    out.mkdir()
    (out / "run.lock").write_text("")  # a run stopped before it wrote run.json
    assert main(["run", str(recipe(tmp_path, write_recipe, inp, out)), "--no-progress"]) == 0
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "run.lock").write_text("")
    (tmp_path / "other" / "notes.txt").write_text("mine")
    assert (
        main(
            ["run", str(recipe(tmp_path, write_recipe, inp, tmp_path / "other")), "--no-progress", "--force"]
        )
        == 2
    )
    assert (tmp_path / "other" / "notes.txt").read_text() == "mine"


def test_a_resume_refuses_planted_folder_and_shard_links(tmp_path, write_recipe, capsys):
    inp = small_input(tmp_path)
    out = tmp_path / "run"
    path = recipe(tmp_path, write_recipe, inp, out)
    assert main(["run", str(path), "--no-progress"]) == 0
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim.txt"
    victim.write_text("keep me")
    shard = next((out / "output").rglob("*.jsonl.gz"))
    shard.unlink()
    shard.symlink_to(victim)  # a planted shard link
    assert main(["run", str(path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert shard.name in err and "symlink" in err and err.count("\n") == 1
    assert victim.read_text() == "keep me"
    shard.unlink()
    shutil.rmtree(out / "rejected", ignore_errors=True)
    (out / "rejected").symlink_to(outside, target_is_directory=True)  # a planted folder link
    assert main(["run", str(path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "rejected" in err and "symlink" in err and err.count("\n") == 1
    assert sorted(p.name for p in outside.iterdir()) == ["victim.txt"] and victim.read_text() == "keep me"
