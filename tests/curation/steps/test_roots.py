"""Known-answer tests of the `roots_filters` op (curation/steps/roots/__init__.py, roots/metrics.py).

Each metric is checked on tiny documents whose value is worked out by hand in a comment; then
per-language parameters and overrides, zh/vi word handling, removal reasons (first failing filter),
metadata on removed documents, the LID / perplexity skips and the bound on huge documents.
Run: HF_HUB_OFFLINE=1 pytest tests/curation/steps/test_roots.py
"""

import pickle

import pytest
from datatrove.data import Document

from curation.registry import StepContext, get_op
from curation.steps.roots import (
    RootsFilter,
    load_table,
    make_filter,
    roots_normalization,
    roots_special_characters,
    roots_whitespace,
)
from curation.steps.roots import metrics as rm
from curation.steps.roots.metrics import modify_document
from curation.steps.roots.params import RootsParams, resolve_params

# Relaxed thresholds so a single check can be exercised on a tiny document.
OPEN = {"min_words": 0, "max_char_rep_ratio": 1.0, "max_word_rep_ratio": 1.0, "max_special_char_ratio": 1.0,
            "min_stopword_ratio": 0.0, "max_flagged_word_ratio": 1.0, "min_lang_score": 0.0}  # fmt: skip


def roots(**params) -> RootsFilter:
    return make_filter(RootsParams(**params))


def doc(text: str, lang: str | None = "en", lang_score: float | None = 0.99, i: int = 0) -> Document:
    meta = {}
    if lang is not None:
        meta["lang"] = lang
    if lang_score is not None:
        meta["lang_score"] = lang_score
    return Document(text=text, id=str(i), metadata=meta)


def scores(text: str, lang: str | None = "en", **params) -> dict:
    return roots(**{**OPEN, **params}).score(doc(text, lang))


# --- metrics, known answers ------------------------------------------------------------------------


def test_number_of_words_strips_special_characters():
    # tokens: "Hello,"->hello  "(world)!"->world  "123"->"" (digits are special)  "foo-bar" kept whole
    # "..."->""  "x" -> 4 words
    assert scores("Hello, (world)! 123 foo-bar ... x")["n_words"] == 4


def test_char_repetition_ratio_known_answers():
    # "abcabc", n=2: ab bc ca ab bc -> 5 n-grams; counts ab=2 bc=2 ca=1; distinct=3
    # k = min(floor(sqrt(3))=1, 3 - 1 seen once = 2) = 1 -> top-1 sum 2 / 5 = 0.4
    assert rm.char_repetition_ratio(rm.codepoints("abcabc"), 2) == pytest.approx(0.4)
    # "aaaaa", n=3: aaa x3; distinct=1, k=min(1, 1-0)=1 -> 3/3 = 1.0
    assert rm.char_repetition_ratio(rm.codepoints("aaaaa"), 3) == pytest.approx(1.0)
    # "abcdef", n=2: 5 distinct n-grams each seen once -> k = min(2, 5-5) = 0 -> 0.0
    # (without data-preparation's fix, k=2 would give 2/5 = 0.4 for a text without any repetition)
    assert rm.char_repetition_ratio(rm.codepoints("abcdef"), 2) == 0.0
    # shorter than n -> 0
    assert rm.char_repetition_ratio(rm.codepoints("abc"), 10) == 0.0
    # through the step, with the n-gram size from the params
    assert scores("abcabc", char_ngram=2)["char_rep_ratio"] == pytest.approx(0.4)


def test_char_repetition_ratio_en_default_uses_10_grams():
    # "ab" * 10 (20 chars), n=10: 11 n-grams alternating "abab..." (6x) and "baba..." (5x)
    # distinct=2, k=min(1, 2-0)=1 -> 6/11
    assert scores("ab" * 10)["char_rep_ratio"] == pytest.approx(6 / 11)


