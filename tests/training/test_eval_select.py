"""Eval domains: documents drawn round-robin over their sources, capped per document, described as
scored; a file of another shape (field names) serves as an out-of-pool domain."""

from training.ablation_config import EvalSet
from training.data import write_jsonl_gz
from training.eval_select import describe, select, stratified


def test_round_robin_over_sources_takes_every_document_of_a_small_source():
    cands = [{"id": f"big{i}", "source": "big"} for i in range(50)]
    cands += [{"id": f"mid{i}", "source": "mid"} for i in range(20)]
    cands += [{"id": "tiny0", "source": "tiny"}]
    got = stratified(cands, 21)
    counts = {s: sum(d["source"] == s for d in got) for s in ("big", "mid", "tiny")}
    assert counts == {"big": 10, "mid": 10, "tiny": 1}
    assert stratified(cands, 21) == got  # id-hash order: the same documents every time


def test_select_caps_documents_and_describes_what_is_scored(tmp_path):
    recs = [
        {"doc_a": f"p{i}", "text_a": f"page {i} " + "word " * 500, "corpus": ["news", "gov"][i % 2]}
        for i in range(30)
    ]
    recs.append({"doc_a": "p0", "text_a": "the same id again", "corpus": "news"})  # one document per id
    path = tmp_path / "pairs.jsonl.gz"
    write_jsonl_gz(path, recs)
    e = EvalSet(path=str(path), name="web", text_field="text_a", id_field="doc_a", source_field="corpus",
                max_docs=12, max_chars=200)  # fmt: skip
    docs, full, ids, texts = select(e)
    assert len(docs) == 12 and all(len(d["text"]) == 200 for d in docs)
    assert len(full[0]["text"]) > 200 and ids == {d["id"] for d in docs} and len(texts) == 12
    d = describe(docs, out_of_pool=True)
    assert d == {"docs": 12, "bytes": 12 * 200, "sources": {"gov": 6, "news": 6}, "out_of_pool": True}


def test_a_holdout_keeps_its_whole_slice_out_of_training(tmp_path):
    recs = [{"id": f"d{i}", "text": f"text {i}", "source": "s"} for i in range(400)]
    path = tmp_path / "pool.jsonl.gz"
    write_jsonl_gz(path, recs)
    docs, _, ids, _ = select(EvalSet(path=str(path), name="h", holdout_fraction=0.2, max_docs=5))
    assert len(docs) == 5 and len(ids) > 40  # ~80 ids in the slice, 5 scored, all kept out
