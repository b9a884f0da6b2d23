"""A run with a `pii` step leaves no detected value anywhere in its run folder.

Canaries of every default kind (email, public IP, phone, card, IBAN, secret) are planted in the text, the
id and metadata (top level, nested, in a list) of a kept document, in a document that a step *before*
`pii` removes (length_filter), in a duplicate that exact_dedup before `pii` removes (so
work/segments/ held it unscrubbed), and in an unreadable input line (rejected/). Then every file of
the run folder is read (gzip and parquet decoded) and searched. The opt-out run shows the scan finds
them when they are there.
"""

import gzip
import json
from pathlib import Path

import pytest

from runfolder import iter_shard

EMAIL = "canary.mail@leak-test.org"
IP = "81.2.69.160"  # public (non-public addresses are left alone by default)
PHONE = "+44 20 7946 0958"
CARD = "4111 1111 1111 1111"
IBAN = "GB82 WEST 1234 5698 7654 32"
SECRET = "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
CANARIES = {
    "email": ["canary.mail", "leak-test.org"],
    "ip_address": [IP],
    "phone": ["7946 0958", "79460958"],
    "credit_card": [CARD, "4111111111111111"],
    "iban": ["WEST 1234 5698", "WEST12345698"],
    "secret": ["A1b2C3d4E5f6G7h8I9j0"],
}
LINE = f"Write to {EMAIL} from {IP}, call {PHONE}, card {CARD}, IBAN {IBAN}, token {SECRET}."


def _texts(path: Path) -> str:
    """A file's content as text: gzip decompressed, parquet rows as JSON; anything else as bytes."""
    raw = path.read_bytes()
    if path.name.endswith(".gz"):
        raw = gzip.decompress(raw)
    if path.name.endswith(".parquet"):
        import pyarrow.parquet as pq

        return json.dumps(pq.read_table(path).to_pylist(), default=str)
    text = raw.decode("utf-8", errors="replace")
    return text + json.dumps(text)  # also the JSON-escaped form (e.g. "\u0040" never hides a value)


def leaks(run_dir: Path) -> dict[str, list[str]]:
    """{file relative to the run folder: [kinds found]} over every file of the run folder."""
    found = {}
    for path in sorted(run_dir.rglob("*")):
        if path.is_file():
            text = _texts(path)
            kinds = [k for k, needles in CANARIES.items() if any(n in text for n in needles)]
            if kinds:
                found[str(path.relative_to(run_dir))] = kinds
    return found


def write_input(tmp_path: Path) -> Path:
    meta = {"author_email": EMAIL, "nested": {"ip": IP, "list": ["x", PHONE]}, "note": f"card {CARD}",
            "bank": IBAN, "token": SECRET, "year": 2024}
    rows = [
        {"id": f"{EMAIL}/kept", "text": LINE + " Kept document.", "metadata": meta},
        {"id": f"{EMAIL}/dup", "text": LINE + " Kept document.", "metadata": meta},  # exact_dedup removes
        {"id": f"{IP}/long", "text": LINE + " padding" * 400, "metadata": meta},  # length_filter removes
        {"id": "clean", "text": "Nothing personal here. Local address 127.0.0.1 and 10.0.0.8 stay."},
    ]
    src = tmp_path / "in.jsonl"
    lines = [json.dumps(r) for r in rows]
    lines.insert(2, '{"id": "broken", "text": "' + LINE + '"')  # unreadable: rejected/ with the raw line
    src.write_text("\n".join(lines) + "\n")
    return src


def pii_recipe(src: Path, **pii) -> dict:
    return {
        "name": "pii-canaries",
        "input": {"format": "jsonl", "path": str(src)},
        "output": {"keep_removed": True},
        "steps": [{"length_filter": {"max_chars": 1000}}, {"exact_dedup": {}}, {"pii": pii}],
    }


