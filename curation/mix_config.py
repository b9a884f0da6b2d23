"""The mix file of `curate mix` (docs/mixtures.md): which sources (run folders or any input the curation
readers read), in which shares or fixed amounts, how many epochs, and the output format.

Read with the recipe loader (`curation/recipe_yaml.py`: bounded, safe YAML with the line of every key)
and validated with pydantic, so a bad mix file is the same one line as a bad recipe:
`file:line: key: message`, exit 2.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, field_validator, model_validator

from curation.errors import RecipeError
from curation.recipe import RecipeContext, _suggest, _validate_model
from curation.recipe_yaml import check_value_tree, load_yaml
from curation.registry import InputParams, all_readers

Scalar = str | int | float | bool


class MixSource(BaseModel):
    """One source of a mixture: a run folder's kept documents, or an input (`path:` + `format:` and that
    format's keys, as a recipe's `input:`), optionally narrowed by `where`; a `weight` or an `amount`."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", description="the source's name in ids and metadata"
    )
    run: str | None = Field(None, min_length=1, description="a run folder (its output/ shards are read)")
    input: SerializeAsAny[InputParams] | None = Field(
        None, description="`path:` + `format:` (+ the format's keys) in the mix file: any input format"
    )
    weight: float | None = Field(
        None, gt=0, le=1e6, description="share of what the amounts leave of the budget (normalized)"
    )
    amount: int | None = Field(None, gt=0, le=10**15, description="a fixed size, in the mix's unit")
    max_epochs: float = Field(
        1.0, gt=0, le=1000, description="how many times the source may be repeated at most"
    )
    where: dict[str, Scalar | list[Scalar]] = Field(
        default_factory=dict,
        description="metadata key -> value (equality) or list (membership); all must hold",
    )

    @model_validator(mode="after")
    def _one_origin_and_one_size(self) -> MixSource:
        if (self.run is None) == (self.input is None):
            raise ValueError("give either run: (a run folder) or path: with format: (an input), not both")
        if (self.weight is None) == (self.amount is None):
            raise ValueError("give either weight: (a share) or amount: (a fixed size in the mix's unit)")
        return self

    @property
    def origin(self) -> str:
        """Where the documents come from: the run folder, or the input path."""
        return self.run if self.run is not None else self.input.path


class MixOutput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(min_length=1, description="the mixture folder")
    format: Literal["jsonl.gz", "jsonl", "parquet", "tokens"] = Field(
        "jsonl.gz",
        description="documents (jsonl.gz, jsonl, parquet) or token shards for `curate train` (tokens)",
    )
    max_shard_docs: int = Field(10_000, gt=0, le=10_000_000, description="documents per output shard")
    max_shard_tokens: int = Field(
        50_000_000, gt=0, le=2**31, description="format tokens: tokens per .npy shard (also ends a shard)"
    )
    val_fraction: float = Field(
        0.01, ge=0, lt=1, description="format tokens: share of source documents (by id hash) in validation"
    )


