"""Recipe loading: valid recipes resolve with defaults; every kind of mistake exits 2 naming file, line, key.

Run: `.venv/bin/python -m pytest tests/curation/test_recipe.py`
"""

import pytest

from curation.cli import main
from curation.recipe import RecipeError, load_recipe
from tests.conftest import SAMPLE

GOOD = f"""name: ok
input: {{format: jsonl, path: {SAMPLE}}}
steps:
  - length_filter: {{min_chars: 10}}
  - exact_dedup: {{}}
output: {{format: parquet, keep_removed: true}}
"""


def test_valid_recipe_resolves_defaults(write_recipe):
    r = load_recipe(write_recipe(GOOD))
    assert [s.op for s in r.steps] == ["length_filter", "exact_dedup"]
    assert r.steps[0].params.min_chars == 10 and r.steps[0].params.max_chars is None
    assert r.output.path == "runs/ok" and r.output.max_shard_docs == 100_000
    assert r.executor.kind == "local" and r.executor.tasks == 1
    assert "min_chars: 10" in r.resolved_yaml()


# (recipe text, expected line, expected key fragment, expected message fragment)
BAD = [
    ("name: x\ninput: {format: jsonl, path: p}\nsteps:\n  - lenght_filter: {}\n", 4, "steps[0].lenght_filter", "did you mean length_filter"),
    ("name: x\ninput: {format: jsonl, path: p}\nsteps:\n  - length_filter:\n      min_chars: ten\n", 5, "steps[0].length_filter.min_chars", "integer"),
    ("name: x\ninput: {format: jsonl, path: p}\nsteps:\n  - length_filter:\n      min_char: 3\n", 5, "min_char", "did you mean min_chars"),
    ("name: x\ninput: {format: jsonl, path: p}\nsteps: []\nouptut: {}\n", 4, "ouptut", "did you mean output"),
    ("name: x\ninput: {format: jsnol, path: p}\nsteps: []\n", 2, "input.format", "did you mean jsonl"),
    ("name: x\ninput: {format: jsonl}\nsteps: []\n", 2, "input.path", "required"),
    ("input: {format: jsonl, path: p}\nsteps: []\n", 1, "name", "required"),
    ("name: x\ninput: {format: jsonl, path: p}\nsteps:\n  - length_filter: {}\n    exact_dedup: {}\n", 4, "steps[0]", "exactly one op"),
    ("name: x\ninput: {format: jsonl, path: p}\nsteps: {length_filter: {}}\n", 3, "steps", "must be a list"),
    ("name: x\ninput: {format: jsonl, path: p}\nsteps: []\nexecutor: {kind: spark}\n", 4, "executor.kind", "local"),
    ("name: x\ninput: {format: jsonl, path: p}\nsteps: []\noutput: {format: csv}\n", 4, "output.format", "unknown output format"),
    ("name: x\ninput: {format: jsonl, path: p}\nsteps: []\nexecutor: {tasks: 0}\n", 4, "executor.tasks", "greater than or equal to 1"),
    ("name: x\n  bad: indent: 1\n", 2, "", "invalid YAML"),
    ("name: x\ninput: {format: jsonl, path: p}\nsteps:\n  - length_filter: 5\n", 4, "steps[0].length_filter", "mapping"),
    ("- just\n- a list\n", 1, "", "must be a YAML mapping"),
]


@pytest.mark.parametrize("text,line,key,message", BAD)
def test_bad_recipe_names_file_line_key(write_recipe, text, line, key, message):
    path = write_recipe(text)
    with pytest.raises(RecipeError) as err:
        load_recipe(path)
    e = err.value
    assert e.file == str(path)
    assert e.line == line
    assert key in e.key
    assert message in str(e)


def test_bad_recipe_exit_code_2_without_traceback(write_recipe, capsys):
    path = write_recipe(BAD[0][0])
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:4" in err and "Traceback" not in err


