"""The run folder: its layout, the one atomic-write helper, summary.json, document shards, thresholds.

Every consumer of a run folder (curation writes it; `curate sample`, the dashboard, training and bench
read it) goes through this package, so the layout lives in one place (docs/CONTRACTS.md, "Run folder").
Standard library and pyarrow only: no datatrove, no pydantic, so readers stay light.
"""

from runfolder.atomic import (
    UnsafePathError,
    atomic_open,
    atomic_write,
    atomic_write_json,
    open_new,
    open_new_file,
)
from runfolder.documents import (
    KEPT,
    REJECTED,
    REMOVED,
    SHARD_SUFFIXES,
    TRUNCATED_GZIP,
    iter_numbered,
    iter_records,
    iter_shard,
    list_shards,
    read_shard,
    sample_records,
    shards,
)
from runfolder.layout import IDENTITY_KEYS, PRODUCED, RunFolder, is_rootstock_identity, read_identity
from runfolder.lock import RunFolderLocked, RunLock
from runfolder.summary import SCHEMA, SummaryError, read_json, read_summary
from runfolder.thresholds import OPS, Threshold, parse_thresholds

__all__ = [
    "IDENTITY_KEYS",
    "KEPT",
    "OPS",
    "PRODUCED",
    "REJECTED",
    "REMOVED",
    "SCHEMA",
    "SHARD_SUFFIXES",
    "TRUNCATED_GZIP",
    "RunFolder",
    "RunFolderLocked",
    "RunLock",
    "SummaryError",
    "Threshold",
    "UnsafePathError",
    "atomic_open",
    "atomic_write",
    "atomic_write_json",
    "is_rootstock_identity",
    "iter_numbered",
    "iter_records",
    "iter_shard",
    "list_shards",
    "open_new",
    "open_new_file",
    "parse_thresholds",
    "read_identity",
    "read_json",
    "read_shard",
    "read_summary",
    "sample_records",
    "shards",
]
