"""Reading text for training: run folders (the contract in docs/CONTRACTS.md) and eval files.

Training never imports curation: a run folder is read through `runfolder` (its one reader; the layout
is docs/CONTRACTS.md's), which also serves the dashboard and `curate sample`. Eval sets are
plain files: `.jsonl` / `.jsonl.gz` (a `text` field per line, `id` optional) or `.txt` (one document
per file; blank-line separated paragraphs stay together).

Splits and hold-outs are by a hash of the document id, so they are the same on every machine, in
every run and for every variant that contains the document.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
from collections.abc import Iterator
from pathlib import Path

from runfolder import TRUNCATED_GZIP, RunFolder, SummaryError, iter_numbered, read_summary, shards
from runfolder.token_folder import id_fraction  # the split rule is the token folder's contract
from training.errors import ConfigError


def load_yaml(path: str | Path):
    """`yaml.safe_load` of a config file; a missing file or a syntax error is a one-line ConfigError."""
    import yaml

    path = Path(path)
    if not path.exists():
        raise ConfigError(f"config not found: {path}")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}: invalid YAML{where}: {getattr(e, 'problem', None) or e}") from None


def text_key(text: str) -> str:
    """Exact-content key (sha1 of the UTF-8 text), to exclude eval documents that reappear under another id."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def read_jsonl(
    path: str | Path,
    text_field: str = "text",
    id_field: str = "id",
    strict: bool = False,
    bad: list[str] | None = None,
) -> Iterator[dict]:
    """Yield `{"text", "id"}` per line of a .jsonl/.jsonl.gz file; lines without a string text are
    skipped (the id falls back to `<file>:<line>`). `bad`: every skipped line is appended to it as
    `file:line: why` (an eval set is evaluated on fewer documents, never quietly). `strict` (without
    `bad`): a line that is not a JSON object raises ConfigError naming file:line."""
    path = Path(path)

    def skip(i: int, why: str) -> None:
        if bad is not None:
            bad.append(f"{path}:{i + 1}: {why}")
        elif strict:
            raise ConfigError(f"{path}:{i + 1}: {why}")

    with _open_text(path) as fh:
        for i, line in enumerate(fh):
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                skip(i, f"malformed JSON line ({e.msg})")
                continue
            if not isinstance(rec, dict):
                skip(i, f"a JSON {type(rec).__name__}, not an object")
                continue
            text = rec.get(text_field)
            if not isinstance(text, str) or not text:
                if bad is not None:
                    bad.append(f"{path}:{i + 1}: no {text_field!r} string")
                continue
            yield {"text": text, "id": str(rec.get(id_field) or f"{path.name}:{i}")}


def run_shards(run_dir: str | Path) -> list[Path]:
    """The output shards of a run folder, sorted (so reading order is deterministic); ConfigError when
    there are none."""
    out = RunFolder(run_dir).output
    if not out.is_dir():
        raise ConfigError(f"{run_dir} is not a run folder: no output/ directory")
    found = shards(out)
    if not found:
        raise ConfigError(f"{out} holds no .jsonl.gz, .jsonl or .parquet shards")
    return found


def read_run(run_dir: str | Path) -> Iterator[dict]:
    """Every kept document of a run folder as `{"text", "id"}`, shard by shard (`runfolder.iter_numbered`):
    a record that is not a JSON object or has no text is skipped; a truncated .gz shard is a
    ConfigError."""
    for shard in run_shards(run_dir):
        for number, rec in iter_numbered(shard, columns=["text", "id"]):
            if rec == TRUNCATED_GZIP:
                raise ConfigError(f"{shard}: {TRUNCATED_GZIP}")
            text = None if isinstance(rec, str) else rec.get("text")
            if isinstance(text, str) and text:
                yield {"text": text, "id": str(rec.get("id") or f"{shard.name}:{number - 1}")}


def run_bytes(run_dir: str | Path) -> int:
    """UTF-8 bytes of a run's output: summary.json `output.bytes` when present, else counted."""
    try:
        n = read_summary(run_dir)["output"]["bytes"]
        if isinstance(n, int) and n > 0:
            return n
    except (SummaryError, KeyError, TypeError):
        pass
    return sum(len(d["text"].encode("utf-8")) for d in read_run(run_dir))


def sample_run(
    run_dir: str | Path, max_bytes: int, exclude_ids: set[str] | None = None, salt: str = "tokenizer-sample"
) -> Iterator[str]:
    """Texts of a run folder's hash-sampled subset of about `max_bytes` UTF-8 bytes, spread over all
    shards (not just the first), for training a tokenizer; `exclude_ids` (eval documents) are skipped."""
    yield from _hash_sample(read_run(run_dir), run_bytes(run_dir), max_bytes, exclude_ids, salt)


def sample_file(
    path: str | Path,
    max_bytes: int,
    exclude_ids: set[str] | None = None,
    salt: str = "tokenizer-sample",
    total_bytes: int | None = None,
) -> Iterator[str]:
    """`sample_run` for one .jsonl(.gz) file (the ablation's input sample). `total_bytes`: the UTF-8
    bytes of its texts when the caller knows them (the sample's writer does); else a first pass counts."""
    total = total_bytes or sum(len(d["text"].encode("utf-8")) for d in read_jsonl(path))
    yield from _hash_sample(read_jsonl(path), total, max_bytes, exclude_ids, salt)


def _hash_sample(
    docs: Iterator[dict], total: int, max_bytes: int, exclude_ids: set[str] | None, salt: str
) -> Iterator[str]:
    frac = min(1.0, max_bytes / max(total, 1))
    taken = 0
    for doc in docs:
        if frac < 1.0 and id_fraction(doc["id"], salt) >= frac:
            continue
        if exclude_ids and doc["id"] in exclude_ids:
            continue
        yield doc["text"]
        taken += len(doc["text"].encode("utf-8"))
        if taken >= max_bytes:
            return


def set_name(path: str | Path) -> str:
    """Eval set name from its path: `heldout.jsonl.gz` -> `heldout`."""
    name = Path(path).name
    for suffix in (".jsonl.gz", ".jsonl", ".txt"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def read_eval_set(path: str | Path, max_docs: int | None = None, bad: list[str] | None = None) -> list[dict]:
    """An eval set as a list of `{"text", "id"}`: .jsonl/.jsonl.gz lines, a .txt file (one document)
    or a folder of .txt files (one document each). `bad`: unreadable lines are set aside into it as
    `file:line: why` (`curate eval`); without it, one is a ConfigError (the ablation's hold-outs)."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"eval set not found: {path}")
    if path.is_dir():
        docs = [{"text": p.read_text(encoding="utf-8"), "id": p.name} for p in sorted(path.glob("*.txt"))]
    elif path.name.endswith((".jsonl", ".jsonl.gz")):
        docs = list(read_jsonl(path, strict=True, bad=bad))
    elif path.suffix == ".txt":
        docs = [{"text": path.read_text(encoding="utf-8"), "id": path.name}]
    else:
        raise ConfigError(f"eval set {path}: expected .jsonl, .jsonl.gz, .txt or a folder of .txt files")
    docs = [d for d in docs if d["text"]]
    if not docs:
        raise ConfigError(f"eval set {path} holds no documents with text")
    return docs[:max_docs] if max_docs else docs


def write_jsonl_gz(path: str | Path, docs: Iterator[dict] | list[dict]) -> int:
    """Write documents as jsonl.gz (mtime 0, so the bytes are reproducible); returns the count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        for doc in docs:
            gz.write((json.dumps(doc, ensure_ascii=False) + "\n").encode("utf-8"))
            n += 1
    return n
