"""The `pii` op: scrub emails, IPs, phones, payment cards, IBANs, secrets and (optionally) @handles.

The parts: `scan` finds and replaces PII in strings and nested values, with the detectors in
`contacts`, `financial` and `secrets`; `op` is the recipe op (its params and the datatrove step);
`sweep` is the op's after-run hook that scrubs the rest of the run folder.

Why this package's `__init__` holds no op code: scrubbing a string (the dashboard, `bench/pii.py`,
the sweep) must not load datatrove or pydantic, and importing `curation.steps.pii.scan` runs this
file first. So the scanner's names are imported here and the op's names (`PiiParams`,
`PIIScrubber`, `build_pii`) load on first use (PEP 562); the op registry imports `op` itself.
"""

from __future__ import annotations

import importlib

from curation.steps.pii.financial import card_ok, iban_ok, luhn_ok
from curation.steps.pii.scan import (
    DEFAULT_IP_POLICY,
    DEFAULT_KINDS,
    KINDS,
    TAGS,
    IpPolicy,
    PiiSpan,
    check_kinds,
    find_pii,
    is_public_ip,
    scrub,
    scrub_value,
)
from curation.steps.pii.secrets import shannon_entropy

_OP_NAMES = ("PIIScrubber", "PiiParams", "build_pii")

__all__ = [
    "DEFAULT_IP_POLICY",
    "DEFAULT_KINDS",
    "KINDS",
    "TAGS",
    "IpPolicy",
    "PIIScrubber",
    "PiiParams",
    "PiiSpan",
    "build_pii",
    "card_ok",
    "check_kinds",
    "find_pii",
    "iban_ok",
    "is_public_ip",
    "luhn_ok",
    "scrub",
    "scrub_value",
    "shannon_entropy",
]


def __getattr__(name: str):
    """The op's names, loaded (with datatrove and pydantic) only when asked for."""
    if name in _OP_NAMES:
        return getattr(importlib.import_module("curation.steps.pii.op"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
