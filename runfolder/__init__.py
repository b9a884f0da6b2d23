"""The run folder: its layout, the one atomic-write helper, summary.json, document shards, thresholds.

Every consumer of a run folder (curation writes it; `curate sample`, the dashboard, training and bench
read it) goes through this package, so the layout lives in one place (docs/CONTRACTS.md, "Run folder").
Standard library and pyarrow only: no datatrove, no pydantic, so readers stay light.
"""

from runfolder.atomic import atomic_open, atomic_write, atomic_write_json
from runfolder.documents import (
    KEPT,
    REJECTED,
    REMOVED,
    SHARD_SUFFIXES,
    iter_records,
    iter_shard,
    list_shards,
    read_shard,
    sample_records,
    shards,
)
from runfolder.layout import PRODUCED, RunFolder
from runfolder.lock import RunFolderLocked, RunLock
from runfolder.summary import SCHEMA, SummaryError, read_json, read_summary
from runfolder.thresholds import OPS, Threshold, parse_thresholds

__all__ = [
    "KEPT",
    "OPS",
    "PRODUCED",
    "REJECTED",
    "REMOVED",
    "SCHEMA",
    "SHARD_SUFFIXES",
    "RunFolder",
    "RunFolderLocked",
    "RunLock",
    "SummaryError",
    "Threshold",
    "atomic_open",
    "atomic_write",
    "atomic_write_json",
    "iter_records",
    "iter_shard",
    "list_shards",
    "parse_thresholds",
    "read_json",
    "read_shard",
    "read_summary",
    "sample_records",
    "shards",
]
