"""Tests of `minhash_dedup` (curation/steps/minhash.py): signatures identical to datasketch, near-dups
found across shards and tasks, deterministic keepers and cluster ids, Redis index == in-memory index
(also with several processes inserting), resume after a crash between stages, and an end-to-end recipe.

Run: `.venv/bin/python -m pytest tests/curation/steps/test_minhash.py`. The Redis tests start their own
`redis-server` on a free port and skip only when the binary is not installed.
"""

from __future__ import annotations

import gzip
import json
import random
import shutil
import socket
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from datasketch import LeanMinHash, MinHash
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter

from curation.registry import StepContext, get_op
from curation.steps.minhash import TOKEN_RE, MinhashParams, MinhashSigner, normalize_tokens, shingles

VOCAB = [f"w{i}" for i in range(3000)]


def _text(rng: random.Random, words: int = 120) -> str:
    return " ".join(rng.choice(VOCAB) for _ in range(words)) + "."


def _mutate(text: str, rng: random.Random, changes: int = 1) -> str:
    words = text.split()
    for _ in range(changes):
        words[rng.randrange(len(words))] = rng.choice(VOCAB)
    return " ".join(words).upper()  # case and punctuation are normalized away


def _corpus() -> tuple[list[list[dict]], dict[str, set[str]]]:
    """3 shards; 3 near-dup families spread across shards, plus unrelated docs and an empty one."""
    rng = random.Random(7)
    shards: list[list[dict]] = [[], [], []]
    families = {}
    for f in range(3):
        base = _text(rng)
        ids = {f"doc-{f}-{k}" for k in range(f + 2)}  # families of 2, 3 and 4 docs
        families[f"doc-{f}-0"] = ids
        for k, doc_id in enumerate(sorted(ids)):
            text = base if k == 0 else _mutate(base, rng)
            shards[(f + k) % 3].append({"id": doc_id, "text": text})
    for i in range(30):
        shards[i % 3].append({"id": f"solo-{i:02d}", "text": _text(rng)})
    shards[1].append({"id": "empty", "text": "  ...  "})
    for shard in shards:
        rng.shuffle(shard)
    return shards, families


