"""Scrubbing a string is cheap to import: `curation.steps.pii.scan` (used by the dashboard and the
run-folder sweep) loads neither datatrove nor pydantic, nor the pipeline modules of `curation`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

_PROBE = """
import json, sys
from curation.steps.pii.scan import scrub_value
print(json.dumps({"scrubbed": scrub_value("write to ann@example.org"),
                  "modules": sorted(m for m in sys.modules if m.split(".")[0] in ("datatrove", "pydantic", "curation"))}))
"""


def test_scanning_text_for_pii_loads_neither_datatrove_nor_pydantic():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, env=env, check=True, cwd=ROOT)
    probe = json.loads(out.stdout)
    assert probe["scrubbed"] == "write to <EMAIL>"
    assert not [m for m in probe["modules"] if m.startswith(("datatrove", "pydantic"))], probe["modules"]
    assert set(probe["modules"]) <= {"curation", "curation.steps", "curation.steps.pii", "curation.steps.pii.scan",
                                     "curation.steps.pii.contacts", "curation.steps.pii.financial",
                                     "curation.steps.pii.secrets"}


def test_the_op_names_still_load_from_the_package():
    """`from curation.steps.pii import PiiParams` keeps working: the op loads on first use."""
    from curation.steps.pii import PiiParams, PIIScrubber, build_pii
    from curation.steps.pii.op import PiiParams as direct

    assert PiiParams is direct and PIIScrubber.__module__ == build_pii.__module__ == "curation.steps.pii.op"