def test_word_repetition_ratio_known_answers():
    # "x y x y z w", n=2: xy yx xy yz zw -> 5 n-grams; only xy repeats (2) -> 2/5 = 0.4
    assert scores("x y x y z w", word_ngram=2)["word_rep_ratio"] == pytest.approx(0.4)
    # lowercased and stripped before counting: "X, y. x y!" == "x y x y": xy yx xy -> 2/3
    assert scores("X, y. x y!", word_ngram=2)["word_rep_ratio"] == pytest.approx(2 / 3)
    # fewer words than n -> 0
    assert scores("a b c d")["word_rep_ratio"] == 0.0


def test_word_repetition_uses_7_grams_for_urdu():
    assert load_table()["ur"]["word_ngram"] == 7
    # 8 words "a b c d e f g a": one 7-gram twice? no: 2 distinct 7-grams, none repeated -> 0
    # 14 words = "a b c d e f g" * 2: 8 7-grams: abcdefg x2, the 6 rotations once -> 2/8
    assert scores("a b c d e f g a b c d e f g", lang="ur")["word_rep_ratio"] == pytest.approx(2 / 8)


def test_special_character_ratio_known_answer():
    # "ab, c!": 6 chars, special: "," " " "!" -> 3/6 = 0.5
    assert scores("ab, c!")["special_char_ratio"] == pytest.approx(0.5)
    # digits and ROOTS' extra characters count: "a1«" -> 2/3
    assert scores("a1«")["special_char_ratio"] == pytest.approx(2 / 3)
    # an emoji counts (ROOTS adds every emoji): "ok 👍" -> " " and "👍" -> 2/4
    assert scores("ok 👍")["special_char_ratio"] == pytest.approx(0.5)


def test_stopword_ratio_known_answer():
    # en (stopwordsiso): "the", "and" are stop words, "cat", "dog" are not
    # "The cat and the dog." -> words the cat and the dog -> 3/5 = 0.6
    assert scores("The cat and the dog.")["stopword_ratio"] == pytest.approx(0.6)


def test_flagged_word_ratio_known_answer():
    # "porn" is in ROOTS' English list: "Porn is bad" -> 1/3
    assert scores("Porn is bad")["flagged_word_ratio"] == pytest.approx(1 / 3)
    # other languages include the English list (as in ROOTS): fr "xxx porno" -> 2/2
    assert scores("xxx porno", lang="fr")["flagged_word_ratio"] == pytest.approx(1.0)


def test_zh_words_jieba_and_bigram_augmentation():
    # jieba: 我爱北京天安门 -> 我 / 爱 / 北京 / 天安门 = 4 words; stop words (ROOTS' zh list): 我, 爱
    # augmentation (zh: bigrams joined by ""): 我爱, 爱北京, 北京天安门 -> none are stop words -> 2/4
    s = scores("我爱北京天安门", lang="zh")
    assert s["n_words"] == 4
    assert s["stopword_ratio"] == pytest.approx(0.5)
    # stopwordsiso's zh list has 我 but not 爱 -> 1/4
    assert scores("我爱北京天安门", lang="zh", stopwords="iso")["stopword_ratio"] == pytest.approx(0.25)
    # char 3-grams for zh: "哈哈哈哈" -> 哈哈哈 x2 -> distinct 1, k=1 -> 2/2
    assert s["char_rep_ratio"] < 1 and scores("哈哈哈哈", lang="zh")["char_rep_ratio"] == 1.0


def test_zh_char_fallback_and_flagged_bigram():
    # one word per character: 口交 -> words 口, 交 (2); bigram 口交 is flagged -> 1/2
    s = scores("口交", lang="zh", word_tokenizer="chars")
    assert s["n_words"] == 2 and s["flagged_word_ratio"] == pytest.approx(0.5)


def test_vi_bigram_augmentation_joins_with_space():
    # vi: words xem phim sex (3); bigrams "xem phim", "phim sex"; "phim sex" is flagged -> 1/3
    assert scores("xem phim sex", lang="vi")["flagged_word_ratio"] == pytest.approx(1 / 3)


