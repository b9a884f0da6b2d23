"""Packaging metadata: the license is an SPDX expression that setuptools reads without a deprecation
warning, and setup.sh does not print again what `curate run` just printed.

Run: `.venv/bin/python -m pytest tests/test_packaging.py`
"""

import os
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_license_is_an_spdx_expression_without_a_setuptools_warning(monkeypatch):
    from setuptools.config.pyprojecttoml import apply_configuration
    from setuptools.dist import Distribution

    monkeypatch.chdir(ROOT)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dist = apply_configuration(Distribution(), os.path.join(ROOT, "pyproject.toml"))
    assert dist.metadata.license_expression == "Apache-2.0"
    assert not [w for w in caught if "license" in str(w.message).lower()]


def test_setup_sh_prints_the_run_folder_lines_once():
    tail = (ROOT / "setup.sh").read_text().split("curate run recipes/sample.yaml", 1)[1]
    # `curate run` ends with output:, summary: and dashboard: lines; setup.sh adds only what is new
    assert "output:" not in tail and "dashboard:" not in tail and "pytest" in tail
