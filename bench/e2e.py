"""End to end: the roots_web recipe through `curate run` vs a FineWeb-style datatrove pipeline.

Both read the same N documents of `web/docs_en.jsonl.gz` (written to one jsonl.gz first) on one
task, each in a fresh process (timed inside it, interpreter start excluded; peak RSS is that
process's own):

- ours: `recipes/roots_web.yaml` (language_id -> roots_filters -> pii -> exact_dedup), extended
  to read the sample, 1 task, keep_removed off (the baseline writes no removed docs either), run
  through `curation.cli.main(["run", ...])`, which is what `curate run` calls.
- baseline: datatrove JsonlReader -> LanguageFilter (en >= 0.65, the same lid.176.ftz loaded from
  our resources instead of downloaded) -> GopherRepetitionFilter -> GopherQualityFilter ->
  C4QualityFilter (no bad-words list: it downloads) -> FineWebQualityFilter -> JsonlWriter.

The two pipelines do different work (ours also scrubs PII and deduplicates; theirs runs more
heuristic filters), so the ratio is the cost of a whole production-style recipe, not of one step.

    python -m bench.e2e [--data ../shared/data] [--docs 2000] [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bench.common import DEFAULT_DATA, metrics, result_row, table, write_json
from runfolder import RunFolder, iter_records, read_summary

ROOT = Path(__file__).resolve().parents[1]


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_ours(src: Path, out: Path) -> dict:
    """The roots_web recipe on `src`, via the `curate run` entry point, in this process."""
    from curation.cli import main

    recipe = {
        "extends": str(ROOT / "recipes" / "roots_web.yaml"),
        "name": "e2e-roots-web",
        "input": {"path": str(src)},
        "output": {"path": str(out), "keep_removed": False},
        "executor": {"kind": "local", "tasks": 1, "workers": 1},
    }
    path = out.parent / "e2e_recipe.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    t0 = time.perf_counter()
    code = main(["run", str(path), "--no-progress", "--force"])
    seconds = time.perf_counter() - t0
    if code != 0:
        raise SystemExit(f"curate run exited {code}")
    summary = read_summary(out)
    return {"seconds": seconds, "kept": summary["output"]["docs"], "rss_mb": _peak_mb()}


def _local_ft176():
    from datatrove.utils.lid import FT176LID

    class LocalFT176(FT176LID):
        """datatrove's fastText LID, loading our bundled lid.176.ftz instead of downloading."""

        @property
        def model(self):
            if self._model is None:
                from fasttext.FastText import _FastText

                from curation.resources import LID_MODEL

                self._model = _FastText(str(LID_MODEL))
            return self._model

    return LocalFT176


def run_baseline(src: Path, out: Path) -> dict:
    """datatrove's FineWeb-style filters on `src`, with the local fastText model, in this process."""
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
        LanguageFilter,
    )
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    from datatrove.utils.logging import logger

    logger.remove()
    lid = LanguageFilter(languages=["en"], language_threshold=0.65)
    lid.model = _local_ft176()(["en"])  # datatrove would download lid.176.bin
    pipeline = [
        JsonlReader(str(src.parent), glob_pattern=src.name),
        lid,
        GopherRepetitionFilter(),
        GopherQualityFilter(),
        C4QualityFilter(filter_no_terminal_punct=False),
        FineWebQualityFilter(),
        JsonlWriter(str(out / "output")),
    ]
    t0 = time.perf_counter()
    LocalPipelineExecutor(pipeline, tasks=1, workers=1, logging_dir=str(out / "logs")).run()
    seconds = time.perf_counter() - t0
    kept = sum(1 for _ in iter_records(RunFolder(out).output))
    return {"seconds": seconds, "kept": kept, "rss_mb": _peak_mb()}


def _in_fresh_process(variant: str, src: Path, out: Path) -> dict:
    cmd = [sys.executable, "-m", "bench.e2e", "--_variant", variant, str(src), str(out)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{variant} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def write_sample(data: Path, n: int, dest: Path) -> tuple[int, float]:
    """The first `n` docs of web/docs_en.jsonl.gz into `dest`; returns (docs, MB of text)."""
    docs, nbytes = 0, 0
    with (
        gzip.open(data / "web" / "docs_en.jsonl.gz", "rt", encoding="utf-8") as f,
        gzip.open(dest, "wt") as out,
    ):
        for line in f:
            d = json.loads(line)
            out.write(json.dumps({"id": str(d["id"]), "text": d["text"]}) + "\n")
            docs, nbytes = docs + 1, nbytes + len(d["text"].encode("utf-8"))
            if docs >= n:
                break
    return docs, nbytes / 1e6


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="shared data folder (has web/docs_en.jsonl.gz)"
    )
    ap.add_argument("--docs", type=int, default=2000, help="documents to run (the first N)")
    ap.add_argument("--quick", action="store_true", help="150 documents")
    ap.add_argument("--json", help="also write the results as JSON rows (the `curate bench` contract)")
    ap.add_argument("--_variant", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._variant:
        variant, src, out = args._variant
        result = (run_ours if variant == "ours" else run_baseline)(Path(src), Path(out))
        print(json.dumps(result))
        return
    n = 150 if args.quick else args.docs
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp_name:
        tmp = Path(tmp_name)
        src = tmp / "in" / "sample.jsonl.gz"
        src.parent.mkdir()
        docs, mb = write_sample(args.data, n, src)
        base = _in_fresh_process("baseline", src, tmp / "baseline")
        ours = _in_fresh_process("ours", src, tmp / "ours")
    rows = []
    for name, m in [
        ("datatrove FineWeb-style (lid, gopher rep+quality, c4, fineweb)", base),
        ("rootstock roots_web via curate run (lid, roots, pii, exact + minhash dedup)", ours),
    ]:
        rows.append(
            [
                name,
                f"{docs:,}",
                f"{m['kept']:,}",
                f"{m['seconds']:.1f}",
                f"{docs / m['seconds']:,.0f}",
                f"{mb / m['seconds']:.2f}",
                f"{base['seconds'] / m['seconds']:.2f}",
                f"{m['rss_mb']:.0f}",
            ]
        )
    print(f"end to end on the first {docs:,} docs of web/docs_en.jsonl.gz ({mb:.1f} MB of text), 1 task\n")
    print(
        table(
            ["pipeline", "docs in", "kept", "s", "docs/s", "MB/s", "speed vs datatrove", "peak RSS MB"], rows
        )
    )
    write_json(
        args.json,
        [
            result_row(
                "e2e: roots_web recipe vs FineWeb-style",
                metrics(docs, mb, ours["seconds"], ours["rss_mb"]),
                metrics(docs, mb, base["seconds"], base["rss_mb"]),
                "datatrove FineWeb-style filters",
                note=f"{docs} docs of docs_en; 1 task; kept ours {ours['kept']} vs baseline {base['kept']}",
            )
        ],
    )


if __name__ == "__main__":
    main()