# --- parameters --------------------------------------------------------------------------------------


def test_published_parameters_per_language():
    table = load_table()
    assert set(table) == {
        "default",
        "en",
        "fr",
        "es",
        "ar",
        "zh",
        "bn",
        "ca",
        "eu",
        "hi",
        "id",
        "pt",
        "ur",
        "vi",
    }
    en = table["en"]
    assert (en["min_words"], en["max_char_rep_ratio"], en["max_word_rep_ratio"]) == (20, 0.106, 0.19)
    assert (en["max_special_char_ratio"], en["min_stopword_ratio"], en["max_flagged_word_ratio"]) == (
        0.4,
        0.3,
        0.01,
    )
    assert (en["min_lang_score"], en["max_perplexity"]) == (0.8, 1500)
    assert table["zh"]["char_ngram"] == 3 and table["zh"]["word_tokenizer"] == "jieba"


def test_same_doc_kept_in_one_language_removed_in_another():
    # 15 distinct words: en needs >= 20 words, fr >= 13
    text = " ".join(f"w{i}x" for i in range(15))
    open_ = {k: v for k, v in OPEN.items() if k != "min_words"}
    step = roots(**open_, skip=["lang_score"])  # made-up words: fastText says neither en nor fr
    en, fr = doc(text, "en"), doc(text, "fr")
    assert step.decide(en, step.score(en)) == (False, "roots_n_words_too_few")
    assert step.decide(fr, step.score(fr)) is True


def test_overrides_per_language_global_and_default():
    p = resolve_params(
        RootsParams(
            max_char_rep_ratio=0.5, per_lang={"en": {"max_char_rep_ratio": 0.2}, "de": {"min_words": 3}}
        )
    )
    assert p["en"]["max_char_rep_ratio"] == 0.2  # per_lang wins
    assert p["fr"]["max_char_rep_ratio"] == 0.5  # global override beats the table (0.14)
    assert p["default"]["max_char_rep_ratio"] == 0.5
    assert p["de"]["min_words"] == 3 and p["de"]["max_word_rep_ratio"] == 0.3  # default table + override
    step = RootsFilter(p)
    assert step._lang(None)[1].p is p["default"]  # missing lang -> default
    assert step._lang("xx")[1].p is p["default"]  # unknown lang -> default
    with pytest.raises(ValueError):
        RootsParams(per_lang={"en": {"max_char_rep": 0.2}})  # typo is an error


def test_skip_checks():
    s = scores("hello world", skip=["char_rep", "stopwords"])
    assert "char_rep_ratio" not in s and "stopword_ratio" not in s and "word_rep_ratio" in s


# --- decisions -----------------------------------------------------------------------------------


def test_reason_is_first_failing_filter_and_metadata_on_removed_docs():
    step = roots()
    # 4 words (< 20 for en) AND a high char repetition: the word count is checked first
    d = doc("aaaaaaaaaaaaaaaaaaaaaaaaa aaaaaaaaaaaaaaaaaaaaa aaaaaaaaaaaaaaaaaaaaaaa aaaaaaaaaaaaaaaaa")
    assert list(step.run(iter([d]))) == []
    assert step.stats.stats["dropped_roots_n_words_too_few"].total == 1
    assert d.metadata["roots.n_words"] == 4 and d.metadata["roots.char_rep_ratio"] > 0.5  # > 0.106 too


@pytest.mark.parametrize(
    "text,params,reason",
    [
        ("ab " * 30, {"char_ngram": 3, "max_char_rep_ratio": 0.3}, "roots_char_rep_ratio"),
        ("a b c d e " * 6, {"max_word_rep_ratio": 0.5}, "roots_word_rep_ratio"),
        ("a!!!!!!! " * 20, {"max_special_char_ratio": 0.5}, "roots_special_char_ratio"),
        ("cat dog cow " * 10, {"min_stopword_ratio": 0.3}, "roots_stopword_ratio"),
        ("porn " + "cat dog cow " * 10, {"max_flagged_word_ratio": 0.01}, "roots_flagged_word_ratio"),
    ],
)
def test_each_filter_reason(text, params, reason):
    step = roots(**{**OPEN, **params})
    d = doc(text)
    assert step.decide(d, step.score(d)) == (False, reason)


