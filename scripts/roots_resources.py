"""Write ROOTS' data (parameter tables, word lists, character sets) to curation/resources/ as data files.

The data comes from the original code (BigScience data-preparation at 9d05884, Apache-2.0) imported
from `../shared/reference/roots/` (see bench/roots_oracle.py); only data is written, no code. Lists
keep their original order, spelling and duplicates (byte-exact strings), so that
tests/curation/steps/test_roots_conformance.py can check them against the original.
Usage (repo root): python scripts/roots_resources.py [--check]
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import roots_oracle

OUT = REPO / "curation" / "resources"
COMMIT = "9d0588419073cc5bf0fb92b58f37f2a1016572c3"
SOURCE = (
    "github.com/bigscience-workshop/data-preparation, preprocessing/training/01b_oscar_cleaning_and_filtering/"
    f"{{file}} at commit {COMMIT} (Apache-2.0); Laurencon et al., 'The BigScience ROOTS Corpus', NeurIPS 2022"
)
LICENSE = "Apache-2.0 (bigscience-workshop/data-preparation; see curation/resources/NOTICE.md)"
RENAME = {
    "number_words_min_cutoff": "min_words",
    "number_words_max_cutoff": "max_words",
    "character_repetition_length": "char_ngram",
    "character_repetition_max_cutoff": "max_char_rep_ratio",
    "word_repetition_length": "word_ngram",
    "word_repetition_max_cutoff": "max_word_rep_ratio",
    "special_characters_max_cutoff": "max_special_char_ratio",
    "stopwords_min_cutoff": "min_stopword_ratio",
    "flagged_words_max_cutoff": "max_flagged_word_ratio",
    "lang_id_min_cutoff": "min_lang_score",
    "perplexity_max_cutoff": "max_perplexity",
    "length_word_max_cutoff": "max_word_length",
    "cond_remove_words_with_incorrect_substrings": "remove_words_with_substrings",
    "cond_remove_long_words": "remove_long_words",
    "incorrect_word_substrings": "remove_word_substrings",
    "words_augmentation_join_char": "word_augmentation_join",
}
ALWAYS = {"cond_uniform_whitespace": True, "cond_replace_unicode_punctuation": False, "cond_check_number_words": True,
          "cond_check_character_repetition_removal": True, "cond_check_word_repetition_removal": True,
          "cond_check_special_characters": True, "cond_check_stopwords": True, "cond_check_flagged_words": True,
          "cond_check_lang_id": True, "cond_check_perplexity": True}  # fmt: skip


def build(roots) -> dict[str, dict]:
    pf, f = roots.parameters_filtering, roots.filtering
    tables = {}
    for lang, p in pf.parameters_filtering.items():
        for key, value in ALWAYS.items():
            assert p[key] is value, (lang, key)  # the tables use one value everywhere: not a parameter here
        assert p["strip_characters"] is p["special_characters"] is pf.special_characters_default
        row = {new: p[old] for old, new in RENAME.items()}
        row["word_augmentation"] = (
            list(p["words_augmentation_group_sizes"]) if p["cond_words_augmentation"] else []
        )
        row["word_tokenizer"] = "jieba" if p["tokenization"] else "whitespace"
        tables[lang] = row
    emoji = sorted(k for k in pf.emoji if len(k) == 1)
    whitespace = inspect.signature(f.ModifyingDocuments.uniform_whitespace).parameters["whitespace"].default
    params = {
        "_source": SOURCE.format(file="parameters_filtering.py, filtering.py, normalization.py"),
        "_license": LICENSE,
        "_notes": "ROOTS key names renamed to rootstock's (number_words_min_cutoff -> min_words, ...); values "
        "unchanged. word_tokenizer 'jieba' marks ROOTS' tokenization: True (ROOTS used the sentencepiece model of "
        "its KenLM; jieba stands in offline). special_characters = string.punctuation + string.digits + "
        "string.whitespace + special_characters_extra + special_characters_emoji (the single code points among "
        "the keys of emoji==1.6.1's UNICODE_EMOJI['en'], BSD-3-Clause, which ROOTS added). uniform_whitespace: the "
        "characters ROOTS' document modification turns into a space. normalization_*: what ROOTS did before "
        "sentencepiece tokenization and KenLM scoring.",
        "special_characters_extra": pf.other_special_characters,
        "special_characters_emoji": "".join(emoji),
        "uniform_whitespace": list(whitespace),
        "normalization_non_printing": [[0, 31], [127, 159]],
        "normalization_unicode_punctuation": dict(roots.normalization.unicode_punctuation),
    }
    params.update(tables)
    english = roots.flagged_words.english_flagged_words
    flagged = {
        "_source": SOURCE.format(file="flagged_words.py"),
        "_license": LICENSE,
        "_notes": "As in ROOTS, each language's list is '_english' followed by its own entries (kept as written: "
        "order, duplicates and case; words are lowercased before lookup, so an entry with capitals never matches, "
        "as in ROOTS).",
        "_english": english,
    }
    for lang, words in roots.flagged_words.flagged_words.items():
        assert words[: len(english)] == english, lang
        flagged[lang] = words[len(english) :]
    stop = {
        "_source": SOURCE.format(file="stopwords.py"),
        "_license": LICENSE,
        "_notes": "Built by native speakers, with inspiration from 6/stopwords-json and stopwords-iso (ur, vi). "
        "Lists kept as written (order, duplicates, case).",
    }
    stop.update(roots.stopwords.stopwords)
    return {"roots_params.json": params, "roots_flagged_words.json": flagged, "roots_stopwords.json": stop}


def dump(obj: dict) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=1) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only check the shipped files are up to date")
    args = ap.parse_args()
    files = build(roots_oracle.load())
    stale = [
        n
        for n, obj in files.items()
        if not (OUT / n).is_file() or (OUT / n).read_text(encoding="utf-8") != dump(obj)
    ]
    if args.check:
        print("stale: " + ", ".join(stale) if stale else "up to date")
        return 1 if stale else 0
    for name, obj in files.items():
        (OUT / name).write_text(dump(obj), encoding="utf-8")
        print(f"wrote {OUT / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
