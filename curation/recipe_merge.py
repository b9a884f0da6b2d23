"""A recipe's data put together before it is validated: `extends: base.yaml` merged, then `--set`
overrides applied, with the line of every key kept for errors.

`extends` merges a parent recipe: mappings merge key by key, and a child's `steps` entry overrides the
parent's step with the same op (params merged), `op: null` removes it, and a new op is appended at the
end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from curation.errors import RecipeError
from curation.recipe_validate import RecipeContext, _check_strings, _suggest
from curation.recipe_yaml import KeyPath, load_yaml

TOP_KEYS = {"name", "description", "extends", "input", "steps", "output", "executor", "card"}


def _step_items(steps: Any, ctx: RecipeContext, base: KeyPath = ("steps",)) -> list[tuple[str, Any, KeyPath]]:
    if steps is None:
        return []
    if not isinstance(steps, list):
        raise ctx.error(base, "must be a list of `- op_name: {params}` items")
    items = []
    for i, item in enumerate(steps):
        if isinstance(item, str):
            item = {item: {}}
        if not isinstance(item, dict) or len(item) != 1:
            raise ctx.error(base + (i,), "each step must be a mapping with exactly one op name, `- op: {params}`")
        (op, params), = item.items()
        items.append((str(op), params, base + (i,)))
    return items



def _merge(parent: dict, child: dict, plines: dict, clines: dict) -> tuple[dict, dict]:
    """Merge a child recipe over its parent; returns (data, lines) with lines re-keyed for steps."""
    data = {k: v for k, v in parent.items() if k != "steps"}
    lines = {k: v for k, v in plines.items() if not (k and k[0] == "steps")}
    for key, value in child.items():
        if key in ("steps", "extends"):
            continue
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
        lines.update({k: v for k, v in clines.items() if k and k[0] == key})
    ctx_p, ctx_c = RecipeContext("", plines), RecipeContext("", clines)
    merged: list[list] = [[op, params, path, plines] for op, params, path in _step_items(parent.get("steps"), ctx_p)]
    for op, params, path in _step_items(child.get("steps"), ctx_c):
        idx = next((i for i, m in enumerate(merged) if m[0] == op), None)
        if idx is None:
            merged.append([op, params, path, clines])
        elif params is None:
            merged.pop(idx)
        else:
            base = merged[idx][1] if isinstance(merged[idx][1], dict) else {}
            overrides = params if isinstance(params, dict) else {}
            old_path, old_lines = merged[idx][2], merged[idx][3]
            combined = {p[len(old_path):]: v for p, v in old_lines.items() if p[: len(old_path)] == old_path}
            combined.update({p[len(path):]: v for p, v in clines.items() if p[: len(path)] == path})
            merged[idx] = [op, {**base, **overrides}, (), combined]
    steps = []
    for i, (op, params, path, src) in enumerate(merged):
        steps.append({op: params})
        for p, v in src.items():
            if path == () or p[: len(path)] == path:
                rel = p if path == () else p[len(path):]
                lines[("steps", i) + rel] = v
    data["steps"] = steps
    return data, lines


def _load_merged(file: Path, seen: tuple = ()) -> tuple[dict, dict]:
    data, lines = load_yaml(file)
    return _merge_extends(data, lines, file, file.parent, seen)


def _merge_extends(data: Any, lines: dict, file: Path, base_dir: Path, seen: tuple) -> tuple[dict, dict]:
    """Check the top-level keys of one recipe and merge its `extends` parent (relative to base_dir)."""
    ctx = RecipeContext(str(file), lines)
    if data is None:
        raise RecipeError(str(file), None, "", "recipe is empty")
    if not isinstance(data, dict):
        raise RecipeError(str(file), 1, "", "a recipe must be a YAML mapping (name, input, steps, output)")
    for key in data:
        if key not in TOP_KEYS:
            raise ctx.error((key,), f"unknown key{_suggest(key, TOP_KEYS)}; allowed: {', '.join(sorted(TOP_KEYS))}")
    _check_strings(data, (), ctx)
    if "extends" in data:
        if not isinstance(data["extends"], str) or not data["extends"].strip():
            raise ctx.error(("extends",), "must be the path of a parent recipe file")
        parent_file = (base_dir / data["extends"]).resolve()
        if parent_file in seen or parent_file == file.resolve():
            raise ctx.error(("extends",), "circular extends")
        if not parent_file.exists():
            raise ctx.error(("extends",), f"parent recipe not found: {parent_file}")
        if not parent_file.is_file():
            raise ctx.error(("extends",), f"not a recipe file: {parent_file}")
        pdata, plines = _load_merged(parent_file, seen + (parent_file,))
        data, lines = _merge(pdata, data, plines, lines)
    return data, lines



def apply_overrides(data: dict, overrides: list[str] | dict[str, Any], lines: dict) -> None:
    """`--set input.path=x` / `--set steps.0.length_filter.min_chars=5`: values are parsed as YAML.

    A dict `{"input.path": "x"}` sets the values as they are (the Python API).
    """
    if isinstance(overrides, dict):
        items = [(str(k), v) for k, v in overrides.items()]
    else:
        items = []
        for item in overrides:
            key, sep, raw = item.partition("=")
            if not sep or not key:
                raise RecipeError("--set", None, item, "expected KEY=VALUE, e.g. input.path=data/*.jsonl")
            items.append((key, yaml.safe_load(raw)))
    for key, value in items:
        parts = [int(p) if p.isdigit() else p for p in key.split(".")]
        node = data
        for p in parts[:-1]:
            try:
                node = node[p]
            except (KeyError, IndexError, TypeError):
                if isinstance(node, dict) and isinstance(p, str):
                    node = node.setdefault(p, {})
                else:
                    raise RecipeError("--set", None, key, "no such key in the recipe") from None
        try:
            node[parts[-1]] = value
        except (TypeError, IndexError):
            raise RecipeError("--set", None, key, "no such key in the recipe") from None
        lines[tuple(parts)] = ("--set", None)
