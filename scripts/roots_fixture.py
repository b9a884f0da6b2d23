"""Write tests/data/roots_udhr.jsonl.gz: real text in the 13 ROOTS languages for the conformance test.

Source: the Universal Declaration of Human Rights passages (`source: udhr2`, public domain) of
`../shared/data/langid/dev.jsonl.gz`. Per language, 8 documents from its first 24 passages: four single
passages (mostly too short for ROOTS), two of two passages, one of four, one of eight (newline-joined).
Usage (repo root): python scripts/roots_fixture.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import gzip
import json
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LANGS = ["ar", "bn", "ca", "en", "es", "eu", "fr", "hi", "id", "pt", "ur", "vi", "zh"]
GROUPS = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 6), (6, 8), (8, 12), (12, 20)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data"))
    args = ap.parse_args()
    passages = defaultdict(list)
    with gzip.open(Path(args.data) / "langid" / "dev.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if row["source"] == "udhr2" and row["lang"] in LANGS and len(passages[row["lang"]]) < 24:
                passages[row["lang"]].append(row["text"])
    out = REPO / "tests" / "data" / "roots_udhr.jsonl.gz"
    with gzip.open(out, "wt", encoding="utf-8", compresslevel=9) as f:
        for lang in LANGS:
            for a, b in GROUPS:
                text = "\n".join(passages[lang][a:b])
                f.write(
                    json.dumps({"id": f"{lang}-{a}-{b}", "lang": lang, "text": text}, ensure_ascii=False)
                    + "\n"
                )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