def test_missing_recipe_file_exit_2(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 2
    assert "not found" in capsys.readouterr().err


def test_missing_input_path_exit_2(write_recipe, tmp_path, capsys):
    path = write_recipe(f"name: x\ninput: {{format: jsonl, path: {tmp_path}/absent.jsonl}}\nsteps: []\n"
                        f"output: {{path: {tmp_path}/run}}\n")
    assert main(["run", str(path)]) == 2
    assert f"{path}:2: input.path: no such file or folder" in capsys.readouterr().err
    assert main(["validate", str(path)]) == 2  # found at validate time too
    assert not (tmp_path / "run").exists()  # a run that never started writes nothing (issue 14.7)
    (tmp_path / "absent.jsonl").write_text('{"text": "now here"}\n')
    assert main(["run", str(path), "--no-progress"]) == 0  # so the corrected rerun needs no --force


def test_glob_matching_nothing_is_a_recipe_error(write_recipe, tmp_path, capsys):
    path = write_recipe(f"name: x\ninput: {{format: jsonl, path: '{tmp_path}/*.nope'}}\nsteps: []\n")
    assert main(["validate", str(path)]) == 2
    assert f"{path}:2: input.path: matches no files" in capsys.readouterr().err


def test_extends_overrides_params_removes_and_appends(write_recipe, tmp_path):
    write_recipe(GOOD, name="base.yaml")
    child = write_recipe(
        "extends: base.yaml\nname: child\nsteps:\n  - length_filter: {max_chars: 500}\n"
        "  - exact_dedup: null\n  - exact_dedup_x: {}\n",
        name="child.yaml",
    )
    with pytest.raises(RecipeError) as err:  # the appended op is misspelled: line is in child.yaml
        load_recipe(child)
    assert err.value.file == str(child) and err.value.line == 6
    child.write_text("extends: base.yaml\nname: child\nsteps:\n  - length_filter: {max_chars: 500}\n"
                     "  - exact_dedup: null\n  - exact_dedup: {lowercase: true}\n")
    r = load_recipe(child)
    assert r.name == "child" and r.output.format == "parquet"  # inherited
    assert [s.op for s in r.steps] == ["length_filter", "exact_dedup"]
    assert r.steps[0].params.min_chars == 10 and r.steps[0].params.max_chars == 500  # merged
    assert r.steps[1].params.lowercase is True


def test_extends_error_in_parent_points_at_parent(write_recipe):
    parent = write_recipe(GOOD.replace("min_chars: 10", "min_chars: -3"), name="base.yaml")
    child = write_recipe("extends: base.yaml\nname: child\n", name="child.yaml")
    with pytest.raises(RecipeError) as err:
        load_recipe(child)
    assert err.value.file == str(parent) and err.value.line == 4


def test_validate_prints_resolved(write_recipe, capsys):
    assert main(["validate", str(write_recipe(GOOD))]) == 0
    out = capsys.readouterr().out
    assert "max_shard_docs: 100000" in out and "keep_removed: true" in out


def test_repeated_op_gets_unique_step_ids(write_recipe):
    r = load_recipe(write_recipe(GOOD.replace("  - exact_dedup: {}", "  - length_filter: {min_chars: 50}")))
    assert [s.id for s in r.steps] == ["length_filter", "length_filter_2"]


def test_set_overrides_values_and_reports_bad_ones(write_recipe):
    path = write_recipe(GOOD)
    r = load_recipe(path, ["input.path=/data/x.jsonl", "steps.0.length_filter.min_chars=42", "executor.tasks=3"])
    assert r.input.path == "/data/x.jsonl" and r.steps[0].params.min_chars == 42 and r.executor.tasks == 3
    with pytest.raises(RecipeError) as err:
        load_recipe(path, ["steps.0.length_filter.min_chars=lots"])
    assert err.value.file == "--set" and "min_chars" in err.value.key
    with pytest.raises(RecipeError):
        load_recipe(path, ["steps.9.x=1"])
