"""Files the toolkit creates are never written through a planted symlink: run.lock, atomic_open's
temporary file and target, the rejected/ writer. The link is refused by name and its target kept. A
hard link (a second name for a file that may live anywhere) is refused the same way.

Run: `.venv/bin/python -m pytest tests/runfolder/test_no_symlinks.py`
"""

import os
from types import SimpleNamespace

import pytest

from curation.formats.rejects import write_rejected
from runfolder import RunLock, UnsafePathError, atomic_write


@pytest.fixture
def victim(tmp_path):
    v = tmp_path / "victim.txt"
    v.write_text("precious")
    return v


def test_run_lock_symlink_is_refused_by_name(tmp_path, victim):
    (tmp_path / "run").mkdir()
    os.symlink(victim, tmp_path / "run" / "run.lock")
    with pytest.raises(UnsafePathError, match="run.lock.*symlink"):
        RunLock(tmp_path / "run").acquire()
    assert victim.read_text() == "precious"


def test_atomic_write_refuses_a_planted_temporary_file_and_target(tmp_path, victim):
    os.symlink(victim, tmp_path / f"summary.json.tmp{os.getpid()}")
    with pytest.raises(UnsafePathError, match=r"summary.json.tmp\d+"):
        atomic_write(tmp_path / "summary.json", "{}")
    os.symlink(victim, tmp_path / "run.json")
    with pytest.raises(UnsafePathError, match="run.json"):
        atomic_write(tmp_path / "run.json", "{}")
    assert victim.read_text() == "precious"
    assert not (tmp_path / "summary.json").exists()


def test_atomic_write_still_replaces_a_regular_file_and_a_stale_temporary(tmp_path):
    (tmp_path / f"a.json.tmp{os.getpid()}").write_text("left by a crash")
    (tmp_path / "a.json").write_text("old")
    atomic_write(tmp_path / "a.json", "new")
    assert (tmp_path / "a.json").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]


def test_rejected_writer_refuses_a_symlink(tmp_path, victim):
    (tmp_path / "rejected").mkdir()
    os.symlink(victim, tmp_path / "rejected" / "00000.jsonl")
    step = SimpleNamespace(rejected_dir=str(tmp_path / "rejected"), rejected_name="{rank:05d}.jsonl",
                           _rejected_fh=None, _rank=0)
    with pytest.raises(UnsafePathError, match="00000.jsonl"):
        write_rejected(step, {"source": "a", "line": 1, "error": "bad", "raw": "x"})
    assert victim.read_text() == "precious"


def test_a_hard_linked_run_lock_or_rejected_file_is_refused_and_its_other_name_kept(tmp_path, victim):
    (tmp_path / "run" / "rejected").mkdir(parents=True)
    os.link(victim, tmp_path / "run" / "run.lock")
    with pytest.raises(UnsafePathError, match="run.lock.*hard link"):
        RunLock(tmp_path / "run").acquire()
    os.link(victim, tmp_path / "run" / "rejected" / "00000.jsonl")
    step = SimpleNamespace(rejected_dir=str(tmp_path / "run" / "rejected"), rejected_name="{rank:05d}.jsonl",
                           _rejected_fh=None, _rank=0)  # fmt: skip
    with pytest.raises(UnsafePathError, match="00000.jsonl.*hard link"):
        write_rejected(step, {"source": "a", "line": 1, "error": "bad", "raw": "x"})
    assert victim.read_text() == "precious"
