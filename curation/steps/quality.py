"""Recipe ops for datatrove's own quality filters: Gopher quality / repetition, C4, FineWeb, URL.

The filters run unchanged; each op's params model mirrors the filter's `__init__` arguments and
defaults (datatrove 0.10), so `curate ops` documents them. Removal reasons are datatrove's
(`gopher_short_doc`, `dup_line_frac`, `too_few_sentences`, `line_punct_ratio`, `domain`, ...).

Offline: Gopher, C4 quality and FineWeb only use datatrove's bundled spaCy-based word tokenizers.
The URL filter's block lists ship inside the datatrove wheel (extracted once to the Hugging Face
assets cache, no network); tldextract would fetch the public suffix list, so it gets
`suffix_list_urls=()` and uses its bundled snapshot. `C4BadWordsFilter` downloads its word lists
from GitHub and is not exposed (ROOTS' flagged-word filter in `roots_filters` covers that need).
"""

from __future__ import annotations

from datatrove.data import Document
from datatrove.pipeline.filters import (
    C4QualityFilter,
    FineWebQualityFilter,
    GopherQualityFilter,
    GopherRepetitionFilter,
    URLFilter,
)
from pydantic import Field

from curation.registry import OpParams, StepContext, register_op


class GopherQualityParams(OpParams):
    min_doc_words: int | None = Field(50, description="min words per document")
    max_doc_words: int | None = Field(100000, description="max words per document")
    min_avg_word_length: int | None = Field(3, description="min mean word length (chars)")
    max_avg_word_length: int | None = Field(10, description="max mean word length (chars)")
    max_symbol_word_ratio: float | None = Field(0.1, description="max (# and ...) per word")
    max_bullet_lines_ratio: float | None = Field(0.9, description="max share of lines starting with a bullet")
    max_ellipsis_lines_ratio: float | None = Field(
        0.3, description="max share of lines ending with an ellipsis"
    )
    max_non_alpha_words_ratio: float | None = Field(
        0.8, description="min share of words containing a letter (datatrove names it max_)"
    )
    min_stop_words: int | None = Field(2, description="min number of stop words")
    stop_words: list[str] | None = Field(None, description="stop words (datatrove's 8 English ones if unset)")
    language: str = Field("en", description="language of the word tokenizer")


class GopherRepetitionParams(OpParams):
    dup_line_frac: float | None = Field(0.3, description="max share of duplicated lines")
    dup_para_frac: float | None = Field(0.3, description="max share of duplicated paragraphs")
    dup_line_char_frac: float | None = Field(0.2, description="max share of chars in duplicated lines")
    dup_para_char_frac: float | None = Field(0.2, description="max share of chars in duplicated paragraphs")
    top_n_grams: list[tuple[int, float]] = Field(
        [(2, 0.2), (3, 0.18), (4, 0.16)], description="(n, max share of chars in the top word n-gram)"
    )
    dup_n_grams: list[tuple[int, float]] = Field(
        [(5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11), (10, 0.10)],
        description="(n, max share of chars in duplicated word n-grams)",
    )
    language: str = Field("en", description="language of the word tokenizer")


class C4QualityParams(OpParams):
    split_paragraph: bool = Field(True, description="lines are paragraphs (C4); False: sentences")
    remove_citations: bool = Field(True, description="remove wikipedia-style [1] citations")
    filter_no_terminal_punct: bool = Field(True, description="drop lines without terminal punctuation")
    min_num_sentences: int = Field(5, description="min sentences after line filtering (-1: off)")
    min_words_per_line: int = Field(3, description="drop lines with fewer words (-1: off)")
    max_word_length: int = Field(1000, description="drop lines with a longer word (chars, -1: off)")
    filter_lorem_ipsum: bool = Field(True, description="drop documents containing 'lorem ipsum'")
    filter_javascript: bool = Field(True, description="drop lines mentioning javascript")
    filter_curly_bracket: bool = Field(True, description="drop documents containing '{'")
    filter_policy: bool = Field(True, description="drop cookie / terms-of-use lines")
    language: str = Field("en", description="language of the sentence splitter")


