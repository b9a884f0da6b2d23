"""The package import graph: no cycles between our modules, and curation (with the ground floor:
runfolder, shingling) depends on neither training,
the dashboard nor bench (the umbrella `curate` command in rootstock/ sits above them all).

The graph is read from the source with `ast`: every `import` / `from ... import`, also inside
functions (a lazy import counts like a top-level one), every `importlib.import_module("literal")`, and
every string that names one of our modules (`"curation.steps.pii.sweep:after_run"`: a registry's lazy
entry or a hook is an import that happens later). Imports under `if TYPE_CHECKING:` never run and
do not count.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("rootstock", "runfolder", "shingling", "curation", "training", "dashboard", "bench")


def modules(packages: tuple[str, ...] = PACKAGES, root: Path = ROOT) -> dict[str, Path]:
    out = {}
    for pkg in packages:
        for path in sorted((root / pkg).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


def _resolve(name: str, known: dict) -> str | None:
    """The longest known module that `name` is or lies inside (`a.b.c` -> `a.b` when c is a name)."""
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def _is_type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def _runtime_nodes(tree: ast.AST):
    """Every node of `tree` except the bodies of `if TYPE_CHECKING:` blocks."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        if _is_type_checking(node):
            stack.extend(node.orelse)
        else:
            stack.extend(ast.iter_child_nodes(node))


def _module_string(value: str, known: dict) -> str | None:
    """The module a string names: `"pkg.mod"` (dotted, exactly a module) or `"pkg.mod:attr"`."""
    name, colon, attr = value.partition(":")
    if colon and not re.fullmatch(r"[A-Za-z_][\w.]*", attr):
        return None  # "dashboard: curate dashboard runs/x" is a message, not a module
    return name if ("." in name or colon) and name in known else None


def from_module(mod: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    """The absolute module of `from X import ...` inside `mod` (relative levels resolved)."""
    base = node.module or ""
    if not node.level:
        return base
    pkg = mod if is_pkg else mod.rpartition(".")[0]
    for _ in range(node.level - 1):
        pkg = pkg.rpartition(".")[0]
    return f"{pkg}.{base}" if base else pkg


def edges(mod: str, tree: ast.AST, is_pkg: bool, known: dict) -> set[str]:
    """The modules `mod` depends on at run time."""
    targets: list[str] = []
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            targets += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = from_module(mod, is_pkg, node)
            # `from pkg import mod` depends on pkg.mod (a module) or on pkg (a name defined there)
            targets += [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name == "import_module" and isinstance(node.args[0].value, str):
                targets.append(node.args[0].value)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            named = _module_string(node.value, known)
            if named:
                targets.append(named)
    deps = {_resolve(t, known) for t in targets}
    return {d for d in deps if d and d != mod}


def import_graph() -> dict[str, set[str]]:
    known = modules()
    return {mod: edges(mod, ast.parse(path.read_bytes()), path.name == "__init__.py", known)
            for mod, path in known.items()}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_graph_sees_imports():
    """The parser finds known edges (so an empty result below is not a broken parser)."""
    g = import_graph()
    assert "curation.registry" in g["curation.recipe"]
    assert "curation.api" in g["curation.cli"]
    assert {"curation.cli", "training.cli", "dashboard.cli", "bench.cli"} <= g["rootstock.cli"]


def test_graph_follows_import_module_strings_and_skips_type_checking():
    known = dict.fromkeys(["a", "a.b", "a.c", "a.d", "a.e", "a.f"])
    tree = ast.parse(
        "import importlib\nfrom typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from a.f import X\n"
        "def f():\n    return importlib.import_module('a.c')\n"
        "HOOK = 'a.d:run'\nKIND = 'a.e'\nWORD = 'a'\nDOC = 'see a.b for details'\n")
    assert edges("a.b", tree, False, known) == {"a.c", "a.d", "a.e"}


def test_graph_sees_registry_and_hook_edges():
    """Lazy registry entries and after-run hooks are edges (so they cannot hide a cycle)."""
    g = import_graph()
    assert "curation.steps.pii.sweep" in g["curation.steps.pii.op"]  # the pii op's after_run hook
    assert {"curation.executors.local", "curation.executors.cluster"} <= g["curation.executors"]
    assert "curation.api" in g["curation"]  # PEP 562 lazy names
    assert "curation.recipe" not in g["curation.executors.cluster"]  # only under TYPE_CHECKING


def test_no_import_cycles():
    assert find_cycles(import_graph()) == []


def test_find_cycles_reports_a_cycle():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_curation_imports_no_training_dashboard_or_bench():
    low = ("curation", "runfolder", "shingling")  # shingling: the ground floor next to runfolder
    bad = [(m, d) for m, deps in import_graph().items() if m.split(".")[0] in low
           for d in deps if d.split(".")[0] in ("training", "dashboard", "bench", "rootstock")]
    assert bad == []


def test_runfolder_is_stdlib_and_pyarrow_only():
    """The run-folder package must stay light: no datatrove, pydantic or our other packages."""
    allowed_third_party = {"pyarrow", "orjson"}  # orjson: optional speed-up, falls back to json
    for path, name in _absolute_imports("runfolder"):
        top = name.split(".")[0]
        assert top == "runfolder" or top in allowed_third_party or top in _stdlib(), (path, name)


def test_shingling_is_stdlib_and_regex_only():
    """The near-duplicate definition sits at the ground floor: curation's MinHash and the ablation's
    decontamination both import it, so it imports none of our packages and no heavy dependency."""
    for path, name in _absolute_imports("shingling"):
        assert name.split(".")[0] in ("shingling", "regex") or name.split(".")[0] in _stdlib(), (path, name)
    g = import_graph()
    assert "shingling" in g["curation.steps.minhash.signatures"] and "shingling" in g["training.sample"]


def _absolute_imports(package: str):
    """(file, module) for every absolute import in `package`'s files (relative ones stay inside it)."""
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                yield from ((path, a.name) for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                yield path, node.module


def _stdlib() -> set[str]:
    import sys

    return set(sys.stdlib_module_names)
