"""ROOTS' data shipped in curation/resources/ (from BigScience data-preparation 9d05884, Apache-2.0).

Per-language parameter tables, stop-word and flagged-word lists, special characters, whitespace and
normalization maps, written byte-exact by scripts/roots_resources.py and checked against the original
code by tests/curation/steps/test_roots_conformance.py. Loaded once per process.
"""

from __future__ import annotations

import json
import string
from functools import cache

from curation.resources import RESOURCES

PARAMS_FILE = RESOURCES / "roots_params.json"
FLAGGED_FILE = RESOURCES / "roots_flagged_words.json"
STOPWORDS_FILE = RESOURCES / "roots_stopwords.json"


@cache
def _params_file() -> dict:
    return json.loads(PARAMS_FILE.read_text(encoding="utf-8"))


def load_table() -> dict[str, dict]:
    """ROOTS' per-language parameters (`default` included), without the provenance and character keys."""
    return {k: dict(v) for k, v in _params_file().items() if not k.startswith("_") and isinstance(v, dict)
            and k != "normalization_unicode_punctuation"}  # fmt: skip


def special_characters_extra() -> str:
    """ROOTS' `other_special_characters`, exactly as written."""
    return _params_file()["special_characters_extra"]


def roots_special_characters() -> str:
    """ROOTS' special-character set (strip set and special-ratio set): ASCII punctuation, digits and
    whitespace, its list of other characters, the single-code-point emoji of emoji==1.6.1."""
    data = _params_file()
    chars = string.punctuation + string.digits + string.whitespace
    return "".join(sorted(set(chars + data["special_characters_extra"] + data["special_characters_emoji"])))


def roots_whitespace() -> tuple[str, ...]:
    """The characters ROOTS' document modification turns into a space."""
    return tuple(_params_file()["uniform_whitespace"])


def roots_normalization() -> dict:
    """Data of ROOTS' normalization before sentencepiece / KenLM (see metrics.normalize)."""
    data = _params_file()
    return {
        "non_printing": tuple(tuple(r) for r in data["normalization_non_printing"]),
        "whitespace": roots_whitespace(),
        "punctuation": tuple(data["normalization_unicode_punctuation"].items()),
    }


def load_flagged_words() -> dict[str, list[str]]:
    """ROOTS flagged words per language (each list includes the English one, as in ROOTS)."""
    data = json.loads(FLAGGED_FILE.read_text(encoding="utf-8"))
    english = data["_english"]
    return {k: english + v for k, v in data.items() if not k.startswith("_")}


def load_stopwords(source: str, lang: str) -> list[str]:
    """Stop words of a language: ROOTS' own lists (`roots`) or stopwordsiso's (`iso`, lowercased)."""
    if source == "iso":
        import stopwordsiso

        return sorted(w.lower() for w in stopwordsiso.stopwords(lang)) if stopwordsiso.has_lang(lang) else []
    data = json.loads(STOPWORDS_FILE.read_text(encoding="utf-8"))
    return data.get(lang, []) if not lang.startswith("_") else []
