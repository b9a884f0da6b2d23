"""The 8 ROOTS (BigScience) document filters with per-language parameters, as the `roots_filters` op.

Filters, in ROOTS' order (the first failing one is the removal reason): number of words
(`roots_n_words`), character repetition (`roots_char_rep_ratio`), word repetition
(`roots_word_rep_ratio`), special characters (`roots_special_char_ratio`), stop words
(`roots_stopword_ratio`), flagged words (`roots_flagged_word_ratio`), language-ID score
(`roots_lang_score`) and KenLM perplexity (`roots_perplexity`). Metric definitions and their fast
implementation: `curation/steps/roots_metrics.py`.

Parameters per language come from `curation/resources/roots_params.json` (ROOTS' published
`parameters_filtering.py`, source in the file) and can be overridden for every language (top-level
keys) or per language (`per_lang: {en: {max_char_rep_ratio: 0.2}}`). The language is
`metadata.lang` (from `language_id`); documents without one, or in a language without a table,
use the `default` parameters.

Deviations from ROOTS, on purpose:
- stop words come from `stopwordsiso` (larger lists than ROOTS' own, so stop-word ratios run higher);
- zh words come from jieba (ROOTS used the sentencepiece model of its KenLM), or one word per
  character with `word_tokenizer: chars`;
- LID reuses `metadata.lang_score` written by `language_id` instead of running fastText again (the
  check is skipped, with a warning, when it is missing);
- perplexity runs only when a KenLM model is given for the language and `kenlm` is importable;
- documents longer than `max_chars` are measured on their first `max_chars` characters;
- document modifications (`modify_text`) are off by default and keep newlines and tabs.
"""

from __future__ import annotations

import json
from functools import cached_property
from typing import Literal

import numpy as np
from datatrove.data import Document
from datatrove.utils.logging import logger
from pydantic import Field

from curation.registry import OpParams, StepContext, register_op
from curation.resources import RESOURCES
from curation.steps import roots_metrics as rm
from curation.steps.base import ScoredFilter
from curation.steps.roots_metrics import modify_document

PARAMS_FILE = RESOURCES / "roots_params.json"
FLAGGED_FILE = RESOURCES / "roots_flagged_words.json"

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