def test_no_canary_left_anywhere_in_the_run_folder(run_recipe, tmp_path):
    code, run_dir, summary = run_recipe(pii_recipe(write_input(tmp_path)))
    assert code == 0 and summary["invariant"]["ok"]
    assert summary["rejected"] == 1 and summary["output"]["docs"] == 2
    assert {s["name"]: s["removed"] for s in summary["steps"]} == {"length_filter": 1, "exact_dedup": 1, "pii": 0}
    assert leaks(run_dir) == {}
    assert not (run_dir / "work").exists()  # scratch (unscrubbed segments) deleted on success
    swept = summary["pii_run_folder"]
    assert swept["scrubbed"] and swept["work_removed"]
    assert swept["removed_records"] == 2 and swept["rejected_records"] == 1
    # what was there is still there, scrubbed: ids, metadata at any depth, non-string values intact
    from tests.conftest import read_output

    kept = {d["id"]: d for d in read_output(run_dir)}
    assert len(kept) == 2 and "clean" in kept
    (scrubbed_id,) = set(kept) - {"clean"}
    assert scrubbed_id in ("<EMAIL>/kept", "<EMAIL>/dup")  # exact_dedup keeps one of the two
    md = kept[scrubbed_id]["metadata"]
    assert md["author_email"] == "<EMAIL>" and md["nested"] == {"ip": "<IP_ADDRESS>", "list": ["x", "<PHONE>"]}
    assert md["bank"] == "<IBAN>" and md["token"] == "<SECRET>" and md["year"] == 2024
    assert md["pii.email"] == 3  # text, id and metadata
    assert "127.0.0.1 and 10.0.0.8 stay" in kept["clean"]["text"]  # non-public addresses are left alone
    removed = [r for p in sorted((run_dir / "removed").rglob("*.jsonl.gz")) for r in iter_shard(p)]
    assert {r["metadata"]["removed_by"] for r in removed} == {"length_filter", "exact_dedup"}
    assert all("<EMAIL>" in r["text"] for r in removed)
    rejected = [r for p in sorted((run_dir / "rejected").glob("*.jsonl")) for r in iter_shard(p)]
    assert len(rejected) == 1 and "<EMAIL>" in rejected[0]["raw"] and rejected[0]["line"] == 3


def test_rerun_of_a_finished_run_keeps_it_clean(run_recipe, tmp_path):
    """A rerun resumes (nothing to do), sweeps again without changing anything, and stays clean."""
    recipe = pii_recipe(write_input(tmp_path))
    code, run_dir, _ = run_recipe(recipe)
    shards = {p: p.read_bytes() for p in (run_dir / "removed").rglob("*.gz")}
    code2, _, second = run_recipe(recipe)
    assert code == code2 == 0 and second["invariant"]["ok"]
    assert second["pii_run_folder"]["removed_records"] == 0  # idempotent: nothing left to scrub
    assert {p: p.read_bytes() for p in shards} == shards
    assert leaks(run_dir) == {}


@pytest.mark.parametrize(
    "opt_out, kept_raw",
    [
        ({"run_folder": False}, {"removed", "rejected"}),
        ({"keep_work": True}, {"work"}),
        ({"ids": False, "metadata": ["note"]}, {"output", "removed"}),  # removed/ scrubbed alike
    ],
)
def test_explicit_opt_outs_keep_originals_where_asked(run_recipe, tmp_path, opt_out, kept_raw):
    """Each opt-out leaves originals exactly where it says (and the scan finds them: it is not blind)."""
    code, run_dir, _ = run_recipe(pii_recipe(write_input(tmp_path), **opt_out))
    assert code == 0
    where = {Path(f).parts[0] for f in leaks(run_dir)}
    assert where == kept_raw


def test_metadata_field_list_scrubs_only_those_fields():
    from datatrove.data import Document

    from curation.steps.pii import PIIScrubber

    doc = Document(text="hi", id=f"{EMAIL}", metadata={"a": EMAIL, "b": EMAIL, "n": {"c": [EMAIL]}})
    out = PIIScrubber(metadata=["a", "n"], ids=False).transform(doc)
    assert out.id == EMAIL and out.metadata["b"] == EMAIL
    assert out.metadata["a"] == "<EMAIL>" and out.metadata["n"] == {"c": ["<EMAIL>"]}
    assert out.metadata["pii.email"] == 2


def test_sweep_in_worker_processes(run_recipe, tmp_path, monkeypatch):
    """Two tasks, two input files: the removed/ and rejected/ shards are swept by worker processes
    (2 too long, 3 of the 4 copies of the same text duplicates, 1 rejected line per file)."""
    from curation.steps.pii import sweep as pii_sweep

    monkeypatch.setattr(pii_sweep, "PARALLEL_BYTES", 0)
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(2):
        (folder / f"part{i}.jsonl").write_text(write_input(tmp_path).read_text().replace("/kept", f"/kept{i}"))
    recipe = pii_recipe(folder)
    recipe["input"]["glob"] = "*.jsonl"
    recipe["executor"] = {"tasks": 2}
    code, run_dir, summary = run_recipe(recipe)
    assert code == 0 and summary["invariant"]["ok"] and summary["rejected"] == 2
    assert len(list((run_dir / "removed" / "length_filter").glob("*.gz"))) == 2
    assert summary["pii_run_folder"]["removed_records"] == 5 and summary["pii_run_folder"]["rejected_records"] == 2
    assert leaks(run_dir) == {}
