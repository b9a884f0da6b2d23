"""Fuzz the recipe loader (Hypothesis): generated YAML text and dicts, shaped like recipes and not,
either load or raise RecipeError (the CLI's one line, exit 2); nothing else escapes, nothing is written.

Run: `.venv/bin/python -m pytest tests/curation/test_fuzz_recipe.py`
"""

from __future__ import annotations

import pytest

pytest.importorskip("hypothesis")
import yaml
from hypothesis import given
from hypothesis import strategies as st

from curation.errors import RecipeError
from curation.recipe import load_recipe
from tests.sandbox import freeze, sandbox

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
values = st.recursive(scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c, max_size=3),
                      max_leaves=12)
OPS = ["length_filter", "pii", "exact_dedup", "language_id", "roots_filters", "code_filters", "nope"]
steps = st.lists(st.one_of(st.dictionaries(st.sampled_from(OPS), st.dictionaries(st.text(max_size=10), values, max_size=3),
                                           min_size=1, max_size=2), values), max_size=4)
recipes = st.fixed_dictionaries({}, optional={
    "name": st.text(max_size=20) | values,
    "input": st.fixed_dictionaries({}, optional={"format": st.sampled_from(["jsonl", "code", "warc", "alpaca", "x"]) | values,
                                                "path": st.text(max_size=20) | values, "text_key": values,
                                                "max_doc_bytes": values}) | values,
    "steps": steps | values,
    "output": st.dictionaries(st.sampled_from(["path", "format", "keep_removed", "max_shard_docs"]), values) | values,
    "executor": st.dictionaries(st.sampled_from(["kind", "tasks", "workers"]), values) | values,
    "extends": st.text(max_size=10) | values,
}) | values
yaml_noise = st.text(alphabet=st.sampled_from(list("{}[]:-,&*!|>'\"#%@` \n\tab1") + ["\x00", "\u202e", "\ufeff"]),
                     max_size=200)


def load(source):
    try:
        return load_recipe(source)
    except RecipeError as e:
        assert str(e).count("\n") == 0 or e.message, e  # one line `file:line: key: message`
        return None


@given(recipes)
def test_fuzz_recipe_dicts(recipe):
    with sandbox() as (inp, _, holder):
        freeze(inp, holder)
        if isinstance(recipe, dict):
            load(recipe)
        else:
            with pytest.raises(RecipeError):
                load_recipe({"name": "t", "input": recipe})


@given(recipes.map(lambda r: yaml.safe_dump(r, allow_unicode=True)) | yaml_noise)
def test_fuzz_recipe_yaml_text(text):
    with sandbox() as (inp, _, holder):
        path = inp / "recipe.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        freeze(inp, holder)
        load(path)
