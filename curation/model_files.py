"""Checking a fastText model file before the pipeline trusts it (language_id; the quality classifier's
header check lives here too).

Why: fastText's loader does not validate. A truncated `lid.176.ftz` (quantized) spun at full CPU and
ended in `std::bad_alloc` (`curate validate` hung); half of a `.bin` loaded silently and labelled every
document `cc` with score 0.50. So a `.bin` is measured against the size its own header implies, and a
quantized model (whose layout fastText checks only by crashing) is loaded once in a child process with
a time and memory limit; then its labels must be there and be `__label__` labels. fastText itself is not
changed; a model that passes is loaded in-process as before.
"""

from __future__ import annotations

import functools
import hashlib
import json
import mmap
import struct
import subprocess
import sys
from pathlib import Path

_FASTTEXT_MAGIC = 793712314  # fastText's FASTTEXT_FILEFORMAT_MAGIC_INT32
LOAD_SECONDS = 60  # lid.176.bin (126 MB) loads in ~1 s; a truncated .ftz spins forever
LOAD_BYTES = 8 << 30  # address space of the child: a model that needs more is refused
SHIPPED = {
    "86d1b630ba55a5040231eda9fe24a7befdc411f2"
}  # sha1 of curation/resources/lid.176.ftz (938,013 bytes)


def fasttext_size(path: Path) -> int | None:
    """The size a complete fastText `.bin` must have, from its own header; None for quantized models.

    Layout (fastText 0.9 `saveModel`): magic and version (int32), 12 int32 args + double, dictionary
    (size, nwords, nlabels: int32; ntokens, pruneidx_size: int64; per entry: NUL-terminated word, int64
    count, int8 type; pruneidx pairs of int32), then a quant flag (bool) and a dense matrix (int64 rows,
    int64 cols, float32 data), twice.
    """
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        if len(data) < 8 or struct.unpack_from("<i", data, 0)[0] != _FASTTEXT_MAGIC:
            raise ValueError("not a fastText model (wrong magic number)")
        off = 8 + 12 * 4 + 8
        size, _nwords, _nlabels, _ntokens, prune = struct.unpack_from("<iiiqq", data, off)
        off += 28
        for _ in range(size):
            end = data.find(b"\0", off)
            if end < 0:
                raise struct.error("dictionary cut short")
            off = end + 1 + 8 + 1
        off += max(prune, 0) * 8
        for _ in range(2):  # input matrix, output matrix
            if data[off]:  # quantized: another layout (lid.176.ftz)
                return None
            rows, cols = struct.unpack_from("<qq", data, off + 1)
            off += 1 + 16 + rows * cols * 4
        return off


