"""`curate mix` with fixed amounts: a source's `amount:` is its exact size, the weights share the rest,
and amounts that cannot fit the budget or the source are exit-2 errors that say by how much."""

from __future__ import annotations

from pathlib import Path

import pytest

from curation.cli import main as curation_main
from curation.errors import RecipeError, UsageError
from curation.mix import mix
from curation.mix_config import load_mix
from tests.curation.test_mix import config, runs  # noqa: F401 (runs: the fixture)


def amount_config(runs, out: Path, code_amount: int, budget: int = 300, **kw) -> dict:  # noqa: F811
    cfg = config(runs, out, budget=budget, **kw)
    del cfg["sources"][1]["weight"]
    cfg["sources"][1]["amount"] = code_amount
    return cfg


def test_amount_is_emitted_exactly_and_the_weights_share_the_rest(runs, tmp_path):  # noqa: F811
    result = mix(amount_config(runs, tmp_path / "m", code_amount=45))
    got = {s["name"]: s for s in result.mixture["sources"]}
    assert got["code"]["documents"] == 45 and got["code"]["asked"] == "amount"
    assert got["web"]["documents"] == 255  # the only weighted source gets budget - amounts
    assert "| 15.00% (amount) |" in (result.path / "README.md").read_text()
    assert got["code"]["asked_share"] == pytest.approx(0.15) and got["web"]["asked_share"] == pytest.approx(
        0.85
    )


def test_amounts_over_the_budget_fail_with_the_excess_and_the_line(runs, tmp_path, capsys):  # noqa: F811
    cfg = amount_config(runs, tmp_path / "m", code_amount=400)
    with pytest.raises(
        RecipeError,
        match=r"sources\[1\]\.amount: the amounts \(400 documents\) exceed the budget "
        r"\(300\) by 100 documents",
    ):
        load_mix(cfg)
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        f"name: x\nbudget: 10\nsources:\n  - {{name: web, run: {runs['web']}, amount: 12}}\n"
        "output: {path: " + str(tmp_path / "o") + "}\n"
    )
    assert curation_main(["mix", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert (
        err.startswith(f"error: {bad}:4: sources[0].amount: the amounts (12 documents) exceed")
        and "by 2" in err
    )
    assert not (tmp_path / "o").exists()


def test_amounts_alone_must_fill_the_budget_and_weight_or_amount_is_required(runs, tmp_path):  # noqa: F811
    cfg = amount_config(runs, tmp_path / "m", code_amount=30)
    cfg["sources"] = cfg["sources"][1:]
    with pytest.raises(RecipeError, match=r"budget: the amounts sum to 30 documents but the budget is 300"):
        load_mix(cfg)
    cfg = config(runs, tmp_path / "m")
    cfg["sources"][0]["amount"] = 10  # weight and amount together
    with pytest.raises(RecipeError, match=r"sources\[0\]: give either weight: .* or amount:"):
        load_mix(cfg)


def test_an_amount_beyond_max_epochs_fails_before_writing_and_says_by_how_much(runs, tmp_path):  # noqa: F811
    cfg = amount_config(runs, tmp_path / "m", code_amount=130)  # 30 python documents x max 4 epochs = 120
    with pytest.raises(
        UsageError,
        match=r"code needs 4.33 epochs \(130 documents of 30\) for its amount but "
        r"max_epochs is 4: short by 10 documents",
    ):
        mix(cfg)
    assert not (tmp_path / "m").exists()


def test_a_boolean_budget_is_a_mix_file_error(tmp_path):
    """`budget: true` is a typo, not a budget of 1 (pydantic's int accepts a bool)."""
    f = tmp_path / "m.yaml"
    f.write_text(
        "name: m\nunit: documents\nbudget: true\nsources:\n"
        f"  - {{name: a, run: {tmp_path}, weight: 1}}\noutput: {{path: {tmp_path / 'out'}}}\n"
    )
    with pytest.raises(RecipeError, match="budget"):
        load_mix(f)
