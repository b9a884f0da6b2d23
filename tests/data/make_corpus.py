"""Rebuild the small real corpus in tests/data/ from text shipped with Python and spaCy.

Run from the repo root: `python tests/data/make_corpus.py`. Deterministic: the same interpreter and
spaCy version give byte-identical files. Sources and licenses: tests/data/README.md.
"""

import gzip
import importlib
import json
import pkgutil
import re
import sys
from pathlib import Path

HERE = Path(__file__).parent


def python_topics():
    import pydoc_data.topics as t

    for name in sorted(t.topics):
        yield {"id": f"pydoc/{name}", "text": t.topics[name].strip(), "source": "python-docs", "lang": "en"}


def stdlib_docstrings(limit=220):
    names = sorted(m.name for m in pkgutil.iter_modules() if m.module_finder.path.endswith("python3.11"))
    n = 0
    for name in names:
        if name.startswith("_") or name in {"antigravity", "this", "idlelib", "turtledemo", "tkinter"}:
            continue
        try:
            mod = importlib.import_module(name)
        except Exception:
            continue
        doc = (mod.__doc__ or "").strip()
        if len(doc) >= 300:
            yield {"id": f"stdlib/{name}", "text": doc, "source": "python-stdlib", "lang": "en"}
            n += 1
            if n >= limit:
                return


def spacy_examples():
    import spacy.lang

    base = Path(spacy.lang.__file__).parent
    for lang_dir in sorted(base.iterdir()):
        if not (lang_dir / "examples.py").exists():
            continue
        mod = importlib.import_module(f"spacy.lang.{lang_dir.name}.examples")
        sents = [s.strip() for s in getattr(mod, "sentences", []) if isinstance(s, str) and s.strip()]
        if len(sents) < 3:
            continue
        sep = "" if lang_dir.name in {"zh", "ja", "th"} else " "
        yield {"id": f"spacy/{lang_dir.name}", "text": sep.join(sents), "source": "spacy-examples", "lang": lang_dir.name}


def main():
    docs = list(python_topics()) + list(stdlib_docstrings()) + list(spacy_examples())
    # A few people-written duplicates, as crawls have them: the same text under another id.
    dups = [dict(d, id=d["id"] + "#copy") for d in docs[:200:40]]
    docs += dups
    docs.sort(key=lambda d: d["id"])
    with gzip.GzipFile(HERE / "web_sample.jsonl.gz", "wb", mtime=0) as f:
        for d in docs:
            f.write((json.dumps(d, ensure_ascii=False) + "\n").encode())
    print(f"{len(docs)} docs ({len(dups)} exact duplicates) -> tests/data/web_sample.jsonl.gz", file=sys.stderr)

    # Hostile input: every kind of unreadable record next to readable ones.
    good = docs[:3]
    lines = [json.dumps(good[0]).encode(),
             b'{"id": "broken", "text": "unterminated',                      # malformed JSON
             b'{"id": "latin1", "text": "caf\xe9 cr\xe8me"}',                  # invalid UTF-8
             json.dumps({"id": "no-text", "body": "wrong key"}).encode(),      # missing text field
             json.dumps({"id": "num-text", "text": 42}).encode(),              # non-string text
             json.dumps({"id": "empty", "text": ""}).encode(),                # empty text: a document
             b"[1, 2, 3]",                                                    # not an object
             json.dumps(good[1]).encode(),
             json.dumps({"text": good[2]["text"]}).encode()]                  # no id: derived file:line
    (HERE / "hostile.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    # A gzip stream cut in the middle of a member.
    payload = gzip.compress(b"".join(json.dumps(d).encode() + b"\n" for d in docs[:40]), mtime=0)
    (HERE / "truncated.jsonl.gz").write_bytes(payload[: len(payload) * 2 // 3])


if __name__ == "__main__":
    main()
