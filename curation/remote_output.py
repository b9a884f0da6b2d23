"""A run whose `output.path` is an object-store URL: what goes to the bucket, and what replaces the run
folder's rename and flock there.

The bucket gets the deliverables: `output/`, `removed/<step>/`, `summary.json`, and `run.json` (which
run owns the prefix). The control folder (`output.control_path`, a local or shared path) keeps what
needs a filesystem: `run.lock` (flock), `run.json`, `logs/` with datatrove's completion markers,
`work/`, `rejected/`, and a copy of `summary.json`. Why each guarantee still holds:

- no half-written shard: an object appears only when its PUT (or multipart upload) completes, so a
  killed task leaves the previous object or none, never a prefix of one; the rerun writes it again;
- resume: a task is done when its completion marker (control folder) exists, written after its
  writers closed, i.e. after its objects were complete;
- done: `summary.json` is the last object written; its presence in the bucket means the run finished;
- one owner per prefix: `run.json` is created with a conditional PUT (`If-None-Match: *`), so of two
  control folders starting on one prefix exactly one wins; the other is refused (and `--force` from
  another control folder takes the prefix over, deleting only what runs write there).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import uuid
from pathlib import Path

from curation.errors import UsageError
from curation.storage import RemoteFolder, check_reachable, filesystem, is_url, join, mask, storage_errors
from runfolder import RunFolder, atomic_write_json

BUCKET_PRODUCED = ("output", "removed", "summary.json")  # what --force deletes under the prefix
CLAIM = "run.json"
TOKEN_FILE = "remote.json"  # in the control folder: its identity as the owner of a prefix


def is_remote(recipe) -> bool:
    return is_url(recipe.output.path)


def remote_folder(recipe, *parts: str) -> RemoteFolder:
    """A datatrove DataFolder for `<output.path>/<parts>` (what the writers write to)."""
    return RemoteFolder(join(recipe.output.path, *parts), recipe.output.storage_options)


def _fs(recipe):
    """The output's filesystem with no cached listing (tasks in other processes wrote since)."""
    fs, root = filesystem(recipe.output.path, recipe.output.storage_options)
    fs.invalidate_cache()
    return fs, root.rstrip("/")


def check_output_url(recipe) -> str | None:
    """Before anything is written: the store is reachable, the input is not under the output prefix,
    and the prefix is empty or a rootstock run's (has run.json). Returns a problem, or None."""
    url = recipe.output.path.rstrip("/")
    if is_url(recipe.input.path) and (recipe.input.path.rstrip("/") + "/").startswith(url + "/"):
        return (
            f"refusing {url}: the input {recipe.input.path} is under it (the run would read its own output)"
        )
    check_reachable(url, recipe.output.storage_options)
    fs, root = _fs(recipe)
    with storage_errors(url):
        if fs.exists(f"{root}/{CLAIM}"):
            return None
        try:
            found = fs.ls(root, detail=False)  # one listing page, not the whole prefix
        except FileNotFoundError:
            found = []
    if found:
        return (
            f"{mask(url)} holds objects and is not a rootstock run (no {CLAIM}); choose a new or empty prefix"
        )
    return None


def _token(recipe) -> str:
    """This control folder's identity (created once; a rerun from the same folder owns the same prefix)."""
    path = RunFolder(recipe.run_dir).root / TOKEN_FILE
    try:
        data = json.loads(path.read_text())
        if data.get("url") == recipe.output.path and isinstance(data.get("token"), str):
            return data["token"]
    except (OSError, ValueError):
        pass
    token = uuid.uuid4().hex
    atomic_write_json(path, {"url": recipe.output.path, "token": token})
    return token


def _read_claim(fs, root: str) -> dict | None:
    try:
        return json.loads(fs.cat_file(f"{root}/{CLAIM}"))
    except FileNotFoundError:
        return None
    except ValueError:
        return {}


def check_claim(recipe, force: bool) -> None:
    """Refuse (UsageError) a prefix that another control folder owns, unless `force`. Read only: runs
    before the control folder is touched."""
    fs, root = _fs(recipe)
    with storage_errors(recipe.output.path):
        claim = _read_claim(fs, root)
    if claim is None or force:
        return
    path = RunFolder(recipe.run_dir).root / TOKEN_FILE
    mine = json.loads(path.read_text()).get("token") if path.is_file() else None
    if claim.get("token") != mine:
        raise UsageError(
            f"{mask(recipe.output.path)} belongs to the run of another control folder "
            f"({claim.get('control', '?')}); rerun with --force to take it over, or choose another prefix"
        )


