"""One run at a time per run folder: `run.lock`, held with `flock` for as long as the run lasts.

Two `curate run` on the same folder left both failing with a broken ledger. The kernel drops an
`flock` when its process dies (kill -9 included), so a lock left by a dead run is simply free: the
next run takes it over; there is no PID guessing and no window in which two runs both think the
lock stale. The file also holds the holder's PID and host, so that the refusal can name them. It is
never deleted (a run that deleted it could race a run that had just opened it).
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Self

from runfolder.atomic import open_new


class RunFolderLocked(Exception):
    """Another live process holds the run folder's lock (`.pid`, `.host` name it)."""

    def __init__(self, path: Path, holder: dict):
        self.path, self.pid, self.host = path, holder.get("pid"), holder.get("host")
        who = f"PID {self.pid}" + (f" on {self.host}" if self.host and self.host != socket.gethostname() else "")
        super().__init__(f"{path.parent} is in use by another run ({who}, since {holder.get('since', '?')}); "
                         f"wait for it to finish or stop it; the lock ({path}) is freed when that process ends")


def _read_holder(path: Path) -> dict:
    try:
        with os.fdopen(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)) as f:
            holder = json.loads(f.read(4096) or "{}")
    except (OSError, ValueError):
        return {}
    return holder if isinstance(holder, dict) else {}


class RunLock:
    """`with RunLock(folder): ...` or `acquire()` / `release()`; creates the folder if needed."""

    def __init__(self, folder: str | Path):
        self.path = Path(folder) / "run.lock"
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = open_new(self.path, os.O_RDWR | os.O_CREAT)  # a planted `run.lock -> victim` is refused
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RunFolderLocked(self.path, _read_holder(self.path)) from None
        holder = {"pid": os.getpid(), "host": socket.gethostname(),
                  "since": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            import fcntl

            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> Self:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
