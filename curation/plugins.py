"""One small registry type for everything a recipe names: ops, input formats, output formats, executor kinds.

A name maps to an object, or lazily to a `"module:attr"` string imported on first use (so a registry
can name what exists without importing it, and naming it creates no import cycle: the import-graph
test follows these strings). A registry may also name packages to discover: before its first read,
every public module in them (subpackages included) is imported once, and those modules register
themselves with a decorator. Every read discovers first, so no caller depends on who imported what
before it (`recipe.py` once read the output formats relying on the readers' discovery having run).

Standard library only: a light module may hold a registry or a lazy entry without loading datatrove.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from collections.abc import Iterator, Mapping
from typing import TypeVar

T = TypeVar("T")


def load(target: str):
    """The object that a `"module:attr"` (or `"module:attr.inner"`) string names, importing the module."""
    module, sep, attr = target.partition(":")
    if not (sep and module and attr):
        raise ValueError(f"{target!r}: expected 'module:attr'")
    obj = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def import_package_modules(package: str) -> None:
    """Import every public module of `package` and of its subpackages (names starting with `_` are
    skipped). A module that fails to import is a bug: it fails loudly, here, instead of what it
    registers silently disappearing."""
    pkg = importlib.import_module(package)
    for mod in pkgutil.walk_packages(pkg.__path__, prefix=f"{package}."):
        if any(part.startswith("_") for part in mod.name.split(".")):
            continue
        try:
            importlib.import_module(mod.name)
        except ImportError as e:
            raise ImportError(f"{mod.name} failed to import: {e}") from e


class Registry(Mapping[str, T]):
    """Names -> objects of one kind (`"op"`, `"output format"`, ...), read like a dict (sorted by name).

    Args:
        kind: what the names are, for messages ("op 'x' registered twice").
        discover: packages whose modules register into this registry when imported.
    """

    def __init__(self, kind: str, discover: tuple[str, ...] = ()):
        self.kind = kind
        self.discover = tuple(discover)
        self.discovered = not self.discover
        self._discovering = False
        self._objects: dict[str, T] = {}
        self._lazy: dict[str, str] = {}

    def add(self, name: str, obj: T) -> T:
        """Register `obj` as `name` (a lazy entry that names this very object is replaced by it)."""
        target = f"{getattr(obj, '__module__', '')}:{getattr(obj, '__qualname__', '')}"
        if name in self._objects or self._lazy.get(name, target) != target:
            raise ValueError(f"{self.kind} {name!r} registered twice")
        self._lazy.pop(name, None)
        self._objects[name] = obj
        return obj

    def add_lazy(self, name: str, target: str) -> None:
        """Register `name` as the object `target` (`"module:attr"`) names, imported on first use."""
        if name in self._objects or name in self._lazy:
            raise ValueError(f"{self.kind} {name!r} registered twice")
        self._lazy[name] = target

    def remove(self, name: str) -> None:
        """Forget `name` (a test's temporary entry)."""
        self._objects.pop(name, None)
        self._lazy.pop(name, None)

    def copy(self) -> Registry[T]:
        """An independent registry with the same entries (a test adds to it without leaking)."""
        self._ready()
        new: Registry[T] = Registry(self.kind)
        new._objects, new._lazy = dict(self._objects), dict(self._lazy)
        return new

    def suggest(self, name: str) -> list[str]:
        """Registered names close to a misspelled `name`."""
        return difflib.get_close_matches(str(name), list(self), n=3, cutoff=0.5)

    def _ready(self) -> None:
        if self.discovered or self._discovering:
            return
        self._discovering = True  # a module being discovered may read the registry: it sees what is there
        try:
            for package in self.discover:
                import_package_modules(package)
            self.discovered = True  # only once all imported: a failure fails the same way next time
        finally:
            self._discovering = False

    def __getitem__(self, name: str) -> T:
        self._ready()
        if name not in self._objects and name in self._lazy:
            obj = load(self._lazy[name])  # importing it may register it (and drop the lazy entry)
            self._objects.setdefault(name, obj)
            self._lazy.pop(name, None)
        return self._objects[name]

    def __contains__(self, name: object) -> bool:
        self._ready()
        return name in self._objects or name in self._lazy

    def __iter__(self) -> Iterator[str]:
        self._ready()
        return iter(sorted({*self._objects, *self._lazy}))

    def __len__(self) -> int:
        self._ready()
        return len({*self._objects, *self._lazy})

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {sorted({*self._objects, *self._lazy})})"