def load_table() -> dict[str, dict]:
    """ROOTS' per-language parameters (`default` included), without the provenance keys."""
    data = json.loads(PARAMS_FILE.read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_") and isinstance(v, dict)}


def special_characters_extra() -> str:
    return json.loads(PARAMS_FILE.read_text(encoding="utf-8"))["special_characters_extra"]


def load_flagged_words() -> dict[str, list[str]]:
    """ROOTS flagged words per language (each list includes the English one, as in ROOTS)."""
    data = json.loads(FLAGGED_FILE.read_text(encoding="utf-8"))
    english = data["_english"]
    return {k: english + v for k, v in data.items() if not k.startswith("_")}


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
    word_tokenizer: Literal["whitespace", "jieba", "chars"] | None = Field(
        None, description="whitespace | jieba (zh) | chars (one word per character)"
    )
    skip: list[Check] | None = Field(None, description="checks to skip (their metrics are not computed)")


class RootsParams(RootsLangParams):
    per_lang: dict[str, RootsLangParams] = Field(
        default_factory=dict, description="overrides per language code, e.g. {en: {max_char_rep_ratio: 0.2}}"
    )
    modify_text: bool = Field(
        False, description="apply ROOTS' document modifications (drop URL-like and over-long words) first"
    )
    max_chars: int = Field(
        1_000_000, gt=0, description="measure at most the first N characters of a document"
    )
    kenlm_models: dict[str, str] = Field(
        default_factory=dict, description="KenLM model path per language (perplexity check; needs kenlm)"
    )
    sentencepiece_models: dict[str, str] = Field(
        default_factory=dict,
        description="sentencepiece model per language, to tokenize for KenLM as ROOTS did",
    )


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


class _Lang:
    """Everything one language needs at scoring time (hash sets built once per worker)."""

    def __init__(self, lang: str, params: dict, flagged: list[str] | None):
        import stopwordsiso

        self.p = params
        self.skip = set(params["skip"])
        stop = sorted(stopwordsiso.stopwords(lang)) if stopwordsiso.has_lang(lang) else []
        self.stopwords = rm.hash_strings([w.lower() for w in stop])
        self.flagged = rm.hash_strings([w.lower() for w in flagged]) if flagged else None


class RootsFilter(ScoredFilter):
    """ROOTS filters; metrics go to `metadata["roots.<metric>"]` for kept and removed documents.

    Args:
        params: effective parameters per language (`resolve_params`), with a `default` entry.
        modify_text: apply ROOTS' document modifications before measuring.
        max_chars: measure at most the first `max_chars` characters (bounded cost on huge documents).
        kenlm_models / sentencepiece_models: per-language model paths for the perplexity check.
        exclusion_writer: where removed documents go.
    """

    name = "🌳 ROOTS filters"
    metric_prefix = "roots."

    def __init__(
        self,
        params: dict[str, dict],
        modify_text: bool = False,
        max_chars: int = 1_000_000,
        kenlm_models: dict[str, str] | None = None,
        sentencepiece_models: dict[str, str] | None = None,
        exclusion_writer=None,
    ):
        super().__init__(exclusion_writer=exclusion_writer)
        self.params = params
        self.modify_text = modify_text
        self.max_chars = max_chars
        self.kenlm_models = kenlm_models or {}
        self.sentencepiece_models = sentencepiece_models or {}
        self.extra_special = special_characters_extra()
        self._langs: dict[str, _Lang] = {}
        self._warned: set[str] = set()
        if self.kenlm_models and not _kenlm_available():
            logger.warning("roots_filters: kenlm is not installed; the perplexity check is skipped")

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_langs"] = {}
        for key in ("_tables", "_kenlm", "_spm"):
            state.pop(key, None)
        return state

    @cached_property
    def _tables(self):
        return rm.char_tables(self.extra_special)

    def _lang(self, lang: str | None) -> tuple[str, _Lang]:
        """(code, its scoring state): the table's params (or `default`), the code's own word lists."""
        code = lang or "default"
        if code not in self._langs:
            params = self.params.get(code, self.params["default"])
            self._langs[code] = _Lang(code, params, load_flagged_words().get(code))
        return code, self._langs[code]

    def _warn_once(self, what: str, message: str) -> None:
        if what not in self._warned:
            self._warned.add(what)
            logger.warning(message)

    # --- words ---------------------------------------------------------------------------------

    def words_text(self, text: str, tokenizer: str) -> str:
        """Text whose whitespace tokens are the words (jieba / per-character for unspaced scripts)."""
        if tokenizer == "jieba":
            try:
                import jieba
            except ImportError:  # documented fallback: one word per character
                self._warn_once("jieba", "roots_filters: jieba not installed; zh words are single characters")
                return " ".join(text)
            jieba.setLogLevel(60)
            return " ".join(jieba.lcut(text))
        if tokenizer == "chars":
            return " ".join(text)
        return text

    # --- scoring -------------------------------------------------------------------------------

    def score(self, doc: Document) -> dict[str, float]:
        key, lang = self._lang(doc.metadata.get("lang"))
        p, skip = lang.p, lang.skip
        if self.modify_text:
            doc.text = modify_document(doc.text, p, self.extra_special)
        text = doc.text[: self.max_chars]
        special, space = self._tables
        scores: dict[str, float] = {}

        cp = rm.codepoints(text)
        words_cp = rm.codepoints(self.words_text(text.lower(), p["word_tokenizer"]))
        starts, ends = rm.word_spans(words_cp, special, space)
        n_words = len(starts)
        scores["n_words"] = n_words
        if "char_rep" not in skip:
            scores["char_rep_ratio"] = rm.char_repetition_ratio(cp, p["char_ngram"])
        need_words = {"word_rep", "stopwords", "flagged_words"} - skip
        if need_words:
            hashes = rm.span_hashes(rm.prefix_hashes(words_cp), starts, ends)
            if p["word_augmentation"] and ({"stopwords", "flagged_words"} & need_words):
                extra = rm.augmented_hashes(
                    hashes, ends - starts, p["word_augmentation"], p["word_augmentation_join"]
                )
                candidates = np.concatenate([hashes, extra])
            else:
                candidates = hashes
        if "word_rep" not in skip:
            scores["word_rep_ratio"] = rm.word_repetition_ratio(hashes, p["word_ngram"])
        if "special_chars" not in skip:
            scores["special_char_ratio"] = float(np.count_nonzero(special[cp]) / len(cp)) if len(cp) else 0.0
        if "stopwords" not in skip and len(lang.stopwords):
            scores["stopword_ratio"] = (
                min(1.0, rm.in_sorted(candidates, lang.stopwords) / n_words) if n_words else 0.0
            )
        if "flagged_words" not in skip and lang.flagged is not None:
            scores["flagged_word_ratio"] = (
                min(1.0, rm.in_sorted(candidates, lang.flagged) / n_words) if n_words else 0.0
            )
        if "perplexity" not in skip and key in self.kenlm_models and _kenlm_available():
            scores["perplexity"] = self.perplexity(text, key)
        return scores

    def decide(self, doc: Document, scores: dict[str, float]) -> bool | tuple[bool, str]:
        _, lang = self._lang(doc.metadata.get("lang"))
        p, skip = lang.p, lang.skip
        if "n_words" not in skip and not p["min_words"] <= scores["n_words"] <= p["max_words"]:
            return False, "roots_n_words"
        for metric, limit, reason in (
            ("char_rep_ratio", "max_char_rep_ratio", "roots_char_rep_ratio"),
            ("word_rep_ratio", "max_word_rep_ratio", "roots_word_rep_ratio"),
            ("special_char_ratio", "max_special_char_ratio", "roots_special_char_ratio"),
        ):
            if metric in scores and scores[metric] > p[limit]:
                return False, reason
        if "stopword_ratio" in scores and scores["stopword_ratio"] < p["min_stopword_ratio"]:
            return False, "roots_stopword_ratio"
        if "flagged_word_ratio" in scores and scores["flagged_word_ratio"] > p["max_flagged_word_ratio"]:
            return False, "roots_flagged_word_ratio"
        if "lang_score" not in skip:
            score = doc.metadata.get("lang_score")
            if score is None:
                self._warn_once(
                    "lid", "roots_filters: no metadata.lang_score (run language_id first); LID check skipped"
                )
                self.stat_update("lang_score_missing")
            elif score < p["min_lang_score"]:
                return False, "roots_lang_score"
        if "perplexity" in scores and scores["perplexity"] > p["max_perplexity"]:
            return False, "roots_perplexity"
        return True

    # --- perplexity (optional) -----------------------------------------------------------------

    def perplexity(self, text: str, lang: str) -> float:
        """KenLM perplexity as ROOTS computed it: 10^(-sum log10 p / (tokens + 1 per line))."""
        if not hasattr(self, "_kenlm"):
            self._kenlm, self._spm = {}, {}
        if lang not in self._kenlm:
            import kenlm

            self._kenlm[lang] = kenlm.Model(self.kenlm_models[lang])
            self._spm[lang] = None
            if lang in self.sentencepiece_models:
                import sentencepiece

                self._spm[lang] = sentencepiece.SentencePieceProcessor(
                    model_file=self.sentencepiece_models[lang]
                )
        model, spm = self._kenlm[lang], self._spm[lang]
        log_score, length = 0.0, 0
        for line in text.split("\n"):
            if spm is not None:
                line = " ".join(spm.encode(line, out_type=str))
            log_score += model.score(line)
            length += len(line.split()) + 1
        return round(10.0 ** (-log_score / length), 1)


def _kenlm_available() -> bool:
    try:
        import kenlm  # noqa: F401
    except ImportError:
        return False
    return True


_THRESHOLDS = [
    ("roots.n_words", "min", "min_words"),
    ("roots.char_rep_ratio", "max", "max_char_rep_ratio"),
    ("roots.word_rep_ratio", "max", "max_word_rep_ratio"),
    ("roots.special_char_ratio", "max", "max_special_char_ratio"),
    ("roots.stopword_ratio", "min", "min_stopword_ratio"),
    ("roots.flagged_word_ratio", "max", "max_flagged_word_ratio"),
    ("lang_score", "min", "min_lang_score"),
    ("roots.perplexity", "max", "max_perplexity"),
]


def _thresholds(p: RootsParams) -> dict:
    resolved = resolve_params(p)
    default = resolved["default"]
    out = {}
    for metric, op, key in _THRESHOLDS:
        per_lang = {lang: v[key] for lang, v in sorted(resolved.items()) if lang != "default"}
        out[metric] = {"op": op, "value": default[key], "per_lang": per_lang}
    return out


@register_op("roots_filters", RootsParams, thresholds=_thresholds)
def build_roots_filters(p: RootsParams, ctx: StepContext) -> RootsFilter:
    """ROOTS (BigScience) filters: words, char/word repetition, special chars, stop/flagged words, LID, perplexity.

    Thresholds per language from ROOTS' published tables; a null param keeps ROOTS' value for the doc's
    language, a set one overrides it for every language, `per_lang` for one language."""
    return RootsFilter(
        params=resolve_params(p),
        modify_text=p.modify_text,
        max_chars=p.max_chars,
        kenlm_models=p.kenlm_models,
        sentencepiece_models=p.sentencepiece_models,
        exclusion_writer=ctx.removed_writer(),
    )
