"""Malformed recipes (issue 12.10, 14.6): every one exits 2 with ONE line naming `file:line: key` and no
traceback, from `curate validate` (which also checks input and output paths) and `curate run`.

Each case is a YAML text; `{data}` is an input file, `{tmp}` the test's folder. The expected key is
the start of what follows `file:line: `.

Run: `.venv/bin/python -m pytest tests/curation/test_recipe_malformed.py`
"""

import re
from pathlib import Path

import pytest

from curation.cli import main

BASE = "name: t\ninput: {{format: jsonl, path: '{data}'}}\nsteps:\n  - length_filter: {{min_chars: 10}}\noutput: {{path: '{tmp}/run'}}\n"


def with_step(step: str) -> str:
    return BASE.replace("  - length_filter: {{min_chars: 10}}\n", f"  - {step}\n")


def replace(old: str, new: str) -> str:
    assert old in BASE, old
    return BASE.replace(old, new)


BOMB = "name: t\na: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n" for p, c in zip("abcdefgh", "bcdefghi")
) + "input: {{format: jsonl, path: '{data}'}}\nsteps: []\n"

# (id, recipe text, expected key, line)
CASES = [
    ("unknown-top-key", replace("name: t", "nmae: t"), "nmae", 1),
    ("missing-name", replace("name: t\n", "description: x\n"), "name", None),
    ("empty-name", replace("name: t", "name: ''"), "name", 1),
    ("name-is-list", replace("name: t", "name: [a, b]"), "name", 1),
    ("missing-input", replace("input: {{format: jsonl, path: '{data}'}}\n", ""), "input", None),
    ("input-not-mapping", replace("input: {{format: jsonl, path: '{data}'}}", "input: foo"), "input", 2),
    ("unknown-format", replace("format: jsonl", "format: jsnl"), "input.format", 2),
    ("unknown-input-key", replace("format: jsonl,", "format: jsonl, txt_key: body,"), "input.txt_key", 2),
    ("missing-input-path", replace(", path: '{data}'", ""), "input.path", 2),
    ("nul-in-path", replace("path: '{data}'", 'path: "{data}\\0x"'), "input.path", 2),
    ("input-path-missing", replace("path: '{data}'", "path: '{tmp}/absent.jsonl'"), "input.path", 2),
    ("glob-matches-nothing", replace("path: '{data}'", "path: '{tmp}/*.nothing'"), "input.path", 2),
    ("max-doc-bytes-zero", replace("format: jsonl,", "format: jsonl, max_doc_bytes: 0,"), "input.max_doc_bytes", 2),
    ("max-doc-bytes-huge", replace("format: jsonl,", "format: jsonl, max_doc_bytes: 1.0e+30,"), "input.max_doc_bytes", 2),
    ("steps-not-list", replace("steps:\n  - length_filter: {{min_chars: 10}}", "steps: {{a: 1}}"), "steps", 3),
    ("step-two-ops", with_step("{{length_filter: {{}}, exact_dedup: {{}}}}"), "steps[0]", 4),
    ("unknown-op", with_step("lenght_filter: {{}}"), "steps[0].lenght_filter", 4),
    ("unknown-op-string", with_step("nope"), "steps[0].nope", 4),
    ("params-not-mapping", with_step("length_filter: 5"), "steps[0].length_filter", 4),
    ("unknown-param", with_step("length_filter: {{min_char: 5}}"), "steps[0].length_filter.min_char", 4),
    ("negative-min-chars", with_step("length_filter: {{min_chars: -1}}"), "steps[0].length_filter.min_chars", 4),
    ("min-chars-not-int", with_step("length_filter: {{min_chars: lots}}"), "steps[0].length_filter.min_chars", 4),
    ("min-gt-max-chars", with_step("length_filter: {{min_chars: 500, max_chars: 100}}"), "steps[0].length_filter.max_chars", 4),
    ("max-chars-zero", with_step("length_filter: {{max_chars: 0}}"), "steps[0].length_filter.max_chars", 4),
    ("lang-names-not-codes", with_step("language_id: {{keep: [english, fr]}}"), "steps[0].language_id.keep", 4),
    ("lang-unknown-code", with_step("language_id: {{keep: [xx]}}"), "steps[0].language_id.keep", 4),
    ("lang-min-score-2.5", with_step("language_id: {{min_score: 2.5}}"), "steps[0].language_id.min_score", 4),
    ("lang-min-score-negative", with_step("language_id: {{min_score: {{en: -0.1}}}}"), "steps[0].language_id.min_score", 4),
    ("lang-model-missing", with_step("language_id: {{model_path: '{tmp}/nope.bin'}}"), "steps[0].language_id.model_path", 4),
    ("num-perm-5e9", with_step("minhash_dedup: {{num_perm: 5.0e+9}}"), "steps[0].minhash_dedup.num_perm", 4),
    ("num-perm-5e9-string", with_step("minhash_dedup: {{num_perm: 5e9}}"), "steps[0].minhash_dedup.num_perm", 4),
    ("ngram-1e20", with_step("minhash_dedup: {{ngram: 1.0e+20}}"), "steps[0].minhash_dedup.ngram", 4),
    ("ngram-1e20-string", with_step("minhash_dedup: {{ngram: 1e20}}"), "steps[0].minhash_dedup.ngram", 4),
    ("decontam-ngram-zero", with_step("decontaminate: {{against: ['{data}'], ngram: 0}}"), "steps[0].decontaminate.ngram", 4),
    ("exact-dedup-unknown", with_step("exact_dedup: {{lower: true}}"), "steps[0].exact_dedup.lower", 4),
    ("tasks-1e29", BASE + "executor: {{tasks: 1.0e+29}}\n", "executor.tasks", 6),
    ("tasks-1e29-string", BASE + "executor: {{tasks: 1e29}}\n", "executor.tasks", 6),
    ("tasks-zero", BASE + "executor: {{tasks: 0}}\n", "executor.tasks", 6),
    ("executor-kind", BASE + "executor: {{kind: lokal}}\n", "executor.kind", 6),
    ("executor-unknown-key", BASE + "executor: {{taks: 2}}\n", "executor.taks", 6),
    ("output-unknown-key", replace("output: {{path:", "output: {{pth: x, path:"), "output.pth", 5),
    ("output-format", replace("output: {{path: '{tmp}/run'}}", "output: {{path: '{tmp}/run', format: jsonl.gzz}}"), "output.format", 5),
    ("output-shard-docs-zero", replace("output: {{path: '{tmp}/run'}}", "output: {{path: '{tmp}/run', max_shard_docs: 0}}"),
     "output.max_shard_docs", 5),
    ("output-root", replace("path: '{tmp}/run'", "path: /"), "output.path", 5),
    ("output-home", replace("path: '{tmp}/run'", "path: '~'"), "output.path", 5),
    ("output-is-input", replace("path: '{tmp}/run'", "path: '{data}'"), "output.path", 5),
    ("output-holds-input", replace("path: '{tmp}/run'", "path: '{tmp}'"), "output.path", 5),
    ("output-foreign-folder", replace("path: '{tmp}/run'", "path: '{tmp}/mine'"), "output.path", 5),
    ("extends-dot", "extends: .\n" + BASE, "extends", 1),
    ("extends-missing", "extends: nope.yaml\n" + BASE, "extends", 1),
    ("extends-self", "extends: recipe.yaml\n" + BASE, "extends", 1),
    ("extends-list", "extends: [a.yaml]\n" + BASE, "extends", 1),
    ("yaml-syntax", BASE + "executor: {{tasks: [1, 2}}\n", "", 6),
    ("alias-bomb", BOMB, "e", 6),
    ("deep-20000", "name: t\nsteps: " + "[" * 20000 + "]" * 20000 + "\n", "steps...", 2),
    ("top-level-list", "- name: t\n", "", 1),
    ("too-large", "# " + "x" * (1 << 20) + "\n" + BASE, "", 1),
]


@pytest.fixture
def setup(tmp_path):
    data = tmp_path / "in" / "docs.jsonl"
    data.parent.mkdir()
    data.write_text('{"text": "hello"}\n')
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("a folder of the user's: never a run folder")
    return tmp_path, data


def test_there_are_at_least_40_cases():
    assert len(CASES) >= 40 and len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize(("text", "key", "line"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_recipe_exits_2_with_file_line_key(setup, capsys, command, text, key, line):
    tmp, data = setup
    path = tmp / "recipe.yaml"
    path.write_text(text.format(data=data, tmp=tmp))
    args = [command, str(path)] + (["--no-progress"] if command == "run" else [])
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    m = re.match(rf"error: {re.escape(str(path))}:(\d+): (.*)", lines[0])
    assert m, f"no file:line in {lines[0]!r}"
    if line is not None:
        assert int(m.group(1)) == line, lines[0]
    assert m.group(2).startswith(f"{key}: " if key else ""), lines[0]
    assert not (tmp / "run").exists(), "a run that cannot start writes nothing"
    assert sorted(p.name for p in (tmp / "mine").iterdir()) == ["notes.txt"]
    assert Path(data).read_text() == '{"text": "hello"}\n'
