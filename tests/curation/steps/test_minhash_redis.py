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


def test_redis_password_from_env_never_printed(tmp_path, monkeypatch):
    secret = "s3cr@t-pw"
    proc, port, client = _start_redis(tmp_path, "--requirepass", secret)
    try:
        shards, _ = _corpus()
        inp = _write_shards(tmp_path / "in", shards)
        memory = _decisions(_run_barrier(tmp_path / "mem", inp, tasks=2))
        monkeypatch.setenv("ROOTSTOCK_TEST_REDIS_PW", secret)
        env = {"host": "127.0.0.1", "port": port, "password_env": "ROOTSTOCK_TEST_REDIS_PW"}
        # 1 worker = this process: datatrove's forkserver, started by an earlier test, has an older environ
        assert _decisions(_run_barrier(tmp_path / "env", inp, tasks=2, max_workers=1, storage=env)) == memory
        assert client.dbsize() == 0  # the index dropped after clustering
        p = MinhashParams(storage=env)
        shown = [repr(p), str(p), json.dumps(p.model_dump()), p.model_dump_json()]
        shown += [f.read_text(errors="replace") for f in (tmp_path / "env" / "logs").rglob("*") if f.is_file()]
        assert not any("s3cr" in s for s in shown)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    from curation.steps.minhash.redis import RedisParams

    monkeypatch.setenv("ROOTSTOCK_TEST_REDIS_PW", "p:w")
    kw = RedisParams(url="rediss://me@cache.example:6380/5", password_env="ROOTSTOCK_TEST_REDIS_PW").client_kwargs()
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


def test_a_password_in_the_url_is_refused_without_echoing_it():
    with pytest.raises(ValueError, match=r"redis://:\*\*\*@127.0.0.1:6379/3 holds a password.*password_env") as err:
        MinhashParams(storage={"url": "redis://:topsecret@127.0.0.1:6379/3"})
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


def _redis_recipe(write_recipe, tmp_path, port, executor=None, name="redis"):
    from tests.conftest import SAMPLE

    storage = {"url": f"redis://127.0.0.1:{port}/2", "password_env": "ROOTSTOCK_TEST_REDIS_PW"}
    recipe = {
        "name": "redis",
        "input": {"format": "jsonl", "path": str(SAMPLE)},
        "steps": [{"minhash_dedup": {"storage": storage}}],
        "output": {"path": str(tmp_path / name), "keep_removed": True},
        "executor": executor or {"kind": "local", "tasks": 2, "workers": 1},
    }
    return write_recipe(recipe, name=f"{name}.yaml"), tmp_path / name


def test_a_wrong_password_or_unreachable_server_is_one_line_exit_1(tmp_path, monkeypatch, write_recipe, capsys):
    from curation.cli import main

    proc, port, _ = _start_redis(tmp_path, "--requirepass", "right-pw")
    try:
        path, run_dir = _redis_recipe(write_recipe, tmp_path, port)
        cases = [("wr0ng-pw", "authentication failed"), (None, "ROOTSTOCK_TEST_REDIS_PW is not set")]
        for password, reason in cases:
            if password is None:
                monkeypatch.delenv("ROOTSTOCK_TEST_REDIS_PW", raising=False)
            else:
                monkeypatch.setenv("ROOTSTOCK_TEST_REDIS_PW", password)
            capsys.readouterr()
            assert main(["run", str(path), "--no-progress"]) == 1
            err = capsys.readouterr().err.strip()
            assert err.startswith(f"error: minhash storage: Redis at redis://127.0.0.1:{port}/2: ") and reason in err
            assert len(err.splitlines()) == 1 and "wr0ng" not in err
            assert not run_dir.exists()  # refused before anything was written
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    monkeypatch.setenv("ROOTSTOCK_TEST_REDIS_PW", "right-pw")
    assert main(["run", str(path), "--no-progress"]) == 1  # the server is gone
    err = capsys.readouterr().err.strip()
    assert err == f"error: minhash storage: Redis at redis://127.0.0.1:{port}/2: unreachable (ConnectionError)"
    # a password in the url: exit 2 at validation, the password never shown
    bad = path.read_text().replace("redis://127.0.0.1", "redis://:hunter2@127.0.0.1")
    path.write_text(bad)
    for args in (["validate", str(path)], ["run", str(path), "--no-progress"]):
        assert main(args) == 2
        err = capsys.readouterr().err.strip()
        assert "minhash_dedup.storage: " in err and "holds a password" in err and "hunter2" not in err


def test_no_password_in_any_file_the_run_writes(tmp_path, monkeypatch, write_recipe):
    from curation.cli import main

    secret = "s3cret-pw-7781"
    proc, port, _ = _start_redis(tmp_path, "--requirepass", secret)
    try:
        monkeypatch.setenv("ROOTSTOCK_TEST_REDIS_PW", secret)
        path, run_dir = _redis_recipe(write_recipe, tmp_path, port)
        assert main(["run", str(path), "--no-progress"]) == 0
        # the sbatch scripts and the pickled pipelines Slurm tasks load (written by --dry-run as by a submission)
        slurm, slurm_dir = _redis_recipe(write_recipe, tmp_path, port, {"kind": "slurm", "tasks": 2}, "slurm")
        assert main(["run", str(slurm), "--dry-run"]) == 0
        assert (slurm_dir / "logs" / "minhash_dedup.stage_1" / "executor.pik").is_file()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    files = [f for d in (run_dir, slurm_dir) for f in d.rglob("*") if f.is_file()]
    assert len(files) > 10
    leaked = [str(f) for f in files if secret.encode() in f.read_bytes()]
    assert not leaked