def take(recipe, limit: int, force: bool) -> None:
    """Own the prefix: create run.json with a conditional PUT (one winner), or with `force` delete what
    runs write there (BUCKET_PRODUCED, nothing else) and rewrite it."""
    fs, root = _fs(recipe)
    token = _token(recipe)
    claim = {
        "token": token,
        "control": str(Path(recipe.run_dir).resolve()),
        "fingerprint": recipe.fingerprint(),
        "limit": limit,
    }
    body = json.dumps(claim, indent=2).encode()
    with storage_errors(recipe.output.path):
        if force:
            for name in BUCKET_PRODUCED:
                if fs.exists(f"{root}/{name}"):
                    fs.rm(f"{root}/{name}", recursive=True)
            fs.pipe_file(f"{root}/{CLAIM}", body)
            return
        try:
            with fs.open(f"{root}/{CLAIM}", "xb") as f:  # If-None-Match: * (s3fs); fails when it exists
                f.write(body)
        except FileExistsError:
            if (_read_claim(fs, root) or {}).get("token") != token:
                raise UsageError(
                    f"{mask(recipe.output.path)} was just claimed by another run; choose another prefix"
                ) from None


def _sweep_steps(recipe) -> list[str]:
    """Step ids whose removed/ the `pii` run-folder sweep rewrites (steps before the first `pii`)."""
    for i, step in enumerate(recipe.steps):
        if step.op == "pii":
            return [s.id for s in recipe.steps[:i]] if getattr(step.params, "run_folder", False) else []
    return []


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def finish(recipe, stages, started: str) -> dict:
    """After the last stage: the passes that rewrite shards (one schema for `datasets`, the `pii` sweep)
    run on a local copy of the bucket's output/ (and removed/ where the sweep needs it); shards they
    changed are uploaded; summary.json is written last, to the control folder and to the bucket."""
    from curation.formats.output_schema import uniform_output
    from curation.ledger import build_summary, collect_thresholds, write_summary
    from curation.registry import run_after_hooks

    fs, root = _fs(recipe)
    url = recipe.output.path
    with tempfile.TemporaryDirectory(prefix="rootstock-finish-") as tmp, storage_errors(url):
        local = RunFolder(tmp)
        names = ["output"] + [f"removed/{s}" for s in _sweep_steps(recipe)]
        for name in names:
            for key in fs.find(f"{root}/{name}"):
                dest = Path(tmp) / key[len(root) + 1 :]
                dest.parent.mkdir(parents=True, exist_ok=True)
                fs.get_file(key, str(dest))
        before = _digests(Path(tmp))
        uniform_output(local.output)
        reports = run_after_hooks(recipe, removed_in=local)  # the ops' after-run hooks (the PII sweep)
        for rel, digest in _digests(Path(tmp)).items():
            if before.get(rel) != digest:
                fs.put_file(str(Path(tmp) / rel), f"{root}/{rel}")
        shard_names = sorted(p.name for p in local.output.glob("*") if p.is_file())
    summary = build_summary(recipe.run_dir, stages, recipe, started, collect_thresholds(recipe))
    summary["output"]["shards"] = [f"output/{n}" for n in shard_names]
    summary["output"]["url"] = url
    summary.update(reports)
    write_summary(recipe.run_dir, summary)
    with storage_errors(url):
        fs.pipe_file(f"{root}/summary.json", json.dumps(summary, indent=2, ensure_ascii=False).encode())
    return summary


def input_stats(reader) -> dict[str, list]:
    """`{URL: [size, ETag or mtime]}` of an object-store input (run.json `inputs`: a rerun after the
    input changed is refused)."""
    df = reader.data_folder
    files = df.list_files(
        glob_pattern=getattr(reader, "glob_pattern", None), recursive=getattr(reader, "recursive", True)
    )
    out = {}
    with storage_errors(df.url):
        for f in files:
            info = df.info(f)
            out[join(df.url, f)] = [info.get("size"), str(info.get("ETag") or info.get("LastModified") or "")]
    return out
