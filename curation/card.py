"""The dataset card: README.md in the Hugging Face dataset-card format, written beside every run's output.

A run folder's summary.json is for tools; a person (or the Hub) reads README.md: a YAML header
(`license`, `language`, `size_categories`, `configs` whose `data_files` point at the output shards, so
`datasets.load_dataset(RUN_DIR)` loads exactly the kept documents and nothing under removed/), then the
funnel, the sources with their licences as the recipe's `card:` section states them, the filters with
their thresholds, token counts when known, and the tool version. Only counts, names and parameters
go in: never document text, ids or metadata values (so no PII either).

A README.md that rootstock did not write (no CARD_MARK in it) is never overwritten: the card is then
not written and the caller is told.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from runfolder import atomic_write

CARD_MARK = "<!-- dataset card written by rootstock; rewritten on every run -->"
_LICENSE = re.compile(r"^[a-z0-9][a-z0-9.+-]*$")  # Hub licence ids: apache-2.0, cc-by-sa-4.0, other, unknown
_LANG = re.compile(r"^[a-z]{2,3}([-_][A-Za-z0-9]+)*$")
# the Hub's size categories (huggingface_hub's dataset card metadata)
SIZE_CATEGORIES = [
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
    (1_000_000_000, "100M<n<1B"),
    (10_000_000_000, "1B<n<10B"),
    (100_000_000_000, "10B<n<100B"),
]
DATA_FILES = {"jsonl.gz": "*.jsonl.gz", "jsonl": "*.jsonl", "parquet": "*.parquet"}


class CardSource(BaseModel):
    """One source of a run's input, as its licence is stated."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(
        description="the source's name; matched against documents' `source` metadata for counts"
    )
    license: str = Field("unknown", description="Hub licence id (e.g. cc-by-sa-3.0), `other` or `unknown`")
    url: str | None = Field(None, description="where the source comes from")

    @field_validator("license")
    @classmethod
    def _check_license(cls, v: str) -> str:
        return _license(v)


class CardConfig(BaseModel):
    """The recipe's optional `card:` section: what the dataset card states that a run cannot know."""

    model_config = ConfigDict(extra="forbid")
    license: str = Field("unknown", description="licence of the whole dataset (Hub id, `other` or `unknown`)")
    language: list[str] | None = Field(
        None, description="ISO 639 codes; default: the run's `languages` counts"
    )
    pretty_name: str | None = Field(None, description="a human name for the dataset")
    sources: list[CardSource] = Field(default_factory=list, description="input sources and their licences")

    @field_validator("license")
    @classmethod
    def _check_license(cls, v: str) -> str:
        return _license(v)

    @field_validator("language")
    @classmethod
    def _languages(cls, v):
        bad = [x for x in v or [] if not _LANG.match(x)]
        if bad:
            raise ValueError(f"not a language code: {bad[0]!r} (expected e.g. en, fra, zh-Hans)")
        return v


def _license(v: str) -> str:
    if not _LICENSE.match(v):
        raise ValueError(f"not a Hub licence id: {v!r} (expected e.g. apache-2.0, cc-by-4.0, other, unknown)")
    return v


def size_category(n: int) -> str:
    return next((label for bound, label in SIZE_CATEGORIES if n < bound), "n>1T")


def _table(headers: list[str], rows: list[list]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return out + ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]


def _cell(value) -> str:
    text = f"{value:,}" if isinstance(value, int) else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def card_header(card: CardConfig, summary: dict, output_format: str, name: str) -> dict:
    """The YAML header: Hub metadata plus `configs` -> the output shards."""
    languages = card.language if card.language is not None else sorted(summary.get("languages") or {})
    header = {
        "license": card.license,
        "language": [x for x in languages if _LANG.match(x)],
        "size_categories": [size_category(int(summary.get("output", {}).get("docs", 0)))],
        "pretty_name": card.pretty_name or name,
        "tags": ["rootstock"],
    }
    if not header["language"]:
        del header["language"]  # unknown: the Hub reads a missing key, not an empty list
    pattern = DATA_FILES.get(output_format)
    if pattern:  # chat formats (messages, alpaca, sharegpt) are JSON lines too
        header["configs"] = [
            {"config_name": "default", "data_files": [{"split": "train", "path": f"output/{pattern}"}]}
        ]
    elif output_format in ("messages", "alpaca", "sharegpt"):
        header["configs"] = [
            {"config_name": "default", "data_files": [{"split": "train", "path": "output/*"}]}
        ]
    return header


