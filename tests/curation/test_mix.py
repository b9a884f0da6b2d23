"""`curate mix`: shares, epochs, determinism, traceability, ownership and mix-file errors."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from curation.cli import main as curation_main
from curation.errors import RecipeError, UsageError
from curation.mix import mix
from curation.mix_config import load_mix
from runfolder.documents import iter_records

ROOT = Path(__file__).resolve().parents[2]


def make_run(folder: Path, docs: list[dict]) -> Path:
    """A run folder with one output shard (what a finished `curate run` leaves in output/)."""
    (folder / "output").mkdir(parents=True)
    with gzip.open(folder / "output" / "00000_00000.jsonl.gz", "wt", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps(d) + "\n")
    return folder


@pytest.fixture
def runs(tmp_path: Path) -> dict[str, Path]:
    web = [
        {"id": f"w{i}", "text": "web page text " * (5 + i % 7), "metadata": {"lang": "en"}}
        for i in range(200)
    ]
    code = [
        {
            "id": f"c{i}",
            "text": "def f():\n    return 1\n" * (1 + i % 3),
            "metadata": {"language": "python" if i % 4 else "c"},
        }
        for i in range(40)
    ]
    return {"web": make_run(tmp_path / "web", web), "code": make_run(tmp_path / "code", code)}


def config(runs: dict[str, Path], out: Path, **kw) -> dict:
    cfg = {
        "name": "web-code",
        "unit": "documents",
        "budget": 300,
        "seed": 0,
        "sources": [
            {"name": "web", "run": str(runs["web"]), "weight": 0.7, "max_epochs": 2},
            {
                "name": "code",
                "run": str(runs["code"]),
                "weight": 0.3,
                "max_epochs": 4,
                "where": {"language": "python"},
            },
        ],
        "output": {"path": str(out), "format": "jsonl.gz", "max_shard_docs": 64},
    }
    cfg.update(kw)
    return cfg


def shares(result) -> dict[str, float]:
    return {s["name"]: s["achieved_share"] for s in result.mixture["sources"]}


def test_token_shares_hold_when_a_source_has_documents_far_larger_than_its_part(tmp_path):
    """One 40k-token file among 300-token ones (the shipped code run has such files): the partial epoch
    takes only documents that fit what is still wanted, so one large file cannot overshoot the share."""
    web = [{"id": f"w{i}", "text": "web page text words " * 60} for i in range(300)]
    code = [{"id": f"c{i}", "text": "x = compute(y) + 1\n" * (8000 if i == 0 else 60)} for i in range(200)]
    runs = {"web": make_run(tmp_path / "web", web), "code": make_run(tmp_path / "code", code)}
    for seed in range(4):
        cfg = config(runs, tmp_path / f"mix{seed}", unit="tokens", budget=60_000, seed=seed)
        cfg["sources"][1].pop("where")
        got = shares(mix(cfg))
        assert abs(got["code"] - 0.3) < 0.01, (seed, got)


@pytest.mark.parametrize("unit,budget", [("documents", 300), ("tokens", 4000)])
def test_achieved_shares_are_within_one_percent_of_the_weights(runs, tmp_path, unit, budget):
    result = mix(config(runs, tmp_path / "mix", unit=unit, budget=budget))
    got = shares(result)
    assert abs(got["web"] - 0.7) < 0.01 and abs(got["code"] - 0.3) < 0.01, got
    total = sum(s["documents"] for s in result.mixture["sources"])
    assert total == result.mixture["documents"] == sum(1 for _ in iter_records(result.output))
    if unit == "documents":
        assert total == budget  # exact in documents


def test_upsampling_repeats_whole_epochs_then_a_seeded_part(runs, tmp_path):
    result = mix(config(runs, tmp_path / "mix"))
    code = [r for r in iter_records(result.output) if r["metadata"]["mix.source"] == "code"]
    assert len(code) == 90  # 30 python documents x 3 epochs
    assert {r["metadata"]["mix.epoch"] for r in code} == {0, 1, 2}
    web = [r for r in iter_records(result.output) if r["metadata"]["mix.source"] == "web"]
    assert len(web) == 210 and sum(r["metadata"]["mix.epoch"] == 1 for r in web) == 10


def test_every_output_document_traces_to_its_source_document(runs, tmp_path):
    result = mix(config(runs, tmp_path / "mix"))
    sources = {name: {r["id"]: r for r in iter_records(folder / "output")} for name, folder in runs.items()}
    out = list(iter_records(result.output))
    assert len({r["id"] for r in out}) == len(out)  # ids are unique
    for r in out:
        md = r["metadata"]
        src = sources[md["mix.source"]][md["mix.id"]]
        assert r["text"] == src["text"] and md["mix.run"] == str(runs[md["mix.source"]])
        assert r["id"] == f"{md['mix.source']}/{md['mix.id']}#{md['mix.epoch']}"
        if md["mix.source"] == "code":
            assert md["language"] == "python"  # `where` kept only these


def test_rerun_is_byte_identical_and_the_seed_changes_the_order(runs, tmp_path):
    first = mix(config(runs, tmp_path / "a"))
    before = {p.name: p.read_bytes() for p in sorted(first.output.iterdir())}
    mix(config(runs, tmp_path / "a"))  # the same mix into its own folder: rewritten
    assert {p.name: p.read_bytes() for p in sorted(first.output.iterdir())} == before
    assert len(before) == 5  # 300 documents in shards of 64
    other = mix(config(runs, tmp_path / "b", seed=1))
    assert [r["id"] for r in iter_records(other.output)] != [r["id"] for r in iter_records(first.output)]


def test_parquet_output_reads_back(runs, tmp_path):
    cfg = config(runs, tmp_path / "p")
    cfg["output"]["format"] = "parquet"
    result = mix(cfg)
    out = list(iter_records(result.output))
    assert len(out) == 300 and out[0]["metadata"]["mix.source"] in ("web", "code")


def test_a_source_short_of_max_epochs_fails_before_writing_and_says_by_how_much(runs, tmp_path):
    cfg = config(runs, tmp_path / "mix", budget=1000)  # code needs 300 of 30 docs = 10 epochs; max 4
    with pytest.raises(
        UsageError,
        match=r"code needs 10.00 epochs .* for its weight but max_epochs is 4: short by 180 documents",
    ):
        mix(cfg)
    assert not (tmp_path / "mix").exists()


def test_output_folder_ownership(runs, tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="not written by rootstock"):
        mix(config(runs, foreign), force=True)
    assert (foreign / "notes.txt").read_text() == "mine"
    mix(config(runs, tmp_path / "m"))
    with pytest.raises(UsageError, match="--force"):
        mix(config(runs, tmp_path / "m", seed=3))  # another mix into the same folder
    assert mix(config(runs, tmp_path / "m", seed=3), force=True).mixture["seed"] == 3
    with pytest.raises(UsageError, match=r"is \(inside\) the output folder"):
        mix(config(runs, runs["web"]), force=True)  # would delete the source it reads


def test_force_over_a_run_folder_leaves_nothing_of_the_run(runs, tmp_path):
    folder = runs["web"].parent / "old-run"
    (folder / "removed" / "exact_dedup").mkdir(parents=True)
    (folder / "summary.json").write_text("{}")
    (folder / "keep.txt").write_text("a user's file")
    identity = {"fingerprint": "x", "limit": 0, "started": "2026-01-01", "produced": []}
    (folder / "run.json").write_text(json.dumps(identity))
    mix(config(runs, folder), force=True)
    assert not (folder / "summary.json").exists() and not (folder / "removed").exists()
    assert (folder / "keep.txt").read_text() == "a user's file" and (folder / "mixture.json").exists()


def test_card_and_mixture_json(runs, tmp_path):
    result = mix(config(runs, tmp_path / "mix"))
    on_disk = json.loads((result.path / "mixture.json").read_text())
    assert on_disk == result.mixture and on_disk["unit"] == "documents" and on_disk["budget"] == 300
    assert set(on_disk["sources"][0]) >= {
        "name",
        "asked_share",
        "achieved_share",
        "epochs",
        "documents",
        "tokens",
    }
    card = (result.path / "README.md").read_text()
    assert "path: output/*.jsonl.gz" in card and "UTF-8 bytes / 4" in card and "web page text" not in card
    assert (
        on_disk["tokens_estimated"] is True and on_disk["rejected"] == 0 and on_disk["format"] == "jsonl.gz"
    )


def test_bad_mix_file_is_exit_2_with_file_line_key(runs, tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        f"name: x\nbudget: 10\nsources:\n  - name: web\n    run: {runs['web']}\n    weight: 1\n"
        "    max_epoch: 2\noutput: {path: " + str(tmp_path / "o") + "}\n"
    )
    assert curation_main(["mix", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {bad}:7: sources[0].max_epoch: unknown key (did you mean max_epochs?)"), (
        err
    )
    assert "\n" not in err and not (tmp_path / "o").exists()
    bad.write_text("name: x\nunit: bytes\nbudget: 10\nsources: []\noutput: {path: o}\n")
    with pytest.raises(RecipeError, match=r"bad.yaml:2: unit: "):
        load_mix(bad)


@pytest.mark.parametrize("name", ["sample_code.yaml", "sample_code_tokens.yaml"])
def test_shipped_mix_files_validate(name):
    cfg = load_mix(ROOT / "recipes" / "mixes" / name)
    assert abs(sum(cfg.shares().values()) - 1) < 1e-9 and cfg.output.path.startswith("runs/mixes/")
