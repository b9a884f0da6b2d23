"""The op / format registry: plugin discovery, loud import failures, one file per format.

Run: `.venv/bin/python -m pytest tests/curation/test_registry.py`
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import pytest

from curation import registry
from curation.formats.writers import OUTPUT_FORMATS
from curation.plugins import Registry


def test_every_format_module_registers_a_reader_or_writer():
    """Adding a format is one module in curation/formats/ (base, writers, output_schema, rejects and the private
    `_` helper modules hold the shared parts)."""
    import curation.formats as pkg

    registry.all_readers()
    owners = {spec.build.__module__ for spec in registry.all_readers().values()}
    owners |= {fn.__module__ for fn in OUTPUT_FORMATS.values()}
    modules = {f"curation.formats.{m.name}" for m in pkgutil.iter_modules(pkg.__path__) if m.name[0] != "_"}
    assert modules - owners == {"curation.formats.base", "curation.formats.writers", "curation.formats.output_schema",
                                "curation.formats.rejects"}
    assert {"jsonl", "parquet", "text", "hf", "warc", "code", "alpaca", "sharegpt", "messages",
            "prompt_completion"} <= set(registry.all_readers())
    assert {"jsonl.gz", "jsonl", "parquet", "messages", "alpaca", "sharegpt"} <= set(OUTPUT_FORMATS)


def test_steps_package_holds_only_pipeline_steps():
    """No reader registers from curation/steps/ (formats live in curation/formats/)."""
    assert not [s.format for s in registry.all_readers().values() if s.build.__module__.startswith("curation.steps")]


def test_a_broken_plugin_module_fails_loudly(tmp_path, monkeypatch):
    """A step module that cannot be imported must not silently drop its ops from the registry."""
    pkg = tmp_path / "broken_plugins"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "good.py").write_text("X = 1\n")
    (pkg / "bad.py").write_text("import a_module_that_does_not_exist\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "OPS", Registry("op", discover=("broken_plugins",)))
    with pytest.raises(ImportError, match="broken_plugins.bad failed to import"):
        registry.all_ops()
    assert registry.OPS.discovered is False  # the next call fails the same way, never half-loaded
    sys.modules.pop("broken_plugins", None)
    sys.modules.pop("broken_plugins.good", None)


def test_unknown_op_suggests_close_names():
    with pytest.raises(KeyError, match="did you mean language_id"):
        registry.get_op("languge_id")


def test_op_registered_twice_is_an_error():
    importlib.import_module("curation.steps.length")
    with pytest.raises(ValueError, match="registered twice"):
        registry.register_op("length_filter", registry.OpParams)(lambda p, ctx: None)
