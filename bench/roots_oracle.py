"""The original ROOTS filtering code as a test oracle (imported from outside the project, never copied).

BigScience's `preprocessing/training/01b_oscar_cleaning_and_filtering/` (commit 9d05884) lives in
`../shared/reference/roots/` (see its README). This module imports it with the stand-ins it needs
offline and runs ROOTS' own pipeline on one document: `FunctionDatasetModifyingDocuments(lang)` on the
text, then `Filtering.filtering(...)` with the language's parameters (as in ROOTS' `main_filtering.py`).

Stand-ins, the same on both sides of every comparison:
- `kenlm` / `sentencepiece` are stub modules (no KenLM model offline: perplexity is off on both sides);
- ROOTS tokenized zh words with its KenLM's sentencepiece model; here `encode_as_pieces` is jieba's
  `lcut` (rootstock's `word_tokenizer: jieba`);
- ROOTS' `lid.176.bin` is rootstock's shipped `lid.176.ftz`.
Needs `emoji==1.6.1` (the `dev` extra) and pandas.
"""

from __future__ import annotations

import importlib
import os
import sys
import types
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _find_reference() -> Path:
    """$ROOTS_REFERENCE, else the first `shared/reference/roots` beside the clone or above it."""
    if os.environ.get("ROOTS_REFERENCE"):
        return Path(os.environ["ROOTS_REFERENCE"])
    for parent in REPO.parents:
        if (parent / "shared" / "reference" / "roots").is_dir():
            return parent / "shared" / "reference" / "roots"
    return REPO.parent / "shared" / "reference" / "roots"


DEFAULT_REFERENCE = _find_reference()
LANGS = ["ar", "bn", "ca", "en", "es", "eu", "fr", "hi", "id", "pt", "ur", "vi", "zh"]


class JiebaPieces:
    """Stand-in for ROOTS' sentencepiece model: `encode_as_pieces` = jieba.lcut."""

    def encode_as_pieces(self, text: str) -> list[str]:
        import jieba

        jieba.setLogLevel(60)
        return jieba.lcut(text)


def missing_reason(reference: Path = DEFAULT_REFERENCE) -> str | None:
    """Why the oracle cannot be imported here (None when it can)."""
    if not (reference / "filtering.py").is_file():
        return f"original ROOTS code not found at {reference} (CI has ../shared beside the clone)"
    try:
        import emoji
    except ImportError:
        return "emoji==1.6.1 is not installed (pip install -e '.[dev]')"
    if not hasattr(emoji, "UNICODE_EMOJI"):
        return f"ROOTS needs emoji==1.6.1 (emoji.UNICODE_EMOJI); found emoji {emoji.__version__}"
    return None


def load(reference: Path = DEFAULT_REFERENCE) -> types.SimpleNamespace:
    """Import the original modules (stubbing kenlm / sentencepiece when they are not installed)."""
    reason = missing_reason(reference)
    if reason:
        raise RuntimeError(reason)
    for name in ("kenlm", "sentencepiece"):
        try:
            importlib.import_module(name)
        except ImportError:
            sys.modules[name] = types.ModuleType(name)
    path = str(reference)
    if path not in sys.path:
        sys.path.insert(0, path)
    mods = {n: importlib.import_module(n) for n in
            ("filtering", "parameters_filtering", "stopwords", "flagged_words", "normalization")}  # fmt: skip
    return types.SimpleNamespace(**mods)


class Oracle:
    """ROOTS' pipeline for one language: modify, then filter (perplexity off: no KenLM model)."""

    def __init__(self, roots: types.SimpleNamespace, lang: str, lid_model):
        f = roots.filtering
        self.roots, self.lang = roots, lang
        self.modify = f.FunctionDatasetModifyingDocuments(lang)
        filt = f.FunctionDatasetFiltering.__new__(f.FunctionDatasetFiltering)
        filt.lang_dataset_id = lang
        filt.param = f.LoadParameters.load_parameters(lang)
        filt.stopwords = f.LoadParameters.load_stopwords(lang)
        filt.flagged_words = f.LoadParameters.load_flagged_words(lang)
        filt.model_lang_id = lid_model
        filt.sentencepiece_model = None
        filt.sentencepiece_model_tok = JiebaPieces() if filt.param["tokenization"] else None
        filt.kenlm_model = None
        self.filt = filt

    def modified(self, text: str) -> str:
        return self.modify({"text": text})["text"]

    def keep(self, text: str) -> bool:
        """ROOTS' keep/remove decision on a raw document."""
        return bool(self.filt({"text": self.modified(text)}))

    def metrics(self, modified: str) -> dict[str, float]:
        """Each ROOTS metric of an already modified document (names as rootstock's `roots.*`)."""
        F, p, tok = self.roots.filtering.Filtering, self.filt.param, self.filt.sentencepiece_model_tok
        strip = p["strip_characters"]
        words = self.roots.filtering.ModifyingDocuments.get_words_from_document(
            modified, tok, lower_case=False, strip_characters=strip
        )
        aug = (
            p["cond_words_augmentation"],
            p["words_augmentation_group_sizes"],
            p["words_augmentation_join_char"],
        )
        out = {
            "n_words": len(words),
            "char_rep_ratio": F.compute_character_repetition_ratio(
                modified, p["character_repetition_length"]
            ),
            "word_rep_ratio": F.compute_word_repetition_ratio(
                modified, tok, strip, p["word_repetition_length"]
            ),
            "special_char_ratio": F.compute_special_characters_ratio(modified, p["special_characters"]),
        }
        if self.filt.stopwords:
            out["stopword_ratio"] = F.compute_stopwords_ratio(modified, tok, strip, *aug, self.filt.stopwords)
        if self.filt.flagged_words:
            out["flagged_word_ratio"] = F.compute_flagged_words_ratio(
                modified, tok, strip, *aug, self.filt.flagged_words
            )
        pred, score = F.compute_lang_id_pred_score(modified, self.filt.model_lang_id)
        out["lang_pred"], out["lang_score"] = pred, float(score)
        return out
