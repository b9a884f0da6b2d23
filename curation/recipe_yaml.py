"""Recipe YAML read safely, with the line of every key: the layer under `curation/recipe.py`.

Why a module of its own: reading a recipe file must never hurt (a recipe is a page of YAML; much
bigger or deeper is a mistake or an attack), and every later error must still point at a line. So the
file size, the nesting depth and the alias-expanded node count are bounded before PyYAML builds
anything big or recurses deep (a billion-laughs bomb, 20,000 nested brackets), the data comes from
`yaml.safe_load` only, and the composed node tree gives the line of every key path, so that an error
found later (validation, a merged `extends` parent) still names its file:line:key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from curation.errors import RecipeError

KeyPath = tuple  # a key path inside the recipe, e.g. ("steps", 2, "roots_filters", "min_words")


# Bounds on a recipe file: a recipe is a page of YAML. Past these it is a mistake or an attack (a
# billion-laughs alias bomb grew to 5.7 GB; 20,000 nested brackets overflowed the stack).
MAX_RECIPE_BYTES = 1 << 20
MAX_DEPTH = 64
MAX_NODES = 100_000  # after alias expansion


def _children(n: yaml.Node) -> list[tuple[Any, yaml.Node]]:
    if isinstance(n, yaml.MappingNode):
        return [(k.value if isinstance(k, yaml.ScalarNode) else "?", v) for k, v in n.value] + [(None, k) for k, _ in n.value]
    if isinstance(n, yaml.SequenceNode):
        return list(enumerate(n.value))
    return []


_OPEN = (yaml.FlowSequenceStartToken, yaml.FlowMappingStartToken, yaml.BlockMappingStartToken,
         yaml.BlockSequenceStartToken)
_CLOSE = (yaml.FlowSequenceEndToken, yaml.FlowMappingEndToken, yaml.BlockEndToken)


def _check_depth(text: str, file: Path) -> None:
    """Refuse nesting deeper than MAX_DEPTH from the token stream (PyYAML's composer is recursive: 20,000
    nested brackets raised RecursionError before any tree existed to check)."""
    depth, top_key, expect_key = 0, "", False
    for token in yaml.scan(text, Loader=yaml.SafeLoader):
        if isinstance(token, _OPEN):
            depth += 1
            if depth > MAX_DEPTH:
                raise RecipeError(str(file), token.start_mark.line + 1, f"{top_key}...",
                                  f"nested deeper than {MAX_DEPTH} levels")
        elif isinstance(token, _CLOSE):
            depth -= 1
        elif isinstance(token, yaml.KeyToken):
            expect_key = depth == 1
        elif isinstance(token, yaml.ScalarToken) and expect_key:
            top_key, expect_key = token.value, False


def check_value_tree(value: Any, file: str) -> None:
    """The same bounds for a recipe given as a dict (or `--set` values): nesting deeper than MAX_DEPTH
    or more than MAX_NODES values is a RecipeError, found iteratively (a dict nested 5,000 deep, or one
    that contains itself, would otherwise raise RecursionError from `copy.deepcopy` or validation)."""
    stack: list[tuple[Any, KeyPath]] = [(value, ())]
    nodes = 0
    while stack:
        v, path = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise RecipeError(file, None, key_str(path[:3]), f"more than {MAX_NODES} values")
        if isinstance(v, dict):
            children = [(k, c) for k, c in v.items()]
        elif isinstance(v, (list, tuple)):
            children = list(enumerate(v))
        else:
            continue
        if len(path) >= MAX_DEPTH:
            raise RecipeError(file, None, key_str(path[:3]) + "...", f"nested deeper than {MAX_DEPTH} levels")
        stack += [(c, (*path, k)) for k, c in children]


def _check_tree(node: yaml.Node, file: Path) -> None:
    """Refuse YAML nested deeper than MAX_DEPTH or whose aliases expand past MAX_NODES values, without
    expanding anything (sizes are memoized per node, so a bomb costs as much as its text). The error
    names the outermost key where it happens."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, KeyPath, bool]] = [(node, (), False)]
    while stack:
        n, path, done = stack.pop()
        children = _children(n)
        if done:
            sizes[id(n)] = min(1 + sum(sizes[id(c)] for _, c in children), MAX_NODES + 1)
            continue
        if len(path) >= MAX_DEPTH:
            raise RecipeError(str(file), n.start_mark.line + 1, key_str(path[:3]) + "...",
                              f"nested deeper than {MAX_DEPTH} levels")
        if id(n) in sizes:
            continue
        stack.append((n, path, True))
        stack += [(c, path + ((k,) if k is not None else ()), False) for k, c in children if id(c) not in sizes]
    if sizes[id(node)] > MAX_NODES:
        n, path = node, ()
        while True:  # descend to the outermost key whose value is too big
            big = [(k, c) for k, c in _children(n) if k is not None and sizes[id(c)] > MAX_NODES]
            if not big or path:
                break
            (_k, n), path = big[0], path + (big[0][0],)
        raise RecipeError(str(file), n.start_mark.line + 1, key_str(path),
                          f"YAML expands to more than {MAX_NODES:,} values (alias bomb?)")


def _lines(node: yaml.Node, path: KeyPath, out: dict[KeyPath, int]) -> None:
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            key = k.value
            out[path + (key,)] = k.start_mark.line + 1
            _lines(v, path + (key,), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            _lines(v, path + (i,), out)


def load_yaml(file: Path) -> tuple[Any, dict[KeyPath, tuple[str, int]]]:
    """(data, key path -> (file, line)) of a recipe file; RecipeError for anything unreadable or unsafe."""
    try:
        if file.is_dir():
            raise RecipeError(str(file), None, "", "is a folder, not a recipe file")
        if file.stat().st_size > MAX_RECIPE_BYTES:
            raise RecipeError(str(file), 1, "", f"larger than {MAX_RECIPE_BYTES:,} bytes; not a recipe")
        text = file.read_text(encoding="utf-8")
    except RecipeError:
        raise
    except FileNotFoundError:
        raise RecipeError(str(file), None, "", "recipe file not found") from None
    except UnicodeDecodeError as e:
        raise RecipeError(str(file), None, "", f"not UTF-8 text: {e}") from None
    except (OSError, ValueError) as e:  # a NUL in the name, permissions, ...
        raise RecipeError(str(file), None, "", f"cannot read the recipe: {e}") from None
    try:
        _check_depth(text, file)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is not None:
            _check_tree(node, file)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise RecipeError(str(file), line, "", f"invalid YAML: {getattr(e, 'problem', e)}") from None
    except RecursionError:
        raise RecipeError(str(file), None, "", f"nested deeper than {MAX_DEPTH} levels") from None
    lines: dict[KeyPath, int] = {}
    if node is not None:
        _lines(node, (), lines)
    return data, {k: (str(file), v) for k, v in lines.items()}


def key_str(path: KeyPath) -> str:
    """A key path as an error shows it: `steps[2].roots_filters.min_words`."""
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out
