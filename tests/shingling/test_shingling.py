"""shingling: the one definition of what near-duplicate detection compares (normalization, word and
character shingles), and that curation's MinHash and the ablation's decontamination both use it.

Run: `.venv/bin/python -m pytest tests/shingling`
"""

from __future__ import annotations

import shingling


def test_normalization_lowercases_and_splits_on_everything_but_letters_digits_and_marks():
    tokens = shingling.normalize_tokens("Hello,WORLD!! 3.14 — e-mail")
    assert tokens == [b"hello", b"world", b"3", b"14", b"e", b"mail"]
    hindi = "हिन्दी भाषा"
    assert shingling.normalize_tokens(hindi) == [w.encode() for w in hindi.split()]  # vowel signs are marks
    ascii_text = "A-b C_d\te"  # the ASCII byte-table path agrees with the Unicode pattern
    assert shingling.normalize_tokens(ascii_text) == [b"a", b"b", b"c", b"d", b"e"]


def test_word_and_character_shingles():
    assert shingling.shingles("One two, THREE four", 3) == [b"one two three", b"two three four"]
    assert shingling.shingles("one two", 3) == [b"one two"]  # shorter than one n-gram: one shingle
    assert shingling.shingles("!!! ...", 3) == []
    assert shingling.shingles("我们，去公园", 4, char=True) == ["我们去公".encode(), "们去公园".encode()]


def test_short_lines_are_dropped_before_shingling_unless_that_leaves_nothing():
    text = "Home | News\nthe body of the page has many words in it\nShare"
    assert shingling.shingles(text, 2, min_line_words=4)[0] == b"the body"
    assert shingling.shingles("Home\nNews", 1, min_line_words=4) == [b"home", b"news"]


def test_pieces_cut_at_whitespace_normalize_like_the_whole_text():
    text = "Alpha beta, GAMMA delta " * 50
    pieces = b" ".join(shingling.text_pieces(text, piece_chars=37)).split()
    assert pieces == shingling.normalize_tokens(text)


def test_curation_and_the_ablation_share_the_definition():
    from curation.steps.minhash import shingles as curation_shingles
    from training.sample import decontam_shingles

    assert curation_shingles is shingling.shingles
    text = "The Quick brown fox -- jumps over the lazy dog; the quick brown FOX."
    assert decontam_shingles(text, 5) == set(shingling.shingles(text, 5))
    chinese = "我们去公园散步然后回家吃饭" * 3
    assert decontam_shingles(chinese, 5) == set(shingling.shingles(chinese, 10, char=True))
