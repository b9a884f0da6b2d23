"""The quality classifier: the `quality_classifier` op and everything around it.

The parts: `op` is the recipe op (params, scoring filter, top-fraction barrier); `train` trains a
fastText model and writes its model card (`curate classifier train CONFIG`, whose parser is `cli`);
`data` selects and normalizes the training text, shared by training and scoring so both see the same
text.

Why this `__init__` holds no op code: `curation/cli.py` builds the `curate` parser from `cli`, and
importing `curation.steps.classifier.cli` runs this file first; the op (datatrove, numpy, the
registry) loads on first use of its names (PEP 562), and the op registry imports `op` itself.
"""

from __future__ import annotations

import importlib

_OP_NAMES = (
    "QualityClassifierFilter",
    "QualityClassifierParams",
    "QualityCutoff",
    "QualityTopFilter",
    "build_quality_classifier",
    "load_normalization",
    "model_labels",
    "read_cutoff",
)
__all__ = list(_OP_NAMES)


def __getattr__(name: str):
    """The op's names, loaded only when asked for."""
    if name in _OP_NAMES:
        return getattr(importlib.import_module("curation.steps.classifier.op"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