def test_lid_scores_the_modified_lowercased_document_and_needs_the_documents_language():
    # ROOTS' LID: fastText on the whole document lowercased; an all-caps English sentence is read as
    # English once lowercased (cased, lid.176 leans to German)
    text = "THE COMMITTEE WILL MEET ON MONDAY TO DISCUSS THE BUDGET AND THE PLANS FOR NEXT YEAR"
    step = roots(**{**OPEN, "min_lang_score": 0.8})
    d = doc(text, lang_score=0.1)  # language_id's score is ignored with lid: roots
    s = step.score(d)
    assert d.metadata["roots.lang_pred"] == "en" and s["lang_score"] > 0.8
    assert step.decide(d, s) is True
    assert step.predict_lid(text)[1] == pytest.approx(s["lang_score"])
    fr = doc(text, lang="fr")  # predicted en: not the document's language -> removed, whatever the score
    assert step.decide(fr, step.score(fr)) == (False, "roots_lang_score")
    low = roots(**{**OPEN, "min_lang_score": 0.999})
    assert low.decide(d, low.score(d)) == (False, "roots_lang_score")


def test_lid_metadata_option_uses_language_id_score_and_skips_when_missing():
    step = roots(**{**OPEN, "min_lang_score": 0.8, "lid": "metadata"})
    low = doc("some words here", lang_score=0.5)
    assert step.decide(low, step.score(low)) == (False, "roots_lang_score")
    assert "lang_score" not in step.score(doc("some words here"))
    missing = doc("some words here", lang_score=None)
    assert step.decide(missing, step.score(missing)) is True
    assert step.stats.stats["lang_score_missing"].total == 1


def test_perplexity_skipped_without_kenlm(tmp_path):
    pytest.importorskip("numpy")
    try:
        import kenlm  # noqa: F401

        pytest.skip("kenlm installed: the skip path is not reachable")
    except ImportError:
        pass
    step = RootsFilter(resolve_params(RootsParams(**OPEN)), kenlm_models={"en": str(tmp_path / "en.arpa")})
    s = step.score(doc("hello world"))
    assert "perplexity" not in s


def test_modify_text_drops_url_words_and_long_words():
    p = load_table()["en"]  # max_word_length 25, both modifications on
    text = "visit http://x.io or www.example.org now\n(" + "a" * 30 + ") ok\t fine"
    special, ws = roots_special_characters(), roots_whitespace()
    assert modify_document(text, p, special, ws) == "visit or now\nok\tfine"
    d = doc("see https://a.b page")
    roots(**OPEN).score(d)  # on by default, as in ROOTS
    assert d.text == "see page"
    off = doc("see https://a.b page")
    roots(**OPEN, modify_text=False).score(off)
    assert off.text == "see https://a.b page"


def test_modify_text_whitespace_is_roots_list_only():
    # NBSP and the ideographic space become spaces; \r, \f and U+2028 are not in ROOTS' list and stay
    p = {**load_table()["default"]}  # no word removal: only strip + uniform whitespace
    special, ws = roots_special_characters(), roots_whitespace()
    assert modify_document("  a\u00a0b\u3000c\rd\fe\u2028f \n", p, special, ws) == "a b c\rd\fe\u2028f"
    # ROOTS splits words on space, newline and tab only: "a\rb" is one word, "a b" two
    assert scores("a\rb", modify_text=False)["n_words"] == 1 and scores("a b")["n_words"] == 2


