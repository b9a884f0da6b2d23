"""The ablation sample: blocks in or out as a whole, documents that contain evaluated text removed by
containment (not only by id or exact text), planted copies and their fresh counterpart written as
asked, and an A/A sample drawn with another salt."""

import json

from tests.training.conftest import sample_docs
from training.ablation_config import Decontam, Plant, Sample
from training.data import read_jsonl, write_jsonl_gz
from training.sample import Decontaminator, write_sample


def test_blocks_are_kept_whole_and_planting_counts(tmp_path):
    docs = [{"id": f"d{i}", "text": f"document number {i} " * 20} for i in range(400)]
    src = tmp_path / "src.jsonl.gz"
    write_jsonl_gz(src, docs)
    plant = Plant(fraction=0.1, copies=5, path=str(tmp_path / "planted.jsonl.gz"))
    s = Sample(
        inputs=[str(src)],
        fraction=0.3,
        path=str(tmp_path / "s.jsonl.gz"),
        unit="block",
        block_docs=10,
        plant=plant,
    )
    stats = write_sample(s, set(), None, {})
    kept = [int(d["id"][1:]) for d in read_jsonl(s.path)]
    blocks = {k // 10 for k in kept}
    assert len(kept) == 10 * len(blocks) == stats["docs"]  # every chosen block complete
    assert 0 < len(blocks) < 40
    planted = list(read_jsonl(plant.path))
    chosen = stats["planted"]["chosen"]
    assert chosen > 0 and len(planted) == len(kept) + 4 * chosen
    again = write_sample(s, set(), None, {})
    assert again.get("reused") and again["docs"] == stats["docs"]


def test_duplicate_clusters_are_kept_whole(tmp_path):
    """Pages that differ only in their header (an untranslated page under every locale) share a cluster
    key: a cluster is in or out as a whole, so the sample keeps the pool's duplicate share."""
    docs = []
    for page in range(60):
        body = "\n".join(
            f"Paragraph {k} of page {page} says something long enough to count as a line." for k in range(4)
        )
        copies = 5 if page % 3 == 0 else 1  # a third of the pages repeated under 5 locales
        docs += [{"id": f"{loc}/{page}", "text": f"Prev | Next ({loc})\n{body}"} for loc in range(copies)]
    src = tmp_path / "src.jsonl.gz"
    write_jsonl_gz(src, docs)
    s = Sample(inputs=[str(src)], fraction=0.5, path=str(tmp_path / "s.jsonl.gz"))
    stats = write_sample(s, set(), None, {})
    kept = [d["id"] for d in read_jsonl(s.path)]
    pages = {}
    for i in kept:
        loc, page = i.split("/")
        pages.setdefault(int(page), set()).add(loc)
    assert all(len(locs) == (5 if p % 3 == 0 else 1) for p, locs in pages.items())  # whole clusters
    assert 0 < len(pages) < 60
    assert stats["dup_share_pool"] == round(100 / 140, 4) and stats["dup_share_sample"] > 0.4


def test_decontamination_catches_edited_copies_under_other_ids(tmp_path):
    pool = sample_docs()[:80]
    long = [d for d in pool if len(d["text"].split()) > 200]
    target = long[0]
    words = target["text"].split()
    edited = " ".join(words[:-10] + ["an", "edited", "ending", "that", "differs"])  # same doc, new tail
    docs = [*pool, {"id": "elsewhere/copy", "text": edited}]
    src = tmp_path / "src.jsonl.gz"
    write_jsonl_gz(src, docs)
    decon = Decontaminator({"ev": [target]}, Decontam(threshold=0.5))
    s = Sample(inputs=[str(src)], fraction=1.0, path=str(tmp_path / "s.jsonl.gz"), block_docs=1)
    stats = write_sample(s, {target["id"]}, decon, {})
    ids = {d["id"] for d in read_jsonl(s.path)}
    assert "elsewhere/copy" not in ids and target["id"] not in ids
    assert stats["decontam_removed"] == {"ev": 1} and stats["excluded_eval_ids"] == 1
    assert len(ids) == len(pool) - 1  # nothing else removed
    assert json.loads((tmp_path / "s.jsonl.gz.spec.json").read_text())["stats"]["docs"] == len(ids)


def test_containment_catches_an_excerpt_inside_a_longer_document():
    """An evaluated excerpt (a capped eval document) inside a much longer page: whole-document Jaccard
    would be ~0.1, containment is 1."""
    pool = [d for d in sample_docs() if len(d["text"].split()) > 200]
    excerpt = " ".join(pool[0]["text"].split()[:60])
    host = " ".join(d["text"] for d in pool[1:6]) + " " + excerpt + " " + pool[6]["text"]
    decon = Decontaminator({"ev": [{"text": excerpt}]}, Decontam(threshold=0.5))
    assert decon.match(host) == {"ev"}
    assert decon.match(" ".join(d["text"] for d in pool[1:6])) == set()
    assert decon.match(excerpt) == {"exact"}


def test_planted_fresh_adds_the_same_bytes_as_unique_documents_of_the_planted_sources(tmp_path):
    docs = [
        {"id": f"{src}{i}", "text": f"{src} text {i} " + " ".join(f"w{i}x{k}" for k in range(60)), "source": src, "lang": "en"}
        for src in ("prose", "code")
        for i in range(300)
    ]  # fmt: skip
    src = tmp_path / "src.jsonl.gz"
    write_jsonl_gz(src, docs)
    plant = Plant(
        fraction=0.1,
        copies=4,
        sources=["prose"],
        path=str(tmp_path / "planted.jsonl.gz"),
        fresh_path=str(tmp_path / "fresh.jsonl.gz"),
    )
    s = Sample(inputs=[str(src)], fraction=0.3, path=str(tmp_path / "s.jsonl.gz"), plant=plant,
               alt_path=str(tmp_path / "alt.jsonl.gz"))  # fmt: skip
    stats = write_sample(s, set(), None, {})
    sample = {d["id"] for d in read_jsonl(s.path)}
    planted = list(read_jsonl(plant.path))
    fresh = [d for d in read_jsonl(plant.fresh_path) if d["id"] not in sample]
    copies = [d for d in planted if "#copy" in d["id"]]
    assert copies and all(d["id"].startswith("prose") for d in copies)  # only the named sources
    assert len({d["text"] for d in fresh}) == len(fresh) and all(d["id"].startswith("prose") for d in fresh)
    extra, got = stats["planted"]["extra_bytes"], stats["planted"]["fresh"]["extra_bytes"]
    assert extra <= got < extra + max(len(d["text"].encode()) for d in fresh)  # same bytes, to one document
    assert stats["planted"]["fresh"]["shortfall_bytes"] == 0
    alt = {d["id"] for d in read_jsonl(s.alt_path)}
    assert alt and alt != sample and stats["alt"]["docs"] == len(alt)


def test_containment_ignores_case_and_punctuation_as_minhash_does():
    """The decontamination shingles text as curation's MinHash does (`shingling`): a copy that differs
    only in case, punctuation and line breaks still contains the evaluated text."""
    excerpt = " ".join(d["text"] for d in sample_docs() if len(d["text"].split()) > 200)[:800]
    host = "Preface.\n" + excerpt.upper().replace(" ", " -- ").replace(".", "!") + "\nAppendix."
    decon = Decontaminator({"ev": [{"text": excerpt}]}, Decontam(threshold=0.5))
    assert decon.match(host) == {"ev"}
    assert decon.match("An unrelated page about gardening in the spring, with tomatoes.") == set()
