"""line_dedup `normalize: running_title`: a man-page header or footer that carries the page's own name
("LS(1)  User Commands  LS(1)") counts as the same line on every page, while a page's title line alone
and the same name inside the body are left as they are.

Run: `.venv/bin/python -m pytest tests/curation/steps/test_line_dedup_running_title.py`
"""

import json

from curation.steps.line_dedup.units import hash_units, running_title, unit_hash
from tests.conftest import read_output

BODY = {
    "ls": "ls - list directory contents; with -l it shows one file a line, with its mode and size.",
    "cp": "cp - copy files and directories; -r descends into directories, see also LS(1).",
    "mv": "mv - move (rename) files; a move within one file system only renames the entry.",
}


def man_page(name: str) -> str:
    t = f"{name.upper()}(1)"
    return f"{t}   User Commands   {t}\n\n{BODY[name]}\n\nGNU coreutils 9.1   September 2022   {t}"


def corpus() -> list[dict]:
    """Three man pages of one template, and three reference pages whose first line is only a title that
    shares its first word with the others ("DROP TABLE", "DROP VIEW", "DROP INDEX")."""
    docs = [{"id": n, "text": man_page(n)} for n in BODY]
    for obj in ("TABLE", "VIEW", "INDEX"):
        docs.append(
            {"id": obj.lower(), "text": f"DROP {obj}\nDROP {obj} removes the {obj.lower()} named here."}
        )
    return docs


def test_running_title_is_the_word_sequence_the_first_line_starts_and_ends_with():
    assert running_title("LS(1)   User Commands   LS(1)\nNAME") == ["ls(1)"]
    assert running_title("DROP TABLE(7)  SQL Commands  DROP TABLE(7)") == ["drop", "table(7)"]
    assert running_title("NMBD(8) NMBD(8)") == ["nmbd(8)"]
    assert running_title("DROP TABLE") is None  # a title alone is not a running title
    assert running_title("Chapter 3. Chapter") == ["chapter"]  # the shape is all it checks
    assert running_title("* * *") is None and running_title("") is None  # no letter or digit


def test_masked_headers_of_two_pages_hash_alike_and_unmasked_ones_do_not():
    ls, cp = man_page("ls").split("\n"), man_page("cp").split("\n")
    assert unit_hash(ls[0], 1) != unit_hash(cp[0], 1)
    assert unit_hash(ls[0], 1, ["ls(1)"]) == unit_hash(cp[0], 1, ["cp(1)"])
    # only the first and the last non-blank unit are masked: "LS(1)" inside cp's body keeps its hash
    masked, plain = dict(hash_units(cp, 1, "running_title")), dict(hash_units(cp, 1))
    assert [i for i in plain if masked[i] != plain[i]] == [0, len(cp) - 1]


def _run(run_recipe, tmp_path, params):
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in corpus()))
    code, run_dir, summary = run_recipe(
        {"name": "t", "input": {"format": "jsonl", "path": str(path)}, "steps": [{"line_dedup": params}]},
        "--force",  # the second call replaces the first one's run folder
    )
    assert code == 0 and summary["invariant"]["ok"]
    return {d["id"]: d["text"] for d in read_output(run_dir)}


def test_running_title_removes_per_page_headers_and_footers(run_recipe, tmp_path):
    """Known answer: with the option each man page keeps its body only; without it every line
    is unique and nothing is removed; the reference pages are the same either way."""
    plain = _run(run_recipe, tmp_path, {"min_doc_chars": 0})
    assert plain == {d["id"]: d["text"] for d in corpus()}
    out = _run(run_recipe, tmp_path, {"normalize": "running_title", "min_doc_chars": 0})
    for name, body in BODY.items():
        assert out[name] == f"\n{body}\n"  # the blank lines around them stay (line granularity)
    assert out["table"] == "DROP TABLE\nDROP TABLE removes the table named here."
