"""Chat runs -> token shards with a loss mask: the chat template, its tokenization, and the shard layout.

A run folder whose documents carry chat turns (`metadata.messages`, or a top-level `messages` as
`output.format: messages` writes them; schema in docs/CONTRACTS.md) is tokenized one example at a time
with this template (role markers are special tokens added to our own BPE, never split or spelled):

    <|endoftext|><|system|>{system}<|end|><|user|>{user}<|end|><|assistant|>{assistant}<|end|>...

Only the tokens of assistant contents and the `<|end|>` that closes an assistant turn are targets
(the model learns the answer and when to stop); the `<|endoftext|>`, role markers, system and user
tokens are context only. Examples are never packed into a shared context: the loader
(training/instruct_train.py) gives every example its own row, positions start at 0 and padding comes after
the example, so under the causal mask no example ever attends to another one.

Shards (`tokenized/` as for text runs, index.json with a `chat` section):

    {split}_NNNNN.npy          flat token ids, examples back to back
    {split}_NNNNN.mask.npy     uint8, 1 where the token at that position is a training target
    {split}_NNNNN.offsets.npy  int64 start of each example, plus the end (len = examples + 1)
    {split}_NNNNN.keys.npy     uint64 per example, from sha1("order" + id): the fine-tuning loader orders
                               examples by a seeded hash of it, so two variants that share an example id
                               see it at the same point of training (common random numbers: paired runs
                               differ by their data, not by which subset the seed happened to draw)
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from runfolder import TRUNCATED_GZIP, iter_numbered
from training.data import run_shards
from training.errors import ConfigError
from training.shard_manifest import naming, write_index, write_manifest
from training.shards import ShardWriter, shard_folder, split_of, token_dtype
from training.tokenizer import EOT, load_tokenizer, save_copy, tokenizer_file

ROLE_TOKENS = {"system": "<|system|>", "user": "<|user|>", "assistant": "<|assistant|>"}
END = "<|end|>"
CHAT_SPECIALS = [*ROLE_TOKENS.values(), END]
TEMPLATE = "<|endoftext|> then per turn <|role|>{content}<|end|>; targets: assistant content + its <|end|>"
FORMAT = 2  # 2: keys.npy (example order keys)


# --- reading chat runs -----------------------------------------------------------------------------


def _messages(rec: dict) -> list | None:
    if isinstance(rec.get("messages"), list):
        return rec["messages"]
    meta = rec.get("metadata")
    if isinstance(meta, str):  # parquet stores metadata as a JSON string
        try:
            meta = json.loads(meta)
        except json.JSONDecodeError:
            return None
    return meta.get("messages") if isinstance(meta, dict) and isinstance(meta.get("messages"), list) else None


def read_chat_file(path: Path) -> Iterator[dict]:
    """`{"id", "messages", "where"}` per record of a jsonl(.gz) or parquet shard; records without a
    messages list (or that cannot be read) yield `messages=None` (the caller counts and sets them aside
    with file:line). Read through `runfolder.iter_numbered`; a truncated .gz shard is a ConfigError."""
    for number, rec in iter_numbered(path, columns=["id", "metadata"]):
        if rec == TRUNCATED_GZIP:
            raise ConfigError(f"{path}: {TRUNCATED_GZIP}")
        if isinstance(rec, str):  # unreadable: set aside by the caller
            yield {"id": f"{path.name}:{number}", "messages": None, "where": f"{path}:{number}"}
            continue
        yield {
            "id": str(rec.get("id") or f"{path.name}:{number}"),
            "messages": _messages(rec),
            "where": f"{path}:{number}",
        }


def is_chat_run(run_dir: str | Path) -> bool:
    """True when the first record of the run's first shard carries chat turns."""
    for rec in read_chat_file(run_shards(run_dir)[0]):
        return rec["messages"] is not None
    return False


def read_chat_run(run_dir: str | Path) -> Iterator[dict]:
    for shard in run_shards(run_dir):
        yield from read_chat_file(shard)


def chat_texts(run_dir: str | Path, max_bytes: int) -> Iterator[str]:
    """Message contents of a chat run (up to `max_bytes`), to train a BPE on when none is given."""
    n = 0
    for rec in read_chat_run(run_dir):
        for m in rec["messages"] or []:
            if isinstance(m, dict) and isinstance(m.get("content"), str):
                yield m["content"]
                n += len(m["content"].encode("utf-8"))
        if n >= max_bytes:
            return


def prompt_of(messages: list[dict]) -> str:
    """The first user turn (what near-duplicate matching of held-out prompts compares)."""
    return next((m.get("content", "") for m in messages if m.get("role") == "user"), "")


