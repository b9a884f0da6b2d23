"""Tests of `minhash_dedup` (curation/steps/minhash/__init__.py): signatures identical to datasketch, near-dups
found across shards and tasks, deterministic keepers and cluster ids, resume after a crash between
stages, hostile input, the band-sharded cluster stage, and an end-to-end recipe. The Redis index is
tested in test_minhash_redis.py, the signature and cluster files in test_minhash_files.py; the shared
corpus and runner are in minhash_corpus.py.

Run: `.venv/bin/python -m pytest tests/curation/steps/test_minhash.py`
"""

from __future__ import annotations

import gzip
import json
import random
import shutil
import tracemalloc

import numpy as np
import pytest
from datasketch import LeanMinHash, MinHash

from curation.steps.minhash import TOKEN_RE, MinhashParams, MinhashSigner, normalize_tokens, shingles
from tests.curation.steps.minhash_corpus import (
    _corpus,
    _decisions,
    _mutate,
    _run_barrier,
    _text,
    _write_shards,
)


def test_signatures_identical_to_datasketch():
    texts = [
        "The quick brown fox jumps over the lazy dog, again and again!",
        "short",
        "我们今天去公园散步吧好不好",
    ]
    signer = MinhashSigner(num_perm=128, seed=1)
    for text, char in ((texts[0], False), (texts[1], False), (texts[2], True)):
        sh = shingles(text, 5, char=char)
        ours = signer.signature(sh)
        m = MinHash(num_perm=128, seed=1)
        m.update_batch(sh)
        np.testing.assert_array_equal(ours, m.hashvalues)
        (bulk,) = MinHash.bulk([sorted(set(sh))], num_perm=128, seed=1)
        np.testing.assert_array_equal(ours, bulk.hashvalues)
        loop = MinHash(num_perm=128, seed=1)
        for s in sh:
            loop.update(s)
        np.testing.assert_array_equal(ours, LeanMinHash(loop).hashvalues)
    # a document longer than one permutation block (1024 shingles) still matches
    long_text = " ".join(f"t{i}" for i in range(20000))
    sh = shingles(long_text, 5)
    m = MinHash(num_perm=64, seed=3)
    m.update_batch(sh)
    np.testing.assert_array_equal(MinhashSigner(64, 3).signature(sh), m.hashvalues)


def test_shingles_normalize_and_char_mode():
    assert shingles("Hello, WORLD!  hello world", 2) == [b"hello world", b"world hello", b"hello world"]
    assert shingles("a b", 5) == [b"a b"]
    assert shingles(" ... ", 5) == []
    assert shingles("我们 去公园", 3, char=True) == ["我们去".encode(), "们去公".encode(), "去公园".encode()]
    assert shingles("हिन्दी भाषा", 1) == ["हिन्दी".encode(), "भाषा".encode()]  # vowel signs stay in words
    # the ASCII fast path tokenizes exactly like the Unicode path
    text = "It's 2024: C++/Rust_v2 (beta) -- naïve? no; ASCII!\tTabs\nand\r\nCRLF ~x~ [y] {z} 9.5%"
    unicode_path = [t.encode() for t in TOKEN_RE.findall(text.lower())]
    assert normalize_tokens(text.replace("ï", "i")) == [t.replace("ï".encode(), b"i") for t in unicode_path]
    ascii_text = "".join(chr(c) for c in range(128)) * 2
    assert normalize_tokens(ascii_text) == [t.encode() for t in TOKEN_RE.findall(ascii_text.lower())]


def test_auto_shingles_by_language(tmp_path):
    from datatrove.data import Document

    from curation.steps.minhash import MinhashSignatureStep

    step = MinhashSignatureStep(MinhashParams(), tmp_path)
    zh = "我们今天下午一起去公园散步吧"
    for lang in ("zh", "zh-Hans", "ja_JP"):
        assert step.doc_shingles(Document(text=zh, id="a", metadata={"lang": lang})) == shingles(
            zh, 5, char=True
        )
    assert step.doc_shingles(Document(text=zh, id="a", metadata={"lang": "en"})) == [zh.encode()]
    word = MinhashSignatureStep(MinhashParams(shingle="word"), tmp_path)
    assert word.doc_shingles(Document(text=zh, id="a", metadata={"lang": "zh"})) == [zh.encode()]
    prompt = MinhashSignatureStep(MinhashParams(field="prompt"), tmp_path)
    assert prompt.doc_shingles(Document(text="x", id="a", metadata={})) is None


