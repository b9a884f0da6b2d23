"""Recipes that read from and write to an S3-compatible server over HTTP (moto on 127.0.0.1): jsonl.gz
and WARC input from the bucket; output/, removed/ and summary.json written to it, byte-identical to a
local run; `datasets` loads the output from the bucket; a run killed midway resumes to the same bytes;
the prefix has one owner; errors are one line and never show a secret.

Run: `.venv/bin/python -m pytest tests/curation/test_object_storage.py`
"""

import gzip
import json
import os
import pickle
import signal
import subprocess
import sys
import time
from io import BytesIO
from pathlib import Path

import pytest

from curation.cli import main
from tests.conftest import SAMPLE, read_output

ROOT = Path(__file__).resolve().parents[2]
STEPS = [{"length_filter": {"min_chars": 400}}, {"exact_dedup": {}}]


def upload_sample(s3, prefix="in", parts=2):
    """The sample corpus as `parts` jsonl.gz objects under `prefix`; returns the documents."""
    with gzip.open(SAMPLE, "rt") as f:
        docs = [json.loads(line) for line in f]
    for i in range(parts):
        body = "".join(json.dumps(d) + "\n" for d in docs[i::parts]).encode()
        s3.fs.pipe(s3.key(prefix, f"part{i}.jsonl.gz"), gzip.compress(body, mtime=0))
    return docs


def recipe(inp, out, **output):
    return {
        "name": "s3",
        "input": {"format": "jsonl", "path": inp},
        "steps": STEPS,
        "output": {"path": out, "keep_removed": True, "max_shard_docs": 40, **output},
        "executor": {"tasks": 2, "workers": 1},
    }


def curate(write_recipe, rec, *args, name="recipe.yaml"):
    return main(["run", str(write_recipe(rec, name=name)), "--no-progress", *args])


def bucket_files(s3, *prefix) -> dict[str, bytes]:
    root = s3.key(*prefix)
    return {k[len(root) + 1 :]: s3.fs.cat_file(k) for k in s3.fs.find(root)}


def test_jsonl_from_bucket_to_bucket_matches_local_run_and_loads_with_datasets(
    s3, tmp_path, write_recipe, monkeypatch
):
    docs = upload_sample(s3)
    local_in = tmp_path / "in"
    local_in.mkdir()
    for k, body in bucket_files(s3, "in").items():
        (local_in / k).write_bytes(body)
    monkeypatch.chdir(tmp_path)  # the default control folder runs/<name> goes here

    assert curate(write_recipe, recipe(str(local_in), str(tmp_path / "local")), name="local.yaml") == 0
    assert curate(write_recipe, recipe(s3.url("in/*.jsonl.gz"), s3.url("runs/web"))) == 0

    remote = bucket_files(s3, "runs/web")
    local = tmp_path / "local"
    produced = sorted(
        str(p.relative_to(local))
        for p in local.rglob("*")
        if p.is_file() and p.parts[len(local.parts)] in ("output", "removed")
    )
    assert produced and sorted(k for k in remote if k.startswith(("output/", "removed/"))) == produced
    for rel in produced:
        assert remote[rel] == (local / rel).read_bytes(), rel  # same bytes, gzip headers included
    assert {"length_filter", "exact_dedup"} == {
        rel.split("/")[1] for rel in produced if rel.startswith("removed/")
    }

    summary = json.loads(remote["summary.json"])
    local_summary = json.loads((local / "summary.json").read_text())
    assert summary["invariant"]["ok"] and summary["input"]["docs"] == len(docs)
    assert summary["invariant"] == local_summary["invariant"]
    assert summary["output"]["shards"] == local_summary["output"]["shards"]
    control = tmp_path / "runs" / "s3"  # lock, run.json, logs and completions stay on a filesystem
    assert (control / "run.lock").is_file() and (control / "logs" / "segment_0" / "completions").is_dir()
    assert json.loads((control / "summary.json").read_text()) == summary
    assert not (control / "output").exists()

    import datasets.config
    from datasets import load_dataset

    # datasets' offline mode refuses every remote URL, the user's own bucket included (docs/object-storage.md)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)
    ds = load_dataset(
        "json",
        data_files=s3.url("runs/web/output/*.jsonl.gz"),
        split="train",
        storage_options={"client_kwargs": {"endpoint_url": s3.endpoint}},
    )
    assert ds.num_rows == summary["output"]["docs"] == len(read_output(local))
    assert sorted(ds["id"]) == sorted(d["id"] for d in read_output(local))


