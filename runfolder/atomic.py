"""The one atomic-write helper: write to a temporary file beside the target, fsync, then rename; and
`open_new`, the way every file the toolkit creates is opened (never through a planted symlink).

A crash never leaves a half-written file that looks complete (a stage marker, summary.json, a barrier
op's hashes or signatures). The temporary name carries the process id, so two processes writing the
same target (two tasks of a resumed stage) never share a temporary file; the last rename wins.

Why no symlinks: a run folder may be shared or copied from elsewhere; a `run.lock -> ~/victim.txt` or a
`summary.json.tmp123 -> ~/.bashrc` planted there would otherwise be truncated and overwritten through
the link. Files are opened with `O_NOFOLLOW` (and temporary files with `O_EXCL`), so a link in their
place is refused by name (`UnsafePathError`) and its target is never touched; an existing file with
more than one hard link is refused the same way (its bytes are another name's too).
"""

from __future__ import annotations

import errno
import json
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


class UnsafePathError(OSError):
    """A file the toolkit was about to create or write is a symlink (or not a regular file)."""


def _refuse(path: Path) -> UnsafePathError:
    try:
        st = os.lstat(path)
        what = "a symlink" if stat.S_ISLNK(st.st_mode) else "not a regular file"
    except OSError:
        what = "not a regular file"
    return UnsafePathError(f"{path}: refusing to write through it: it is {what}")


def open_new(path: str | Path, flags: int = os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode: int = 0o644) -> int:
    """`os.open` of a file the toolkit writes, without following a symlink at `path`; returns the fd.

    Raises:
        UnsafePathError: `path` is a symlink, a FIFO, a device or a folder, or a file with more than
            one hard link (a `run.lock` linked to a user's file would be truncated).
    """
    path = Path(path)
    try:
        # O_TRUNC only after the checks: opening with it would empty a hard link's shared bytes first
        fd = os.open(
            path, flags & ~os.O_TRUNC | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0), mode
        )
    except OSError as e:
        if e.errno in (errno.ELOOP, errno.EISDIR, errno.ENXIO, errno.EMLINK) or os.path.islink(path):
            raise _refuse(path) from None
        raise
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise _refuse(path)
    if st.st_nlink > 1:  # a hard link: writing would change the other name's bytes too, wherever it is
        os.close(fd)
        raise UnsafePathError(
            f"{path}: refusing to write through it: it is a hard link ({st.st_nlink} names)"
        )
    if flags & os.O_TRUNC:
        os.ftruncate(fd, 0)
    os.set_blocking(fd, True)
    return fd


def open_new_file(path: str | Path, mode: str = "wb") -> IO:
    """`open(path, mode)` for a file the toolkit creates ("wb", "ab", "w", "a"), refusing a symlink."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if "a" in mode else os.O_TRUNC)
    return os.fdopen(open_new(path, flags), mode)


@contextmanager
def atomic_open(path: str | Path) -> Iterator[IO[bytes]]:
    """A binary file that appears at `path` only when the block ends without an exception.

    For writers that want a file object (`np.savez(f, ...)`, `pq.write_table(t, f)`); parent folders
    are created. A symlink at `path` (or at the temporary name) is refused, never written through.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink():
        raise _refuse(path)
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    if os.path.lexists(tmp) and not tmp.is_symlink() and tmp.is_file():
        tmp.unlink()  # left by a crashed process that had our PID
    fd = open_new(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    created = True
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        created = False
    finally:
        if created and os.path.lexists(tmp):
            tmp.unlink()


def atomic_write(path: str | Path, data: bytes | str) -> Path:
    """Write `data` (str: as UTF-8) to `path` atomically; returns the path."""
    with atomic_open(path) as f:
        f.write(data.encode("utf-8") if isinstance(data, str) else data)
    return Path(path)


def atomic_write_json(path: str | Path, obj, indent: int | None = 2) -> Path:
    """`obj` as JSON (UTF-8, non-ASCII kept as is), atomically."""
    return atomic_write(path, json.dumps(obj, indent=indent, ensure_ascii=False))
