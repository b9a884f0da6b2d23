"""rootstock curation: YAML recipes -> datatrove pipelines -> run folders with an exact ledger.

The Python API (`curation.run`, `curation.load_recipe`, `curation.open_run`) lives in `curation.api`.
Its names load on first use (PEP 562), so importing a light module of this package (the PII scanner
`curation.steps.pii.scan`, the errors) does not load datatrove, pydantic and the whole pipeline.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"
__all__ = ["RecipeError", "Run", "UsageError", "load_recipe", "open_run", "plan", "run"]

_HOMES = {
    "Run": "curation.api",
    "load_recipe": "curation.api",
    "open_run": "curation.api",
    "plan": "curation.api",
    "run": "curation.api",
    "RecipeError": "curation.errors",
    "UsageError": "curation.errors",
}


def __getattr__(name: str):
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])
