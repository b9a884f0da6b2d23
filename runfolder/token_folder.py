"""The token-shard folder's contract (docs/CONTRACTS.md, `tokenized/`): which files rootstock wrote
(`manifest.json`), the validation-split rule and the training keys.

Why here: two packages write token shards, `curate tokenize` (training/shards.py) and `curate mix` with
`format: tokens` (curation/mix_tokens.py), and curation must not import training (DESIGN.md; the
import-graph test). What both must agree on, byte for byte, lives on the ground floor they both stand on:
the manifest (so re-tokenizing or re-mixing removes exactly the files rootstock listed, nothing else),
the split rule (a document is in validation when sha1("val" + id) / 2**64 < val_fraction) and the
64-bit keys of train_keys.npy (what `curate train`/`eval` check eval sets against). Standard library only.

A folder is ours only if its manifest (or, for folders written before the manifest, its index.json) says
so, and only the names it lists are removed. A folder that is not empty and holds neither is refused
(TokenFolderError), and a file is created with O_EXCL | O_NOFOLLOW, so a file or a symlink that is not
ours is never overwritten. The manifest is rewritten (atomically) before each file is created, so a
write cut short still lists everything it left behind; a file is written under a temporary name and
linked into place when whole, so a full disk leaves no truncated file under a listed shard's name.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from runfolder.atomic import UnsafePathError, atomic_write, atomic_write_json, open_new

MANIFEST = "manifest.json"
KIND = "token-shards"  # the identity key: {"rootstock": KIND, "files": [...]}
INDEX_FORMAT = 1  # index.json "format"
KEYS_FILE = "train_keys.npy"
SPLITS = ("train", "validation")


class TokenFolderError(ValueError):
    """A token-shard folder that cannot be (re)written: not a folder, or holding files rootstock did not write."""


def id_fraction(doc_id: str, salt: str = "") -> float:
    """A stable number in [0, 1) for a document id (sha1, first 8 bytes); `salt` makes independent
    draws for different purposes (validation split vs. eval hold-out)."""
    h = hashlib.sha1((salt + doc_id).encode("utf-8")).digest()
    return int.from_bytes(h[:8], "big") / 2**64


def split_of(doc_id: str, val_fraction: float) -> str:
    """validation when sha1("val" + id) / 2**64 < val_fraction: the same on every machine and variant."""
    return "validation" if id_fraction(doc_id, "val") < val_fraction else "train"


def key64(s: str) -> int:
    """First 8 bytes of sha1(s), as an unsigned 64-bit integer (collisions: ~n^2 / 2^65)."""
    return int.from_bytes(hashlib.sha1(s.encode("utf-8", errors="surrogatepass")).digest()[:8], "big")


def doc_keys(doc_id: str, text: str) -> tuple[int, int]:
    """One row of train_keys.npy: [key64(id), key64(text)]."""
    return key64(doc_id), key64(text)


def _plain_name(name) -> bool:
    return isinstance(name, str) and name not in ("", ".", "..") and "/" not in name and "\\" not in name


def listed_files(folder: Path) -> list[str] | None:
    """Names rootstock wrote in `folder` (manifest.json, else a legacy index.json); None if not ours."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        if (
            isinstance(manifest, dict)
            and manifest.get("rootstock") == KIND
            and isinstance(manifest.get("files"), list)
        ):
            return [n for n in manifest["files"] if _plain_name(n)] + [MANIFEST]
    except (OSError, ValueError, RecursionError):
        pass
    try:
        index = json.loads((folder / "index.json").read_text(encoding="utf-8"))
        splits = index["splits"] if isinstance(index, dict) and "tokenizer_sha1" in index else None
        names = ["index.json", "tokenizer"]
        for split in splits.values():
            for shard in split["shards"]:
                stem = str(shard["file"]).removesuffix(".npy")
                extra = [f"{stem}.{x}.npy" for x in ("mask", "offsets", "keys")] if "chat" in index else []
                names += [f"{stem}.npy", *extra]
        return [n for n in names if _plain_name(n)]
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None


def claim_folder(out: Path) -> None:
    """Make `out` ready for new token shards: create it, or remove what a previous writer listed.

    Raises:
        TokenFolderError: `out` is a file, or a non-empty folder rootstock did not write.
    """
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise TokenFolderError(f"{out}: not a folder (the token-shard output must be a folder of its own)")
    out.mkdir(parents=True, exist_ok=True)
    names = listed_files(out)
    if names is None:
        if any(out.iterdir()):
            raise TokenFolderError(
                f"{out} is not empty and holds no rootstock {MANIFEST} or index.json; "
                "nothing there is replaced: choose a new or empty folder for --out"
            )
        names = []
    for name in names:
        p = out / name
        if p.is_dir() and not p.is_symlink() and name == "tokenizer":
            shutil.rmtree(p)
        elif p.is_file() or p.is_symlink():
            p.unlink()
    write_manifest(out, [])


