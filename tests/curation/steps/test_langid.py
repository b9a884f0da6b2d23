"""Tests of the `language_id` op (curation/steps/langid.py) with the real shipped fastText model.

Sentences come from spaCy's `spacy/lang/<xx>/examples.py` (MIT). No mocks, no network.
Run: HF_HUB_OFFLINE=1 pytest tests/curation/steps/test_langid.py
"""

import importlib
import pickle
from pathlib import Path

import pytest
from datatrove.data import Document

from curation.registry import StepContext, get_op
from curation.steps.langid import LanguageIdFilter, LanguageIdParams, normalize_label

ROOTS_LANGS = ["en", "fr", "es", "ar", "zh", "bn", "ca", "eu", "hi", "id", "pt", "ur", "vi"]


def spacy_sentences(lang: str) -> list[str]:
    return importlib.import_module(f"spacy.lang.{lang}.examples").sentences


def doc(text: str, i: int = 0, **metadata) -> Document:
    return Document(text=text, id=str(i), metadata=dict(metadata))


@pytest.fixture(scope="module")
def lid() -> LanguageIdFilter:
    return LanguageIdFilter()


@pytest.mark.parametrize("lang", ROOTS_LANGS + ["de"])
def test_real_sentences_per_language(lid, lang):
    sentences = spacy_sentences(lang)
    pred, score = lid.predict(" ".join(sentences))
    assert pred == lang and score > 0.8
    per_sentence = [lid.predict(s)[0] for s in sentences]
    assert sum(p == lang for p in per_sentence) / len(sentences) >= 0.7


def test_metadata_and_ledger_for_every_doc():
    step = LanguageIdFilter(keep=["fr"])
    docs = [
        doc(spacy_sentences("fr")[0], 0),
        doc(spacy_sentences("de")[0], 1),
        doc(spacy_sentences("en")[0], 2),
    ]
    kept = list(step.run(iter(docs)))
    assert [d.id for d in kept] == ["0"]
    for d in docs:  # removed docs carry the metrics too
        assert isinstance(d.metadata["lang"], str) and 0.0 < d.metadata["lang_score"] <= 1.0
    stats = step.stats.stats
    assert stats["total"].total == 3 and stats["forwarded"].total == 1
    assert stats["dropped_lang_not_kept"].total == 2
    assert stats["ledger:languages:fr"].total == 1 and stats["ledger:languages:de"].total == 1


def test_min_score_float_and_per_language_dict():
    text = "Londres est une grande ville du Royaume-Uni"
    score = LanguageIdFilter().predict(text)[1]
    assert list(LanguageIdFilter(min_score=score - 0.01).run(iter([doc(text)])))
    step = LanguageIdFilter(keep=["fr", "en"], min_score={"default": 0.0, "fr": min(score + 0.01, 1.0)})
    assert not list(step.run(iter([doc(text)])))
    assert step.stats.stats["dropped_lang_score_low"].total == 1


def test_annotate_only_without_keep(lid):
    docs = [doc(spacy_sentences(lang)[0], i) for i, lang in enumerate(["en", "zh", "ar"])]
    assert len(list(LanguageIdFilter().run(iter(docs)))) == 3
    assert [d.metadata["lang"] for d in docs] == ["en", "zh", "ar"]


def test_newlines_normalized_and_prefix_bounded(lid):
    text = "Bonjour tout le monde.\nCeci est une phrase.\r\nEt une autre ligne."
    assert lid.normalize(text) == "Bonjour tout le monde. Ceci est une phrase. Et une autre ligne."
    assert lid.predict(text)[0] == "fr"
    step = LanguageIdFilter(max_chars=10, lowercase=True)
    assert step.normalize("ABCDEFGHIJKLMNOP") == "abcdefghij"
    # a long German document with an English tail is German on its prefix
    assert step.predict("x")[0]  # 10 chars still predicts something
    long = " ".join(spacy_sentences("de")) * 20 + " " + " ".join(spacy_sentences("en")) * 50
    assert LanguageIdFilter(max_chars=2000).predict(long)[0] == "de"


def test_empty_text_is_undetermined(lid):
    assert lid.predict("") == ("und", 0.0)
    assert lid.predict(" \n\t ") == ("und", 0.0)


def test_label_normalization():
    assert normalize_label("__label__en") == "en"
    assert normalize_label("__label__eng_Latn") == "en"
    assert normalize_label("__label__cmn_Hani") == "zh"
    assert normalize_label("__label__xyz_Latn") == "xyz_Latn"
    assert normalize_label("__label__zh-Hant") == "zh-Hant"


def test_pickles_without_model_and_reloads(lid):
    lid.predict("hello world")  # loads the model
    clone = pickle.loads(pickle.dumps(lid))
    assert clone._model is None
    assert clone.predict("Where is the capital of the United States?")[0] == "en"


def test_op_builds_with_removed_writer_and_thresholds(tmp_path):
    op = get_op("language_id")
    params = LanguageIdParams(keep=["en"], min_score={"default": 0.5, "zh": 0.3})
    step = op.build(params, StepContext(run_dir=tmp_path, step_id="language_id"))
    assert isinstance(step, LanguageIdFilter) and step.keep == {"en"}
    assert op.thresholds(params) == {"lang_score": {"op": "min", "value": 0.5, "per_lang": {"zh": 0.3}}}
    with pytest.raises(ValueError, match="model file not found"):
        LanguageIdFilter(model_path=Path(tmp_path) / "missing.bin")


def test_removed_docs_written_with_reason_and_lang(tmp_path):
    import gzip
    import json

    step = get_op("language_id").build(
        LanguageIdParams(keep=["en"]), StepContext(run_dir=tmp_path, step_id="language_id", keep_removed=True)
    )
    docs = [doc(spacy_sentences("en")[0], 0), doc(spacy_sentences("fr")[0], 1)]
    assert [d.id for d in step.run(iter(docs))] == ["0"]
    files = list((tmp_path / "removed" / "language_id").glob("*.jsonl.gz"))
    assert len(files) == 1
    with gzip.open(files[0], "rt") as f:
        rows = [json.loads(line) for line in f]
    assert len(rows) == 1 and rows[0]["id"] == "1"
    meta = rows[0]["metadata"]
    assert meta["lang"] == "fr" and meta["reason"] == "lang_not_kept" and meta["removed_by"] == "language_id"


def test_lone_surrogates_do_not_crash_a_batch(lid):
    # JSON escapes like "\ud800" decode to lone surrogates, which fastText's binding rejects
    texts = [
        "Where is the capital of the United States? \ud800",
        "Londres est une grande ville du Royaume-Uni",
    ]
    assert [lang for lang, _ in lid.predict_many(texts)] == ["en", "fr"]
    assert lid.predict(texts[0])[0] == "en"


def test_a_document_without_text_is_removed_as_empty_not_as_a_language():
    step = LanguageIdFilter(keep=["en"])
    docs = [doc("", 0), doc(" \n\t ", 1), doc(spacy_sentences("en")[0], 2)]
    assert [d.id for d in step.run(iter(docs))] == ["2"]
    stats = step.stats.stats
    assert stats["dropped_empty"].total == 2 and "dropped_lang_not_kept" not in stats
    assert docs[0].metadata["lang"] == "und" and docs[0].metadata["lang_score"] == 0.0
    annotate_only = LanguageIdFilter()
    assert len(list(annotate_only.run(iter([doc("", 3)])))) == 1  # no keep, no min_score: nothing removed
