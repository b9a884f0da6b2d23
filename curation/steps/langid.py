"""Language identification with fastText (offline model), as the `language_id` op.

Every document gets `metadata.lang` (ISO 639-1 where the model's label maps to one, else the label)
and `metadata.lang_score` (the model's top-1 probability), kept or removed. With `keep` the step
removes other languages (`lang_not_kept`); with `min_score` it removes low-confidence predictions
(`lang_score_low`); a document without text gets `lang: und` and is removed as `empty` by either. The model sees a cased 2,000-char prefix with newlines -> spaces (fast; `lowercase`
and `max_chars: 0` come closer to ROOTS). ROOTS' own LID score (the whole *modified* document,
lowercased; `filtering.py::compute_lang_id_pred_score`) is what `roots_filters` computes by default.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections import Counter
from pathlib import Path

from datatrove.data import Document
from pydantic import Field, ValidationInfo, field_validator

from curation.registry import OpParams, StepContext, register_op
from curation.resources import LID_MODEL
from curation.steps.base import LEDGER_PREFIX, LazyFastTextModel, ScoredFilter, ledger_update

_LABEL_PREFIX = "__label__"
_SURROGATES = re.compile("[\ud800-\udfff]")  # lone surrogates (from JSON escapes) fastText cannot take
UNDETERMINED = "und"  # ISO 639-2 "undetermined": documents without any text
# fastText splits on these too; a newline makes `predict` raise, so all become spaces.
_NEWLINES = re.compile(r"[\r\n\v\f\x00]+")

# GlotLID (and NLLB-style) labels are ISO 639-3 + script (`eng_Latn`); recipes and the ROOTS tables use
# ISO 639-1. Macro-language codes (`arb`, `cmn`, `zsm`) map to their 639-1 macro code.
ISO3_TO_ISO1 = {
    "afr": "af", "amh": "am", "ara": "ar", "arb": "ar", "ary": "ar", "arz": "ar", "asm": "as", "aze": "az",
    "azj": "az", "bel": "be", "ben": "bn", "bos": "bs", "bul": "bg", "cat": "ca", "ces": "cs", "cmn": "zh",
    "cym": "cy", "dan": "da", "deu": "de", "ell": "el", "eng": "en", "epo": "eo", "est": "et", "ekk": "et",
    "eus": "eu", "fas": "fa", "pes": "fa", "fin": "fi", "fra": "fr", "gle": "ga", "glg": "gl", "guj": "gu",
    "heb": "he", "hin": "hi", "hrv": "hr", "hun": "hu", "hye": "hy", "ind": "id", "isl": "is", "ita": "it",
    "jpn": "ja", "kan": "kn", "kat": "ka", "kaz": "kk", "khm": "km", "kor": "ko", "lao": "lo", "lat": "la",
    "lit": "lt", "lav": "lv", "lvs": "lv", "mal": "ml", "mar": "mr", "mkd": "mk", "mlt": "mt", "mon": "mn",
    "khk": "mn", "msa": "ms", "zsm": "ms", "mya": "my", "nep": "ne", "npi": "ne", "nld": "nl", "nno": "nn",
    "nob": "nb", "nor": "no", "ori": "or", "ory": "or", "pan": "pa", "pol": "pl", "por": "pt", "ron": "ro",
    "rus": "ru", "sin": "si", "slk": "sk", "slv": "sl", "som": "so", "spa": "es", "sqi": "sq", "als": "sq",
    "srp": "sr", "swa": "sw", "swh": "sw", "swe": "sv", "tam": "ta", "tel": "te", "tgl": "tl", "tha": "th",
    "tur": "tr", "ukr": "uk", "urd": "ur", "uzb": "uz", "uzn": "uz", "vie": "vi", "yid": "yi", "yue": "zh",
    "zho": "zh",
}  # fmt: skip


def normalize_label(label: str) -> str:
    """`__label__en` -> `en`; GlotLID `__label__eng_Latn` -> `en` (unknown 639-3 codes stay `xyz_Scrp`)."""
    label = label.removeprefix(_LABEL_PREFIX)
    code, sep, _script = label.partition("_")
    if sep and len(code) == 3:
        return ISO3_TO_ISO1.get(code, label)
    return label


class LanguageIdFilter(LazyFastTextModel, ScoredFilter):
    """fastText LID: writes `lang` / `lang_score`, optionally removes unwanted or uncertain languages.

    Prediction uses the first `max_chars` characters only (bounded cost on huge documents). On 500
    multilingual web docs (mean 10.8k chars) the 2000-char prefix agrees with the whole-document label
    on 97% of them at ~5x the speed; 1000 chars: 95%, 300 chars: 86% (`bench/langid.py`).

    Args:
        model_path: fastText LID model (lid.176.ftz/.bin or a GlotLID `model.bin`); the shipped
            `lid.176.ftz` when None.
        keep: language codes to keep (as written to `lang`); None keeps every language.
        min_score: minimum top-1 probability, one float or `{lang: float, "default": float}`; None: no minimum.
        lowercase: lowercase before predicting, as ROOTS did (97.5% vs 97.3% cased on the 13 ROOTS
            languages of langid/dev: no real difference, so off by default).
        max_chars: characters of the document given to the model (0: all).
        batch_size: documents per fastText call (`filter_batch`: one C++ call per batch).
        exclusion_writer: where removed documents go.
    """

    name = "🌐 Language ID"

    def __init__(
        self,
        model_path: str | Path | None = None,
        keep: list[str] | None = None,
        min_score: float | dict[str, float] | None = None,
        lowercase: bool = False,
        max_chars: int = 2000,
        batch_size: int = 256,
        exclusion_writer=None,
    ):
        super().__init__(exclusion_writer=exclusion_writer)
        self.model_path = str(model_path or LID_MODEL)
        if not Path(self.model_path).is_file():
            raise ValueError(f"language_id: model file not found: {self.model_path}")
        self.keep = frozenset(keep) if keep is not None else None
        if isinstance(min_score, dict):
            self.min_score_by_lang = {k: float(v) for k, v in min_score.items() if k != "default"}
            self.min_score_default = float(min_score.get("default", 0.0))
        else:
            self.min_score_by_lang = {}
            self.min_score_default = float(min_score) if min_score is not None else 0.0
        self.lowercase = lowercase
        self.max_chars = max_chars
        self.batch_size = batch_size
        self._model = None

    def normalize(self, text: str) -> str:
        """The text the model sees: a bounded prefix, one line, optionally lowercased."""
        if self.max_chars:
            text = text[: self.max_chars]
        text = _NEWLINES.sub(" ", text)
        return text.lower() if self.lowercase else text

    def predict(self, text: str) -> tuple[str, float]:
        """Top-1 `(lang, probability)` of a raw document text; `("und", 0.0)` when it has no text."""
        text = self.normalize(text)
        if not text.strip():
            return UNDETERMINED, 0.0  # fastText would say "en" with p~0.12 for an empty line
        try:
            labels, probs = self.model.predict(text, k=1)
        except TypeError:  # lone surrogates; rare, so only sanitized on failure
            labels, probs = self.model.predict(_SURROGATES.sub("\ufffd", text), k=1)
        return normalize_label(labels[0]), min(float(probs[0]), 1.0)

    def predict_many(self, texts: list[str]) -> list[tuple[str, float]]:
        """`predict` for many raw texts in one fastText call."""
        lines = [self.normalize(t) for t in texts]
        todo = [i for i, line in enumerate(lines) if line.strip()]
        out = [(UNDETERMINED, 0.0)] * len(lines)
        if todo:
            batch = [lines[i] for i in todo]
            try:
                labels, probs = self.model.predict(batch, k=1)
            except TypeError:  # lone surrogates; rare, so only sanitized on failure
                labels, probs = self.model.predict([_SURROGATES.sub("\ufffd", t) for t in batch], k=1)
            for i, label, prob in zip(todo, labels, probs):
                out[i] = (normalize_label(label[0]), min(float(prob[0]), 1.0))
        return out

    def filter_batch(self, batch: list[Document]) -> list[bool | tuple[bool, str]]:
        """One fastText call per batch; datatrove's BaseFilter.run does the rest (counters, removed docs).

        The language counts for summary.json are summed per batch (one stat update per language).
        """
        langs: Counter[str] = Counter()
        results = []
        for doc, (lang, prob) in zip(batch, self.predict_many([d.text for d in batch])):
            doc.metadata["lang"], doc.metadata["lang_score"] = lang, prob
            langs[lang] += 1
            results.append(self.decide(doc, {"lang": lang, "lang_score": prob}))
        for lang, n in langs.items():
            self.stat_update(f"{LEDGER_PREFIX}languages:{lang}", value=n)
        return results

    def score(self, doc: Document) -> dict[str, float]:
        lang, prob = self.predict(doc.text)
        ledger_update(self, "languages", lang)
        return {"lang": lang, "lang_score": prob}

    def decide(self, doc: Document, scores: dict) -> bool | tuple[bool, str]:
        lang = scores["lang"]
        if self.keep is not None and lang not in self.keep:
            reason = "lang_not_kept"
        elif scores["lang_score"] < self.min_score_by_lang.get(lang, self.min_score_default):
            reason = "lang_score_low"
        else:
            return True
        # a document with no text has no language (`und`): say so, not "not an accepted language"
        return False, "empty" if not doc.text.strip() else reason


# English names people write instead of codes (`keep: [english]` validated and then removed every
# English document): only to suggest the code in the error message.
LANGUAGE_NAMES = {
    "arabic": "ar", "bengali": "bn", "catalan": "ca", "chinese": "zh", "czech": "cs", "danish": "da",
    "dutch": "nl", "english": "en", "finnish": "fi", "french": "fr", "german": "de", "greek": "el",
    "hebrew": "he", "hindi": "hi", "hungarian": "hu", "indonesian": "id", "italian": "it", "japanese": "ja",
    "korean": "ko", "norwegian": "no", "persian": "fa", "polish": "pl", "portuguese": "pt", "romanian": "ro",
    "russian": "ru", "spanish": "es", "swahili": "sw", "swedish": "sv", "tamil": "ta", "thai": "th",
    "turkish": "tr", "ukrainian": "uk", "urdu": "ur", "vietnamese": "vi", "basque": "eu", "yoruba": "yo",
}  # fmt: skip


@functools.lru_cache(maxsize=4)
def model_languages(model_path: str) -> frozenset[str]:
    """The codes a LID model can write to `lang` (its labels, normalized), plus `und`."""
    from curation.model_files import fasttext_labels

    labels = fasttext_labels(model_path)  # size, format and labels checked before fastText trusts it
    codes = [normalize_label(label) for label in labels]
    languages = [c for c in codes if c in _lid176_codes() or _GLOTLID_CODE.fullmatch(c)]
    if len(languages) * 2 <= len(codes):  # hq/lq, or yes/no (`no` is Norwegian): every doc would be `hq`/`yes`
        raise ValueError(
            f"{model_path} is not a language-ID model: its labels are not language codes "
            f"({', '.join(codes[:5])})"
        )
    return frozenset(codes) | {UNDETERMINED}


_GLOTLID_CODE = re.compile(r"[a-z]{3}_[A-Z][a-z]{3}")  # GlotLID's 639-3 code + script, e.g. `xyz_Latn`


@functools.lru_cache(maxsize=1)
def _lid176_codes() -> frozenset[str]:
    """The language codes of the shipped lid.176.ftz: what a label must look like to be a language."""
    from curation.model_files import fasttext_labels

    return frozenset(normalize_label(label) for label in fasttext_labels(LID_MODEL))


def _check_codes(codes, info: ValidationInfo, what: str) -> None:
    path = info.data.get("model_path") or str(LID_MODEL)
    if not Path(path).is_file():
        return  # model_path's own check reports it
    known = model_languages(path)
    for code in codes:
        if code in known:
            continue
        hint = LANGUAGE_NAMES.get(str(code).lower())
        hint = hint if hint in known else None
        close = (
            [hint] if hint else difflib.get_close_matches(str(code).lower(), sorted(known), n=3, cutoff=0.6)
        )
        suggestion = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ValueError(
            f"{what} {code!r} is not a language of the model {Path(path).name} (codes as written to "
            f"metadata.lang, e.g. en, fr){suggestion}"
        )


class LanguageIdParams(OpParams):
    model_path: str | None = Field(
        None,
        description="fastText LID model file (lid.176.bin or GlotLID model.bin); shipped lid.176.ftz if unset",
    )
    keep: list[str] | None = Field(
        None, description="language codes to keep (ISO 639-1); unset: annotate only"
    )
    min_score: float | dict[str, float] | None = Field(
        None, description="minimum top-1 probability (0-1); a float or {lang: value, default: value}"
    )
    lowercase: bool = Field(False, description="lowercase the text before predicting (ROOTS did)")
    max_chars: int = Field(2000, ge=0, description="predict on the first N characters (0: whole document)")

    @field_validator("model_path")
    @classmethod
    def _model_exists(cls, v: str | None) -> str | None:
        if v is not None:
            model_languages(v)  # missing, truncated, corrupt or label-less: ValueError naming the file
        return v

    @field_validator("keep")
    @classmethod
    def _known_codes(cls, v: list[str] | None, info: ValidationInfo) -> list[str] | None:
        if v is not None:
            _check_codes(v, info, "language")
        return v

    @field_validator("min_score")
    @classmethod
    def _probabilities(cls, v, info: ValidationInfo):
        values = v.values() if isinstance(v, dict) else [] if v is None else [v]
        if any(not 0 <= x <= 1 for x in values):
            raise ValueError("min_score is a probability: between 0 and 1")
        if isinstance(v, dict):
            _check_codes([k for k in v if k != "default"], info, "min_score language")
        return v


def _thresholds(p: LanguageIdParams) -> dict:
    if p.min_score is None:
        return {}
    if isinstance(p.min_score, dict):
        per_lang = {k: v for k, v in p.min_score.items() if k != "default"}
        return {"lang_score": {"op": "min", "value": p.min_score.get("default", 0.0), "per_lang": per_lang}}
    return {"lang_score": {"op": "min", "value": p.min_score}}


@register_op("language_id", LanguageIdParams, thresholds=_thresholds)
def build_language_id(p: LanguageIdParams, ctx: StepContext) -> LanguageIdFilter:
    """fastText language ID (offline lid.176.ftz by default): writes lang + lang_score, keeps `keep` languages."""
    return LanguageIdFilter(
        model_path=p.model_path,
        keep=p.keep,
        min_score=p.min_score,
        lowercase=p.lowercase,
        max_chars=p.max_chars,
        exclusion_writer=ctx.removed_writer(),
    )
