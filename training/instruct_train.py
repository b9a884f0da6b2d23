"""Fine-tuning on chat shards: start from a checkpoint (`init_from`), train on assistant tokens only,
evaluate response bits per byte. training/train.py trains on `ChatData` when the shards have a `chat` section.

* `load_init`: a checkpoint written by `curate train` (config.json + model.safetensors + tokenizer).
  Its tokenizer must be the one the shards were made with (the chat specials may be missing from it:
  they are added as new embedding rows initialized to the mean embedding). Weights are read from
  safetensors only; nothing is unpickled.
* `ChatLoader`: one example per row (no packing), right-padded, positions from 0: under the causal mask
  an example only ever sees its own tokens, so changing one example cannot change another's loss.
  Targets outside the mask (and padding) are -100, which `F.cross_entropy` ignores.
* `eval_chat_sets`: response bpb = summed NLL (nats) of assistant-content tokens / (ln 2 x UTF-8 bytes
  of those contents) on a fixed held-out chat file; the `<|end|>` targets and everything the user wrote
  are not counted. Examples longer than the context are skipped and counted (never truncated, which
  would drop tokens but keep their bytes).
* `PromptHoldout`: near-duplicate matching of prompts (datasketch MinHash LSH on word 3-grams) so the
  held-out examples stay out of every variant.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from transformers import LlamaForCausalLM
from transformers.utils import logging as hf_logging

from shingling import shingles
from training.checkpoint_check import check_checkpoint_folder, check_safetensors
from training.errors import ConfigError
from training.evaluate import autocast, set_name
from training.instruct_shards import (
    END,
    chat_tokenizer,
    encode_chat,
    load_chat_keys,
    load_chat_split,
    read_chat_file,
    special_ids,
    vocab_fingerprint,
)
from training.shards import index_tokenizer
from training.tokenizer import load_tokenizer

IGNORE = -100


def checkpoint_dir(path: str | Path) -> Path:
    p = Path(path)
    if (p / "checkpoint" / "config.json").exists():
        p = p / "checkpoint"
    if not (p / "config.json").exists() or not (p / "model.safetensors").exists():
        raise ConfigError(
            f"init_from {path}: not a checkpoint folder (needs config.json + model.safetensors)"
        )
    check_safetensors(p / "model.safetensors")
    check_checkpoint_folder(p)
    return p


def load_checkpoint_model(ckpt: Path, vocab_size: int) -> LlamaForCausalLM:
    """A checkpoint's model (safetensors only), its vocabulary grown to `vocab_size`: the chat specials
    missing from a model pretrained on plain text start at the mean embedding."""
    hf_logging.disable_progress_bar()
    model = LlamaForCausalLM.from_pretrained(str(ckpt), local_files_only=True, use_safetensors=True)
    old = model.get_input_embeddings().weight.shape[0]
    if old < vocab_size:
        model.resize_token_embeddings(vocab_size, mean_resizing=False)
        with torch.no_grad():
            emb = model.get_input_embeddings().weight
            emb[old:] = emb[:old].mean(0, keepdim=True)
    return model


def load_init(path: str | Path, folder: Path, index: dict, seq_len: int, tok_path: Path):
    """The checkpoint's model, its vocabulary grown to the shards' (chat specials), context >= seq_len.

    Raises:
        ConfigError: not a checkpoint, or its tokenizer differs from the one the shards were made with.
    """
    ckpt = checkpoint_dir(path)
    try:
        ck_fp = vocab_fingerprint(load_tokenizer(ckpt))
    except ConfigError:
        raise ConfigError(f"{ckpt}: checkpoint has no tokenizer (tokenizer.json)") from None
    shard_tok = load_tokenizer(tok_path)
    allowed = {vocab_fingerprint(shard_tok), index.get("tokenizer_sha1"), index.get("base_tokenizer_sha1")}
    if ck_fp not in allowed:
        raise ConfigError(
            f"{ckpt / 'tokenizer.json'}: the checkpoint's tokenizer differs from the one the shards in "
            f"{folder / 'index.json'} were made with; re-tokenize with `--tokenizer {ckpt}`"
        )
    model = load_checkpoint_model(ckpt, len(shard_tok))
    model.config.max_position_embeddings = max(model.config.max_position_embeddings, seq_len)
    model.config.use_cache = False
    return model


class ChatLoader:
    """Examples of the chat train split, one per row, in a seeded order per epoch (WindowLoader's interface:
    `next(batch) -> (x, y)`, `taken`, `epochs`, `tokens_per_epoch`, `stats()`)."""

    def __init__(self, shards: list, seq_len: int, seed: int, pad_id: int, keys: list | None = None):
        self.shards, self.seq_len, self.seed, self.pad_id = shards, seq_len, seed, pad_id
        rows, row_keys, self.truncated, self.no_target = [], [], 0, 0
        for k, (_ids, mask, offsets, _file) in enumerate(shards):
            for j, (s, e) in enumerate(itertools.pairwise(offsets)):
                e2 = min(int(e), int(s) + seq_len + 1)
                self.truncated += int(e2 < int(e))
                if mask[s + 1 : e2].any():
                    rows.append((k, int(s), e2))
                    row_keys.append(int(keys[k][j]) if keys is not None else len(rows))
                else:
                    self.no_target += 1
        if not rows:
            first = shards[0][3] if shards else "the train split"
            raise ConfigError(
                f"{first}: the loss mask leaves no targets within seq_len={seq_len} "
                f"({self.no_target} examples without an assistant token in context)"
            )
        self.index = np.array(rows, dtype=np.int64)
        self.keys = np.array(row_keys, dtype=np.uint64)  # order keys (keys.npy; else positions)
        self.taken = self.seen_tokens = self.seen_targets = 0
        self._perm, self._perm_epoch = np.empty(0, dtype=np.int64), -1

    @property
    def tokens_per_epoch(self) -> int:
        return int((self.index[:, 2] - self.index[:, 1]).sum())

    @property
    def epochs(self) -> float:
        return self.taken / len(self.index)

    def stats(self) -> dict:
        return {"examples": self.taken, "input_tokens": self.seen_tokens, "target_tokens": self.seen_targets,
                "examples_per_epoch": len(self.index), "truncated_examples": self.truncated,
                "examples_without_targets": self.no_target}  # fmt: skip

    def order(self, epoch: int, batch: int) -> np.ndarray:
        """The examples of one epoch: sorted by a seeded hash of their order key (so two variants sharing
        an example id see it at the same point, whatever else they hold), cut into blocks of 32 batches,
        each block sorted by length and its batches shuffled (less padding; the set of examples in the
        first k blocks is still fixed by the ids). Every example is seen once per epoch."""
        perm = np.argsort(_mix64(self.keys ^ _mix64(np.array([self.seed * 1_000_003 + epoch], np.uint64))),
                          kind="stable")  # fmt: skip
        if batch <= 1:
            return perm
        rng = np.random.default_rng([self.seed, epoch])
        lengths = self.index[:, 2] - self.index[:, 1]
        out = []
        for c in np.array_split(perm, range(32 * batch, len(perm), 32 * batch)):
            c = c[np.argsort(lengths[c], kind="stable")]
            batches = np.array_split(c, range(batch, len(c), batch))
            out += [batches[i] for i in rng.permutation(len(batches))]
        return np.concatenate(out)

    def next(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        rows = []
        for _ in range(batch):
            epoch, pos = divmod(self.taken, len(self.index))
            if self._perm_epoch != epoch:
                self._perm, self._perm_epoch = self.order(epoch, batch), epoch
            k, s, e = self.index[self._perm[pos]]
            ids, mask = self.shards[k][0], self.shards[k][1]
            rows.append((np.asarray(ids[s:e], dtype=np.int64), np.asarray(mask[s:e], dtype=bool)))
            self.taken += 1
        x, y = pad_rows(rows, self.pad_id)
        self.seen_tokens += int(sum(len(r[0]) - 1 for r in rows))
        self.seen_targets += int((y != IGNORE).sum())
        return x, y


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer on uint64 arrays (wrapping arithmetic): a seeded hash of the order keys."""
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def pad_rows(rows: list[tuple[np.ndarray, np.ndarray]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs ids[:-1] and targets ids[1:] (IGNORE where mask[1:] is 0), right-padded to the longest row."""
    width = max(len(ids) for ids, _ in rows) - 1
    x = np.full((len(rows), width), pad_id, dtype=np.int64)
    y = np.full((len(rows), width), IGNORE, dtype=np.int64)
    for r, (ids, mask) in enumerate(rows):
        n = len(ids) - 1
        x[r, :n] = ids[:-1]
        y[r, :n] = np.where(mask[1:], ids[1:], IGNORE)
    return torch.from_numpy(x), torch.from_numpy(y)


@torch.no_grad()
def nll_rows(model, rows, batch: int, device, pad_id: int) -> tuple[float, int]:
    """Summed NLL (nats) and count of the masked targets of `rows` [(ids, mask)], one example per row.
    Rows are batched in length order (less padding: about half the forward cost on CPU; the sum does
    not depend on the order)."""
    model.eval()
    rows = sorted(rows, key=lambda r: len(r[0]))
    total, count = 0.0, 0
    for b in range(0, len(rows), batch):
        x, y = pad_rows(rows[b : b + batch], pad_id)
        x, y = x.to(device), y.to(device)
        with autocast(device):
            logits = model(input_ids=x).logits
        total += float(F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), y.reshape(-1),
                                       ignore_index=IGNORE, reduction="sum"))  # fmt: skip
        count += int((y != IGNORE).sum())
    return total, count


def eval_chat_validation(
    model, shards, seq_len: int, batch: int, device, pad_id: int, max_tokens: int
) -> dict:
    """Mean masked loss (nats per target token, `<|end|>` included) on the chat validation split."""
    rows, n = [], 0
    for ids, mask, offsets, _ in shards:
        for s, e in itertools.pairwise(offsets):
            if n >= max_tokens:
                break
            e = min(int(e), int(s) + seq_len + 1)
            m = np.asarray(mask[s:e], dtype=bool)
            if m[1:].any():
                rows.append((np.asarray(ids[s:e], dtype=np.int64), m))
                n += int(m[1:].sum())
    if not rows:
        return {"loss": None, "tokens": 0}
    nats, count = nll_rows(model, rows, batch, device, pad_id)
    return {"loss": nats / count, "tokens": count}


def eval_chat_docs(model, tok, records: list[dict], seq_len: int, batch: int, device) -> dict:
    """Response loss and bpb of `records` [{"messages"}]: assistant-content tokens only."""
    sid = special_ids(tok)
    rows, nbytes, skipped = [], 0, 0
    for rec in records:
        ids, mask = encode_chat(tok, rec["messages"], sid)
        if len(ids) > seq_len + 1:
            skipped += 1
            continue
        ids_a = np.asarray(ids, dtype=np.int64)
        rows.append((ids_a, np.asarray(mask, dtype=bool) & (ids_a != sid[END])))
        nbytes += sum(len(m["content"].encode("utf-8")) for m in rec["messages"] if m["role"] == "assistant")
    if not rows:
        raise ConfigError(f"no held-out example fits in seq_len={seq_len} ({skipped} too long)")
    nats, count = nll_rows(model, rows, batch, device, sid[END])
    return {"loss": nats / max(count, 1), "bpb": nats / (math.log(2) * max(nbytes, 1)), "tokens": count,
            "bytes": nbytes, "docs": len(rows), "skipped_too_long": skipped}  # fmt: skip


def read_chat_eval(path: str | Path) -> list[dict]:
    """A held-out chat file (.jsonl/.jsonl.gz of {"id", "messages"}); records without an assistant turn
    are a ConfigError naming file:line (an eval set is hand-made, it should be clean)."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"eval set not found: {path}")
    recs = list(read_chat_file(path))
    for r in recs:
        if not r["messages"] or not any(m.get("role") == "assistant" for m in r["messages"]):
            raise ConfigError(f"{r['where']}: held-out example without an assistant turn")
    if not recs:
        raise ConfigError(f"{path}: no examples")
    return recs


def eval_chat_sets(model, tok, paths: list[str], seq_len: int, batch: int, device) -> dict:
    return {set_name(p): {"path": str(p), **eval_chat_docs(model, tok, read_chat_eval(p), seq_len, batch, device)}
            for p in paths}  # fmt: skip


def is_chat_eval_file(path: str | Path) -> bool:
    """True when the first record of a .jsonl/.jsonl.gz file carries chat turns (`messages`)."""
    path = Path(path)
    if not path.is_file() or not path.name.endswith((".jsonl", ".jsonl.gz")):
        return False
    for rec in read_chat_file(path):
        return rec["messages"] is not None
    return False


def evaluate_chat_checkpoint(checkpoint: str | Path, paths: list[str], batch: int = 8, device: str = "auto"):
    """{name: response-bpb record} of a checkpoint on chat eval files: what
    `curate eval CKPT --data chat.jsonl.gz` reports. A checkpoint pretrained on plain text gets the chat
    specials added as in `load_init`; examples longer than its context are skipped and counted."""
    ckpt = checkpoint_dir(checkpoint)
    try:
        tok = chat_tokenizer(ckpt)
    except ConfigError:
        raise ConfigError(f"{ckpt}: checkpoint has no tokenizer (tokenizer.json)") from None
    cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    dev = torch.device("cuda" if cuda else "cpu")
    model = load_checkpoint_model(ckpt, len(tok))
    seq_len = model.config.max_position_embeddings
    return eval_chat_sets(model.to(dev), tok, paths, seq_len, batch, dev)


class ChatData:
    """What train() trains and evaluates on chat shards (TextData's interface, training/train.py): one
    masked example per row (`loader`), and `evaluate(model) -> (validation, eval sets)` in response bpb."""

    def __init__(self, folder: Path, index: dict, cfg, seq_len: int, batch: int, device):
        self.loader = chat_loader(folder, index, seq_len, cfg.seed)
        self.tok = chat_tokenizer(index_tokenizer(folder, index))
        self.val = load_chat_split(folder, index, "validation")
        self.seq_len, self.batch, self.device, self.cfg = seq_len, batch, device, cfg
        self.pad = index["chat"]["special_ids"][END]

    def evaluate(self, m) -> tuple[dict, dict]:
        val = eval_chat_validation(m, self.val, self.seq_len, self.batch, self.device, self.pad,
                                   self.cfg.val_max_tokens)  # fmt: skip
        return val, eval_chat_sets(m, self.tok, self.cfg.eval_sets, self.seq_len, self.batch, self.device)


def chat_loader(folder: Path, index: dict, seq_len: int, seed: int) -> ChatLoader:
    return ChatLoader(load_chat_split(folder, index, "train"), seq_len, seed, index["chat"]["special_ids"][END],
                      load_chat_keys(folder, index, "train"))  # fmt: skip


# --- held-out prompts ------------------------------------------------------------------------------


class PromptHoldout:
    """Near-duplicate matching of prompts against a fixed held-out set (MinHash LSH, Jaccard of word
    3-grams >= `threshold`, confirmed on the estimated Jaccard of the two signatures).

    The 3-grams are `shingling`'s, the normalization curation's MinHash dedup and the ablation's
    decontamination use, so "near-duplicate" means one thing everywhere. Switching from this module's
    own NFKC + `\\w+` words changed no decision on the shipped instruction data (5,602 prompts, 452
    held out: the same 0 / 10 / 140 matches at thresholds 0.5 / 0.3 / 0.2)."""

    def __init__(self, prompts: list[str], threshold: float = 0.5, num_perm: int = 128, seed: int = 1):
        from datasketch import MinHash, MinHashLSH

        self._mh, self.num_perm, self.seed, self.threshold = MinHash, num_perm, seed, threshold
        self.lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
        self.sigs = {}
        for i, p in enumerate(prompts):
            sig = self._sig(p)
            if sig is not None:
                self.sigs[str(i)] = sig
                self.lsh.insert(str(i), sig)

    def _sig(self, text: str):
        sh = set(shingles(text, 3))
        if not sh:
            return None
        m = self._mh(num_perm=self.num_perm, seed=self.seed)
        m.update_batch(sorted(sh))
        return m

    def matches(self, prompt: str) -> bool:
        sig = self._sig(prompt)
        if sig is None:
            return False
        return any(sig.jaccard(self.sigs[k]) >= self.threshold for k in self.lsh.query(sig))
