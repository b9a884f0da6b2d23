"""Small data files the project ships (LID model, word lists). See NOTICE.md for provenance and licenses."""

from pathlib import Path

RESOURCES = Path(__file__).parent
LID_MODEL = RESOURCES / "lid.176.ftz"
