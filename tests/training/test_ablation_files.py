"""Every shipped ablation file validates (a typo in a recipe the docs tell users to run must fail
here, not twenty minutes into a run), and variants that name recipes point at recipes that exist."""

from pathlib import Path

import pytest

from training.ablate import load_ablation
from training.instruct_ablation_config import is_instruct_ablation, load_instruct_ablation
from training.scale_ablate import check_scale, is_scale_ablation

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted(
    p for p in (ROOT / "recipes" / "ablations").glob("*.yaml") if "variants:" in p.read_text(encoding="utf-8")
)


def test_the_shipped_ablation_files_are_found():
    names = {p.stem for p in FILES}
    assert {"demo", "repetition", "classifier", "instructions"} <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_ablation_file_validates(path, monkeypatch):
    monkeypatch.chdir(ROOT)  # paths in ablation files are relative to the repository root
    if is_instruct_ablation(str(path)):
        cfg = load_instruct_ablation(str(path))
    elif is_scale_ablation(str(path)):  # both sizes' files; the second reads the first one's runs
        cfg, large = check_scale(str(path))
        assert len(cfg.budgets) == len(large.budgets) >= 2 and large.tokenizer
    else:
        cfg = load_ablation(str(path))
        assert len(cfg.budgets) >= 2 and cfg.seeds
    for name, v in cfg.variants.items():
        if getattr(v, "recipe", None):
            assert Path(v.recipe).exists(), f"{path.name}: variants.{name}.recipe {v.recipe} not found"
        if getattr(v, "mix", None):
            _check_mix_variant(path, cfg, name, v)


def _check_mix_variant(path, cfg, name, v):
    """A shipped mixture variant's mix file validates, and every run folder it reads is the `run:` of a
    recipe variant listed before it, so the ablation curates its sources before it mixes them."""
    from curation.mix_config import load_mix

    assert Path(v.mix).exists(), f"{path.name}: variants.{name}.mix {v.mix} not found"
    earlier = list(cfg.variants)[: list(cfg.variants).index(name)]
    made = {str(Path(cfg.variants[k].run)) for k in earlier if cfg.variants[k].recipe and cfg.variants[k].run}
    for src in load_mix(v.mix).sources:
        assert str(Path(src.run)) in made, (
            f"{path.name}: {v.mix} reads {src.run}, which no earlier variant writes"
        )
