"""A leading `_` means private: no module outside a package imports that package's `_` modules or names.

Read from the source with `ast` over every package and the tests (an import inside a function counts).
The owner of a private name is the package it lives in: `curation.formats._rejects` (a module) belongs
to `curation.formats`; `_suggest` in the module `curation.recipe` belongs to `curation`. Anything inside
the owner may import it; a test, a benchmark or another package may not (it uses the public name).
"""

from __future__ import annotations

import ast

from tests.test_import_graph import ROOT, from_module, modules

CHECKED = (
    "rootstock", "runfolder", "shingling", "curation", "training", "dashboard", "bench", "scripts", "tests"
)


def _is_private(part: str) -> bool:
    return part.startswith("_") and not (part.startswith("__") and part.endswith("__"))


def private_owner(name: str, packages: set[str]) -> str | None:
    """The package that owns the first private part of the dotted `name`, or None if nothing in it is private."""
    parts = name.split(".")
    for i, part in enumerate(parts):
        if _is_private(part):
            owner = ".".join(parts[:i])
            return owner if owner in packages else owner.rpartition(".")[0]
    return None


def imported_names(mod: str, tree: ast.AST, is_pkg: bool) -> list[tuple[str, int]]:
    """Every dotted name `mod` imports (`from a import b` -> `a.b`), relative imports resolved."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = from_module(mod, is_pkg, node)
            out += [(f"{base}.{a.name}", node.lineno) for a in node.names]
    return out


def private_imports_from_outside(roots: tuple[str, ...] = CHECKED, root=ROOT) -> list[str]:
    known = modules(roots, root)
    packages = {m for m, path in known.items() if path.name == "__init__.py"}
    bad = []
    for mod, path in known.items():
        tree = ast.parse(path.read_bytes())
        for name, line in imported_names(mod, tree, path.name == "__init__.py"):
            owner = private_owner(name, packages)
            if owner and owner.split(".")[0] in roots and mod != owner and not mod.startswith(owner + "."):
                bad.append(f"{path.relative_to(root).as_posix()}:{line}: imports {name} (private to {owner})")
    return bad


def test_no_module_imports_another_packages_private_names():
    assert private_imports_from_outside() == []


def test_owner_of_a_private_module_and_of_a_private_name():
    packages = {"curation", "curation.formats"}
    assert private_owner("curation.formats._rejects.write_rejected", packages) == "curation.formats"
    assert private_owner("curation.recipe._suggest", packages) == "curation"
    assert private_owner("curation.recipe.RecipeContext", packages) is None
    assert private_owner("curation.__version__", packages) is None


def test_a_private_import_from_outside_is_found(tmp_path):
    """The check is not vacuous: on a small tree, only the import from outside the owner is reported."""
    for rel, text in {
        "pkg/__init__.py": "",
        "pkg/_impl.py": "def helper(): ...\n",
        "pkg/ops.py": "from pkg._impl import helper\nfrom pkg.ops2 import _inner\n",
        "pkg/ops2.py": "def _inner(): ...\n",
        "app/__init__.py": "",
        "app/main.py": "from pkg import _impl\nfrom pkg.ops import helper\n\ndef f():\n    from pkg.ops2 import _inner\n",
    }.items():
        (tmp_path / rel).parent.mkdir(exist_ok=True)
        (tmp_path / rel).write_text(text)
    assert private_imports_from_outside(("pkg", "app"), tmp_path) == [
        "app/main.py:1: imports pkg._impl (private to pkg)",
        "app/main.py:5: imports pkg.ops2._inner (private to pkg)",
    ]
