"""The mix file of `curate mix` (docs/mixtures.md): which run folders, in which shares, how many epochs.

Read with the recipe loader (`curation/recipe_yaml.py`: bounded, safe YAML with the line of every key)
and validated with pydantic, so a bad mix file is the same one line as a bad recipe:
`file:line: key: message`, exit 2.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from curation.errors import RecipeError
from curation.recipe import RecipeContext, _validate_model
from curation.recipe_yaml import check_value_tree, load_yaml

Scalar = str | int | float | bool


class MixSource(BaseModel):
    """One source of a mixture: a run folder's kept documents, optionally narrowed by `where`."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", description="the source's name in ids and metadata"
    )
    run: str = Field(min_length=1, description="a run folder (its output/ shards are read)")
    weight: float = Field(
        gt=0, le=1e6, description="share of the budget (weights are normalized to sum to 1)"
    )
    max_epochs: float = Field(
        1.0, gt=0, le=1000, description="how many times the source may be repeated at most"
    )
    where: dict[str, Scalar | list[Scalar]] = Field(
        default_factory=dict,
        description="metadata key -> value (equality) or list (membership); all must hold",
    )


class MixOutput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(min_length=1, description="the mixture folder")
    format: Literal["jsonl.gz", "jsonl", "parquet"] = "jsonl.gz"
    max_shard_docs: int = Field(10_000, gt=0, le=10_000_000, description="documents per output shard")


class MixConfig(BaseModel):
    """A whole mix file."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    unit: Literal["documents", "tokens"] = Field(
        "documents", description="what budget and weights count; tokens = UTF-8 bytes / 4 (an estimate)"
    )
    budget: int = Field(gt=0, le=10**15, description="total size of the mixture, in `unit`")
    seed: int = Field(0, ge=0, le=2**32 - 1)
    sources: list[MixSource] = Field(min_length=1, max_length=1000)
    output: MixOutput

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, v: list[MixSource]) -> list[MixSource]:
        names = [s.name for s in v]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"source names must be unique; repeated: {', '.join(dup)}")
        return v

    def shares(self) -> dict[str, float]:
        """Asked share of each source: its weight over the sum of weights."""
        total = sum(s.weight for s in self.sources)
        return {s.name: s.weight / total for s in self.sources}

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
        for i, src in enumerate(data["sources"]):
            _validate_model(MixSource, src, ("sources", i), ctx)
    if isinstance(data.get("output"), dict):
        _validate_model(MixOutput, data["output"], ("output",), ctx)
    return _validate_model(MixConfig, data, (), ctx)