def test_word_count_is_cased_and_ratios_lowercased():
    # "Г" is one of ROOTS' special characters but its lowercase "г" is not: the cased count strips it
    # (1 word "ok"), the lowercased words used by the ratios keep it ("г", "ok": 2 words)
    s = scores("Г ok", min_stopword_ratio=0.0)
    assert s["n_words"] == 1
    assert scores("Г ok the", modify_text=False)["stopword_ratio"] == pytest.approx(1 / 3)


def test_special_characters_are_roots_set():
    chars = set(roots_special_characters())
    # ROOTS' own list has the soft hyphen, ZWSP and BOM; emoji==1.6.1 brings single emoji
    assert {"\u00ad", "\u200b", "\ufeff", "\U0001f600", "Г"} <= chars
    assert "\u200d" not in chars and "\x1c" not in chars  # ZWJ and U+001C are not ROOTS special characters


def test_normalization_as_roots_before_tokenizing():
    norm = roots_normalization()
    # controls (\n, \t, U+0085) deleted, strip, digits (any script) -> 0, ROOTS' punctuation map, NBSP -> space
    assert rm.normalize(" Ab\n1２٣\tC，D\u0085…\u00a0E ", lower=True, norm=norm) == "ab000c,d... e"
    assert rm.normalize("A—B", lower=False, norm=norm) == "A - B"
    assert rm.normalize("\n\t", lower=True, norm=norm) == ""


def test_huge_document_is_bounded():
    step = roots(**OPEN, max_chars=1000, modify_text=False, skip=["lang_score"])
    d = doc("word " * 2_000_000)  # 10 M chars: only the first 1000 are measured
    s = step.score(d)
    assert s["n_words"] == 200 and len(d.text) == 10_000_000


def test_pickle_and_op_thresholds(tmp_path):
    step = roots()
    step.score(doc("warm the caches up"))
    clone = pickle.loads(pickle.dumps(step))
    assert clone.score(doc("The cat and the dog."))["n_words"] == 5
    op = get_op("roots_filters")
    params = RootsParams(per_lang={"zh": {"max_char_rep_ratio": 0.1}})
    built = op.build(params, StepContext(run_dir=tmp_path, step_id="roots_filters", keep_removed=True))
    assert built.exclusion_writer is not None
    th = op.thresholds(params)
    assert th["roots.char_rep_ratio"]["op"] == "max" and th["roots.char_rep_ratio"]["value"] == 0.2
    assert (
        th["roots.char_rep_ratio"]["per_lang"]["zh"] == 0.1
        and th["roots.char_rep_ratio"]["per_lang"]["en"] == 0.106
    )
    assert th["roots.stopword_ratio"]["op"] == "min"


# --- end to end ----------------------------------------------------------------------------------


def test_recipe_run_writes_metrics_thresholds_and_removed_docs(run_recipe):
    import gzip
    import json
    from pathlib import Path

    sample = Path(__file__).parents[2] / "data" / "web_sample.jsonl.gz"
    code, run_dir, summary = run_recipe(
        {
            "name": "roots-test",
            "input": {"format": "jsonl", "path": str(sample)},
            "steps": [{"language_id": {}}, {"roots_filters": {}}],
            "output": {"format": "jsonl.gz", "keep_removed": True},
            "executor": {"kind": "local", "tasks": 1},
        }
    )
    assert code == 0 and summary["invariant"]["ok"]
    assert sum(summary["languages"].values()) == summary["input"]["docs"]
    th = summary["thresholds"]["roots_filters"]["roots.char_rep_ratio"]
    assert th["op"] == "max" and th["per_lang"]["en"] == 0.106
    removed = []
    for path in (run_dir / "removed" / "roots_filters").glob("*.jsonl.gz"):
        with gzip.open(path, "rt") as f:
            removed += [json.loads(line) for line in f]
    assert removed and all(r["metadata"]["reason"].startswith("roots_") for r in removed)
    assert all("roots.n_words" in r["metadata"] and "lang" in r["metadata"] for r in removed)
