"""Llama-style causal LMs built from a transformers `LlamaConfig`: one dial (`preset`) picks the size.

Nothing is downloaded: the model is initialized from the config. The vocabulary size comes from the
tokenizer (training/tokenizer.py), so the parameter counts below are for the preset's default vocab.

| preset | d_model | layers | heads | ffn  | seq_len | default vocab | params (tied) |
|--------|---------|--------|-------|------|---------|---------------|---------------|
| micro  | 64      | 4      | 4     | 176  | 128     | 4096          | ~0.46M        |
| tiny   | 128     | 4      | 4     | 384  | 128     | 4096          | ~1.4M         |
| small  | 384     | 8      | 6     | 1024 | 512     | 16384         | ~20M          |
| base   | 768     | 12     | 12    | 2048 | 1024    | 32768         | ~110M         |

The shapes follow GPT-2 small / nanoGPT for `base` (768 x 12) and shrink width and depth together for
the CPU presets; ffn ~ 8/3 * d_model as in Llama (SwiGLU has three matrices, so 8/3 keeps the MLP at
the same parameter count as a 4x GELU MLP).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from transformers import LlamaConfig, LlamaForCausalLM


@dataclass(frozen=True)
class Preset:
    """Model shape plus the training defaults that go with it (overridable in the train config).

    Attributes:
        d_model: hidden size.
        n_layers: transformer blocks.
        n_heads: attention heads (head_dim = d_model / n_heads).
        ffn: SwiGLU intermediate size.
        seq_len: context length in tokens (also the training sequence length).
        vocab_size: default tokenizer vocabulary for this scale.
        lr: peak AdamW learning rate (smaller models tolerate larger rates; nanoGPT uses 6e-4 at 124M).
        micro_batch: sequences per forward pass (memory knob; gradient accumulation makes up the rest).
    """

    d_model: int
    n_layers: int
    n_heads: int
    ffn: int
    seq_len: int
    vocab_size: int
    lr: float
    micro_batch: int


PRESETS: dict[str, Preset] = {
    # micro: the CPU ablation preset (recipes/ablations/demo.yaml): ~0.46M parameters, 57% of them the
    # tied embedding; 256 tokens per step. Small enough that 2 seeds x 6 variants x 1M tokens fit in
    # minutes on 2 cores, big enough that data differences of a few percent show at 0.5-1M tokens.
    "micro": Preset(
        d_model=64, n_layers=4, n_heads=4, ffn=176, seq_len=128, vocab_size=4096, lr=4e-3, micro_batch=2
    ),
    # tiny trains on CPU at 0.025-1M-token budgets, where it is step-limited: 256 tokens/step (128 x 2)
    # reached 3.43 bits/byte after 100k tokens of the demo's web sample vs 3.55 with 1024 (256 x 4)
    "tiny": Preset(
        d_model=128, n_layers=4, n_heads=4, ffn=384, seq_len=128, vocab_size=4096, lr=3e-3, micro_batch=2
    ),
    "small": Preset(
        d_model=384, n_layers=8, n_heads=6, ffn=1024, seq_len=512, vocab_size=16384, lr=1.5e-3, micro_batch=16
    ),
    "base": Preset(
        d_model=768,
        n_layers=12,
        n_heads=12,
        ffn=2048,
        seq_len=1024,
        vocab_size=32768,
        lr=6e-4,
        micro_batch=16,
    ),
}


def get_preset(name: str) -> Preset:
    """The preset called `name`; a ValueError lists the known ones."""
    if name not in PRESETS:
        raise ValueError(f"unknown model preset {name!r}; known presets: {', '.join(PRESETS)}")
    return PRESETS[name]


def llama_config(preset: str, vocab_size: int, seq_len: int | None = None, bos_id: int = 0) -> LlamaConfig:
    """A `LlamaConfig` for `preset` with the tokenizer's vocabulary; embeddings are tied (small models
    spend a large share of their parameters on embeddings, and tying halves that share)."""
    p = get_preset(preset)
    return LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=p.d_model,
        intermediate_size=p.ffn,
        num_hidden_layers=p.n_layers,
        num_attention_heads=p.n_heads,
        num_key_value_heads=p.n_heads,
        max_position_embeddings=seq_len or p.seq_len,
        rms_norm_eps=1e-5,
        rope_theta=10000.0,
        tie_word_embeddings=True,
        initializer_range=0.02,
        bos_token_id=bos_id,
        eos_token_id=bos_id,
        pad_token_id=bos_id,
        use_cache=False,
    )


def build_model(
    preset: str, vocab_size: int, seq_len: int | None = None, bos_id: int = 0
) -> LlamaForCausalLM:
    """A freshly initialized Llama causal LM (call `torch.manual_seed` first for reproducible weights)."""
    cfg = llama_config(preset, vocab_size, seq_len=seq_len, bos_id=bos_id)
    cfg._attn_implementation = "sdpa"
    return LlamaForCausalLM(cfg)


def count_params(model: torch.nn.Module, non_embedding: bool = False) -> int:
    """Parameter count (tied weights once); `non_embedding=True` leaves out the token embedding, the
    N of Kaplan et al. (2020) scaling laws."""
    n = sum(p.numel() for p in model.parameters())
    if non_embedding:
        n -= model.get_input_embeddings().weight.numel()
    return n


def preset_table() -> list[dict]:
    """Every preset as a dict with its parameter count at the default vocab (for docs and bench)."""
    rows = []
    for name, p in PRESETS.items():
        with torch.device("meta"):
            m = build_model(name, p.vocab_size)
        rows.append({"preset": name, **asdict(p), "params": count_params(m)})
    return rows


def param_count(preset: str, vocab_size: int) -> int:
    """Parameters of `preset` at `vocab_size` (tied embedding once), counted on the meta device."""
    with torch.device("meta"):
        return count_params(build_model(preset, vocab_size))
