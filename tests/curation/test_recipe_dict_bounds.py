"""A recipe given as a dict gets the same bounds as YAML text: nested 5,000 deep, or containing itself,
it is a RecipeError naming `<dict>` and the key (exit 2 from the CLI path), never a RecursionError.
And a full disk during a run is one line on stderr with exit 1, not a traceback.

Run: `.venv/bin/python -m pytest tests/curation/test_recipe_dict_bounds.py`
"""

import errno

import pytest

import curation
from curation.cli import main
from curation.errors import RecipeError


def nested(levels: int):
    value: dict = {"leaf": 1}
    for _ in range(levels):
        value = {"a": value}
    return value


@pytest.mark.parametrize("where", ["steps", "input", "top"])
def test_deep_dict_recipe_is_a_recipe_error(tmp_path, where):
    recipe = {"name": "t", "input": {"format": "jsonl", "path": str(tmp_path)}, "steps": []}
    if where == "steps":
        recipe["steps"] = [{"length_filter": nested(5000)}]
    elif where == "input":
        recipe["input"]["extra"] = nested(5000)
    else:
        recipe = nested(5000)
    with pytest.raises(RecipeError, match=r"<dict>.*nested deeper than 64 levels"):
        curation.run(recipe)


def test_self_containing_dict_and_deep_overrides_are_recipe_errors(tmp_path):
    recipe = {"name": "t", "input": {"format": "jsonl", "path": str(tmp_path)}, "steps": []}
    recipe["input"]["self"] = recipe
    with pytest.raises(RecipeError, match="nested deeper"):
        curation.load_recipe(recipe)
    ok = {"name": "t", "input": {"format": "jsonl", "path": str(tmp_path)}, "steps": []}
    with pytest.raises(RecipeError, match=r"--set.*nested deeper"):
        curation.load_recipe(ok, {"input.extra": nested(5000)})


def test_full_disk_is_one_line_and_exit_1(tmp_path, write_recipe, monkeypatch, capsys):
    from curation import api

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "run" / "output" / "x.jsonl.gz"))

    monkeypatch.setattr(api, "run", full)
    (tmp_path / "a.jsonl").write_text('{"text": "x", "id": "1"}\n')
    path = write_recipe({"name": "t", "input": {"format": "jsonl", "path": str(tmp_path / "a.jsonl")}, "steps": []})
    assert main(["run", str(path), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "No space left" in err and "Traceback" not in err
