"""The one atomic-write helper: write to a temporary file beside the target, fsync, then rename.

A crash never leaves a half-written file that looks complete (a stage marker, summary.json, a barrier
op's hashes or signatures). The temporary name carries the process id, so two processes writing the
same target (two tasks of a resumed stage) never share a temporary file; the last rename wins.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


@contextmanager
def atomic_open(path: str | Path) -> Iterator[IO[bytes]]:
    """A binary file that appears at `path` only when the block ends without an exception.

    For writers that want a file object (`np.savez(f, ...)`, `pq.write_table(t, f)`); parent folders
    are created.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write(path: str | Path, data: bytes | str) -> Path:
    """Write `data` (str: as UTF-8) to `path` atomically; returns the path."""
    with atomic_open(path) as f:
        f.write(data.encode("utf-8") if isinstance(data, str) else data)
    return Path(path)


def atomic_write_json(path: str | Path, obj, indent: int | None = 2) -> Path:
    """`obj` as JSON (UTF-8, non-ASCII kept as is), atomically."""
    return atomic_write(path, json.dumps(obj, indent=indent, ensure_ascii=False))
