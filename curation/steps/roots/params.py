"""The `roots_filters` recipe entry: its parameter models and how they resolve per language.

Why a module of its own: the step (`curation/steps/roots/__init__.py`) scores documents with one plain dict of
parameters per language, but a recipe gives them in three layers: ROOTS' published tables
(`curation/resources/roots_params.json`, with a `default` for languages without a table), top-level
overrides for every language, and `per_lang` overrides for one. `resolve_params` flattens the layers
(per_lang > top-level > table > table default) once, at build time; `thresholds` reports the same
resolved values in summary.json (docs/CONTRACTS.md, "Thresholds").
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from curation.model_files import check_kenlm, check_sentencepiece, fasttext_labels
from curation.registry import OpParams
from curation.steps.roots.data import load_table

Check = Literal[
    "n_words",
    "char_rep",
    "word_rep",
    "special_chars",
    "stopwords",
    "flagged_words",
    "lang_score",
    "perplexity",
]


class RootsLangParams(OpParams):
    """Parameters of one language. Unset (null) fields keep the ROOTS table's value for the document's
    language (`default` for languages without a table); see curation/resources/roots_params.json."""

    min_words: int | None = Field(None, description="minimum number of words")
    max_words: int | None = Field(None, description="maximum number of words")
    char_ngram: int | None = Field(None, description="character n-gram size for the repetition ratio (chars)")
    max_char_rep_ratio: float | None = Field(None, description="max character repetition ratio (0-1)")
    word_ngram: int | None = Field(None, description="word n-gram size for the repetition ratio (words)")
    max_word_rep_ratio: float | None = Field(None, description="max word repetition ratio (0-1)")
    max_special_char_ratio: float | None = Field(None, description="max share of special characters (0-1)")
    min_stopword_ratio: float | None = Field(None, description="min stop words per word (0-1)")
    max_flagged_word_ratio: float | None = Field(None, description="max flagged words per word (0-1)")
    min_lang_score: float | None = Field(None, description="min metadata.lang_score (0-1)")
    max_perplexity: float | None = Field(None, description="max KenLM perplexity")
    max_word_length: int | None = Field(None, description="modify_text: drop words longer than this (chars)")
    remove_long_words: bool | None = Field(None, description="modify_text: drop over-long words")
    remove_words_with_substrings: bool | None = Field(
        None, description="modify_text: drop words with URL parts"
    )
    remove_word_substrings: list[str] | None = Field(None, description="modify_text: substrings marking URLs")
    word_augmentation: list[int] | None = Field(
        None, description="also count joined word groups of these sizes"
    )
    word_augmentation_join: str | None = Field(None, description="joiner of augmented word groups")
    word_tokenizer: Literal["whitespace", "jieba", "sentencepiece", "chars"] | None = Field(
        None,
        description="whitespace | jieba (zh stand-in) | sentencepiece (sentencepiece_models, as ROOTS) | chars",
    )
    skip: list[Check] | None = Field(None, description="checks to skip (their metrics are not computed)")


class RootsParams(RootsLangParams):
    per_lang: dict[str, RootsLangParams] = Field(
        default_factory=dict, description="overrides per language code, e.g. {en: {max_char_rep_ratio: 0.2}}"
    )
    modify_text: bool = Field(
        True, description="apply ROOTS' document modifications first (false: measure the text as it comes)"
    )
    stopwords: Literal["roots", "iso"] = Field(
        "roots",
        description="stop-word lists: roots (ROOTS' own) | iso (stopwordsiso, larger for most languages)",
    )
    lid: Literal["roots", "metadata"] = Field(
        "roots",
        description="roots: fastText on the modified document as ROOTS | metadata: reuse language_id's lang_score",
    )
    lid_model_path: str | None = Field(
        None, description="fastText LID model for lid: roots (shipped lid.176.ftz)"
    )
    max_chars: int = Field(0, ge=0, description="measure at most the first N characters (0: whole document)")
    kenlm_models: dict[str, str] = Field(
        default_factory=dict, description="KenLM model path per language (perplexity check; needs kenlm)"
    )
    sentencepiece_models: dict[str, str] = Field(
        default_factory=dict,
        description="sentencepiece model per language, to tokenize for KenLM as ROOTS did",
    )

    # Every model file is checked here, at validation, before the libraries that trust them see them.
    @field_validator("kenlm_models")
    @classmethod
    def _kenlm_files(cls, v: dict[str, str]) -> dict[str, str]:
        for path in v.values():
            check_kenlm(path)
        return v

    @field_validator("sentencepiece_models")
    @classmethod
    def _sentencepiece_files(cls, v: dict[str, str]) -> dict[str, str]:
        for path in v.values():
            check_sentencepiece(path)
        return v

    @field_validator("lid_model_path")
    @classmethod
    def _lid_file(cls, v: str | None) -> str | None:
        if v is not None:
            fasttext_labels(v)
        return v


_OVERRIDABLE = list(RootsLangParams.model_fields)


def resolve_params(p: RootsParams) -> dict[str, dict]:
    """Effective parameters per language: per_lang > top-level overrides > ROOTS table > table default."""
    table = load_table()
    overrides = p.model_dump(include=set(_OVERRIDABLE), exclude_none=True)
    out = {}
    for lang in set(table) | set(p.per_lang):
        merged = dict(table.get(lang, table["default"]))
        merged.update(overrides)
        if lang in p.per_lang:
            merged.update(p.per_lang[lang].model_dump(exclude_none=True))
        merged.setdefault("skip", [])
        out[lang] = merged
    return out


_THRESHOLDS = [  # (summary.json key, op, param); the key's metric is its text up to "_max"
    ("roots.n_words", "min", "min_words"),
    ("roots.n_words_max", "max", "max_words"),
    ("roots.char_rep_ratio", "max", "max_char_rep_ratio"),
    ("roots.word_rep_ratio", "max", "max_word_rep_ratio"),
    ("roots.special_char_ratio", "max", "max_special_char_ratio"),
    ("roots.stopword_ratio", "min", "min_stopword_ratio"),
    ("roots.flagged_word_ratio", "max", "max_flagged_word_ratio"),
    ("lang_score", "min", "min_lang_score"),
    ("roots.perplexity", "max", "max_perplexity"),
]


def thresholds(p: RootsParams) -> dict:
    """Each check's limit for summary.json: its default value, its value per language and its param."""
    resolved = resolve_params(p)
    default = resolved["default"]
    out = {}
    for metric, op, key in _THRESHOLDS:
        if metric == "lang_score" and p.lid == "roots":
            metric = "roots.lang_score"  # computed by this step on the modified document
        per_lang = {lang: v[key] for lang, v in sorted(resolved.items()) if lang != "default"}
        out[metric] = {"op": op, "value": default[key], "per_lang": per_lang, "param": key}
        if metric.endswith("_max"):
            out[metric]["metric"] = metric.removesuffix("_max")
    return out
