"""One section of a recipe checked against its pydantic model, with errors that name the file, the line
and the key (`RecipeContext`); the checks every params model gets (no NUL, int bounds, min <= max).

Used by `curation/recipe.py` for the input, each step, the output and the executor, and by the other
YAML files that share the recipe's error format (mix files, classifier training files).
"""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel, ValidationError

from curation.errors import RecipeError
from curation.recipe_yaml import MAX_DEPTH, KeyPath, key_str

MAX_INT = 2**31 - 1  # an int param without its own upper bound (tasks: 1e29, num_perm: 5e9, ngram: 1e20)


class RecipeContext:
    """Error reporting for one (possibly merged) recipe: path -> (file, line)."""

    def __init__(self, file: str, lines: dict[KeyPath, tuple[str, int]]):
        self.file, self.lines = file, lines

    def error(self, path: KeyPath, message: str) -> RecipeError:
        for cut in range(len(path), -1, -1):  # nearest ancestor that has a line
            if path[:cut] in self.lines:
                f, line = self.lines[path[:cut]]
                return RecipeError(f, line, key_str(path), message)
        return RecipeError(self.file, None, key_str(path), message)


def _suggest(word: str, options) -> str:
    close = difflib.get_close_matches(str(word), list(options), n=3, cutoff=0.5)
    return f" (did you mean {', '.join(close)}?)" if close else ""



def _check_strings(value: Any, path: KeyPath, ctx: RecipeContext) -> None:
    """No NUL character anywhere (a path with one made `Path` raise deep inside a run)."""
    if isinstance(value, str):
        if "\0" in value:
            raise ctx.error(path, "contains a NUL character")
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_strings(k, path + (k,), ctx)
            _check_strings(v, path + (k,), ctx)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_strings(v, path + (i,), ctx)


def _has_upper_bound(field) -> bool:
    return any(getattr(m, "le", None) is not None or getattr(m, "lt", None) is not None for m in field.metadata)


def _check_ranges(model: BaseModel, path: KeyPath, ctx: RecipeContext) -> None:
    """Checks every params model gets: ints without an upper bound of their own stay below MAX_INT, and
    `min_X <= max_X` wherever a model has both."""
    fields = type(model).model_fields
    for name, field in fields.items():
        value = getattr(model, name)
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT and not _has_upper_bound(field):
            raise ctx.error(path + (name,), f"{value:g} is out of range (at most {MAX_INT:,})" if isinstance(value, float)
                            else f"{value} is out of range (at most {MAX_INT:,})")
        if name.startswith("min_") and f"max_{name[4:]}" in fields:
            high = getattr(model, f"max_{name[4:]}")
            if isinstance(value, (int, float)) and isinstance(high, (int, float)) and value > high:
                raise ctx.error(path + (f"max_{name[4:]}",), f"max_{name[4:]} ({high}) is smaller than {name} ({value})")


def _validate_model(model: type[BaseModel], data: Any, path: KeyPath, ctx: RecipeContext):
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ctx.error(path, f"must be a mapping of parameters, got {type(data).__name__}")
    try:
        validated = model.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        loc = tuple(err["loc"])
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = f"unknown key{_suggest(loc[-1], model.model_fields)}; allowed: {', '.join(model.model_fields)}"
        elif err["type"] == "missing":
            msg = "required key is missing"
        elif model.model_config.get("hide_input_in_errors"):  # the input may hold a secret (a Redis url)
            msg = msg.removeprefix("Value error, ")
        else:
            msg = f"{msg.removeprefix('Value error, ')} (got {_short_repr(err.get('input'))})"
        raise ctx.error(path + loc, msg) from None
    except RecursionError:
        raise ctx.error(path, f"nested deeper than {MAX_DEPTH} levels") from None
    _check_ranges(validated, path, ctx)
    return validated


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:200] + "..."

