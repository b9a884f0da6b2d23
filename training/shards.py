"""Token shards: a run folder's documents -> `tokenized/{train,validation}_NNNNN.npy` + `index.json`.

Each document becomes `<|endoftext|> tok tok ...` (the separator comes first, as BOS, so the first
token of a document is predicted from a clean context) and documents are concatenated into flat
uint16 arrays (uint32 when the vocabulary exceeds 65,536). A document goes to validation when
sha1("val" + id) falls below `val_fraction`, so the split does not depend on shard order or on which
other documents survived curation. datatrove's own tokenizer steps are not used: they load tokenizers
by hub name and write their own shard format; this reads the run-folder contract only.

index.json:
    {"format": 1, "tokenizer": "tokenizer" (a copy in tokenized/tokenizer/), "tokenizer_sha1": ..., "vocab_size", "eot_id", "dtype",
     "val_fraction", "split": "sha1('val'+id) < val_fraction",
     "splits": {"train": {"docs", "tokens", "bytes", "shards": [{"file", "tokens"}]}, "validation": {...}},
     "excluded": {"docs": n, "reason": "eval hold-out"},
     "train_keys": "train_keys.npy" (id and text keys of the train split: training/overlap.py)}
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from runfolder.token_folder import doc_keys, split_of  # the contract, shared with curate mix
from training.data import read_run, text_key
from training.errors import ConfigError
from training.overlap import save_keys
from training.shard_manifest import claim_folder, naming, save_array, write_index, write_manifest
from training.tokenizer import encode_docs, load_tokenizer, save_copy, tokenizer_file, tokenizer_hash

FORMAT = 1
SPLITS = ("train", "validation")


def shard_folder(run_dir: Path, out_dir: str | Path | None, val_fraction: float) -> Path:
    """The output folder of a tokenization (default `run_dir/tokenized`), created, the files an earlier
    tokenization listed in its manifest removed (training/shard_manifest.py); foreign files stay."""
    if not 0.0 <= val_fraction < 1.0:
        raise ConfigError(f"val_fraction must be in [0, 1), got {val_fraction}")
    out = Path(out_dir) if out_dir else run_dir / "tokenized"
    claim_folder(out)  # only what a previous tokenization listed in its manifest is removed
    return out


def token_dtype(vocab: int):
    """uint16 while every id fits (half the disk and memory), else uint32."""
    return np.uint16 if vocab <= 2**16 else np.uint32


class ShardWriter:
    """Buffers the rows of one split and writes a shard every `shard_tokens` tokens.

    This class owns the buffer, the counters, the rollover and the shard names (`<split>_00000`); what a
    row is and which files a shard holds is `_write`'s: plain token arrays here, chat examples with their
    masks and keys in training/instruct_shards.py."""

    def __init__(self, out_dir: Path, split: str, dtype, shard_tokens: int):
        self.out_dir, self.split, self.dtype, self.shard_tokens = out_dir, split, dtype, shard_tokens
        self.rows: list = []
        self.buffered = 0
        self.shards: list[dict] = []
        self.docs = self.tokens = self.bytes = 0
        self.written: list[str] = []  # shared by the writers of one folder: the manifest's list

    def save(self, name: str, arr) -> None:
        """`np.save` into a new file of the folder (listed in manifest.json; whole or absent; never
        overwrites)."""
        save_array(self.out_dir, name, arr, self.written)

    def add(self, ids: list[int], eot_id: int, nbytes: int) -> None:
        arr = np.empty(len(ids) + 1, dtype=self.dtype)
        arr[0] = eot_id
        arr[1:] = ids
        self._append(arr, len(arr), nbytes)

    def _append(self, row, n_tokens: int, nbytes: int) -> None:
        self.rows.append(row)
        self.buffered += n_tokens
        self.docs += 1
        self.tokens += n_tokens
        self.bytes += nbytes
        if self.buffered >= self.shard_tokens:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        self.shards.append(self._write(f"{self.split}_{len(self.shards):05d}"))
        self.rows, self.buffered = [], 0

    def _write(self, stem: str) -> dict:
        """Write the buffered rows as shard `stem`; returns its index entry."""
        data = np.concatenate(self.rows)
        self.save(f"{stem}.npy", data)
        return {"file": f"{stem}.npy", "tokens": len(data)}

    def summary(self) -> dict:
        return {"docs": self.docs, "tokens": self.tokens, "bytes": self.bytes, "shards": self.shards}


def _batches(docs: Iterator[dict], size: int) -> Iterator[list[dict]]:
    batch: list[dict] = []
    for d in docs:
        batch.append(d)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def tokenize_run(
    run_dir: str | Path,
    tokenizer: str | Path,
    out_dir: str | Path | None = None,
    val_fraction: float = 0.01,
    shard_tokens: int = 50_000_000,
    exclude_ids: set[str] | None = None,
    exclude_texts: set[str] | None = None,
    max_docs: int | None = None,
    exclude_fn=None,
) -> dict:
    """Tokenize every kept document of a run folder into train/validation shards.

    Args:
        run_dir: the run folder (reads `output/` only).
        tokenizer: tokenizer folder or tokenizer.json (training/tokenizer.py).
        out_dir: where shards and index.json go (default `run_dir/tokenized`); old shards are removed.
        val_fraction: share of documents (by id hash) in the validation split.
        shard_tokens: tokens per .npy shard (50M uint16 = 100 MB).
        exclude_ids: document ids never to train or validate on (an eval set's ids).
        exclude_texts: `text_key()` of texts to exclude (the same eval text under another id).
        max_docs: stop after this many documents (tests, quick looks).
        exclude_fn: `text -> bool`, True to exclude (an ablation's containment decontamination).

    Returns:
        The index (also written to `out_dir/index.json`).
    """
    run_dir = Path(run_dir)
    out = shard_folder(run_dir, out_dir, val_fraction)
    tok = load_tokenizer(tokenizer)
    eot_id = tok.eos_token_id
    vocab = len(tok)
    dtype = token_dtype(vocab)
    writers = {s: ShardWriter(out, s, dtype, shard_tokens) for s in SPLITS}
    written = writers["train"].written = writers["validation"].written = []
    excluded = 0
    train_keys: list[tuple[int, int]] = []  # what `curate train`/`eval` check eval sets against (overlap.py)
    t0 = time.time()
    docs = read_run(run_dir)
    seen = 0
    for batch in _batches(docs, 256):
        if max_docs is not None:
            batch = batch[: max(0, max_docs - seen)]
        seen += len(batch)
        keep = []
        for d in batch:
            if (
                (exclude_ids and d["id"] in exclude_ids)
                or (exclude_texts and text_key(d["text"]) in exclude_texts)
                or (exclude_fn and exclude_fn(d["text"]))
            ):
                excluded += 1
            else:
                keep.append(d)
        for d, ids in zip(keep, encode_docs(tok, [d["text"] for d in keep])):
            split = split_of(d["id"], val_fraction)
            writers[split].add(ids, eot_id, len(d["text"].encode("utf-8")))
            if split == "train":
                train_keys.append(doc_keys(d["id"], d["text"]))
        if max_docs is not None and seen >= max_docs:
            break
    for w in writers.values():
        w.flush()
    keys_file = save_keys(out, train_keys, written)  # a manifest-listed file like the shards
    write_manifest(out, [*written, "tokenizer", "index.json"])  # listed before they are written
    with naming(out / "tokenizer"):
        save_copy(tok, out / "tokenizer")  # a copy travels with the shards (another machine)
    index = {
        "format": FORMAT,
        "run": str(run_dir),
        "tokenizer": "tokenizer",
        "tokenizer_source": str(tokenizer_file(tokenizer).resolve()),
        "tokenizer_sha1": tokenizer_hash(tokenizer),
        "vocab_size": vocab,
        "eot_id": eot_id,
        "dtype": np.dtype(dtype).name,
        "val_fraction": val_fraction,
        "split": "validation when sha1('val' + id) / 2**64 < val_fraction",
        "splits": {s: w.summary() for s, w in writers.items()},
        "excluded": {"docs": excluded, "reason": "eval hold-out (id, exact text or contained eval text)"},
        "train_keys": keys_file,
        "seconds": round(time.time() - t0, 2),
    }
    if index["splits"]["train"]["tokens"] == 0:
        raise ConfigError(f"{run_dir}: no training tokens (empty output, or everything excluded)")
    write_index(out, index)
    return index


def load_index(path: str | Path) -> tuple[Path, dict]:
    """Find index.json for a tokenized folder or a run folder (`RUN/tokenized/`): (folder, index)."""
    path = Path(path)
    for folder in (path, path / "tokenized"):
        if (folder / "index.json").exists():
            file = folder / "index.json"
            try:
                index = json.loads(file.read_text(encoding="utf-8"))
            except (OSError, ValueError, RecursionError) as e:  # RecursionError: nested too deep to parse
                raise ConfigError(f"{file}: not readable as JSON ({type(e).__name__}: {e})") from None
            return folder, check_index(file, index)
    hint = f"; run `curate tokenize {path}` first" if (path / "output").is_dir() else ""
    raise ConfigError(f"no tokenized data at {path} (no index.json){hint}")


def check_index(file: Path, index) -> dict:
    """index.json as training reads it, checked first: it comes from disk (maybe another machine), and a
    damaged one raised TypeError from deep inside training, or a 40-line torch backtrace for a vocab_size
    of 10**30. Shard and key files must be plain names in the folder (never `../x` or `/abs/path`).

    Raises:
        ConfigError: `file: key: message`.
    """

    def bad(key: str, msg: str) -> ConfigError:
        return ConfigError(f"{file}: {key}: {msg}")

    def count(v) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**63

    if not isinstance(index, dict):
        raise bad("index", f"expected an object, got {type(index).__name__}")
    vocab, dtype = index.get("vocab_size"), index.get("dtype")
    if dtype not in ("uint16", "uint32"):
        raise bad("dtype", f"expected uint16 or uint32, got {str(dtype)[:40]!r}")
    if not count(vocab) or not 1 <= vocab <= np.iinfo(dtype).max + 1:
        raise bad("vocab_size", f"expected a size that fits {dtype}, got {str(vocab)[:40]}")
    if not count(index.get("eot_id")) or index["eot_id"] >= vocab:
        raise bad("eot_id", f"expected a token id below vocab_size {vocab}")
    if not isinstance(index.get("tokenizer"), str):
        raise bad("tokenizer", "expected a folder name")
    keys = index.get("train_keys")
    if keys is not None and not _plain(keys):
        raise bad("train_keys", "expected a file name in the folder")
    splits = index.get("splits")
    if not isinstance(splits, dict) or set(SPLITS) - set(splits):
        raise bad("splits", f"expected an object with {' and '.join(SPLITS)}")
    for name, split in splits.items():
        if not isinstance(split, dict) or not isinstance(split.get("shards"), list):
            raise bad(f"splits.{name}", "expected an object with a shards list")
        for k in ("docs", "tokens", "bytes"):
            if k in split and not count(split[k]):
                raise bad(f"splits.{name}.{k}", f"expected a count, got {str(split[k])[:40]}")
        for i, shard in enumerate(split["shards"]):
            if not isinstance(shard, dict) or not _plain(shard.get("file")):
                raise bad(f"splits.{name}.shards[{i}]", "expected an object whose file is a name in the folder")
    return index


def _plain(name) -> bool:
    return isinstance(name, str) and name not in ("", ".", "..") and "/" not in name and "\\" not in name


def index_tokenizer(folder: Path, index: dict) -> Path:
    """The tokenizer folder of a tokenized folder (relative to it; older indexes hold an absolute file path)."""
    p = folder / index["tokenizer"]
    return p if p.is_dir() else Path(index["tokenizer"]).parent


def load_split(folder: Path, index: dict, split: str) -> list[np.ndarray]:
    """Memory-mapped token arrays of one split (empty list when the split has no tokens)."""
    return [np.load(folder / s["file"], mmap_mode="r") for s in index["splits"][split]["shards"]]
