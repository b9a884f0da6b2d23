"""The structure refactor (issue 13) must not change results: every shipped recipe that can run
offline on tests/data gives the same kept, removed and rejected documents and the same funnel as on
the original main (hashes captured there, before the refactor, with the same code as below).

When an op's behaviour changes ON PURPOSE, refresh the hashes and say so in the commit:
`PYTHONPATH=$PWD .venv/bin/python -m tests.curation.test_golden` prints the current table.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"

# name -> (recipe file, --set overrides that point it at tests/data)
CASES: dict[str, tuple[str, list[str]]] = {
    "sample": ("recipes/sample.yaml", []),
    "sample-parquet": ("recipes/sample.yaml", ["output.format=parquet", "output.max_shard_docs=40"]),
    "roots_web": ("recipes/roots_web.yaml", [f"input.path={DATA}/web_sample.jsonl.gz"]),
    "code": ("recipes/code.yaml", [f"input.path={DATA}/code"]),
    "instructions": ("recipes/instructions.yaml", [
        f"input.path={DATA}/instruct/[as]*.json*",
        f"steps.3.decontaminate.against=[{DATA}/instruct/bench_seed.jsonl, {DATA}/instruct/bench_seed.csv]",
    ]),
    "instructions-decontam": ("recipes/instructions.yaml", [
        f"input.path={DATA}/instruct/*seed*.jsonl", "output.format=sharegpt",
        f"steps.3.decontaminate.against=[{DATA}/instruct/bench_seed.csv]",
    ]),
    "sharegpt-in": ("recipes/instructions.yaml", [
        "input.format=sharegpt", f"input.path={DATA}/instruct/sharegpt.jsonl", "output.format=alpaca",
        f"steps.3.decontaminate.against=[{DATA}/instruct/bench_seed.csv]",
    ]),
    "messages-in": ("recipes/instructions.yaml", [
        "input.format=messages", f"input.path={DATA}/instruct/messages.jsonl",
        f"steps.3.decontaminate.against=[{DATA}/instruct/bench_seed.csv]",
    ]),
    "prompt_completion-in": ("recipes/instructions.yaml", [
        "input.format=prompt_completion", f"input.path={DATA}/instruct/prompt_completion.jsonl",
        "output.format=jsonl", f"steps.3.decontaminate.against=[{DATA}/instruct/bench_seed.csv]",
    ]),
    "hostile-text": ("recipes/sample.yaml", [f"input.path={DATA}/hostile.jsonl", "output.format=jsonl"]),
    "truncated": ("recipes/sample.yaml", [f"input.path={DATA}/truncated.jsonl.gz"]),
    # Python files read as text by the web recipe: roots_filters removes them all (allowed: the funnel is the result)
    "text-in": ("recipes/sample.yaml", ["input.format=text", f"input.path={DATA}/code", "output.allow_empty=true"]),
    "demo_raw": ("recipes/ablations/demo_raw.yaml", [f"input.path={DATA}/web_sample.jsonl.gz"]),
    "demo_roots_dedup": ("recipes/ablations/demo_roots_dedup.yaml", [f"input.path={DATA}/web_sample.jsonl.gz"]),
}

# captured on main 530d82b (before the refactor); the 7 recipes that run roots_filters refreshed when issue 17
# made its defaults ROOTS' own, on purpose (same hashes at a8130f1 + issue 17 and on main 05aa1a2), and again
# on issue-14 for 14.8's reason rename (roots_n_words -> roots_n_words_too_few / _too_many). Issue 15 made
# minhash_dedup's Webis-tuned defaults (J 0.5, 256 permutations, 42 x 4 bands) the recipes' own: the 4 recipes
# on web_sample now remove one more document, pydoc/naming as a near-duplicate of pydoc/execmodel (the
# "Naming and binding" page is a section of "Execution model": word-5-gram Jaccard 0.65, under the old 0.8).
GOLDEN: dict[str, str] = {
    "code": "af8f9cca68dd4d45",
    "demo_raw": "840aa186293a01cb",
    "demo_roots_dedup": "13d94ff5030aa180",  # issue 15 defaults: + pydoc/naming (see below)
    "hostile-text": "39749f3cb6fd8bdd",  # issue 27: rejected/ `source` is the input's path, not its bare name
    "instructions": "19c445cda36c73c3",
    "instructions-decontam": "d8afc2cb18b35cdb",
    "messages-in": "f4b2b5dba6c6ef2d",
    "prompt_completion-in": "7ce135905108e3da",
    "roots_web": "b0d4958d60899f1a",  # issue 15 defaults: + pydoc/naming (see below)
    "sample": "b0d4958d60899f1a",  # issue 15 defaults: + pydoc/naming (see below)
    "sample-parquet": "201a451e335a70ce",  # issue 15 defaults: idem
    "sharegpt-in": "64fadec464b71e5d",
    "text-in": "46adc1b79fd6ba54",
    "truncated": "4ca1b88531e2db21",  # issue 27: rejected/ `source` is the input's path, not its bare name
}


def _records(folder: Path) -> list[str]:
    """Every record of a folder's shards as canonical JSON, sorted (shard layout is not the result)."""
    out = []
    for path in sorted(folder.rglob("*")):
        if path.name.endswith(".jsonl.gz") or path.suffix == ".jsonl":
            opener = gzip.open if path.name.endswith(".gz") else open
            with opener(path, "rt", encoding="utf-8") as f:
                rows = [json.loads(line) for line in f]
        elif path.suffix == ".parquet":
            import pyarrow.parquet as pq

            rows = pq.read_table(path).to_pylist()
        else:
            continue
        rel = path.parent.relative_to(folder).as_posix()
        out += [rel + "\t" + json.dumps(r, sort_keys=True, ensure_ascii=False) for r in rows]
    return sorted(out)


def run_digest(name: str, tmp: Path) -> str:
    from curation.cli import main

    recipe, sets = CASES[name]
    run_dir = tmp / name
    args = ["run", str(ROOT / recipe), "--no-progress", "--force", "--output", str(run_dir)]
    for s in sets:
        args += ["--set", s]
    assert main(args) == 0
    summary = json.loads((run_dir / "summary.json").read_text())
    funnel = {
        "input": summary["input"]["docs"],
        "rejected": summary["rejected"],
        "output": summary["output"]["docs"],
        "steps": [(s["name"], s["in"], s["kept"], s["removed"], sorted(s["removed_by_reason"].items()))
                  for s in summary["steps"]],
    }
    h = hashlib.sha256(json.dumps(funnel, sort_keys=True).encode())
    for sub in ("output", "removed", "rejected"):
        for line in _records(run_dir / sub) if (run_dir / sub).is_dir() else []:
            h.update(line.replace(str(ROOT), "<ROOT>").replace(str(tmp), "<TMP>").encode() + b"\n")
    return h.hexdigest()[:16]


@pytest.mark.parametrize("name", sorted(CASES))
def test_recipe_output_matches_golden(name, tmp_path):
    if name not in GOLDEN:
        pytest.fail(f"no golden hash for {name}; run this module as a script to print the table")
    assert run_digest(name, tmp_path) == GOLDEN[name]


if __name__ == "__main__":
    import tempfile

    names = sys.argv[1:] or sorted(CASES)
    with tempfile.TemporaryDirectory() as d:
        for n in names:
            print(f'    "{n}": "{run_digest(n, Path(d))}",', flush=True)
