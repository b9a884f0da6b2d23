"""When an ablation may reuse a mixture variant's folder (`mix:` variants, training/ablate.py `ensure_mix`).

A mixture is made from a mix file and the run folders it names. Reusing a folder only because it holds
mixture.json would keep an old mixture after the mix file's weights were edited, or after a source run
was re-curated from a redrawn sample, and the ablation would train on data its file no longer describes.
So the folder is reused only when a key of both (the mix file's bytes, each source run's shard
fingerprint) equals the key saved when it was written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from training.data import load_yaml
from training.errors import ConfigError


def mix_key(mix_file: Path, fingerprint: Callable[[Path], str]) -> dict:
    """The mix file's sha1 and `fingerprint(run)` of every run folder its `sources` name. A source that
    cannot be read yet is keyed as None (the mix itself will say why it fails)."""
    raw = mix_file.read_bytes()
    try:
        sources = (load_yaml(mix_file) or {}).get("sources") or []
    except (ConfigError, AttributeError):
        sources = []
    runs = sorted({str(s["run"]) for s in sources if isinstance(s, dict) and s.get("run")})
    prints = {}
    for run in runs:
        try:
            prints[run] = fingerprint(Path(run))
        except ConfigError:
            prints[run] = None
    return {"mix_sha1": hashlib.sha1(raw).hexdigest(), "sources": prints}


def reusable(run_dir: Path, key_file: Path, key: dict) -> bool:
    """The folder holds a mixture written from exactly this key."""
    return (
        (run_dir / "mixture.json").exists()
        and key_file.exists()
        and json.loads(key_file.read_text(encoding="utf-8")) == key
    )


def save_key(key_file: Path, key: dict) -> None:
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.write_text(json.dumps(key, indent=2) + "\n", encoding="utf-8")
