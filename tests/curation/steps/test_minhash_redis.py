"""MinHash dedup with `storage: redis` (curation/steps/minhash/redis.py): the shared index decides as
the in-memory one does (also with several processes inserting), members are never unpickled, and a
password never reaches a log or a repr. Each test starts its own `redis-server` on a free port and
skips only when the binary is not installed.

Run: `.venv/bin/python -m pytest tests/curation/steps/test_minhash_redis.py`
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time

import pytest
from datasketch import LeanMinHash

from curation.steps.minhash import MinhashParams, MinhashSigner, shingles
from tests.curation.steps.minhash_corpus import _corpus, _decisions, _run_barrier, _write_shards


def _start_redis(tmp_path, *extra):
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server not installed (apt-get install redis-server): Redis index tests skipped")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path), *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    import redis

    password = extra[extra.index("--requirepass") + 1] if "--requirepass" in extra else None
    client = redis.Redis(host="127.0.0.1", port=port, password=password)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    return proc, port, client


def test_redis_index_members_are_never_unpickled(tmp_path, redis_port):
    """A pickle planted in every bucket of the shared index is skipped, not loaded (it would create a file)."""
    import pickle

    import redis

    from curation.steps.minhash.cluster import MinhashClusterStage

    class Planted:
        def __reduce__(self):
            return (open, (str(tmp_path / "PWNED"), "w"))

    shards, _ = _corpus()
    inp = _write_shards(tmp_path / "in", shards)
    params = {"storage": {"type": "redis", "host": "127.0.0.1", "port": redis_port, "keep_index": True}}
    reference = _decisions(_run_barrier(tmp_path / "run", inp, tasks=3, **params))
    client = redis.Redis(port=redis_port)
    planted = 0
    for key in client.scan_iter(match=b"rootstock_minhash_*"):
        if client.type(key) == b"set":
            client.sadd(key, pickle.dumps(Planted()))
            planted += 1
    assert planted > 0
    work = tmp_path / "run" / "work" / "minhash_dedup"
    (work / "clusters.npz").unlink()
    MinhashClusterStage(MinhashParams(**params), work, expected_tasks=3).run()
    assert not (tmp_path / "PWNED").exists()
    from curation.steps.minhash.files import load_clusters

    clusters = load_clusters(work / "clusters.npz")
    assert (
        len({c for c, _, _ in clusters.values()})
        == 3
        == len({v[1] for v in reference.values() if v[1] is not None})
    )


def test_redis_password_from_url_or_env_never_printed(tmp_path, monkeypatch):
    secret = "s3cr@t-pw"
    proc, port, client = _start_redis(tmp_path, "--requirepass", secret)
    try:
        shards, _ = _corpus()
        inp = _write_shards(tmp_path / "in", shards)
        memory = _decisions(_run_barrier(tmp_path / "mem", inp, tasks=2))
        url = f"redis://:s3cr%40t-pw@127.0.0.1:{port}/3"
        assert _decisions(_run_barrier(tmp_path / "url", inp, tasks=2, storage={"url": url})) == memory
        monkeypatch.setenv("ROOTSTOCK_TEST_REDIS_PW", secret)
        env = {"host": "127.0.0.1", "port": port, "password_env": "ROOTSTOCK_TEST_REDIS_PW"}
        # 1 worker = this process: datatrove's forkserver, started by an earlier test, has an older environ
        assert _decisions(_run_barrier(tmp_path / "env", inp, tasks=2, max_workers=1, storage=env)) == memory
        assert client.dbsize() == 0  # both indexes dropped after clustering
        p = MinhashParams(storage={"url": url})
        shown = [repr(p), str(p), json.dumps(p.model_dump()), p.model_dump_json()]
        for folder in ("url", "env"):
            shown += [
                f.read_text(errors="replace") for f in (tmp_path / folder / "logs").rglob("*") if f.is_file()
            ]
        assert not any("s3cr" in s for s in shown)
        assert p.model_dump()["storage"]["url"] == f"redis://:***@127.0.0.1:{port}/3"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    from curation.steps.minhash.redis import RedisParams

    kw = RedisParams(url="rediss://me:p%3Aw@cache.example:6380/5").client_kwargs()
    assert kw == {
        "host": "cache.example",
        "port": 6380,
        "db": 5,
        "ssl": True,
        "username": "me",
        "password": "p:w",
    }
    with pytest.raises(ValueError, match=r"\*\*\*") as err:
        MinhashParams(storage={"url": "http://:topsecret@host/0"})
    assert "topsecret" not in str(err.value)


@pytest.fixture
def redis_port(tmp_path):
    proc, port, _ = _start_redis(tmp_path)
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
        "lsh = MinHashLSH(num_perm=128, params=(9, 13), storage_config=cfg, prepickle=False)\n"
        "signer = MinhashSigner(128, 1)\n"
        "with lsh.insertion_session() as s:\n"
        "    for d in docs[part::2]:\n"
        "        sig = signer.signature(shingles(d['text']))\n"
        "        s.insert(d['id'].encode(), LeanMinHash(seed=1, hashvalues=sig, scheme='affine32'))\n"
    )  # fmt: skip
    # sys.executable, not a bare "python": the venv need not be activated (issue 14 item 2)
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(path), str(k), str(redis_port)]) for k in (0, 1)
    ]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    storage = {
        "type": "redis",
        "basename": b"pytest_shared",
        "redis": {"host": "127.0.0.1", "port": redis_port},
    }
    shared = MinHashLSH(num_perm=128, params=(9, 13), storage_config=storage, prepickle=False)
    local = MinHashLSH(num_perm=128, params=(9, 13))
    signer = MinhashSigner(128, 1)
    for d in docs:
        local.insert(
            d["id"].encode(),
            LeanMinHash(seed=1, hashvalues=signer.signature(shingles(d["text"])), scheme="affine32"),
        )
    for d in docs:
        q = LeanMinHash(seed=1, hashvalues=signer.signature(shingles(d["text"])), scheme="affine32")
        assert sorted(shared.query(q)) == sorted(local.query(q))
    for keeper, members in families.items():
        assert {m.encode() for m in members} <= set(
            shared.query(LeanMinHash(seed=1, hashvalues=signer.signature(shingles(
                next(d["text"] for d in docs if d["id"] == keeper))), scheme="affine32"))
        )  # fmt: skip
    redis.Redis(port=redis_port).flushdb()