def response_of(messages: list[dict]) -> str:
    return "\n".join(m.get("content", "") for m in messages if m.get("role") == "assistant")


# --- template ---------------------------------------------------------------------------------------


def chat_tokenizer(path: str | Path):
    """Our BPE with the chat specials added (a no-op when they are there). Special tokens inside message
    text are tokenized as plain text (`encode_special_tokens`), so a user cannot forge a role marker."""
    tok = load_tokenizer(path)
    missing = [t for t in CHAT_SPECIALS if t not in tok.get_vocab()]
    if missing:
        tok.add_special_tokens({"additional_special_tokens": missing})
    tok.backend_tokenizer.encode_special_tokens = True
    return tok


def special_ids(tok) -> dict[str, int]:
    vocab = tok.get_vocab()
    return {t: vocab[t] for t in [EOT, *CHAT_SPECIALS]}


def encode_chat(tok, messages: list[dict], ids: dict[str, int] | None = None) -> tuple[list[int], list[int]]:
    """(token ids, target mask) of one conversation under the template; mask[i] = 1 when ids[i] is a
    target (predicted from ids[:i]). Unknown roles raise ValueError."""
    ids = ids or special_ids(tok)
    contents = [m.get("content") if isinstance(m.get("content"), str) else "" for m in messages]
    enc = tok.backend_tokenizer.encode_batch(contents, add_special_tokens=False) if contents else []
    out, mask = [ids[EOT]], [0]
    for m, e in zip(messages, enc):
        role = m.get("role")
        if role not in ROLE_TOKENS:
            raise ValueError(f"unknown role {role!r}")
        target = 1 if role == "assistant" else 0
        out += [ids[ROLE_TOKENS[role]], *e.ids, ids[END]]
        mask += [0, *([target] * len(e.ids)), target]
    return out, mask


# --- shards -----------------------------------------------------------------------------------------


class _ChatShardWriter(ShardWriter):
    """Chat examples as rows (ids, mask, order key): a shard is the token file plus its `.mask`,
    `.offsets` and `.keys` files (docs/CONTRACTS.md)."""

    def __init__(self, out: Path, split: str, dtype, shard_tokens: int):
        super().__init__(out, split, dtype, shard_tokens)
        self.targets = 0

    def add(self, ids: list[int], mask: list[int], nbytes: int, key: int) -> None:
        self.targets += sum(mask)
        self._append((ids, mask, key), len(ids), nbytes)

    def _write(self, stem: str) -> dict:
        ids, masks, keys = zip(*self.rows)
        offsets = np.cumsum([0, *(len(x) for x in ids)]).astype(np.int64)
        self.save(f"{stem}.npy", np.fromiter((t for x in ids for t in x), dtype=self.dtype))
        self.save(f"{stem}.mask.npy", np.fromiter((t for x in masks for t in x), dtype=np.uint8))
        self.save(f"{stem}.offsets.npy", offsets)
        self.save(f"{stem}.keys.npy", np.array(keys, dtype=np.uint64))
        return {"file": f"{stem}.npy", "tokens": int(offsets[-1]), "examples": len(ids)}

    def summary(self) -> dict:
        return {"docs": self.docs, "tokens": self.tokens, "targets": self.targets, "bytes": self.bytes,
                "shards": self.shards}  # fmt: skip