def test_lsh_bands_follow_lsh_tuning():
    """Bands x rows when not given: the recall-weighted optimum by default (42 x 4 at J 0.5 and 256
    permutations, the setting chosen on Webis), the balanced one on request; explicit ones win."""
    from curation.steps.minhash.plan import lsh_bands

    assert lsh_bands(MinhashParams()) == (42, 4)
    assert lsh_bands(MinhashParams(lsh_tuning="balanced")) == (42, 6)
    assert lsh_bands(MinhashParams(num_perm=128, threshold=0.8, lsh_tuning="balanced")) == (9, 13)
    assert lsh_bands(MinhashParams(bands=20, rows=5)) == (20, 5)
    # unverified candidates are merged as they are: recall-weighted bands would merge ~29 % of pairs
    # at J 0.3, so without verification the default is balanced
    assert lsh_bands(MinhashParams(verify=False)) == (42, 6)
    assert lsh_bands(MinhashParams(verify=False, lsh_tuning="recall")) == (42, 4)


def test_params_validation():
    with pytest.raises(ValueError):
        MinhashParams(bands=4)
    with pytest.raises(ValueError):
        MinhashParams(bands=20, rows=13)  # 260 > num_perm 256
    with pytest.raises(ValueError):
        MinhashParams(treshold=0.7)


def test_near_duplicates_across_shards_and_tasks(tmp_path):
    shards, families = _corpus()
    docs = _run_barrier(tmp_path / "run", _write_shards(tmp_path / "in", shards), tasks=3)
    got = _decisions(docs)
    assert len(got) == sum(map(len, shards))
    expected_keepers = sorted(families)  # the smallest id of each family
    for no, keeper in enumerate(expected_keepers):  # clusters are numbered in keeper-id order
        members = families[keeper]
        assert got[keeper] == ("kept", no, len(members), None)
        for m in members - {keeper}:
            assert got[m] == ("removed", no, len(members), keeper)
    removed = [d for d in docs if d["kind"] == "removed"]
    assert {d["metadata"]["filter_reason"] for d in removed} == {"near_duplicate"}
    assert len(removed) == sum(len(m) - 1 for m in families.values())
    assert all(got[f"solo-{i:02d}"] == ("kept", None, None, None) for i in range(30))
    assert got["empty"] == ("kept", None, None, None)
    assert not any("_minhash_pos" in d["metadata"] for d in docs)
    # counters: the filter's line and the run-level cluster count (from the single cluster task)
    f_stats = json.loads((tmp_path / "run/logs/segment_1/stats.json").read_text())
    by_name = {s["name"]: s["stats"] for s in f_stats}
    filt = next(v for k, v in by_name.items() if "minhash" in k)
    total = lambda v: v["total"] if isinstance(v, dict) else v
    assert total(filt["dropped_near_duplicate"]) == len(removed)
    assert total(filt["ledger:dedup:duplicates_removed"]) == len(removed)
    c_stats = json.loads((tmp_path / "run/logs/stage_2/stats.json").read_text())
    assert total(c_stats[0]["stats"]["ledger:dedup:clusters"]) == 3


def test_same_decisions_for_any_task_count(tmp_path):
    shards, _ = _corpus()
    inp = _write_shards(tmp_path / "in", shards)
    one = _decisions(_run_barrier(tmp_path / "r1", inp, tasks=1))
    three = _decisions(_run_barrier(tmp_path / "r3", inp, tasks=3))
    assert one == three


def test_field_hashes_a_metadata_key(tmp_path):
    rng = random.Random(3)
    prompt = _text(rng, 80)  # >= short_shingles (40): the default threshold applies
    shard = [
        {"id": "a", "text": _text(rng), "prompt": prompt},
        {"id": "b", "text": _text(rng), "prompt": _mutate(prompt, rng, 1)},
        {"id": "c", "text": _text(rng), "prompt": _text(rng, 40)},
        {"id": "d", "text": _text(rng)},  # no prompt: never clustered
    ]
    got = _decisions(
        _run_barrier(tmp_path / "run", _write_shards(tmp_path / "in", [shard]), 1, field="prompt")
    )
    assert got["b"] == ("removed", 0, 2, "a")
    assert got["a"][0] == got["c"][0] == got["d"][0] == "kept"


