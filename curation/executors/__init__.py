"""Executors: how a recipe's stages run (locally, on Ray, on Slurm). One module per kind family.

`get_executor(kind)` returns the registered `ExecutorKind`. A new kind is one module here that
subclasses `ExecutorKind` and decorates it with `@register_executor`, a lazy entry below (so that
naming the kinds imports none of them, and no kind module is imported by the registry it imports),
plus its test. The registry lives in `base.py` so that kind modules can import it without a cycle.
"""

from curation.executors.base import (
    EXECUTORS,
    ExecutorConfig,
    ExecutorKind,
    all_executors,
    get_executor,
    register_executor,
)

EXECUTORS.add_lazy("local", "curation.executors.local:LocalKind")
EXECUTORS.add_lazy("slurm", "curation.executors.slurm:SlurmKind")
EXECUTORS.add_lazy("ray", "curation.executors.cluster:RayKind")

__all__ = ["EXECUTORS", "ExecutorConfig", "ExecutorKind", "all_executors", "get_executor", "register_executor"]