def tokenize_chat_run(
    run_dir: str | Path,
    tokenizer: str | Path,
    out_dir: str | Path | None = None,
    val_fraction: float = 0.01,
    shard_tokens: int = 20_000_000,
    keep=None,
    max_docs: int | None = None,
) -> dict:
    """Tokenize every conversation of a chat run folder into masked train/validation shards.

    Args:
        run_dir: run folder whose output/ records carry `messages` (top level or in metadata).
        tokenizer: our BPE folder; the chat specials are added to a copy saved with the shards.
        out_dir: default `run_dir/tokenized`.
        val_fraction: share of examples (by sha1("val" + id)) in validation.
        keep: optional predicate `keep(rec) -> bool` (e.g. not a near-duplicate of a held-out prompt);
            the ones it refuses are counted in `excluded`.
        max_docs: stop after this many records.

    Raises:
        ConfigError: no record of the run has an assistant turn (names the first shard).
    """
    run_dir = Path(run_dir)
    out = shard_folder(run_dir, out_dir, val_fraction)
    tok = chat_tokenizer(tokenizer)
    sid = special_ids(tok)
    dtype = token_dtype(len(tok))
    writers = {s: _ChatShardWriter(out, s, dtype, shard_tokens) for s in ("train", "validation")}
    written = writers["train"].written = writers["validation"].written = []
    skipped: dict[str, int] = {}
    examples_of_skip: list[str] = []
    excluded = seen = 0
    t0 = time.time()

    def skip(reason: str, where: str) -> None:
        skipped[reason] = skipped.get(reason, 0) + 1
        if len(examples_of_skip) < 20:
            examples_of_skip.append(f"{where}: {reason}")

    for rec in read_chat_run(run_dir):
        if max_docs is not None and seen >= max_docs:
            break
        seen += 1
        msgs = rec["messages"]
        if msgs is None:
            skip("no messages", rec["where"])
            continue
        if not any(isinstance(m, dict) and m.get("role") == "assistant" for m in msgs):
            skip("no assistant turn", rec["where"])
            continue
        if keep is not None and not keep(rec):
            excluded += 1
            continue
        try:
            ids, mask = encode_chat(tok, msgs, sid)
        except (ValueError, AttributeError) as e:
            skip(str(e), rec["where"])
            continue
        writers[split_of(rec["id"], val_fraction)].add(ids, mask, len(response_of(msgs).encode("utf-8")), order_key(rec["id"]))
    for w in writers.values():
        w.flush()
    if writers["train"].docs + writers["validation"].docs == 0 and excluded == 0:
        first = run_shards(run_dir)[0]
        raise ConfigError(
            f"{first}: no conversation with an assistant turn in {run_dir} "
            f"({', '.join(f'{n} {r}' for r, n in skipped.items()) or 'no records'}); nothing to train on"
        )
    write_manifest(out, [*written, "tokenizer", "index.json"])
    with naming(out / "tokenizer"):
        save_copy(tok, out / "tokenizer")
    index = {
        "format": FORMAT,
        "run": str(run_dir),
        "tokenizer": "tokenizer",
        "tokenizer_source": str(tokenizer_file(tokenizer).resolve()),
        "tokenizer_sha1": vocab_fingerprint(tok),
        "base_tokenizer_sha1": vocab_fingerprint(load_tokenizer(tokenizer)),
        "vocab_size": len(tok),
        "eot_id": sid[EOT],
        "dtype": np.dtype(dtype).name,
        "val_fraction": val_fraction,
        "split": "validation when sha1('val' + id) / 2**64 < val_fraction",
        "chat": {"template": TEMPLATE, "special_ids": sid, "bytes": "UTF-8 bytes of assistant contents"},
        "splits": {s: w.summary() for s, w in writers.items()},
        "skipped": {"by_reason": skipped, "examples": examples_of_skip},
        "excluded": {"docs": excluded, "reason": "near-duplicate of a held-out prompt"},
        "seconds": round(time.time() - t0, 2),
    }
    if index["splits"]["train"]["targets"] == 0:
        raise ConfigError(f"{run_dir}: no training targets (every example excluded or in validation)")
    write_index(out, index)
    return index


def order_key(doc_id: str) -> int:
    """A stable uint64 per example id (sha1("order" + id)); see the shard layout in the module docstring."""
    return int.from_bytes(hashlib.sha1(("order" + doc_id).encode("utf-8")).digest()[:8], "big")


def load_chat_keys(folder: Path, index: dict, split: str) -> list[np.ndarray] | None:
    """The per-example order keys of each shard of a split, or None for shards written without them."""
    out = []
    for s in index["splits"][split]["shards"]:
        f = folder / f"{s['file'][: -len('.npy')]}.keys.npy"
        if not f.exists():
            return None
        out.append(np.load(f))
    return out


def vocab_fingerprint(tok) -> str:
    """sha1 of the token -> id map (specials included): two tokenizers with the same fingerprint give the
    same ids, whatever file layout saved them. Chat shards and checkpoints are matched by it."""
    items = sorted(tok.get_vocab().items(), key=lambda kv: kv[1])
    return hashlib.sha1(json.dumps(items, ensure_ascii=False).encode("utf-8")).hexdigest()[:16]


def load_chat_split(
    folder: Path, index: dict, split: str
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, str]]:
    """(ids, mask, offsets, file) per shard of one split, memory-mapped."""
    out = []
    for s in index["splits"][split]["shards"]:
        stem = s["file"][: -len(".npy")]
        try:
            out.append((np.load(folder / s["file"], mmap_mode="r"), np.load(folder / f"{stem}.mask.npy"),
                        np.load(folder / f"{stem}.offsets.npy"), str(folder / s["file"])))  # fmt: skip
        except (OSError, ValueError) as e:
            raise ConfigError(f"{folder / s['file']}: unreadable chat shard ({e})") from None
    return out