def card_body(
    card: CardConfig,
    summary: dict,
    steps: list[tuple[str, str, dict]],
    version: str,
    name: str,
    description: str = "",
) -> list[str]:
    """The markdown under the header: funnel, sources, filters, tool version (counts and parameters only)."""
    out = summary.get("output", {})
    lines = [f"# {name}", ""]
    if description:
        lines += [description.strip(), ""]
    lines += ["## Funnel", ""]
    rows = [["input", summary.get("input", {}).get("docs", 0), "", ""]]
    for s in summary.get("steps", []):
        reasons = ", ".join(
            f"{k} {v:,}" for k, v in sorted(s.get("removed_by_reason", {}).items(), key=lambda kv: -kv[1])
        )
        changed = f"; {s['modified']:,} modified" if "modified" in s else ""
        rows.append([s["name"], s.get("kept", 0), s.get("removed", 0), reasons + changed])
    rows.append(["output", out.get("docs", 0), "", f"{out.get('bytes', 0):,} bytes of text"])
    if summary.get("rejected"):
        rows.append(["rejected (unreadable input)", "", summary["rejected"], ""])
    lines += _table(["step", "documents kept", "removed", "why"], rows) + [""]
    if out.get("tokens") is not None:
        lines += [f"Tokens in the output: {int(out['tokens']):,}.", ""]
    else:
        lines += ["Tokens: not counted by this run.", ""]
    lines += _sources(card, summary)
    lines += ["## Filters and thresholds", ""]
    if steps:
        lines += _table(["step", "op", "parameters"], [[sid, op, _params(p)] for sid, op, p in steps]) + [""]
    else:
        lines += ["No steps: the output is the input, read and written.", ""]
    ledger = "the complete ledger is `summary.json`, the resolved recipe `recipe.resolved.yaml`"
    lines += [f"Written by rootstock {version} (`curate run`); {ledger}.", ""]
    return lines


def _sources(card: CardConfig, summary: dict) -> list[str]:
    counts = summary.get("sources") or {}
    if not card.sources and not counts:
        return []
    lines = ["## Sources", ""]
    named = {s.name for s in card.sources}
    rows = [[s.name, s.license, s.url or "", counts.get(s.name, "—")] for s in card.sources]
    rows += [[k, "not stated", "", v] for k, v in sorted(counts.items()) if k not in named]
    return (
        lines + _table(["source", "licence (as stated in the recipe)", "url", "documents kept"], rows) + [""]
    )


def _params(params: dict) -> str:
    text = ", ".join(f"{k}: {v}" for k, v in params.items() if v not in (None, [], {}))
    return text if len(text) <= 300 else text[:300] + "…"


def render_card(
    card: CardConfig,
    summary: dict,
    steps: list[tuple[str, str, dict]],
    output_format: str,
    name: str,
    version: str,
    description: str = "",
) -> str:
    header = yaml.safe_dump(
        card_header(card, summary, output_format, name), sort_keys=False, allow_unicode=True
    )
    body = card_body(card, summary, steps, version, name, description)
    return f"---\n{header}---\n{CARD_MARK}\n\n" + "\n".join(body)


def write_card(folder: str | Path, text: str) -> Path | None:
    """Write README.md into `folder` unless a README.md that rootstock did not write is there (then None)."""
    path = Path(folder) / "README.md"
    if path.exists() and CARD_MARK not in path.read_text(encoding="utf-8", errors="replace"):
        return None
    return atomic_write(path, text)


def write_run_card(recipe, summary: dict) -> Path | None:
    """The dataset card of a finished run (`recipe`: a validated `curation.recipe.Recipe`)."""
    steps = [(s.id, s.op, s.params.model_dump()) for s in recipe.steps]
    text = render_card(
        recipe.card, summary, steps, recipe.output.format, recipe.name, tool_version(), recipe.description
    )
    return write_card(recipe.run_dir, text)


def tool_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("rootstock")
    except PackageNotFoundError:
        return "unknown"
