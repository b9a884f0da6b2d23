"""Perplexity as ROOTS computed it, with a tiny KenLM + sentencepiece pair built here.

A unigram sentencepiece model is trained on the en/fr fixture text and a bigram ARPA file is written by
hand from its piece counts (KenLM loads ARPA directly; no lmplz needed). rootstock's `perplexity` must
equal the original `Filtering.compute_perplexity_score` (normalization, tokenization, per-line scoring,
rounding) on every fixture variant. Needs the `lm` extra (kenlm builds from PyPI's source release) and,
for the comparison, the original code (../shared/reference/roots).
"""

import gzip
import io
import json
import math
from collections import Counter
from pathlib import Path

import pytest
from datatrove.data import Document

kenlm = pytest.importorskip("kenlm", reason="kenlm not installed (pip install -e '.[lm]')")
spm = pytest.importorskip("sentencepiece", reason="sentencepiece not installed (pip install -e '.[lm]')")

from bench import roots_oracle
from curation.steps.roots import make_filter
from curation.steps.roots.params import RootsParams
from tests.curation.steps.test_roots_conformance import variants

FIXTURE = Path(__file__).parents[2] / "data" / "roots_udhr.jsonl.gz"


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> tuple[str, str]:
    """(sentencepiece model path, ARPA path) for "en"."""
    tmp = tmp_path_factory.mktemp("lm")
    with gzip.open(FIXTURE, "rt", encoding="utf-8") as f:
        texts = [r["text"] for r in map(json.loads, f) if r["lang"] in ("en", "fr")]
    proto = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(texts), model_writer=proto, vocab_size=150, model_type="unigram", minloglevel=2
    )
    (tmp / "en.model").write_bytes(proto.getvalue())
    sp = spm.SentencePieceProcessor(model_file=str(tmp / "en.model"))
    counts = Counter(p for t in texts for p in sp.encode_as_pieces(t))
    total = sum(counts.values()) + len(texts) + 1
    lines = ["\\data\\", f"ngram 1={len(counts) + 3}", "ngram 2=1", "", "\\1-grams:",
             f"{math.log10(len(texts) / total):.6f}\t</s>", "-99\t<s>", f"{math.log10(1 / total):.6f}\t<unk>"]  # fmt: skip
    lines += [f"{math.log10(c / total):.6f}\t{p}" for p, c in sorted(counts.items())]
    lines += ["", "\\2-grams:", "-0.5\t<s> ▁the", "", "\\end\\", ""]
    (tmp / "en.arpa").write_text("\n".join(lines), encoding="utf-8")
    return str(tmp / "en.model"), str(tmp / "en.arpa")


def test_perplexity_check_runs_and_removes(models):
    sp_path, arpa = models
    lm = {"kenlm_models": {"en": arpa}, "sentencepiece_models": {"en": sp_path}}
    with gzip.open(FIXTURE, "rt", encoding="utf-8") as f:
        # 8 UDHR passages: kept by ROOTS' en filters
        text = next(r["text"] for r in map(json.loads, f) if r["id"] == "en-12-20")
    step = make_filter(RootsParams(**lm))
    d = Document(text=text, id="0", metadata={"lang": "en"})
    assert step.filter(d) is True  # score + decide, metrics written to metadata
    assert 1 < d.metadata["roots.perplexity"] < 1500
    strict = make_filter(RootsParams(**lm, max_perplexity=1.0))
    d = Document(text=text, id="0", metadata={"lang": "en"})
    assert strict.decide(d, strict.score(d)) == (False, "roots_perplexity")
    # like ROOTS, a document removed by a cheaper check is not scored by the models
    short = Document(text="Too short.", id="1", metadata={"lang": "en"})
    assert step.decide(short, step.score(short)) == (False, "roots_n_words_too_few")
    assert "roots.perplexity" not in short.metadata and "roots.lang_pred" not in short.metadata


@pytest.mark.skipif(roots_oracle.missing_reason() is not None, reason=f"{roots_oracle.missing_reason()}")
def test_perplexity_equals_original(models):
    sp_path, arpa = models
    roots = roots_oracle.load()
    sp = roots.filtering.sentencepiece.SentencePieceProcessor()
    sp.load(sp_path)
    lm = roots.filtering.kenlm.Model(arpa)
    step = make_filter(RootsParams(kenlm_models={"en": arpa}, sentencepiece_models={"en": sp_path}))
    with gzip.open(FIXTURE, "rt", encoding="utf-8") as f:
        rows = [r for r in map(json.loads, f) if r["lang"] in ("en", "fr", "zh")]
    checked = set()
    for row in rows:
        for name, text in variants(row["text"]).items():
            expected = roots.filtering.Filtering.compute_perplexity_score(text, sp, lm)
            assert step.perplexity(text, "en") == expected, (row["id"], name)
            checked.add(expected)
    assert len(checked) > 20  # real, varied values


def _validate_roots(tmp_path, write_recipe, **models):
    from curation.cli import main

    (tmp_path / "a.jsonl").write_text('{"text": "hello", "id": "1", "metadata": {"lang": "en"}}\n')
    path = write_recipe({"name": "t", "input": {"format": "jsonl", "path": str(tmp_path / "a.jsonl")},
                         "steps": [{"roots_filters": models}], "output": {"path": str(tmp_path / "run")}})  # fmt: skip
    return main(["validate", str(path)]), path


@pytest.mark.parametrize(
    "damage", ["truncated_arpa", "not_arpa", "garbage_body_arpa", "truncated_spm", "empty_spm", "garbage_spm"]
)
def test_damaged_kenlm_or_sentencepiece_file_is_one_line_exit_2_at_validation(
    models, tmp_path, write_recipe, capsys, damage
):
    sp_path, arpa = models
    bad = tmp_path / ("en.arpa" if "arpa" in damage else "en.model")
    src = Path(arpa if "arpa" in damage else sp_path).read_bytes()
    # garbage_body_arpa: a right frame (data ... end) around a body KenLM cannot parse
    body = b"\\data\\\nngram 1=3\n\n\\1-grams:\n-1.0\tfoo\nGARBAGE LINE\n\n\\end\\\n"
    bad.write_bytes({"truncated_arpa": src[: len(src) // 2], "not_arpa": b"hello\nworld\n", "garbage_body_arpa": body,
                     "truncated_spm": src[: len(src) // 3], "empty_spm": b"",
                     "garbage_spm": b"\x08\x96\x01" * 50}[damage])  # fmt: skip
    lm = {"kenlm_models": {"en": str(bad if "arpa" in damage else arpa)},
          "sentencepiece_models": {"en": str(bad if "spm" in damage else sp_path)}}  # fmt: skip
    capsys.readouterr()
    code, recipe = _validate_roots(tmp_path, write_recipe, **lm)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "Traceback" not in err[0], err
    key = "kenlm_models" if "arpa" in damage else "sentencepiece_models"
    assert f"{recipe}:" in err[0] and f"roots_filters.{key}" in err[0] and str(bad) in err[0]


def test_whole_kenlm_and_sentencepiece_files_validate(models, tmp_path, write_recipe):
    sp_path, arpa = models
    code, _ = _validate_roots(
        tmp_path, write_recipe, kenlm_models={"en": arpa}, sentencepiece_models={"en": sp_path}
    )
    assert code == 0