def _load_in_child(code: str, path: str, library: str) -> str:
    """Run `code` (which loads `path`, given as argv[1]) in a child process with bounded memory and time;
    its last stdout line. Why a child: a corrupt model can spin, abort or exhaust memory inside the C++
    library, which no exception handler in this process would survive."""
    limit = f"import resource; resource.setrlimit(resource.RLIMIT_AS, ({LOAD_BYTES}, {LOAD_BYTES})); "
    try:
        proc = subprocess.run(
            [sys.executable, "-c", limit + code, path],
            capture_output=True,
            text=True,
            timeout=LOAD_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ValueError(f"{library} did not finish loading it in {LOAD_SECONDS} s (truncated or corrupt)") from None
    if proc.returncode != 0:
        why = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
        raise ValueError(f"{library} could not load it ({why[:200]}; truncated or corrupt)")
    return (proc.stdout.strip().splitlines() or [""])[-1]


def _labels_in_child(path: str) -> list[str]:
    code = "import fasttext, json, sys; print(json.dumps(fasttext.load_model(sys.argv[1]).get_labels()))"
    return json.loads(_load_in_child(code, path, "fastText"))


@functools.lru_cache(maxsize=16)
def _checked(path: str, size: int, mtime: float) -> tuple[str, ...]:
    p = Path(path)
    try:
        expected = fasttext_size(p)
    except (struct.error, IndexError, ValueError, OSError) as e:
        raise ValueError(f"unreadable header ({e})") from None
    if expected is not None and expected != size:
        raise ValueError(f"{size:,} bytes, its header says {expected:,} (truncated or not a fastText .bin)")
    if expected is None and hashlib.sha1(p.read_bytes()).hexdigest() not in SHIPPED:
        labels = _labels_in_child(path)
    else:
        import fasttext

        labels = fasttext.load_model(path).get_labels()
    if len(labels) < 2 or not all(
        isinstance(x, str) and x.startswith("__label__") and len(x) > 9 for x in labels
    ):
        raise ValueError(f"its labels are not fastText classifier labels ({labels[:5]})")
    return tuple(labels)


def fasttext_labels(path: str | Path) -> list[str]:
    """The `__label__...` labels of a complete, loadable fastText model; ValueError (with the reason)
    for a missing, truncated, corrupt or label-less file."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"model file not found: {path}" if not p.exists() else f"not a regular file: {path}")
    st = p.stat()
    try:
        return list(_checked(str(p.resolve()), st.st_size, st.st_mtime))
    except ValueError as e:
        raise ValueError(f"cannot use {path} as a fastText model: {e}") from None


_KENLM_BINARY = b"mmap lm http://kheafield.com/code format version"
_ARPA_TAIL = 4096  # an ARPA file ends with `\end\` (and at most some blank lines)
KENLM_LOAD_MAX = 64 << 20  # models up to this size are also loaded (in a child) at validation


def check_kenlm(path: str | Path) -> None:
    """ValueError (naming the file) unless `path` is a whole KenLM model (small ones loaded in a child).

    An ARPA text file must start with `\\data\\`, list its `ngram N=count` lines and end with `\\end\\` (a
    cut-short copy has no end); a binary model must start with KenLM's magic line. Anything else is
    refused before KenLM parses or mmaps it. A model of at most KENLM_LOAD_MAX bytes is then loaded by
    KenLM in a child process, so a file whose frame is right but whose body is not (a hand-edited ARPA)
    fails here and not as a worker traceback mid-run. Real ROOTS models are GBs: those are checked by
    their frame only (loading one would cost what the run's own load costs).
    """
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"KenLM model not found: {path}" if not p.exists() else f"not a regular file: {path}")
    size = p.stat().st_size
    with open(p, "rb") as f:
        head = f.read(256)
        f.seek(max(0, size - _ARPA_TAIL))
        tail = f.read()
    if not head.startswith(_KENLM_BINARY):
        _check_arpa_frame(path, head, tail)
    if size <= KENLM_LOAD_MAX:
        code = "import sys\ntry:\n import kenlm\nexcept ImportError:\n sys.exit(0)\nkenlm.Model(sys.argv[1])"
        try:
            _load_in_child(code, str(p), "KenLM")
        except ValueError as e:
            raise ValueError(f"cannot use {path} as a KenLM model: {e}") from None


def _check_arpa_frame(path, head: bytes, tail: bytes) -> None:
    lines = head.lstrip().splitlines()
    if not lines or lines[0].strip() != b"\\data\\":
        raise ValueError(
            f"cannot use {path} as a KenLM model: neither an ARPA file (\\data\\ header) "
            "nor a KenLM binary (magic line)"
        )
    if not any(line.startswith(b"ngram ") for line in lines[1:3]):
        raise ValueError(f"cannot use {path} as a KenLM model: its ARPA header has no `ngram N=count` line")
    if not tail.rstrip().endswith(b"\\end\\"):
        raise ValueError(
            f"cannot use {path} as a KenLM model: the ARPA file does not end with \\end\\ (truncated)"
        )


def check_sentencepiece(path: str | Path) -> None:
    """ValueError (naming the file) unless sentencepiece parses `path` into a model with pieces."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(
            f"sentencepiece model not found: {path}" if not p.exists() else f"not a regular file: {path}"
        )
    if p.stat().st_size == 0:
        raise ValueError(f"cannot use {path} as a sentencepiece model: the file is empty")
    import sentencepiece

    try:
        pieces = sentencepiece.SentencePieceProcessor(model_file=str(p)).get_piece_size()
    except Exception as e:  # noqa: BLE001 - sentencepiece: OSError/RuntimeError for a bad protobuf
        why = (str(e).strip().splitlines() or [type(e).__name__])[-1][:200]
        raise ValueError(
            f"cannot use {path} as a sentencepiece model: {why} (truncated or not a model)"
        ) from None
    if pieces < 1:
        raise ValueError(f"cannot use {path} as a sentencepiece model: it has no pieces")
