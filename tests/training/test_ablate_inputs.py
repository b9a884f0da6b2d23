"""The ablation's log names the curation command as a user would type it (`curate run ...`), not as
`-m curation.cli run ...` without its interpreter.

Run: pytest tests/training/test_ablate_inputs.py
"""

import pytest

from tests.training.conftest import SAMPLE
from training.ablate_inputs import ensure_run
from training.ablation_config import Variant


def test_the_logged_command_can_be_pasted(tmp_path, capsys):
    recipe = tmp_path / "r.yaml"  # every record rejected: the run exits 1 quickly, after the log line
    recipe.write_text("name: r\ninput: {format: jsonl, path: x.jsonl, text_key: body}\nsteps: []\n")
    with pytest.raises(RuntimeError, match="exit 1"):
        ensure_run("raw", Variant(recipe=str(recipe)), tmp_path / "abl", input_path=SAMPLE)
    line = next(x for x in capsys.readouterr().out.splitlines() if "raw: curate" in x)
    assert f"raw: curate run {recipe} --output {tmp_path / 'abl' / 'runs' / 'raw'} --force --set input.path=" in line
    assert "-m curation.cli" not in line