def _write_shards(folder: Path, shards: list[list[dict]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, docs in enumerate(shards):
        with gzip.open(folder / f"shard{i}.jsonl.gz", "wt") as f:
            for d in docs:
                f.write(json.dumps(d) + "\n")
    return folder


def _run_barrier(run_dir: Path, input_dir: Path, tasks: int, **params) -> list[dict]:
    """Run the barrier's parts like build.py does; returns every output doc (kept and removed)."""
    barrier = get_op("minhash_dedup").build(
        MinhashParams(**params), StepContext(run_dir=run_dir, step_id="minhash_dedup", tasks=tasks)
    )
    seg = run_dir / "work" / "segments" / "00"
    logs = run_dir / "logs"
    LocalPipelineExecutor(
        [JsonlReader(str(input_dir)), *barrier.before, JsonlWriter(str(seg), output_filename="${rank}.jsonl.gz")],
        tasks=tasks, workers=1, logging_dir=str(logs / "segment_0"),
    ).run()  # fmt: skip
    for j, (pipe, n) in enumerate(barrier.stages, start=1):
        LocalPipelineExecutor(pipe, tasks=n, workers=min(n, 2), logging_dir=str(logs / f"stage_{j}")).run()
    kept_dir, removed_dir = run_dir / "output", run_dir / "removed"
    barrier.filter.exclusion_writer = JsonlWriter(str(removed_dir), output_filename="${rank}.jsonl.gz")
    LocalPipelineExecutor(
        [JsonlReader(str(seg)), barrier.filter, JsonlWriter(str(kept_dir), output_filename="${rank}.jsonl.gz")],
        tasks=tasks, workers=1, logging_dir=str(logs / "segment_1"),
    ).run()  # fmt: skip
    docs = []
    for kind, folder in (("kept", kept_dir), ("removed", removed_dir)):
        for path in sorted(folder.glob("*.jsonl.gz")):
            with gzip.open(path, "rt") as f:
                docs += [{**json.loads(line), "kind": kind} for line in f]
    return docs


def _decisions(docs: list[dict]) -> dict[str, tuple]:
    return {
        d["id"]: (d["kind"], d["metadata"].get("dedup.cluster"), d["metadata"].get("dedup.cluster_size"),
                  d["metadata"].get("dup_of"))
        for d in docs
    }  # fmt: skip


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


def test_params_validation():
    with pytest.raises(ValueError):
        MinhashParams(bands=4)
    with pytest.raises(ValueError):
        MinhashParams(bands=20, rows=10)
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
    c_stats = json.loads((tmp_path / "run/logs/stage_1/stats.json").read_text())
    assert total(c_stats[0]["stats"]["ledger:dedup:clusters"]) == 3


def test_same_decisions_for_any_task_count(tmp_path):
    shards, _ = _corpus()
    inp = _write_shards(tmp_path / "in", shards)
    one = _decisions(_run_barrier(tmp_path / "r1", inp, tasks=1))
    three = _decisions(_run_barrier(tmp_path / "r3", inp, tasks=3))
    assert one == three


def test_field_hashes_a_metadata_key(tmp_path):
    rng = random.Random(3)
    prompt = _text(rng, 40)
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
    shutil.rmtree(run / "logs" / "stage_1")
    shutil.rmtree(run / "logs" / "segment_1")
    for folder in ("output", "removed"):
        shutil.rmtree(run / folder)
    assert _decisions(_run_barrier(run, inp, tasks=3)) == reference
    # the finished segment was skipped (datatrove completions): signatures were not rewritten
    assert {p: p.stat().st_mtime_ns for p in (work / "signatures").glob("*.npz")} == sig_mtimes
    # a missing task's signatures is a clear error, not a silent partial dedup
    (work / "signatures" / "00001.npz").unlink()
    from curation.steps._minhash_io import signature_files

    with pytest.raises(FileNotFoundError, match="00001"):
        signature_files(work / "signatures", 3)


# --- Redis -----------------------------------------------------------------------------------------


@pytest.fixture
def redis_port(tmp_path):
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server not installed (apt-get install redis-server): Redis index tests skipped")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    import redis

    client = redis.Redis(host="127.0.0.1", port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield port
    proc.terminate()
    proc.wait(timeout=10)


def test_redis_index_equals_memory(tmp_path, redis_port):
    import redis

    shards, _ = _corpus()
    inp = _write_shards(tmp_path / "in", shards)
    memory = _decisions(_run_barrier(tmp_path / "mem", inp, tasks=3))
    storage = {"type": "redis", "host": "127.0.0.1", "port": redis_port}
    # 3 insert tasks on 2 worker processes write into one shared index, then one task clusters
    shared = _decisions(_run_barrier(tmp_path / "redis", inp, tasks=3, storage=storage))
    assert shared == memory
    assert redis.Redis(port=redis_port).dbsize() == 0  # the index is dropped after clustering


def test_redis_parallel_inserts_into_one_index(tmp_path, redis_port):
    """Two OS processes insert disjoint halves into one basename; the union answers like one index."""
    import redis
    from datasketch import MinHashLSH

    shards, families = _corpus()
    docs = [d for shard in shards for d in shard if d["id"] != "empty"]
    path = tmp_path / "docs.json"
    path.write_text(json.dumps(docs))
    script = (
        "import json, sys\n"
        "from datasketch import LeanMinHash, MinHashLSH\n"
        "from curation.steps.minhash import MinhashSigner, shingles\n"
        "docs = json.load(open(sys.argv[1])); part = int(sys.argv[2])\n"
        "cfg = {'type': 'redis', 'basename': b'pytest_shared', 'redis': {'host': '127.0.0.1', 'port': int(sys.argv[3])}}\n"
        "lsh = MinHashLSH(num_perm=128, params=(9, 13), storage_config=cfg)\n"
        "signer = MinhashSigner(128, 1)\n"
        "with lsh.insertion_session() as s:\n"
        "    for d in docs[part::2]:\n"
        "        sig = signer.signature(shingles(d['text']))\n"
        "        s.insert(d['id'], LeanMinHash(seed=1, hashvalues=sig, scheme='affine32'))\n"
    )  # fmt: skip
    procs = [subprocess.Popen(["python", "-c", script, str(path), str(k), str(redis_port)]) for k in (0, 1)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    storage = {
        "type": "redis",
        "basename": b"pytest_shared",
        "redis": {"host": "127.0.0.1", "port": redis_port},
    }
    shared = MinHashLSH(num_perm=128, params=(9, 13), storage_config=storage)
    local = MinHashLSH(num_perm=128, params=(9, 13))
    signer = MinhashSigner(128, 1)
    for d in docs:
        local.insert(
            d["id"], LeanMinHash(seed=1, hashvalues=signer.signature(shingles(d["text"])), scheme="affine32")
        )
    for d in docs:
        q = LeanMinHash(seed=1, hashvalues=signer.signature(shingles(d["text"])), scheme="affine32")
        assert sorted(shared.query(q)) == sorted(local.query(q))
    for keeper, members in families.items():
        assert set(members) <= set(
            shared.query(LeanMinHash(seed=1, hashvalues=signer.signature(shingles(
                next(d["text"] for d in docs if d["id"] == keeper))), scheme="affine32"))
        )  # fmt: skip
    redis.Redis(port=redis_port).flushdb()


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