def test_warc_from_bucket(s3, tmp_path, write_recipe, monkeypatch):
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buf = BytesIO()
    writer = WARCWriter(buf, gzip=True)
    for i in range(3):
        html = (
            f"<html><body><article><p>Page {i} of the crawl, long enough to be kept as text by the extractor."
        )
        html += " It has a second sentence about object storage.</p></article></body></html>"
        headers = StatusAndHeaders(
            "200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1"
        )
        writer.write_record(
            writer.create_warc_record(
                f"https://example.org/{i}", "response", payload=BytesIO(html.encode()), http_headers=headers
            )
        )
    s3.fs.pipe(s3.key("crawl", "a.warc.gz"), buf.getvalue())
    monkeypatch.chdir(tmp_path)
    rec = {
        "name": "warc",
        "input": {"format": "warc", "path": s3.url("crawl"), "timeout_s": 60},
        "steps": [],
        "output": {"path": s3.url("out")},
    }
    assert curate(write_recipe, rec) == 0
    summary = json.loads(s3.fs.cat_file(s3.key("out", "summary.json")))
    assert summary["invariant"]["ok"] and summary["output"]["docs"] == 3
    (shard,) = summary["output"]["shards"]
    rows = [json.loads(line) for line in gzip.decompress(s3.fs.cat_file(s3.key("out", shard))).splitlines()]
    assert [r["metadata"]["url"] for r in rows] == [f"https://example.org/{i}" for i in range(3)]
    assert "Page 0 of the crawl" in rows[0]["text"] and "<p>" not in rows[0]["text"]


