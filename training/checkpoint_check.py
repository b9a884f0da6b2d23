"""Checking checkpoint files before torch or safetensors reads them.

Why: a truncated `optimizer.pt` or `model.safetensors` (a copy cut short, a full disk) reached the
library and came back as a library traceback (`PytorchStreamReader failed reading zip archive`,
`SafetensorError`) that did not say which file, or what to do. Both formats can be checked cheaply and
without loading anything: a torch checkpoint is a zip archive (`PK\\x03\\x04`, a readable central
directory and entries whose CRCs match), a safetensors file is an 8-byte header length, a JSON header,
then exactly the bytes its tensors' offsets claim.
"""

from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path

from training.errors import ConfigError

_ZIP_MAGIC = b"PK\x03\x04"
_SAFETENSORS_HEADER_MAX = 100 << 20  # the safetensors library's own bound on the JSON header


def check_torch_zip(path: Path) -> None:
    """ConfigError naming `path` unless it is a complete torch zip checkpoint (the only kind we write)."""
    try:
        with open(path, "rb") as f:
            head = f.read(4)
        if head != _ZIP_MAGIC:
            raise ValueError("not a torch zip checkpoint (no PK\\x03\\x04 magic; legacy pickles are refused)")
        with zipfile.ZipFile(path) as z:
            bad = z.testzip()
        if bad is not None:
            raise ValueError(f"entry {bad} is corrupt")
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise ConfigError(
            f"{path}: unusable checkpoint file ({e}; truncated or corrupt: delete it to start over)"
        ) from None


def check_safetensors(path: Path) -> None:
    """ConfigError naming `path` unless its size is exactly what its own header describes."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            raw = f.read(8)
            if len(raw) < 8:
                raise ValueError(f"{size} bytes, shorter than a safetensors header")
            (n,) = struct.unpack("<Q", raw)
            if n > min(_SAFETENSORS_HEADER_MAX, size - 8):
                raise ValueError(f"header length {n:,} does not fit in {size:,} bytes")
            header = json.loads(f.read(n))
        ends = [t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"]
        expected = 8 + n + max(ends, default=0)
        if expected != size:
            raise ValueError(f"{size:,} bytes, its header says {expected:,}")
    except (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError) as e:
        raise ConfigError(f"{path}: unusable safetensors file ({e}; truncated or corrupt)") from None