class MixConfig(BaseModel):
    """A whole mix file."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    unit: Literal["documents", "tokens"] = Field(
        "documents",
        description="what budget, weights and amounts count; tokens: by `tokenizer`, else UTF-8 bytes / 4",
    )
    tokenizer: str | None = Field(
        None,
        min_length=1,
        description="a local tokenizer folder (tokenizer.json, as `curate tokenize` writes): counts tokens",
    )
    budget: int = Field(gt=0, le=10**15, description="total size of the mixture, in `unit`")
    seed: int = Field(0, ge=0, le=2**32 - 1)
    sources: list[MixSource] = Field(min_length=1, max_length=1000)
    output: MixOutput

    @field_validator("budget", "seed", mode="before")
    @classmethod
    def _not_a_bool(cls, v):
        if isinstance(v, bool):  # YAML `true` is 1 to pydantic's int: a typo, never a budget
            raise ValueError(f"must be a whole number, not {str(v).lower()}")  # noqa: TRY004 - pydantic wants ValueError
        return v

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, v: list[MixSource]) -> list[MixSource]:
        names = [s.name for s in v]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"source names must be unique; repeated: {', '.join(dup)}")
        return v

    def targets(self) -> dict[str, int]:
        """Each source's size in `unit`: its amount, or its weight's share of what the amounts leave."""
        rest = self.budget - sum(s.amount or 0 for s in self.sources)
        total_weight = sum(s.weight or 0 for s in self.sources)
        return {
            s.name: s.amount if s.amount is not None else round(rest * s.weight / total_weight)
            for s in self.sources
        }

    def shares(self) -> dict[str, float]:
        """Asked share of each source: its target over the budget (weights alone: weight / sum)."""
        return {name: t / self.budget for name, t in self.targets().items()}

    def fingerprint(self) -> str:
        """Identity of what the mix computes (the description does not change the output)."""
        data = self.model_dump(exclude={"description"})
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def load_mix(path_or_dict: str | Path | dict[str, Any]) -> MixConfig:
    """A validated MixConfig from a YAML file or a dict; RecipeError (`file:line: key: message`) if bad."""
    if isinstance(path_or_dict, dict):
        check_value_tree(path_or_dict, "<dict>")
        data, ctx = path_or_dict, RecipeContext("<dict>", {})
    else:
        file = Path(path_or_dict)
        data, lines = load_yaml(file)
        ctx = RecipeContext(str(file), lines)
    if not isinstance(data, dict):
        raise RecipeError(
            ctx.file, None, "", "a mix file must be a mapping (name, unit, budget, sources, output)"
        )
    # sections first, so an unknown key's suggestions come from its own section's keys
    if isinstance(data.get("sources"), list):
        data = {
            **data,
            "sources": [_source_input(src, ("sources", i), ctx) for i, src in enumerate(data["sources"])],
        }
        for i, src in enumerate(data["sources"]):
            _validate_model(MixSource, src, ("sources", i), ctx)
    if isinstance(data.get("output"), dict):
        _validate_model(MixOutput, data["output"], ("output",), ctx)
    cfg = _validate_model(MixConfig, data, (), ctx)
    _check_sizes(cfg, ctx)
    return cfg


SOURCE_KEYS = tuple(k for k in MixSource.model_fields if k != "input")


def _source_input(src: Any, path: tuple, ctx: RecipeContext) -> Any:
    """A source with `path:` gets its input keys (path, format and the format's own) validated by the
    format's reader params, like a recipe's `input:`, and gathered under `input`."""
    if not isinstance(src, dict):
        return src
    if "input" in src:
        raise ctx.error(path + ("input",), "unknown key; give path: and format: on the source itself")
    if "path" not in src and "format" not in src:
        return src
    readers = all_readers()
    fmt = src.get("format")
    if fmt not in readers:
        raise ctx.error(
            path + ("format",),
            f"unknown input format {fmt!r}{_suggest(fmt, readers)}; known: {', '.join(readers)}",
        )
    allowed = [*SOURCE_KEYS, *readers[fmt].params.model_fields]
    for key in src:
        if key not in allowed:
            raise ctx.error(
                path + (key,), f"unknown key{_suggest(key, allowed)}; allowed: {', '.join(allowed)}"
            )
    mix_keys = {k: v for k, v in src.items() if k in SOURCE_KEYS}
    inp = {k: v for k, v in src.items() if k not in SOURCE_KEYS}
    return {**mix_keys, "input": _validate_model(readers[fmt].params, inp, path, ctx)}


def _check_sizes(cfg: MixConfig, ctx: RecipeContext) -> None:
    """Amounts must fit the budget and leave something for the weights (or use all of it without them);
    format tokens needs a tokenizer. Errors name the line of the key at fault."""
    amounts = [(i, s) for i, s in enumerate(cfg.sources) if s.amount is not None]
    fixed = sum(s.amount for _, s in amounts)
    weighted = any(s.weight is not None for s in cfg.sources)
    unit = cfg.unit
    if fixed > cfg.budget:
        raise ctx.error(
            ("sources", amounts[-1][0], "amount"),
            f"the amounts ({fixed:,} {unit}) exceed the budget ({cfg.budget:,}) by {fixed - cfg.budget:,} {unit}",
        )
    if weighted and fixed == cfg.budget:
        raise ctx.error(
            ("budget",),
            f"the amounts use the whole budget ({fixed:,} {unit}): nothing is left for the weighted sources",
        )
    if not weighted and fixed < cfg.budget:
        raise ctx.error(
            ("budget",),
            f"the amounts sum to {fixed:,} {unit} but the budget is {cfg.budget:,}: "
            f"give a source a weight: or set budget: {fixed}",
        )
    if cfg.output.format == "tokens" and not cfg.tokenizer:
        raise ctx.error(("output", "format"), "format tokens needs tokenizer: (a local tokenizer folder)")