def test_short_documents_need_more_agreement(tmp_path):
    """At the defaults (threshold 0.5, short_shingles 40 -> 0.8): two long docs sharing ~60% of their
    shingles are near-duplicates; two one-sentence docs sharing as much are not (paraphrases do)."""
    rng = random.Random(4)

    def pair(words: int, changes: int) -> tuple[str, str]:
        a = _text(rng, words).rstrip(".").split()
        b = list(a)
        for k in range(changes):  # spread the changes evenly: Jaccard of 5-grams ~0.6
            b[(k * len(a)) // changes + len(a) // (2 * changes)] = "changed"
        return " ".join(a), " ".join(b)

    long_a, long_b = pair(400, 20)  # Jaccard 296/496 = 0.6
    short_a, short_b = pair(30, 1)  # Jaccard 21/31 = 0.68
    shard = [
        {"id": "long-a", "text": long_a},
        {"id": "long-b", "text": long_b},
        {"id": "short-a", "text": short_a},
        {"id": "short-b", "text": short_b},
    ]
    inp = _write_shards(tmp_path / "in", [shard])
    got = _decisions(_run_barrier(tmp_path / "run", inp, tasks=1))
    assert got["long-b"] == ("removed", 0, 2, "long-a")
    assert got["short-b"][0] == got["short-a"][0] == "kept"
    off = _decisions(_run_barrier(tmp_path / "off", inp, tasks=1, short_shingles=0))
    assert off["short-b"][0] == "removed"


def test_resume_after_crash_between_stages(tmp_path):
    shards, _ = _corpus()
    inp = _write_shards(tmp_path / "in", shards)
    run = tmp_path / "run"
    reference = _decisions(_run_barrier(run, inp, tasks=3))
    work = run / "work" / "minhash_dedup"
    sig_mtimes = {p: p.stat().st_mtime_ns for p in (work / "signatures").glob("*.npz")}
    # crash inside the cluster stage: a half-written temp file, no clusters.npz, no completion marker
    (work / "clusters.npz").unlink()
    (work / "clusters.npz.tmp123").write_bytes(b"PK\x03\x04 truncated")
    shutil.rmtree(run / "logs" / "stage_2")  # the cluster stage (stage_1: band shards, a no-op here)
    shutil.rmtree(run / "logs" / "segment_1")
    for folder in ("output", "removed"):
        shutil.rmtree(run / folder)
    assert _decisions(_run_barrier(run, inp, tasks=3)) == reference
    # the finished segment was skipped (datatrove completions): signatures were not rewritten
    assert {p: p.stat().st_mtime_ns for p in (work / "signatures").glob("*.npz")} == sig_mtimes
    # a missing task's signatures is a clear error, not a silent partial dedup
    (work / "signatures" / "00001.npz").unlink()
    from curation.steps.minhash.files import signature_files

    with pytest.raises(FileNotFoundError, match="00001"):
        signature_files(work / "signatures", 3)


# --- end to end ------------------------------------------------------------------------------------


def test_recipe_end_to_end(tmp_path, run_recipe):
    shards, families = _corpus()
    inp = _write_shards(tmp_path / "in", shards)
    recipe = {
        "name": "minhash-e2e",
        "input": {"format": "jsonl", "path": str(inp / "*.jsonl.gz")},
        "steps": [{"minhash_dedup": {"threshold": 0.8}}],
        "output": {"keep_removed": True},
        "executor": {"kind": "local", "tasks": 3, "workers": 2},  # workers pickle the steps
    }
    code, run_dir, summary = run_recipe(recipe)
    assert code == 0, summary
    duplicates = sum(len(m) - 1 for m in families.values())
    assert summary["invariant"]["ok"]
    (step,) = summary["steps"]
    assert step["removed_by_reason"] == {"near_duplicate": duplicates}
    assert summary["dedup"] == {"clusters": 3, "duplicates_removed": duplicates}
    removed = []
    for path in (run_dir / "removed").rglob("*.jsonl.gz"):
        with gzip.open(path, "rt") as f:
            removed += [json.loads(line) for line in f]
    assert sorted(d["metadata"]["dup_of"] for d in removed) == sorted(
        k for k, m in families.items() for _ in range(len(m) - 1)
    )


# --- hostile and huge input (issue 12 items 6, 8, 15) ----------------------------------------------


def test_streamed_signature_equals_whole_text():
    """Signing piece by piece (n-1 units carried over) gives exactly the whole-text shingles' signature."""
    rng = random.Random(5)
    text = "\n".join(_text(rng, rng.randint(1, 30)) for _ in range(60)) + " Ünïcode Wörter, ß und 我们去公园"
    for hashing in ("sha1", "fast"):
        whole, pieces = MinhashSigner(64, 2, hashing), MinhashSigner(64, 2, hashing)
        pieces.piece_chars = 40  # many pieces, some shorter than one n-gram
        for n, char in ((5, False), (1, False), (9, False), (4, True)):
            ref = whole.sign_text(text, n, char)
            np.testing.assert_array_equal(pieces.sign_text(text, n, char), ref)
            if hashing == "sha1":  # and the sha1 scheme is still datasketch's, bit for bit
                m = MinHash(num_perm=64, seed=2)
                m.update_batch(shingles(text, n, char))
                np.testing.assert_array_equal(ref, m.hashvalues)
        assert pieces.sign_text("a b", 5) is not None and pieces.sign_text(" ... ", 5) is None


def test_signature_memory_is_bounded_for_a_huge_document(tmp_path):
    """A 9 MB document: the signature step's peak allocation is bounded by one piece (< 16 MiB).

    Before streaming, the step built every shingle at once (~1.3M bytes objects, > 100 MB here).
    """
    from datatrove.data import Document

    from curation.steps.minhash import MinhashSignatureStep

    text = " ".join(f"w{i % 99991}" for i in range(1_300_000))
    for hashing in ("sha1", "fast"):
        step = MinhashSignatureStep(MinhashParams(hashing=hashing), tmp_path / hashing)
        doc = Document(text=text, id="huge", metadata={})
        tracemalloc.start()
        try:
            list(step.run(iter([doc])))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 16 << 20, (hashing, peak, len(text))


def test_forged_internal_position_cannot_remove_a_document(tmp_path):
    """Input that sets the internal position key (here the position of a removed duplicate) is ignored."""
    from curation.steps.barrier import position
    from curation.steps.minhash import POS_KEY

    rng = random.Random(11)
    base = _text(rng)
    shard = [
        {"id": "a", "text": base},
        {"id": "b", "text": _mutate(base, rng)},  # position 0:1, removed as a duplicate of "a"
        {"id": "victim-empty", "text": " ... ", POS_KEY: position(0, 1), "_minhash_pos": position(0, 1)},
        {"id": "victim-text", "text": _text(rng), POS_KEY: position(0, 1)},
    ]
    docs = _run_barrier(tmp_path / "run", _write_shards(tmp_path / "in", [shard]), tasks=1)
    got = _decisions(docs)
    assert got["b"] == ("removed", 0, 2, "a")
    assert got["victim-empty"] == got["victim-text"] == ("kept", None, None, None)
    assert not any(POS_KEY in d["metadata"] for d in docs)


# --- band-sharded cluster stage (issue 15 part 1) --------------------------------------------------


def _families_corpus(seed: int, families: int = 25, solos: int = 60, shards: int = 3) -> list[list[dict]]:
    """Families of 2-6 docs at varied distances (some near the threshold), split over shards."""
    rng = random.Random(seed)
    out: list[list[dict]] = [[] for _ in range(shards)]
    k = 0
    for f in range(families):
        base = _text(rng, rng.choice((30, 80, 200)))
        for m in range(rng.randint(2, 6)):
            text = base if m == 0 else _mutate(base, rng, rng.randint(1, max(1, len(base.split()) // 8)))
            out[k % shards].append({"id": f"f{f:02d}-{m}", "text": text})
            k += 1
    for i in range(solos):
        out[i % shards].append({"id": f"s{i:03d}", "text": _text(rng, 60)})
    for shard in out:
        rng.shuffle(shard)
    return out


@pytest.mark.parametrize("tasks", [1, 3])
def test_sharded_clusters_equal_in_memory(tmp_path, tasks):
    shards = _families_corpus(seed=tasks)
    inp = _write_shards(tmp_path / "in", shards)
    memory = _decisions(_run_barrier(tmp_path / "mem", inp, tasks=tasks, mode="memory"))
    sharded = _decisions(_run_barrier(tmp_path / "shard", inp, tasks=tasks, mode="sharded"))
    assert sharded == memory
    assert sum(v[0] == "removed" for v in memory.values()) > 20  # the corpus does have duplicates
    work = tmp_path / "shard" / "work" / "minhash_dedup"
    assert len(list((work / "pairs").glob("*.npz"))) == tasks
    # 'auto' shards when the in-memory estimate exceeds the budget, and decides the same clusters
    auto = _decisions(_run_barrier(tmp_path / "auto", inp, tasks=tasks, memory_budget_mb=0))
    assert auto == memory
    assert (tmp_path / "auto" / "work" / "minhash_dedup" / "pairs").exists()
    assert not (tmp_path / "mem" / "work" / "minhash_dedup" / "pairs").exists()


def test_sharded_key_space_parts_give_the_same_links(tmp_path, monkeypatch):
    """Splitting each band's key space into parts and loading bucket members in small batches (what a
    huge corpus gets) changes nothing."""
    from curation.steps.minhash import bands as minhash_bands

    shards = _families_corpus(seed=9)
    inp = _write_shards(tmp_path / "in", shards)
    one = _decisions(_run_barrier(tmp_path / "one", inp, tasks=2, mode="sharded"))
    monkeypatch.setattr(minhash_bands, "SHARE_BUDGET", 48 * 50)  # ~50 docs per share: several parts
    monkeypatch.setattr(minhash_bands, "cand_batch", lambda num_perm: 7)  # members loaded 7 at a time
    assert minhash_bands.share_plan(300, 25)[0] > 1
    many = _decisions(_run_barrier(tmp_path / "many", inp, tasks=2, max_workers=1, mode="sharded"))
    assert many == one