class FineWebQualityParams(OpParams):
    line_punct_thr: float = Field(0.12, description="min share of lines ending in punctuation")
    line_punct_exclude_zero: bool = Field(False, description="keep documents where that share is 0")
    stop_chars: list[str] | None = Field(None, description="terminal punctuation (datatrove's if unset)")
    short_line_thr: float = Field(0.67, description="max share of short lines")
    short_line_length: int = Field(30, description="a short line has at most this many chars")
    char_duplicates_ratio: float = Field(0.01, description="max share of chars in duplicated lines")
    new_line_ratio: float = Field(0.3, description="max newlines per word")
    language: str = Field("en", description="language of the word tokenizer")


class URLFilterParams(OpParams):
    soft_word_threshold: int = Field(2, description="remove when the URL has this many soft-banned words")
    extra_domains: list[str] | None = Field(None, description="more blocked domains")
    extra_urls: list[str] | None = Field(None, description="more blocked URLs")
    banned_words: list[str] | None = Field(None, description="more banned URL words")
    banned_subwords: list[str] | None = Field(None, description="more banned URL substrings")
    soft_banned_words: list[str] | None = Field(None, description="more soft-banned URL words")
    use_integrated_lists: bool = Field(True, description="use datatrove's bundled block lists (no download)")


class OfflineURLFilter(URLFilter):
    """datatrove's URLFilter with tldextract on its bundled suffix list; documents without a URL pass."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        from tldextract import TLDExtract

        self.tldextractor = TLDExtract(suffix_list_urls=())  # never fetch publicsuffix.org

    def filter(self, document: Document) -> bool | tuple[bool, str]:
        if not document.metadata.get("url"):
            self.stat_update("missing_url")
            return True
        return super().filter(document)


@register_op("gopher_quality", GopherQualityParams)
def build_gopher_quality(p: GopherQualityParams, ctx: StepContext) -> GopherQualityFilter:
    """Gopher quality rules (MassiveText, Rae et al. 2021, Table A1) via datatrove's GopherQualityFilter."""
    return GopherQualityFilter(**p.model_dump(), exclusion_writer=ctx.removed_writer())


@register_op("gopher_repetition", GopherRepetitionParams)
def build_gopher_repetition(p: GopherRepetitionParams, ctx: StepContext) -> GopherRepetitionFilter:
    """Gopher repetition rules (duplicate lines / paragraphs / n-grams) via datatrove's GopherRepetitionFilter."""
    kw = p.model_dump()
    kw["top_n_grams"] = tuple(map(tuple, kw["top_n_grams"]))
    kw["dup_n_grams"] = tuple(map(tuple, kw["dup_n_grams"]))
    return GopherRepetitionFilter(**kw, exclusion_writer=ctx.removed_writer())


@register_op("c4_quality", C4QualityParams)
def build_c4_quality(p: C4QualityParams, ctx: StepContext) -> C4QualityFilter:
    """C4 heuristics (terminal punctuation, min sentences, javascript / lorem ipsum / braces) via datatrove."""
    return C4QualityFilter(**p.model_dump(), exclusion_writer=ctx.removed_writer())


@register_op("fineweb_quality", FineWebQualityParams)
def build_fineweb_quality(p: FineWebQualityParams, ctx: StepContext) -> FineWebQualityFilter:
    """FineWeb heuristics (line punctuation, short lines, duplicated lines, list-like docs) via datatrove."""
    kw = p.model_dump()
    if kw["stop_chars"] is not None:
        kw["stop_chars"] = tuple(kw["stop_chars"])
    return FineWebQualityFilter(**kw, exclusion_writer=ctx.removed_writer())


@register_op("url_filter", URLFilterParams)
def build_url_filter(p: URLFilterParams, ctx: StepContext) -> OfflineURLFilter:
    """Block-listed domains / URLs / words in metadata.url (datatrove URLFilter, offline lists)."""
    return OfflineURLFilter(**p.model_dump(), exclusion_writer=ctx.removed_writer())
