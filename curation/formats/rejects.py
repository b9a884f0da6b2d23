"""Writing one rejected record to `rejected/`: shared by the readers (formats/base.py) and the output
writers (formats/writers.py). Its own module, importing neither, so that they import no cycle.
"""

from __future__ import annotations

import os

import orjson

from runfolder.atomic import UnsafePathError, open_new_file

MAX_RAW_CHARS = 2000  # how much of an unreadable record is kept in rejected/ (enough to debug, bounded)


def write_rejected(step, record: dict) -> None:
    """Append `record` ({source, line, error, raw[, offset]}) to `<rejected_dir>/<rejected_name>` of `step`.

    The file is opened on the first rejection of the task and truncated then (a resumed task starts
    over). `raw` is cut to MAX_RAW_CHARS; whatever it holds is written (bytes as escaped text).
    """
    raw = record.get("raw")
    if isinstance(raw, (bytes, bytearray)):
        raw = bytes(raw[:MAX_RAW_CHARS]).decode("utf-8", errors="backslashreplace")
    elif raw is not None and not isinstance(raw, str):
        try:
            raw = orjson.dumps(raw, default=repr).decode()
        except (TypeError, orjson.JSONEncodeError):  # nested too deep to dump
            raw = repr(raw)[:MAX_RAW_CHARS]
    record = {**record, "raw": (raw or "")[:MAX_RAW_CHARS]}
    if record.get("offset") is None:
        record.pop("offset", None)
    if not step.rejected_dir:
        return
    if step._rejected_fh is None:
        try:
            os.makedirs(step.rejected_dir, exist_ok=True)
        except (FileExistsError, NotADirectoryError):  # a planted file or FIFO where a folder goes
            raise UnsafePathError(
                f"{step.rejected_dir}: is not a folder (or one above it is not); refusing to write rejected records"
            ) from None
        name = step.rejected_name.format(rank=step._rank)
        step._rejected_fh = open_new_file(
            os.path.join(step.rejected_dir, name), "wb"
        )  # never through a symlink
    step._rejected_fh.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
    step._rejected_fh.flush()
