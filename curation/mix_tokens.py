"""`curate mix` with `output.format: tokens`: the mixture as the training module's token shards.

The folder is `<mix>/tokenized/`, in the layout of docs/CONTRACTS.md (`tokenized/`) that `curate tokenize`
writes, so `curate train` reads it like a tokenized run (`data: <mix>`). curation does not import
training (DESIGN.md; tests/test_import_graph.py): the folder format is the contract, and what both
writers must agree on byte for byte (the manifest of our files, the validation-split rule, the keys of
train_keys.npy) lives in `runfolder/token_folder.py`. The tokenizer is a local transformers folder
(tokenizer.json + configs, as `curate tokenize` writes); nothing is fetched.

Memory is bounded by one shard per split (`max_shard_tokens` tokens or `max_shard_docs` documents); the
train keys are streamed to a scratch file and wrapped into train_keys.npy at the end. Each shard has a
`.docs.jsonl` beside it: one line per document, in shard order, with its mixture id, `mix.*` keys and
token count, so every token traces to its source document. The validation split is drawn by
sha1("val" + "<source>/<id>") so that every epoch of a document lands in the same split.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from curation.errors import UsageError
from runfolder.token_folder import (
    INDEX_FORMAT,
    KEYS_FILE,
    SPLITS,
    PlainWriter,
    TokenFolderError,
    claim_folder,
    create_file,
    doc_keys,
    open_scratch,
    save_pretrained_into,
    split_of,
    write_index,
    write_manifest,
)

EOT = "<|endoftext|>"
KEYS_SCRATCH = "train_keys.part"


def tokenizer_json(path: str | Path) -> Path:
    path = Path(path)
    return path / "tokenizer.json" if path.is_dir() else path


def load_tokenizer(path: str | Path):
    """A local transformers fast tokenizer (a folder `curate tokenize` wrote, or a bare tokenizer.json);
    UsageError when there is none or it has no end-of-text token."""
    from transformers import PreTrainedTokenizerFast

    path = Path(path)
    if path.is_dir() and (path / "tokenizer_config.json").exists():
        tok = PreTrainedTokenizerFast.from_pretrained(str(path), local_files_only=True)
    elif tokenizer_json(path).is_file():
        tok = PreTrainedTokenizerFast(
            tokenizer_file=str(tokenizer_json(path)), bos_token=EOT, eos_token=EOT, pad_token=EOT
        )
    else:
        raise UsageError(
            f"tokenizer {path}: no tokenizer.json there (give the folder `curate tokenize` wrote)"
        )
    if tok.eos_token_id is None:
        raise UsageError(f"tokenizer {path}: no end-of-text (eos) token to separate documents")
    return tok


def tokenizer_sha1(path: str | Path) -> str:
    """sha1 of tokenizer.json, first 16 hex digits (index.json `tokenizer_sha1`, as `curate tokenize`)."""
    return hashlib.sha1(tokenizer_json(path).read_bytes()).hexdigest()[:16]


class _Split:
    def __init__(self, name: str):
        self.name = name
        self.rows: list[np.ndarray] = []
        self.trace: list[str] = []
        self.buffered = 0
        self.shards: list[dict] = []
        self.docs = self.tokens = self.bytes = 0


class TokenShards:
    """Writes `tokenized/`: `{train,validation}_NNNNN.npy` (flat ids, each document = EOT + ids), their
    `.docs.jsonl`, train_keys.npy, index.json, manifest.json and a copy of the tokenizer."""

    def __init__(self, out: Path, tok, tokenizer: str, max_tokens: int, max_docs: int, val_fraction: float):
        try:
            claim_folder(out)
        except TokenFolderError as e:
            raise UsageError(str(e)) from None
        self.out, self.tok, self.tokenizer = out, tok, tokenizer
        self.max_tokens, self.max_docs, self.val_fraction = max_tokens, max_docs, val_fraction
        self.eot = tok.eos_token_id
        self.vocab = len(tok)
        self.dtype = np.uint16 if self.vocab <= 2**16 else np.uint32
        self.splits = {s: _Split(s) for s in SPLITS}
        self.written: list[str] = []
        self.n_keys = 0
        self._keys = open_scratch(out, KEYS_SCRATCH, self.written)

    def add(self, rec: dict, ids: list[int], split_key: str, source_id: str) -> None:
        """One output document (`rec`: its mixture id and metadata) as EOT + `ids`."""
        sp = self.splits[split_of(split_key, self.val_fraction)]
        row = np.empty(len(ids) + 1, dtype=self.dtype)
        row[0] = self.eot
        row[1:] = ids
        md = rec["metadata"]
        trace = {"id": rec["id"], **{k: md[k] for k in ("mix.source", "mix.run", "mix.id", "mix.epoch")}}
        sp.rows.append(row)
        sp.trace.append(json.dumps({**trace, "tokens": len(row)}, ensure_ascii=False) + "\n")
        sp.buffered += len(row)
        sp.docs += 1
        sp.tokens += len(row)
        sp.bytes += len(rec["text"].encode("utf-8"))
        if sp.name == "train":
            self._keys.write(np.asarray([doc_keys(source_id, rec["text"])], dtype="<u8").tobytes())
            self.n_keys += 1
        if sp.buffered >= self.max_tokens or len(sp.rows) >= self.max_docs:
            self._flush(sp)

    def _flush(self, sp: _Split) -> None:
        if not sp.rows:
            return
        stem = f"{sp.name}_{len(sp.shards):05d}"
        data = np.concatenate(sp.rows)
        with create_file(self.out, f"{stem}.npy", self.written) as f:
            np.save(PlainWriter(f), data)
        with create_file(self.out, f"{stem}.docs.jsonl", self.written) as f:
            f.write("".join(sp.trace).encode("utf-8"))
        sp.shards.append({"file": f"{stem}.npy", "tokens": len(data), "docs": f"{stem}.docs.jsonl"})
        sp.rows, sp.trace, sp.buffered = [], [], 0

    def _finish_keys(self) -> None:
        """train_keys.npy = an .npy header for (n, 2) uint64 + the streamed rows; the scratch file goes."""
        self._keys.close()
        scratch = self.out / KEYS_SCRATCH
        with create_file(self.out, KEYS_FILE, self.written) as f, open(scratch, "rb") as rows:
            header = {"descr": "<u8", "fortran_order": False, "shape": (self.n_keys, 2)}
            np.lib.format.write_array_header_1_0(f, header)
            while chunk := rows.read(1 << 20):
                f.write(chunk)
        os.unlink(scratch)
        self.written.remove(KEYS_SCRATCH)

    def finish(self, mix_folder: Path) -> dict:
        """Flush every split, write the keys, the tokenizer copy and index.json; returns the index."""
        for sp in self.splits.values():
            self._flush(sp)
        self._finish_keys()
        write_manifest(self.out, [*self.written, "tokenizer", "index.json"])  # listed before written
        try:
            save_pretrained_into(self.tok, self.out / "tokenizer")
        except TokenFolderError as e:
            raise UsageError(str(e)) from None
        index = {
            "format": INDEX_FORMAT,
            "run": str(mix_folder),
            "mixture": "../mixture.json",
            "tokenizer": "tokenizer",
            "tokenizer_source": str(tokenizer_json(self.tokenizer).resolve()),
            "tokenizer_sha1": tokenizer_sha1(self.tokenizer),
            "vocab_size": self.vocab,
            "eot_id": self.eot,
            "dtype": np.dtype(self.dtype).name,
            "val_fraction": self.val_fraction,
            "split": "validation when sha1('val' + '<source>/<id>') / 2**64 < val_fraction (all epochs together)",
            "splits": {
                s.name: {"docs": s.docs, "tokens": s.tokens, "bytes": s.bytes, "shards": s.shards}
                for s in self.splits.values()
            },
            "excluded": {"docs": 0, "reason": "none (a mixture excludes nothing)"},
            "train_keys": KEYS_FILE,
        }
        if index["splits"]["train"]["tokens"] == 0:
            raise UsageError(f"{mix_folder}: no training tokens (every document fell in validation)")
        write_index(self.out, index)
        return index