def save_pretrained_into(obj, folder: Path) -> Path:
    """`obj.save_pretrained(folder)` (a tokenizer's copy) without writing through a planted link.

    transformers opens each file with `open(path, "w")`, which follows a symlinked `folder` (or a symlink
    in it) and truncates a hard-linked file's other name. So the files are saved into a fresh temporary
    folder beside `folder` and renamed into place: a rename replaces the name, never the bytes behind it.

    Raises:
        TokenFolderError: `folder` is a symlink or not a folder.
    """
    folder = Path(folder)
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise TokenFolderError(
            f"{folder}: is a symlink or not a folder; refusing to write a tokenizer through it"
        )
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        try:
            obj.save_pretrained(str(tmp))
        except Exception as e:  # the Rust tokenizers library raises a bare Exception("... (os error 28)")
            if "(os error 28)" in str(e):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(folder)) from None
            raise
        folder.mkdir(exist_ok=True)
        for f in sorted(tmp.iterdir()):
            os.replace(f, folder / f.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def write_manifest(out: Path, files: list[str]) -> None:
    with naming(out / MANIFEST):
        atomic_write_json(out / MANIFEST, {"rootstock": KIND, "files": sorted(set(files))})


def write_index(out: Path, index: dict) -> None:
    """index.json, atomically and last (a full disk leaves the previous state, never a truncated index,
    and the error names the file)."""
    with naming(out / "index.json"):
        atomic_write(out / "index.json", json.dumps(index, indent=2) + "\n")


@contextmanager
def naming(path: Path) -> Iterator[None]:
    """An OSError raised inside names `path` when it names no file (a write on a full disk raises
    `[Errno 28] No space left on device` without saying which file)."""
    try:
        yield
    except OSError as e:
        if e.filename is None and e.errno is not None:
            raise OSError(e.errno, e.strerror, str(path)) from None
        raise


class PlainWriter:
    """A file as numpy sees a plain writer: `np.save(PlainWriter(f), arr)` then writes through `write`
    in chunks, so a full disk raises OSError(ENOSPC), which `create_file` names and the CLIs report in
    one line. Given the real file, numpy's `tofile` raises `OSError: 43385 requested and 26560
    written`, with no errno and no file name (a traceback from `curate mix` on a full disk)."""

    def __init__(self, f: IO[bytes]):
        self.write = f.write


def _refuse(out: Path, name: str) -> TokenFolderError:
    return TokenFolderError(f"{out / name} already exists and rootstock did not write it; not overwriting it")


@contextmanager
def create_file(out: Path, name: str, written: list[str]) -> Iterator[IO[bytes]]:
    """A new file `out/name`, written whole under a temporary name and then linked into place, so a file
    at a listed name is always complete: a full disk or a crash leaves at most the temporary file (listed
    too, so the next writer removes it). Never overwrites.

    Raises:
        TokenFolderError: a file or link of that name is already there (not ours: ours were removed).
        OSError: the write failed (a full disk: ENOSPC), naming the file; the temporary file is removed.
    """
    final, tmp = out / name, out / f"{name}.tmp"
    written += [name, tmp.name]
    write_manifest(out, written)  # listed before anything exists: a crash leaves nothing unlisted
    try:
        if os.path.lexists(final):
            raise FileExistsError(final)
        fd = open_new(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    except (FileExistsError, UnsafePathError):
        del written[-2:]
        write_manifest(out, written)
        raise _refuse(
            out, tmp.name if os.path.lexists(tmp) and not os.path.lexists(final) else name
        ) from None
    try:
        with naming(final), os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.link(tmp, final)  # unlike a rename, never replaces a file that appeared at `final` meanwhile
    finally:
        tmp.unlink(missing_ok=True)
    written.remove(tmp.name)
    write_manifest(out, written)


def open_scratch(out: Path, name: str, written: list[str]) -> IO[bytes]:
    """A listed scratch file `out/name` kept open while a writer streams into it (removed by the writer
    when done; a crash leaves it listed, so the next writer removes it). Never overwrites.

    Raises:
        TokenFolderError: a file or link of that name is already there.
    """
    written.append(name)
    write_manifest(out, written)
    try:
        return os.fdopen(open_new(out / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL), "wb")
    except (FileExistsError, UnsafePathError):
        written.remove(name)
        write_manifest(out, written)
        raise _refuse(out, name) from None
