"""Conformance of `roots_filters: {}` with the original ROOTS code (BigScience data-preparation, 9d05884).

The original code is imported, unchanged, from `../shared/reference/roots/` (bench/roots_oracle.py); it
is never part of the project. On real text in the 13 ROOTS languages (tests/data/roots_udhr.jsonl.gz,
public domain) and documents derived from it (URLs, over-long words, unusual spaces, capitals, digits,
emoji, flagged words, repetition), rootstock's defaults must give the same modified text, every metric
within 1e-9, the same predicted language and the same keep/remove decision as ROOTS' pipeline
(`FunctionDatasetModifyingDocuments` then `Filtering.filtering`).

Stand-ins, identical on both sides: no KenLM model offline (perplexity off on both); zh words from jieba
(ROOTS used its KenLM's sentencepiece model; the oracle gets jieba as `encode_as_pieces`); ROOTS'
lid.176.bin is the shipped lid.176.ftz. Skipped, with the reason, when ../shared or emoji==1.6.1 is absent.
"""

import gzip
import json
from pathlib import Path

import pytest
from datatrove.data import Document

from bench import roots_oracle
from curation.resources import LID_MODEL
from curation.steps.roots import (
    load_flagged_words,
    load_stopwords,
    load_table,
    make_filter,
    roots_normalization,
    roots_special_characters,
    roots_whitespace,
)
from curation.steps.roots.metrics import modify_document, normalize
from curation.steps.roots.params import RootsParams

REASON = roots_oracle.missing_reason()
pytestmark = pytest.mark.skipif(REASON is not None, reason=f"ROOTS oracle unavailable: {REASON}")

FIXTURE = Path(__file__).parents[2] / "data" / "roots_udhr.jsonl.gz"
METRICS = ["n_words", "char_rep_ratio", "word_rep_ratio", "special_char_ratio", "stopword_ratio",
           "flagged_word_ratio", "lang_score"]  # fmt: skip


