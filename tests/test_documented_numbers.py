"""Numbers in the docs that come from the code are checked against it, so they cannot drift: the model
presets' parameter counts (docs/training.md) and the Python API snippet's `__main__` guard (README.md:
with `executor.tasks: 2` datatrove's local executor starts processes with forkserver, which re-imports
the script).

Run: `.venv/bin/python -m pytest tests/test_documented_numbers.py`
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _tokenize_default_vocab() -> int:
    import argparse

    from training.cli import register_cli

    parser = argparse.ArgumentParser()
    register_cli(parser.add_subparsers(dest="command"))
    return parser.parse_args(["tokenize", "run"]).vocab_size


def test_preset_parameter_counts_in_the_training_docs_match_the_models():
    """At `curate tokenize`'s default vocabulary: what `curate train` prints on a run tokenized with
    the defaults (the count depends on the vocabulary through the tied embedding)."""
    import torch

    from training.model import PRESETS, build_model, count_params

    vocab = _tokenize_default_vocab()
    text = (ROOT / "docs" / "training.md").read_text()
    assert f"default {vocab:,}-token vocabulary" in text
    documented = {m[0]: float(m[1]) for m in re.findall(r"`(micro|tiny|small|base)` ≈ ([\d.]+)M", text)}
    assert set(documented) == set(PRESETS), documented
    for name in PRESETS:
        with torch.device("meta"):
            millions = count_params(build_model(name, vocab)) / 1e6
        assert documented[name] == float(f"{millions:.2g}"), (name, millions)


def test_the_python_api_snippet_guards_its_entry_point():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Python API", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    assert "curation.run(" in block
    guard = block.index('if __name__ == "__main__":')
    assert guard < block.index("curation.run(")
