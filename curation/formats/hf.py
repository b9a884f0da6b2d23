"""`input.format: hf`: a local folder written by `datasets.Dataset.save_to_disk` (never a hub name:
rootstock runs offline). A DatasetDict is read split by split, in name order.
"""

from __future__ import annotations

from pathlib import Path

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.readers.base import BaseReader

from curation.formats.base import RejectingReaderMixin, with_rejects
from curation.registry import InputParams, ReaderContext, register_reader


class HFDiskReader(RejectingReaderMixin, BaseReader):
    """A local `datasets.Dataset.save_to_disk` folder (never a hub name: rootstock runs offline)."""

    name = "🤗 HF dataset (local)"

    def __init__(self, path: str, **kwargs):
        super().__init__(**kwargs)
        self.path = path

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        self._rank = rank
        from datasets import load_from_disk

        ds = load_from_disk(self.path)
        if hasattr(ds, "keys"):  # DatasetDict: read every split, in name order
            from datasets import concatenate_datasets

            ds = concatenate_datasets([ds[k] for k in sorted(ds.keys())])
        shard = ds.shard(num_shards=world_size, index=rank, contiguous=True)
        offset = sum(len(ds.shard(world_size, r, contiguous=True)) for r in range(rank))
        n = 0
        try:
            for i, row in enumerate(shard):
                if self.limit != -1 and n >= self.limit:
                    break
                doc = self.get_document_from_dict(dict(row), self.path, offset + i)
                if doc is not None:
                    self.stat_update("documents")
                    self.update_doc_stats(doc)
                    n += 1
                    yield doc
        finally:
            self.close_rejected()

    def _default_adapter(self, data: dict, path: str, id_in_file):
        has_id = self.id_key in data
        out = super()._default_adapter(data, path, id_in_file)
        if not has_id:
            out["id"] = f"{Path(path).name}:{id_in_file}"
        return out


@register_reader("hf")
def hf_reader(p: InputParams, ctx: ReaderContext):
    """A local folder written by `datasets.Dataset.save_to_disk` (all splits of a DatasetDict)."""
    if not Path(p.path).is_dir():
        raise FileNotFoundError(f"hf input must be a local save_to_disk folder: {p.path}")
    reader = HFDiskReader(p.path, limit=ctx.limit, text_key=p.text_key, id_key=p.id_key)
    return with_rejects(reader, ctx, p)
