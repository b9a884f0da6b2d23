"""The Ablations page shows an instruction ablation's results.json (written by training/instruct_ablate.py's
`analyze`, the same contract as the pretraining ablations), with what its metric and budgets mean."""

import json

from tests.dashboard.test_pages import open_page, page_text
from training.instruct_ablate import analyze
from training.instruct_ablation_config import load_instruct_ablation
from training.instruct_data import eval_names


def write_instruct_results(folder):
    cfg_file = folder / "a.yaml"
    cfg_file.write_text(
        json.dumps({
            "name": "instr", "kind": "instructions", "budgets": [100, 200], "seeds": [0, 1],
            "pretrain": {"checkpoint": "ckpt"}, "heldout": {"from": "raw"},
            "variants": {"raw": {"run": "r"}, "filtered": {"run": "f"}},
            "controls": [{"name": "scrambled", "from": "filtered", "corrupt": "scramble_words"}],
        })
    )  # fmt: skip
    cfg = load_instruct_ablation(cfg_file)
    level = {"raw": 2.50, "filtered": 2.49, "scrambled": 2.60}
    variants = {
        n: {
            "control": n == "scrambled",
            "points": [
                {"tokens": ex * 256, "examples": ex, "bytes": ex * 300, "seed": s, "epochs": 0.1,
                 "bpb": {"instruct_heldout": level[n] - ex / 2000 + 0.003 * s}}
                for ex in (100, 200) for s in (0, 1)
            ],
        }
        for n in level
    }  # fmt: skip
    res = {**analyze(cfg, variants), "wall_seconds": 60.0}
    (folder / "results.json").write_text(json.dumps(res))
    return folder


def test_ablations_page_shows_an_instruction_ablation(dashboard_args, tmp_path):
    dashboard_args(write_instruct_results(tmp_path))
    at = open_page("ablations")
    assert not at.error, [e.value for e in at.error]
    text = page_text(at)
    assert "response bits per byte" in text and "examples" in text
    assert any("PASSED" in s.value and "scrambled" in s.value for s in at.success)


def test_prompt_use_is_labelled_as_a_difference(dashboard_args, tmp_path):
    """Prompt use is response bpb under the own prompt minus under another: the page must not call it bpb."""
    cfg_file = tmp_path / "a.yaml"
    cfg_file.write_text(
        json.dumps({
            "name": "instr", "kind": "instructions", "budgets": [100, 200], "seeds": [0, 1],
            "pretrain": {"checkpoint": "ckpt"}, "heldout": {"from": "raw", "prompt_use": True},
            "variants": {"raw": {"run": "r"}, "filtered": {"run": "f"}},
        })
    )  # fmt: skip
    cfg = load_instruct_ablation(cfg_file)
    evals = list(eval_names(cfg).values())
    assert any(e.endswith("prompt_use") for e in evals)
    variants = {
        n: {"control": False, "points": [
            {"tokens": ex * 256, "examples": ex, "bytes": ex * 300, "seed": s, "epochs": 0.1,
             "bpb": {e: lvl - ex / 2000 + 0.001 * s * (1 + i) for i, e in enumerate(evals)}}
            for ex in (100, 200) for s in (0, 1)]}
        for n, lvl in (("raw", 2.5), ("filtered", 2.49))
    }  # fmt: skip
    (tmp_path / "results.json").write_text(json.dumps({**analyze(cfg, variants), "wall_seconds": 1.0}))
    dashboard_args(tmp_path)
    pu = next(e for e in evals if e.endswith("prompt_use"))
    text = page_text(open_page("ablations", {"eval": pu}))
    assert "prompt use (Δ bpb" in text
    assert "prompt use (Δ bpb" not in page_text(open_page("ablations", {"eval": evals[0]}))