def _curate_proc(path: Path, env: dict, cwd: Path):
    """`curate run` in its own process group (killable as a whole); its output goes to `<recipe>.log`."""
    with open(path.with_suffix(".log"), "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "rootstock.cli", "run", str(path), "--no-progress"],
            cwd=cwd,
            env={**env, "PYTHONPATH": str(ROOT)},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


@pytest.mark.timeout(900)  # three `curate` processes; slow only on a loaded machine
def test_run_killed_midway_resumes_to_the_same_bytes(s3, tmp_path, write_recipe):
    upload_sample(s3, parts=8)
    rec = recipe(s3.url("in"), s3.url("clean"))
    rec["executor"] = {"tasks": 8, "workers": 1}
    rec["output"]["control_path"] = str(tmp_path / "clean")
    assert _curate_proc(write_recipe(rec, name="clean.yaml"), s3.env, tmp_path).wait(timeout=300) == 0

    rec["output"].update(path=s3.url("crashed"), control_path=str(tmp_path / "crashed"))
    path = write_recipe(rec, name="crashed.yaml")
    proc = _curate_proc(path, s3.env, tmp_path)
    completions = tmp_path / "crashed" / "logs" / "segment_0" / "completions"
    deadline = time.time() + 120
    while time.time() < deadline and not (completions.is_dir() and len(list(completions.iterdir())) >= 2):
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 2 <= len(list(completions.iterdir())) < 8, "the kill must land in the middle of the first stage"
    assert not s3.fs.exists(s3.key("crashed", "summary.json"))

    rerun = _curate_proc(path, s3.env, tmp_path)
    assert rerun.wait(timeout=300) == 0, path.with_suffix(".log").read_text()
    clean, crashed = bucket_files(s3, "clean"), bucket_files(s3, "crashed")
    shards = sorted(k for k in clean if k.startswith(("output/", "removed/")))
    assert shards == sorted(k for k in crashed if k.startswith(("output/", "removed/")))
    for k in shards:
        assert clean[k] == crashed[k], k
    a, b = json.loads(clean["summary.json"]), json.loads(crashed["summary.json"])
    assert a["invariant"] == b["invariant"] and a["invariant"]["ok"]


def test_a_prefix_has_one_owner(s3, tmp_path, write_recipe, capsys):
    upload_sample(s3)
    first = recipe(s3.url("in"), s3.url("run"), control_path=str(tmp_path / "a"))
    assert curate(write_recipe, first, name="a.yaml") == 0
    second = recipe(s3.url("in"), s3.url("run"), control_path=str(tmp_path / "b"))
    capsys.readouterr()
    assert curate(write_recipe, second, name="b.yaml") == 2
    err = capsys.readouterr().err
    assert "belongs to the run of another control folder" in err and str(tmp_path / "a") in err
    assert not (tmp_path / "b" / "logs").exists()

    s3.fs.pipe(s3.key("foreign", "data.bin"), b"not ours")  # a prefix no run wrote is never used
    third = recipe(s3.url("in"), s3.url("foreign"), control_path=str(tmp_path / "c"))
    assert curate(write_recipe, third, "--force", name="c.yaml") == 2
    assert "is not a rootstock run" in capsys.readouterr().err
    assert s3.fs.cat_file(s3.key("foreign", "data.bin")) == b"not ours"

    # --force from another control folder takes the prefix over, deleting only what runs write there
    s3.fs.pipe(s3.key("run", "notes.txt"), b"kept")
    assert curate(write_recipe, second, "--force", name="b.yaml") == 0
    assert s3.fs.cat_file(s3.key("run", "notes.txt")) == b"kept"
    assert json.loads(s3.fs.cat_file(s3.key("run", "run.json")))["control"] == str((tmp_path / "b").resolve())


def test_conditional_put_lets_exactly_one_control_folder_claim_a_prefix(s3, tmp_path):
    from curation.api import load_recipe
    from curation.errors import UsageError
    from curation.remote_output import take

    upload_sample(s3)
    a = load_recipe(recipe(s3.url("in"), s3.url("race"), control_path=str(tmp_path / "a")))
    b = load_recipe(recipe(s3.url("in"), s3.url("race"), control_path=str(tmp_path / "b")))
    take(a, -1, force=False)  # b checked before a claimed: only the conditional PUT stands between them
    with pytest.raises(UsageError, match="just claimed by another run"):
        take(b, -1, force=False)
    take(a, -1, force=False)  # the owner itself may claim again (a resume)


def test_storage_options_name_variables_and_no_secret_is_pickled(s3, tmp_path, write_recipe, monkeypatch):
    from curation.api import load_recipe, plan

    upload_sample(s3)
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(k)
    monkeypatch.setenv("MY_KEY", "rootstock-test")
    monkeypatch.setenv("MY_SECRET", "Sup3r-s3cret-value")
    monkeypatch.setenv("MY_ENDPOINT", s3.endpoint)
    opts = {"key": "${MY_KEY}", "secret": "${MY_SECRET}", "client_kwargs": {"endpoint_url": "${MY_ENDPOINT}"}}
    rec = recipe(s3.url("in"), s3.url("opts"), storage_options=opts, control_path=str(tmp_path / "c"))
    rec["input"]["storage_options"] = opts
    stages = plan(load_recipe(rec))
    blob = pickle.dumps(stages)  # what executor.pik / Ray / worker processes receive
    assert b"Sup3r-s3cret-value" not in blob and b"${MY_SECRET}" in blob
    assert curate(write_recipe, rec) == 0
    assert json.loads(s3.fs.cat_file(s3.key("opts", "summary.json")))["invariant"]["ok"]
    for p in (tmp_path / "c").rglob("*"):
        assert p.is_dir() or b"Sup3r-s3cret-value" not in p.read_bytes(), p


def test_a_secret_in_clear_is_refused_without_echoing_it(tmp_path, write_recipe, capsys):
    rec = recipe(
        str(SAMPLE), "s3://bucket/x", storage_options={"key": "AKIA-visible", "secret": "hunter2-in-clear"}
    )
    path = write_recipe(rec)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "hunter2-in-clear" not in err and "AKIA-visible" not in err
    assert f"{path}:" in err and "output.storage_options.key" in err and "${ENV_VAR}" in err


def _cli(args: list[str], env: dict, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rootstock.cli", *args],
        cwd=cwd,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.timeout(900)  # four `curate` processes
@pytest.mark.parametrize("problem", ["unreachable", "no credentials"])
def test_store_problems_are_one_line_exit_1(s3, tmp_path, write_recipe, problem):
    env = dict(s3.env)
    if problem == "unreachable":
        env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9"  # discard port: connection refused
    else:
        del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    path = write_recipe(recipe(str(SAMPLE), s3.url("out")))
    for cmd in (["validate", str(path)], ["run", str(path), "--no-progress"]):
        proc = _cli(cmd, env, tmp_path)
        assert proc.returncode == 1, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert s3.url("out") in lines[0] and "rootstock-test-secret" not in proc.stderr + proc.stdout
        assert (
            "cannot reach the object store at http://127.0.0.1:9"
            if problem == "unreachable"
            else "no usable credentials"
        ) in lines[0]
    assert not (tmp_path / "runs").exists()  # nothing written


def test_pii_sweep_scrubs_removed_documents_in_the_bucket(s3, tmp_path, write_recipe):
    email = "canary.mail@leak-test.org"
    long_text = f"Write to {email} about the report. " + "The quarterly figures are attached below. " * 10
    rows = [{"id": "kept", "text": long_text}, {"id": "short", "text": f"mail {email}"}]
    s3.fs.pipe(s3.key("in", "a.jsonl"), "".join(json.dumps(r) + "\n" for r in rows).encode())
    rec = {
        "name": "pii",
        "input": {"format": "jsonl", "path": s3.url("in")},
        "steps": [{"length_filter": {"min_chars": 100}}, {"pii": {}}],
        "output": {"path": s3.url("out"), "keep_removed": True, "control_path": str(tmp_path / "ctl")},
        "executor": {"tasks": 1, "workers": 1},
    }
    assert curate(write_recipe, rec) == 0
    objects = bucket_files(s3, "out")
    removed = [k for k in objects if k.startswith("removed/length_filter/")]
    assert removed and any(k.startswith("output/") for k in objects)
    for key, body in objects.items():
        text = (gzip.decompress(body) if key.endswith(".gz") else body).decode()
        assert "canary.mail" not in text and "leak-test.org" not in text, key
    assert json.loads(objects["summary.json"])["pii_run_folder"]["removed_records"] == 1


def test_missing_bucket_is_exit_1_and_missing_input_prefix_exit_2(s3, tmp_path, write_recipe, capsys):
    path = write_recipe(recipe(str(SAMPLE), "s3://no-such-bucket-here/out", control_path=str(tmp_path / "c")))
    assert main(["validate", str(path)]) == 1
    assert capsys.readouterr().err.strip() == (
        f"error: s3://no-such-bucket-here/out: no such bucket at {s3.endpoint}"
    )
    path = write_recipe(recipe(s3.url("bucket-prefix-missing"), s3.url("out")), name="missing.yaml")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {path}:") and "input.path: no such object or prefix" in err
