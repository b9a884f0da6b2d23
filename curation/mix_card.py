"""The dataset card (README.md, Hugging Face format) of a mixture folder, beside mixture.json.

The same rules as a run's card (`curation/card.py`): only counts, names and parameters, never document
text; `configs` point at output/ so `datasets.load_dataset(MIX_DIR)` loads the mixture; a README.md
that rootstock did not write is left alone.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from curation.card import CARD_MARK, DATA_FILES, _table, size_category, tool_version, write_card
from curation.mix_config import MixConfig


def render_mix_card(cfg: MixConfig, mixture: dict) -> str:
    header = {
        "license": "other",
        "size_categories": [size_category(mixture["documents"])],
        "pretty_name": cfg.name,
        "tags": ["rootstock", "mixture"],
    }
    if cfg.output.format in DATA_FILES:  # token shards are for `curate train`, not `load_dataset`
        header["configs"] = [
            {
                "config_name": "default",
                "data_files": [{"split": "train", "path": f"output/{DATA_FILES[cfg.output.format]}"}],
            }
        ]
    rows = [
        [
            s["name"],
            s["run"],
            f"{s['asked_share']:.2%}" + (" (amount)" if s["asked"] == "amount" else ""),
            f"{s['achieved_share']:.2%}",
            f"{s['epochs']:g}",
            f"{s['max_epochs']:g}",
            s["documents"],
            s["tokens"],
            s["bytes"],
        ]
        for s in mixture["sources"]
    ]
    body = [
        f"# {cfg.name}",
        "",
        cfg.description or "A training mixture written by `curate mix`.",
        "",
        (
            f"{mixture['documents']:,} documents, {_tokens_line(mixture)}. Budget: {cfg.budget:,} {cfg.unit}; "
            f"seed {cfg.seed}. Shares are measured in {cfg.unit}. Records set aside as unreadable: "
            f"{mixture['rejected']:,} (rejected/<source>.jsonl)."
        ),
        "",
        _format_line(cfg),
        "",
        "## Sources",
        "",
        *_table(
            [
                "source",
                "run or input",
                "asked share",
                "achieved share",
                "epochs",
                "max epochs",
                "documents",
                "tokens (est.)" if mixture["tokens_estimated"] else "tokens",
                "bytes",
            ],
            rows,
        ),
        "",
        (
            "Licences: those of the source runs (see the README.md card of each run folder); the mixture's "
            "`license: other` says they may differ."
        ),
        "",
        (
            "Every document keeps its text and gains metadata `mix.source`, `mix.run`, `mix.id` (its id in the "
            "source run) and `mix.epoch`; its id is `<source>/<id>#<epoch>`."
        ),
        "",
        f"Written by rootstock {tool_version()}.",
        "",
    ]
    head = yaml.safe_dump(header, sort_keys=False, allow_unicode=True)
    return f"---\n{head}---\n{CARD_MARK}\n\n" + "\n".join(body)


def _tokens_line(mixture: dict) -> str:
    if mixture["tokens_estimated"]:
        return f"about {mixture['tokens']:,} tokens (estimated as UTF-8 bytes / 4; no tokenizer was used)"
    return f"{mixture['tokens']:,} tokens (counted by the tokenizer {mixture['tokenizer']})"


def _format_line(cfg: MixConfig) -> str:
    if cfg.output.format == "tokens":
        return (
            "Token shards for `curate train` in tokenized/ (index.json; each shard's .docs.jsonl names its "
            "documents); `datasets.load_dataset` does not read them."
        )
    return f"Documents in output/ as {cfg.output.format} shards (`datasets.load_dataset` reads them)."


def write_mix_card(cfg: MixConfig, mixture: dict, folder: str | Path) -> Path | None:
    """README.md of the mixture folder (None when a README.md rootstock did not write is there)."""
    return write_card(folder, render_mix_card(cfg, mixture))
