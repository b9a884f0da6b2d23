"""A throwaway folder for one fuzz example, and the check that nothing was written outside its run
folder: every file under the sandbox but `run/` is the same before and after (path, size, mtime), and
the current directory gained nothing."""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path


def snapshot(root: Path, skip: Path | None = None) -> dict[str, tuple[int, int]]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if skip is not None and Path(dirpath) == skip.parent:
            dirnames[:] = [d for d in dirnames if Path(dirpath, d) != skip]
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            st = os.lstat(os.path.join(dirpath, name))
            out[os.path.relpath(os.path.join(dirpath, name), root)] = (st.st_size, st.st_mtime_ns)
    return out


@contextmanager
def sandbox():
    """Yields (input folder, run folder); asserts on exit that only the run folder changed."""
    root = Path(tempfile.mkdtemp(prefix="fuzz-"))
    inp, run = root / "input", root / "run"
    inp.mkdir()
    cwd_before = set(os.listdir("."))
    holder: dict = {}
    try:
        yield inp, run, holder
        after = snapshot(root, skip=run)
        assert after == holder.get("before", after), "something outside the run folder changed"
        assert set(os.listdir(".")) == cwd_before, "the current directory changed"
    finally:
        shutil.rmtree(root, ignore_errors=True)


def freeze(root_input: Path, holder: dict) -> None:
    """Record the sandbox (input written, nothing run yet) for the check on exit."""
    holder["before"] = snapshot(root_input.parent, skip=root_input.parent / "run")
