"""The one registry type (`curation.plugins.Registry`): lazy "module:attr" entries, discovery before the
first read (so no reader depends on who imported what first), and loud duplicates."""

from __future__ import annotations

import sys

import pytest

from curation.plugins import Registry, load


def _package(tmp_path, monkeypatch, name: str, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = tmp_path / name / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield_names = [m for m in sys.modules if m == name or m.startswith(name + ".")]
    for m in yield_names:
        sys.modules.pop(m)


def test_a_lazy_entry_imports_its_module_on_first_read_only(tmp_path, monkeypatch):
    _package(tmp_path, monkeypatch, "lazy_pkg", {"__init__.py": "", "thing.py": "VALUE = 42\n"})
    reg: Registry[int] = Registry("thing")
    reg.add_lazy("answer", "lazy_pkg.thing:VALUE")
    assert "answer" in reg and list(reg) == ["answer"]
    assert "lazy_pkg.thing" not in sys.modules  # named, listed, not imported
    assert reg["answer"] == 42 and "lazy_pkg.thing" in sys.modules
    sys.modules.pop("lazy_pkg.thing")
    sys.modules.pop("lazy_pkg")


def test_discovery_runs_before_any_read(tmp_path, monkeypatch):
    """Whatever is read first (membership, a lookup, the listing), the registry is complete."""
    _package(tmp_path, monkeypatch, "found_pkg", {
        "__init__.py": "",
        "a.py": "from tests.curation.test_plugins import REG\nREG.add('a', 1)\n",
        "sub/__init__.py": "",
        "sub/b.py": "from tests.curation.test_plugins import REG\nREG.add('b', 2)\n",
        "_private.py": "raise RuntimeError('private modules are not discovered')\n",
    })
    global REG
    REG = Registry("number", discover=("found_pkg",))
    assert "b" in REG  # membership alone discovers, subpackages included
    assert dict(REG) == {"a": 1, "b": 2} and REG.discovered
    for m in [m for m in sys.modules if m.startswith("found_pkg")]:
        sys.modules.pop(m)


REG: Registry[int] = Registry("number")


def test_registering_a_name_twice_is_an_error_but_resolving_a_lazy_entry_is_not():
    reg: Registry[object] = Registry("kind")
    reg.add_lazy("registry", "curation.plugins:Registry")
    reg.add("registry", Registry)  # what importing the lazy entry's module does with a decorator
    assert reg["registry"] is Registry
    with pytest.raises(ValueError, match="kind 'registry' registered twice"):
        reg.add("registry", Registry)
    reg.add_lazy("other", "curation.plugins:load")
    with pytest.raises(ValueError, match="registered twice"):
        reg.add("other", Registry)  # another object under a lazily registered name


def test_load_names_module_and_attribute():
    assert load("curation.plugins:Registry.add") is Registry.add
    with pytest.raises(ValueError, match="expected 'module:attr'"):
        load("curation.plugins.Registry")
