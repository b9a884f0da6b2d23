"""Shared by the PII tests (test_pii*.py): `found` (what one detector finds in a text) and `TEXT`, one
line with one of each default kind."""

from curation.steps.pii import KINDS, IpPolicy, find_pii


def found(text, kind):
    """The substrings of `text` detected as `kind` (all kinds enabled, so overlaps resolve as in use;
    every IP address, so the detector is tested on its own, apart from the non-public default)."""
    return [text[s.start : s.end] for s in find_pii(text, KINDS, IpPolicy(public_only=False)) if s.kind == kind]


TEXT = (
    "Mail a@b.io from 81.2.69.160, card 4111 1111 1111 1111, call +1 415 555 0100, token=Ab3dEf5hIj7lMn9pQr1t"
)
