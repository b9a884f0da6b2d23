"""The 8 ROOTS (BigScience) document filters with per-language parameters, as the `roots_filters` op.

Filters, in ROOTS' order (the first failing one is the removal reason): number of words
(`roots_n_words_too_few` / `roots_n_words_too_many`: below `min_words` or above `max_words`), character repetition (`roots_char_rep_ratio`), word repetition
(`roots_word_rep_ratio`), special characters (`roots_special_char_ratio`), stop words
(`roots_stopword_ratio`), flagged words (`roots_flagged_word_ratio`), language-ID score
(`roots_lang_score`) and KenLM perplexity (`roots_perplexity`). Metric definitions and their fast
implementation: `curation/steps/roots/metrics.py`.

Parameters per language come from `curation/resources/roots_params.json` (ROOTS' published
`parameters_filtering.py`, source in the file) and can be overridden for every language (top-level
keys) or per language (`per_lang: {en: {max_char_rep_ratio: 0.2}}`); the params models and that
resolution live in `curation/steps/roots/params.py`. The language is `metadata.lang` (from
`language_id`); documents without one, or in a language without a table, use the `default` parameters.

Defaults are ROOTS' own pipeline (checked against the original code in
tests/curation/steps/test_roots_conformance.py): the document is modified first (`modify_text`),
words are split on space / newline / tab and stripped of ROOTS' special characters, stop and flagged
words are ROOTS' lists, and the LID score is fastText on the whole modified document, lowercased,
newlines -> spaces (the predicted language must be the document's `metadata.lang`). Stand-ins:
zh words come from jieba on ROOTS-normalized text (ROOTS used its KenLM's sentencepiece model; give
`sentencepiece_models: {zh: ...}` and `word_tokenizer: sentencepiece` for that); perplexity runs
only when a KenLM model is given and `kenlm` is importable. Like ROOTS, the two model-based checks
(LID, perplexity) run only for documents that pass the six text checks.

Options that deviate from ROOTS, each named (see docs/roots.md):
- `modify_text: false`: measure the text as it comes (ROOTS always modified it);
- `stopwords: iso`: stopwordsiso's lists instead of ROOTS' own;
- `lid: metadata`: reuse `metadata.lang_score` from `language_id` (a cased 2,000-char prefix by
  default: faster, no second fastText call) instead of scoring the modified document;
- `max_chars: N`: measure only the first N characters (bounded cost on huge documents);
- `word_tokenizer: chars`: one zh word per character (no jieba).
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path

import numpy as np
from datatrove.data import Document
from datatrove.utils.logging import logger

from curation.registry import StepContext, register_op
from curation.resources import LID_MODEL
from curation.steps.base import ScoredFilter
from curation.steps.langid import normalize_label
from curation.steps.roots import metrics as rm
from curation.steps.roots.data import (  # noqa: F401  (re-exported: the data API of the op)
    load_flagged_words,
    load_stopwords,
    load_table,
    roots_normalization,
    roots_special_characters,
    roots_whitespace,
    special_characters_extra,
)
from curation.steps.roots.params import RootsParams, resolve_params, thresholds

_LID_UNSAFE = re.compile("[\ud800-\udfff\r\n\v\f\x00]")


class _Lang:
    """Everything one language needs at scoring time (hash sets built once per worker)."""

    def __init__(self, params: dict, stopwords: list[str], flagged: list[str] | None):
        self.p = params
        self.skip = set(params["skip"])
        self.stopwords = rm.hash_strings(stopwords)
        self.flagged = rm.hash_strings(flagged) if flagged else None


class RootsFilter(ScoredFilter):
    """ROOTS filters; metrics go to `metadata["roots.<metric>"]` for kept and removed documents.

    Args:
        params: effective parameters per language (`resolve_params`), with a `default` entry.
        modify_text: apply ROOTS' document modifications before measuring (the document keeps them).
        stopwords: `roots` (ROOTS' lists) or `iso` (stopwordsiso).
        lid: `roots` (fastText on the modified, lowercased document) or `metadata` (language_id's score).
        lid_model_path: fastText model for `lid: roots` (the shipped lid.176.ftz when None).
        max_chars: measure at most the first `max_chars` characters (0: whole document).
        kenlm_models / sentencepiece_models: per-language model paths (perplexity; zh words).
        exclusion_writer: where removed documents go.
    """

    name = "🌳 ROOTS filters"
    metric_prefix = "roots."

    def __init__(
        self,
        params: dict[str, dict],
        modify_text: bool = True,
        stopwords: str = "roots",
        lid: str = "roots",
        lid_model_path: str | None = None,
        max_chars: int = 0,
        kenlm_models: dict[str, str] | None = None,
        sentencepiece_models: dict[str, str] | None = None,
        exclusion_writer=None,
    ):
        super().__init__(exclusion_writer=exclusion_writer)
        self.params = params
        self.modify_text = modify_text
        self.stopwords = stopwords
        self.lid = lid
        self.lid_model_path = str(lid_model_path or LID_MODEL)
        if lid == "roots" and not Path(self.lid_model_path).is_file():
            raise ValueError(f"roots_filters: LID model file not found: {self.lid_model_path}")
        self.max_chars = max_chars
        self.kenlm_models = kenlm_models or {}
        self.sentencepiece_models = sentencepiece_models or {}
        self.special_chars = roots_special_characters()
        self.whitespace = roots_whitespace()
        self.norm = roots_normalization()
        self._langs: dict[str, _Lang] = {}
        self._warned: set[str] = set()
        if self.kenlm_models and not _kenlm_available():
            logger.warning("roots_filters: kenlm is not installed; the perplexity check is skipped")

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_langs"] = {}
        for key in ("_tables", "_kenlm", "_spm", "_lid_model"):
            state.pop(key, None)
        return state

    @cached_property
    def _tables(self):
        return rm.char_tables(self.special_chars)

    @cached_property
    def _lid_model(self):
        import fasttext

        return fasttext.load_model(self.lid_model_path)

    def _lang(self, lang: str | None) -> tuple[str, _Lang]:
        """(code, its scoring state): the table's params (or `default`), the code's own word lists."""
        code = lang or "default"
        if code not in self._langs:
            params = self.params.get(code, self.params["default"])
            stop = load_stopwords(self.stopwords, code) if lang else []
            self._langs[code] = _Lang(params, stop, load_flagged_words().get(code))
        return code, self._langs[code]

    def _warn_once(self, what: str, message: str) -> None:
        if what not in self._warned:
            self._warned.add(what)
            logger.warning(message)

    # --- words ---------------------------------------------------------------------------------

    def words_text(self, text: str, tokenizer: str, lang: str) -> str:
        """zh-style words as ROOTS made them: the text normalized (controls deleted, lowercased, digits
        -> 0, ...) then tokenized, joined with spaces (tokens never contain a space, newline or tab)."""
        text = rm.normalize(text, lower=True, norm=self.norm)
        if tokenizer == "sentencepiece":
            spm = self._sentencepiece(lang)
            if spm is not None:
                return " ".join(spm.encode_as_pieces(text))
            self._warn_once("spm", f"roots_filters: no sentencepiece model for {lang}; using jieba")
            tokenizer = "jieba"
        if tokenizer == "jieba":
            try:
                import jieba
            except ImportError:  # documented fallback: one word per character
                self._warn_once("jieba", "roots_filters: jieba not installed; zh words are single characters")
                return " ".join(text)
            jieba.setLogLevel(60)
            return " ".join(jieba.lcut(text))
        return " ".join(text)  # chars

    # --- scoring -------------------------------------------------------------------------------

    def score(self, doc: Document) -> dict[str, float]:
        key, lang = self._lang(doc.metadata.get("lang"))
        p, skip = lang.p, lang.skip
        if self.modify_text:
            doc.text = rm.modify_document(doc.text, p, self.special_chars, self.whitespace)
        text = doc.text[: self.max_chars] if self.max_chars else doc.text
        special, split = self._tables
        scores: dict[str, float] = {}

        cp = rm.codepoints(text)
        if p["word_tokenizer"] == "whitespace":
            # ROOTS counts words on the cased text and computes ratios on lowercased words (lowercasing
            # can turn a letter into a special character or back, e.g. Ø -> ø, so both are needed)
            n_words = len(rm.word_spans(cp, special, split)[0])
            lower = text.lower()
            words_cp = cp if lower == text else rm.codepoints(lower)
        else:
            words_cp = rm.codepoints(self.words_text(text, p["word_tokenizer"], key))
            n_words = None
        starts, ends = rm.word_spans(words_cp, special, split)
        n_lower = len(starts)
        scores["n_words"] = n_lower if n_words is None else n_words
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
                min(1.0, rm.in_sorted(candidates, lang.stopwords) / n_lower) if n_lower else 0.0
            )
        if "flagged_words" not in skip and lang.flagged is not None:
            scores["flagged_word_ratio"] = (
                min(1.0, rm.in_sorted(candidates, lang.flagged) / n_lower) if n_lower else 0.0
            )
        # the two model-based checks run, as in ROOTS, only for documents that pass the cheaper ones
        # (a fastText call on a whole document costs more than all the metrics above)
        if self._first_failure(p, skip, scores) is not None:
            return scores
        if "lang_score" not in skip and self.lid == "roots":
            pred, scores["lang_score"] = self.predict_lid(text)
            doc.metadata["roots.lang_pred"] = pred
            if not self._lid_passes(doc, scores, p["min_lang_score"]):
                return scores
        if "perplexity" not in skip and key in self.kenlm_models and _kenlm_available():
            scores["perplexity"] = self.perplexity(text, key)
        return scores

    def predict_lid(self, text: str) -> tuple[str, float]:
        """ROOTS' LID score: fastText's top label and probability on the text lowercased, newlines -> spaces."""
        line = text.lower().replace("\n", " ")
        try:
            labels, probs = self._lid_model.predict(line)
        except (TypeError, ValueError):  # lone surrogates or other line breaks: sanitized only on failure
            labels, probs = self._lid_model.predict(_LID_UNSAFE.sub(" ", line))
        return normalize_label(labels[0]), float(probs[0])

    def decide(self, doc: Document, scores: dict[str, float]) -> bool | tuple[bool, str]:
        _, lang = self._lang(doc.metadata.get("lang"))
        p, skip = lang.p, lang.skip
        reason = self._first_failure(p, skip, scores)
        if reason is not None:
            return False, reason
        if "lang_score" not in skip and not self._lid_passes(doc, scores, p["min_lang_score"]):
            return False, "roots_lang_score"
        if "perplexity" in scores and scores["perplexity"] > p["max_perplexity"]:
            return False, "roots_perplexity"
        return True

    @staticmethod
    def _first_failure(p: dict, skip: set, scores: dict[str, float]) -> str | None:
        """The first of the six text checks (ROOTS' order) the document fails, or None."""
        if "n_words" not in skip:  # one ROOTS check, two bounds: the reason names the one that failed
            if scores["n_words"] < p["min_words"]:
                return "roots_n_words_too_few"
            if scores["n_words"] > p["max_words"]:
                return "roots_n_words_too_many"
        for metric, limit, reason in (
            ("char_rep_ratio", "max_char_rep_ratio", "roots_char_rep_ratio"),
            ("word_rep_ratio", "max_word_rep_ratio", "roots_word_rep_ratio"),
            ("special_char_ratio", "max_special_char_ratio", "roots_special_char_ratio"),
        ):
            if metric in scores and scores[metric] > p[limit]:
                return reason
        if "stopword_ratio" in scores and scores["stopword_ratio"] < p["min_stopword_ratio"]:
            return "roots_stopword_ratio"
        if "flagged_word_ratio" in scores and scores["flagged_word_ratio"] > p["max_flagged_word_ratio"]:
            return "roots_flagged_word_ratio"
        return None

    def _lid_passes(self, doc: Document, scores: dict[str, float], minimum: float) -> bool:
        """ROOTS: the predicted language is the document's and its probability reaches the minimum."""
        if self.lid == "roots":
            want, pred = doc.metadata.get("lang"), doc.metadata.get("roots.lang_pred")
            return (want is None or pred == want) and scores.get("lang_score", -1.0) >= minimum
        score = doc.metadata.get("lang_score")
        if score is None:
            self._warn_once(
                "lid", "roots_filters: no metadata.lang_score (run language_id first); LID check skipped"
            )
            self.stat_update("lang_score_missing")
            return True
        return score >= minimum

    # --- perplexity and sentencepiece (optional models) -----------------------------------------

    def _sentencepiece(self, lang: str):
        if not hasattr(self, "_spm"):
            self._spm = {}
        if lang not in self._spm:
            self._spm[lang] = None
            if lang in self.sentencepiece_models:
                import sentencepiece

                self._spm[lang] = sentencepiece.SentencePieceProcessor(
                    model_file=self.sentencepiece_models[lang]
                )
        return self._spm[lang]

    def perplexity(self, text: str, lang: str) -> float:
        """KenLM perplexity as ROOTS computed it: the text normalized (controls incl. newlines deleted, digits
        -> 0, Unicode punctuation mapped; not lowercased), sentencepiece pieces joined by spaces, then
        10^(-sum log10 p / (tokens + 1 per line)), rounded to 0.1. Without a sentencepiece model the
        normalized text is scored as is."""
        if not hasattr(self, "_kenlm"):
            self._kenlm = {}
        if lang not in self._kenlm:
            import kenlm

            self._kenlm[lang] = kenlm.Model(self.kenlm_models[lang])
        model, spm = self._kenlm[lang], self._sentencepiece(lang)
        text = rm.normalize(text, lower=False, norm=self.norm)
        if spm is not None:
            text = " ".join(spm.encode_as_pieces(text))
        log_score, length = 0.0, 0
        for line in text.split("\n"):
            log_score += model.score(line)
            length += len(line.split()) + 1
        return round(10.0 ** (-log_score / length), 1)


def _kenlm_available() -> bool:
    try:
        import kenlm  # noqa: F401
    except ImportError:
        return False
    return True


def make_filter(p: RootsParams, exclusion_writer=None) -> RootsFilter:
    """The step for validated params (the op's builder, also handy in tests and benchmarks)."""
    return RootsFilter(
        params=resolve_params(p),
        modify_text=p.modify_text,
        stopwords=p.stopwords,
        lid=p.lid,
        lid_model_path=p.lid_model_path,
        max_chars=p.max_chars,
        kenlm_models=p.kenlm_models,
        sentencepiece_models=p.sentencepiece_models,
        exclusion_writer=exclusion_writer,
    )


@register_op("roots_filters", RootsParams, thresholds=thresholds)
def build_roots_filters(p: RootsParams, ctx: StepContext) -> RootsFilter:
    """ROOTS (BigScience) filters: words, char/word repetition, special chars, stop/flagged words, LID, perplexity.

    Thresholds per language from ROOTS' published tables; a null param keeps ROOTS' value for the doc's
    language, a set one overrides it for every language, `per_lang` for one language. Defaults reproduce
    ROOTS' own decisions; the deviating options are listed in this module's docstring."""
    return make_filter(p, exclusion_writer=ctx.removed_writer())