def fixture_docs() -> list[dict]:
    with gzip.open(FIXTURE, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def variants(text: str) -> dict[str, str]:
    """Real text plus derived documents that exercise each ROOTS rule."""
    words = text.split(" ")
    mid = len(words) // 2
    web = " ".join(
        words[:mid] + ["https://example.com/a?b=1", "(www.example.org)", "«" + "x" * 60 + "»", "e-mail:a@b.com"]
        + words[mid:]
    )  # fmt: skip
    spaces = (
        "  " + text.replace(" ", "\u00a0", 3).replace(" ", "\u3000", 1).replace(" ", " \r", 1) + "\t\n\n "
    )
    return {
        "plain": text,
        "web": web,
        "spaces": spaces + "\ufeffend\u200b \u2028 \x0c",
        "upper": text.upper(),
        "symbols": text + " 2024 ١٢٣ １２３ 😀 🇫🇷 Ø Π Г © ＂，。、 —… \x84",
        "flagged": text + " porn xxx sex",
        "repeated": "\n".join([text] * 3),
    }


@pytest.fixture(scope="module")
def roots():
    return roots_oracle.load()


@pytest.fixture(scope="module")
def lid_model():
    import fasttext

    return fasttext.load_model(str(LID_MODEL))


@pytest.fixture(scope="module")
def ours():
    return make_filter(RootsParams())  # `roots_filters: {}`


def test_shipped_data_is_the_originals(roots):
    """Word lists, parameter tables and character sets equal the original modules' data."""
    pf = roots.parameters_filtering
    for lang, words in roots.stopwords.stopwords.items():
        assert load_stopwords("roots", lang) == words
    assert load_flagged_words() == roots.flagged_words.flagged_words
    assert set(roots_special_characters()) == {c for c in pf.special_characters_default if len(c) == 1}
    whitespace = roots.filtering.ModifyingDocuments.uniform_whitespace.__defaults__[0]
    assert list(roots_whitespace()) == whitespace
    norm = roots_normalization()
    assert dict(norm["punctuation"]) == roots.normalization.unicode_punctuation
    table = load_table()
    assert set(table) == set(pf.parameters_filtering)
    for lang, p in pf.parameters_filtering.items():
        ours = table[lang]
        assert (ours["min_words"], ours["max_words"]) == (
            p["number_words_min_cutoff"],
            p["number_words_max_cutoff"],
        )
        assert (ours["char_ngram"], ours["word_ngram"]) == (
            p["character_repetition_length"],
            p["word_repetition_length"],
        )
        assert (ours["max_char_rep_ratio"], ours["max_word_rep_ratio"], ours["max_special_char_ratio"]) == (
            p["character_repetition_max_cutoff"],
            p["word_repetition_max_cutoff"],
            p["special_characters_max_cutoff"],
        )
        assert (ours["min_stopword_ratio"], ours["max_flagged_word_ratio"], ours["min_lang_score"]) == (
            p["stopwords_min_cutoff"],
            p["flagged_words_max_cutoff"],
            p["lang_id_min_cutoff"],
        )
        assert ours["max_perplexity"] == p["perplexity_max_cutoff"]
        assert (ours["remove_words_with_substrings"], ours["remove_long_words"], ours["max_word_length"]) == (
            p["cond_remove_words_with_incorrect_substrings"],
            p["cond_remove_long_words"],
            p["length_word_max_cutoff"],
        )
        assert ours["remove_word_substrings"] == p["incorrect_word_substrings"]
        assert ours["word_augmentation"] == (
            p["words_augmentation_group_sizes"] if p["cond_words_augmentation"] else []
        )
        assert ours["word_augmentation_join"] == p["words_augmentation_join_char"]
        assert (ours["word_tokenizer"] != "whitespace") == p["tokenization"]


def test_normalization_equals_original(roots):
    """What ROOTS does before sentencepiece (lowercased) and KenLM (cased), on every fixture variant."""
    norm = roots_normalization()
    original = roots.filtering.ModifyingDocuments.normalization
    for row in fixture_docs()[::4]:
        for text in variants(row["text"]).values():
            for lower in (True, False):
                expected = original(text, True, True, lower, True, True, True)
                assert normalize(text, lower=lower, norm=norm) == expected


@pytest.mark.parametrize("lang", roots_oracle.LANGS)
def test_metrics_and_decisions_equal_original(roots, lid_model, ours, lang):
    oracle = roots_oracle.Oracle(roots, lang, lid_model)
    decisions = []
    for row in (r for r in fixture_docs() if r["lang"] == lang):
        for name, text in variants(row["text"]).items():
            where = f"{row['id']}/{name}"
            doc = Document(text=text, id=where, metadata={"lang": lang})
            scores = ours.score(doc)
            modified = oracle.modified(text)
            assert doc.text == modified, where
            expected = oracle.metrics(modified)
            for metric in METRICS[:-1]:
                if metric in expected:
                    assert scores[metric] == pytest.approx(expected[metric], abs=1e-9, rel=0), (where, metric)
                else:
                    assert metric not in scores, (where, metric)
            result = ours.decide(doc, scores)
            # the LID runs, as in ROOTS, only for documents that pass the six text checks
            reached_lid = result is True or result[1] == "roots_lang_score"
            assert ("lang_score" in scores) == reached_lid, where
            if reached_lid:
                assert scores["lang_score"] == pytest.approx(expected["lang_score"], abs=1e-9, rel=0), where
                pred = doc.metadata[
                    "roots.lang_pred"
                ]  # ROOTS maps labels outside its 13 languages to "unknown"
                assert (pred if pred in roots_oracle.LANGS else "unknown") == expected["lang_pred"], where
            keep = result is True
            assert keep == oracle.keep(text), (where, scores, expected)
            decisions.append(keep)
    assert len(decisions) == 8 * 7
    assert False in decisions  # every language has removals (short passages at least)


def test_modification_equals_original_on_random_strings(roots):
    """Spaces, tabs, newlines, URL parts, long words and unusual spaces in random order."""
    import random

    pieces = [" ", " ", "\t", "\n", "a", "bc", "http", "x" * 26, "(" + "y" * 24 + ")", "\u00a0", ".", "www.",
              "\r", "!!", "\ufffc", "\x84", "//", "Ø", "\u3000"]  # fmt: skip
    rng = random.Random(17)
    table, special, ws = load_table(), roots_special_characters(), roots_whitespace()
    for lang in ["en", "ar", "vi", "zh", "default"]:
        original = roots.filtering.FunctionDatasetModifyingDocuments(lang)
        for _ in range(1000):
            text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 25)))
            assert modify_document(text, table[lang], special, ws) == original({"text": text})["text"], repr(
                text
            )


def test_fixture_exercises_every_rule(roots, lid_model, ours):
    """The comparison is not vacuous: across languages, documents are kept and removed for several reasons."""
    reasons, kept = set(), 0
    for row in fixture_docs():
        for text in variants(row["text"]).values():
            doc = Document(text=text, id="x", metadata={"lang": row["lang"]})
            result = ours.decide(doc, ours.score(doc))
            if result is True:
                kept += 1
            else:
                reasons.add(result[1])
    assert kept >= 50
    assert {
        "roots_n_words_too_few",
        "roots_char_rep_ratio",
        "roots_word_rep_ratio",
        "roots_flagged_word_ratio",
    } <= reasons
