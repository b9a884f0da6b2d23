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
import math
import stat
import struct
import zipfile
from pathlib import Path

from training.errors import ConfigError

_ZIP_MAGIC = b"PK\x03\x04"
_SAFETENSORS_HEADER_MAX = 100 << 20  # the safetensors library's own bound on the JSON header
_DTYPE_BYTES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "I16": 2, "U16": 2, "F16": 2,
                "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}  # fmt: skip


def _regular(path: Path) -> None:
    """A FIFO would block `open` forever, a folder or a device is no checkpoint: refuse before opening."""
    mode = path.stat().st_mode
    if not stat.S_ISREG(mode):
        raise ValueError("not a regular file (a FIFO, folder or device)")


def _tensor_end(name: str, t: dict) -> int:
    """The end offset of one tensor, after checking that its dtype, shape and offsets agree (what the
    safetensors library checks too, but reports without the file's name)."""
    (begin, end), shape = t["data_offsets"], t["shape"]
    if t["dtype"] not in _DTYPE_BYTES or not all(isinstance(d, int) and d >= 0 for d in [begin, end, *shape]):
        raise ValueError(f"tensor {name}: unknown dtype or a bad shape or offset")
    if end - begin != math.prod(shape) * _DTYPE_BYTES[t["dtype"]]:
        raise ValueError(
            f"tensor {name}: its offsets span {end - begin:,} bytes; its shape and dtype need another size"
        )
    return end


def check_torch_zip(path: Path) -> None:
    """ConfigError naming `path` unless it is a complete torch zip checkpoint (the only kind we write)."""
    try:
        _regular(path)
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


def check_safetensors(path: Path) -> dict:
    """ConfigError naming `path` unless its size is exactly what its own header describes; its header."""
    try:
        _regular(path)
        size = path.stat().st_size
        with open(path, "rb") as f:
            raw = f.read(8)
            if len(raw) < 8:
                raise ValueError(f"{size} bytes, shorter than a safetensors header")
            (n,) = struct.unpack("<Q", raw)
            if n > min(_SAFETENSORS_HEADER_MAX, size - 8):
                raise ValueError(f"header length {n:,} does not fit in {size:,} bytes")
            header = json.loads(f.read(n))
        meta = header.get("__metadata__", {})
        if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
            raise ValueError("__metadata__ is not a map of strings")
        ends = [_tensor_end(k, t) for k, t in header.items() if k != "__metadata__"]
        expected = 8 + n + max(ends, default=0)
        if expected != size:
            raise ValueError(f"{size:,} bytes, its header says {expected:,}")
    except (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError) as e:
        raise ConfigError(f"{path}: unusable safetensors file ({e}; truncated or corrupt)") from None
    return header


# the JSON files a checkpoint folder may hold, read by transformers or by us when it is loaded
_JSON_FILES = ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
               "special_tokens_map.json", "train_state.json", "train_config.json")  # fmt: skip


def check_checkpoint_folder(ckpt: Path) -> None:
    """ConfigError naming the file unless each JSON file of `ckpt` that is there is a regular file (a
    FIFO config.json hung `curate eval` in transformers' open; a FIFO tokenizer.json ended in a 5-line
    'install sentencepiece' error), config.json is a JSON object, and its vocab_size and hidden_size
    are the embedding's shape in model.safetensors (else a 10-line transformers size-mismatch report)."""
    for name in _JSON_FILES:
        path = ckpt / name
        try:
            if not path.is_symlink() and not path.exists():
                continue
            _regular(path)
            if name == "config.json":
                config = json.loads(path.read_text(encoding="utf-8"))
                if not isinstance(config, dict):
                    raise ValueError("not a JSON object")
        except (OSError, ValueError, RecursionError) as e:
            raise ConfigError(f"{path}: unusable checkpoint file ({e})") from None
    weights = ckpt / "model.safetensors"
    if (ckpt / "config.json").exists() and weights.exists():
        shape = check_safetensors(weights).get("model.embed_tokens.weight", {}).get("shape")
        want = [config.get("vocab_size"), config.get("hidden_size")]
        if shape is not None and shape != want:
            raise ConfigError(
                f"{ckpt / 'config.json'}: vocab_size, hidden_size {want} do not match the embedding "
                f"{shape} in model.safetensors"
            )
