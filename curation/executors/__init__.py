"""Executors: how a recipe's stages run (locally, on Ray, on Slurm). One module per kind family.

`get_executor(kind)` returns the registered `ExecutorKind`; a new kind is one module here that
subclasses `ExecutorKind` and decorates it with `@register_executor`, plus its test. The registry
lives in `base.py` (not here) so that kind modules can import it without an import cycle.
"""

from curation.executors.base import (
    ExecutorConfig,
    ExecutorKind,
    all_executors,
    get_executor,
    register_executor,
)

__all__ = ["ExecutorConfig", "ExecutorKind", "all_executors", "get_executor", "register_executor"]
