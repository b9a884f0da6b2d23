"""Byte-level BPE trained locally with `tokenizers`, saved as a transformers tokenizer folder.

Byte-level (GPT-2 style) so that every string round-trips exactly and no byte is ever <unk>: bits per
byte then counts every byte of the eval text. One special token, `<|endoftext|>`, separates documents
(it is both BOS and EOS, as in GPT-2). The folder written by `save_tokenizer` holds `tokenizer.json`
plus transformers' config files, so `PreTrainedTokenizerFast.from_pretrained(folder)` loads it
offline; nothing is fetched from the hub.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from runfolder.token_folder import TokenFolderError, save_pretrained_into
from training.errors import ConfigError

EOT = "<|endoftext|>"


def train_bpe(texts: Iterable[str], vocab_size: int, min_frequency: int = 2) -> Tokenizer:
    """Train a byte-level BPE on `texts`.

    Args:
        texts: training text (a sample of a run's output is enough: a few MB).
        vocab_size: final vocabulary including the 256 byte symbols and `<|endoftext|>`.
        min_frequency: a pair must occur this often to be merged.

    Returns:
        The trained `tokenizers.Tokenizer`.
    """
    if vocab_size < 257 + 1:
        raise ConfigError(f"vocab_size must be > 257 (256 bytes + {EOT}), got {vocab_size}")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=[EOT],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return tok


def wrap(tok: Tokenizer) -> PreTrainedTokenizerFast:
    """The `tokenizers` object as a transformers fast tokenizer with EOT as bos/eos/pad."""
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=EOT, eos_token=EOT, pad_token=EOT)


def save_tokenizer(tok: Tokenizer, folder: str | Path) -> Path:
    """Save as a transformers tokenizer folder (tokenizer.json + configs); returns the folder."""
    return save_copy(wrap(tok), folder)


def save_copy(tok: PreTrainedTokenizerFast, folder: str | Path) -> Path:
    """`tok.save_pretrained(folder)`, never through a planted symlink or hard link (ConfigError)."""
    try:
        return save_pretrained_into(tok, Path(folder))
    except TokenFolderError as e:
        raise ConfigError(str(e)) from None


def load_tokenizer(path: str | Path) -> PreTrainedTokenizerFast:
    """Load a tokenizer folder (or a bare tokenizer.json) saved by `save_tokenizer`, offline."""
    path = Path(path)
    if path.is_dir() and (path / "tokenizer_config.json").exists():
        return PreTrainedTokenizerFast.from_pretrained(str(path), local_files_only=True)
    file = path / "tokenizer.json" if path.is_dir() else path
    if not file.exists():
        raise ConfigError(f"no tokenizer at {path} (expected a folder with tokenizer.json)")
    return wrap(Tokenizer.from_file(str(file)))


def tokenizer_file(path: str | Path) -> Path:
    """The tokenizer.json inside a tokenizer folder (or the file itself)."""
    path = Path(path)
    return path / "tokenizer.json" if path.is_dir() else path


def tokenizer_hash(path: str | Path) -> str:
    """sha1 of tokenizer.json: token shards record it so stale shards are detected."""
    return hashlib.sha1(tokenizer_file(path).read_bytes()).hexdigest()[:16]


def encode_docs(tok: PreTrainedTokenizerFast, texts: list[str]) -> list[list[int]]:
    """Token ids of each text, without special tokens (the caller adds the separator)."""
    return [e.ids for e in tok.backend_tokenizer.encode_batch(texts, add_special_tokens=False)]
