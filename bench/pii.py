"""Benchmark of the `pii` op: accuracy per kind, secrets recall, and speed vs datatrove's PIIFormatter.

Prints markdown tables (pasted into docs/pii.md):

1. Per-kind precision / recall / F1 on `pii/synth_dataset_v2.json` (presidio-research style synthetic
   sentences with labelled spans). A prediction is a true positive when it overlaps a gold span of the
   same kind; `exact` is the share of gold spans found with identical boundaries. datatrove's
   `PIIFormatter` (emails + public IPv4 only) is scored the same way, side by side.
2. Recall on `pii/secrets_fixtures/` (detect-secrets' test fixtures): the ground truth below was set
   by reading every file (positions only, so no fixture text is copied here), plus the traps that
   must stay untouched.
3. Throughput (docs/s, MB/s) and peak RSS, each configuration in its own forked process (median of 3),
   on the synthetic texts and on real English documents (`web/docs_en.jsonl.gz`).

Usage (repo root):
    python -m bench.pii [--data ../shared/data] [--web-docs 2000] [--quick] [--json PATH] [--show N]
`--show N` prints N detections per kind on real documents instead (to eyeball false positives).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import DEFAULT_DATA, load_jsonl, measure, metrics, result_row, table, write_json
from curation.steps.pii import DEFAULT_KINDS, find_pii, scrub

# synth_dataset_v2 entity type -> our kind. Types with no counterpart are listed in the output.
TYPE_TO_KIND = {
    "EMAIL_ADDRESS": "email",
    "IP_ADDRESS": "ip_address",
    "PHONE_NUMBER": "phone",
    "CREDIT_CARD": "credit_card",
    "IBAN_CODE": "iban",
}

# Ground truth for secrets_fixtures/, by reading each file: (file, line, token prefix, what).
# Positives must be scrubbed; traps must not be; anything else in these files is unscored.
SECRETS = [
    ("config.env", 1, "gX69YO", "40-char AWS-secret-shaped value, no keyword"),
    ("config.ini", 2, "123456789a", "password = ..."),
    ("config.ini", 10, "23456789a1", "aws_secret_key = (short)"),
    ("config.ini", 26, "1234567890", "password = ... (pragma allowlist)"),
    ("config.ini", 32, "vh987t", "real_secret... = high entropy"),
    ("config.md", 10, "ToCynx", 'key="..."'),
    ("config.yaml", 5, "AKIATE", "AWS access key id"),
    ("config.yaml", 12, "ToCynx", "allowlisted_api_key: '...'"),
    ("config.yaml", 13, "MjNjcn", "..._secret: !!binary base64"),
    ("config2.yaml", 2, "MmIwMD", "..._secret: !!binary base64"),
    ("each_secret.py", 4, "c2Vjcm", "base64_secret = '...'"),
    ("each_secret.py", 5, "8b1118", "hex_secret = '<40 hex>'"),
    ("each_secret.py", 6, "whywou", "password in http://user:pass@host"),
    ("each_secret.py", 8, "AKIAIO", "AWS access key id"),
    ("each_secret.py", 9, "wJalrX", "aws_secret_access_key = '...'"),
    ("files/file_with_secrets.py", 3, "c3VwZX", "SUPER_SEECRET_VALUE (misspelt keyword) = base64"),
    ("files/file_with_secrets.py", 4, "f6CGV4", "VERY_SECRET_TOO = '...'"),
    ("files/private_key", 2, "someth", "OpenSSH private key block"),
    ("files/tmp/file_with_secrets.py", 3, "60b725", "SUPER_SECRET_VALUES = '<hex>', ..."),
    ("files/tmp/file_with_secrets.py", 3, "3b5d5c", "... , '<hex>' (second value)"),
    ("short_files/last_line.ini", 3, "hunter", "ini continuation under secrets_... ="),
    ("short_files/last_line.ini", 4, "passwo", "ini continuation under secrets_... ="),
    ("short_files/last_line.ini", 5, "BEEF01", "ini continuation under secrets_... ="),
    ("short_files/middle_line.yml", 4, "thequi", "password:\\n  secure: ..."),
]
TRAPS = [
    ("config.ini", 33, "vh987t", "foreign_key_id (an id, not a secret)"),
    ("config.ini", 6, "678912", "keyA = 678912345"),
    ("config.md", 8, "223242", "ssh to server x:<digits>"),
    ("config.yaml", 3, "123456", "other_value_here: 1234567890a"),
    ("config.yaml", 6, "abcdef", "other_value: abcdefghijklmnop"),
    ("config.yaml", 16, "ToCynx", "allowlisted_id (an id)"),
    ("config.yaml", 18, "203db1", "uuid"),
    ("each_secret.py", 1, "DEADBE", "red_herring = 'DEADBEEF'"),
    ("sample.diff", 10, "012345", "012345678a in code"),
    ("sample.diff", 22, "2b0004", "bare hex hash in code"),
    ("sample.diff", 34, "2b0004", "bare hex hash in code"),
    ("short_files/first_line.php", 2, "012345", "sequential digits"),
    ("word_list.txt", 3, "AKIANO", "AKIA prefix, too short"),
]
CLEAN_FILES = [
    "files/file_with_no_secrets.py",
    "files/tmp/file_with_no_secrets.py",
    "files/file_with_custom_secrets.py",
    "performance/best-songs.txt",
    "only_comments.yaml",
]


def overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def datatrove_spans(text: str, formatter) -> list[tuple[int, int, str]]:
    """The spans datatrove's PIIFormatter would replace (same regexes and validator)."""
    out = [(m.start(), m.end(), "email") for m in formatter.emails_replacer.regex.finditer(text)]
    ipr = formatter.ip_replacer
    out += [(m.start(), m.end(), "ip_address") for m in ipr.regex.finditer(text) if ipr.validator(m.group())]
    return out


def f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def score_synth(records: list[dict], predict, kinds: tuple[str, ...]) -> tuple[dict, Counter]:
    """Per-kind counts: gold, found (recall), exact, predicted, predicted-correct (precision)."""
    stats = {k: Counter() for k in kinds}
    fp_types: Counter = Counter()  # what false positives hit: a gold type without counterpart, or nothing
    for rec in records:
        text = rec["full_text"]
        gold = [(s["start_position"], s["end_position"], s["entity_type"]) for s in rec["spans"]]
        pred = predict(text)
        for gs, ge, gt in gold:
            kind = TYPE_TO_KIND.get(gt)
            if kind not in stats:
                continue
            stats[kind]["gold"] += 1
            hits = [p for p in pred if p[2] == kind and overlaps(p, (gs, ge))]
            stats[kind]["found"] += bool(hits)
            stats[kind]["exact"] += any(p[0] == gs and p[1] == ge for p in hits)
        for ps, pe, pk in pred:
            if pk not in stats:
                continue
            stats[pk]["pred"] += 1
            same = [g for g in gold if TYPE_TO_KIND.get(g[2]) == pk and overlaps((ps, pe), g)]
            if same:
                stats[pk]["correct"] += 1
            else:
                other = [g[2] for g in gold if overlaps((ps, pe), g)]
                fp_types[f"{pk} on {other[0] if other else 'unlabelled text'}"] += 1
    return stats, fp_types


def synth_tables(data: Path) -> None:
    records = json.loads((data / "pii" / "synth_dataset_v2.json").read_text(encoding="utf-8"))
    from datatrove.pipeline.formatters import PIIFormatter

    dt = PIIFormatter()
    ours, fp_ours = score_synth(records, lambda t: find_pii(t, DEFAULT_KINDS), DEFAULT_KINDS)
    theirs, _ = score_synth(records, lambda t: datatrove_spans(t, dt), ("email", "ip_address"))
    print(f"### PII accuracy on synth_dataset_v2.json ({len(records)} texts; overlap match)\n")
    print("| kind | gold | rootstock P | R | F1 | exact | datatrove P | R | F1 |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for kind in DEFAULT_KINDS:
        s = ours[kind]
        if not s["gold"]:
            print(f"| {kind} | 0 | - | - | - | - | - | - | - | (no labels; {s['pred']} predicted)")
            continue
        p = s["correct"] / s["pred"] if s["pred"] else 0.0
        r = s["found"] / s["gold"] if s["gold"] else 0.0
        ex = s["exact"] / s["gold"] if s["gold"] else 0.0
        row = f"| {kind} | {s['gold']} | {p:.3f} | {r:.3f} | {f1(p, r):.3f} | {ex:.3f} |"
        if kind in theirs:
            t = theirs[kind]
            tp = t["correct"] / t["pred"] if t["pred"] else 0.0
            tr = t["found"] / t["gold"] if t["gold"] else 0.0
            row += f" {tp:.3f} | {tr:.3f} | {f1(tp, tr):.3f} |"
        else:
            row += " - | - | - |"
        print(row)
    unmapped = Counter(
        s["entity_type"] for r in records for s in r["spans"] if s["entity_type"] not in TYPE_TO_KIND
    )
    print(
        "\nNo counterpart (not scored): " + ", ".join(f"{t} ({n})" for t, n in unmapped.most_common()) + "."
    )
    print("`secret` and `user` have no labels in this set (see the secrets table).")
    if fp_ours:
        print(
            "\nrootstock false positives: " + ", ".join(f"{k}: {n}" for k, n in fp_ours.most_common()) + "."
        )


def locate(text: str, line_no: int, prefix: str) -> tuple[int, int] | None:
    """Span of the token starting with `prefix` on 1-based line `line_no`."""
    lines = text.split("\n")
    if line_no > len(lines):
        return None
    offset = sum(len(x) + 1 for x in lines[: line_no - 1])
    col = lines[line_no - 1].find(prefix)
    if col < 0:
        return None
    m = re.compile(r"[^\s'\"`,:@]+").match(lines[line_no - 1], col)
    return offset + col, offset + m.end()


def secrets_table(data: Path) -> None:
    root = data / "pii" / "secrets_fixtures"
    cache: dict[str, list] = {}

    def spans_of(name: str):
        if name not in cache:
            text = (root / name).read_text(encoding="utf-8")
            cache[name] = (text, [s for s in find_pii(text, DEFAULT_KINDS) if s.kind == "secret"])
        return cache[name]

    found, missed, trapped, missing_gt = 0, [], [], []
    for name, line, prefix, what in SECRETS:
        text, spans = spans_of(name)
        span = locate(text, line, prefix)
        if span is None:
            missing_gt.append(f"{name}:{line}")
            continue
        if any(overlaps(span, s) for s in spans):
            found += 1
        else:
            missed.append(f"`{name}:{line}` {what}")
    for name, line, prefix, what in TRAPS:
        text, spans = spans_of(name)
        span = locate(text, line, prefix)
        if span is None:
            missing_gt.append(f"{name}:{line}")
        elif any(overlaps(span, s) for s in spans):
            trapped.append(f"`{name}:{line}` {what}")
    clean_hits = sum(len(spans_of(n)[1]) for n in CLEAN_FILES)
    print(f"\n### Secrets recall on secrets_fixtures/ ({len(SECRETS)} known secrets, {len(TRAPS)} traps)\n")
    print("| found | recall | traps flagged | detections in secret-free files |")
    print("|---:|---:|---:|---:|")
    print(
        f"| {found}/{len(SECRETS)} | {found / len(SECRETS):.2f} | {len(trapped)}/{len(TRAPS)} | {clean_hits} |"
    )
    if missed:
        print("\nMissed: " + "; ".join(missed) + ".")
    if trapped:
        print("\nTraps flagged: " + "; ".join(trapped) + ".")
    if missing_gt:
        print(f"\n(ground truth not located, fixtures changed? {missing_gt})")


# --- speed -------------------------------------------------------------------------------------------

CONFIGS = {  # name -> kinds (None: datatrove's PIIFormatter)
    "datatrove PIIFormatter (email+ip)": None,
    "rootstock scrub (email+ip)": ("email", "ip_address"),
    "rootstock scrub (6 default kinds)": DEFAULT_KINDS,
}


def load_texts(data: Path, corpus: str, web_docs: int) -> list[str]:
    if corpus == "synth":
        records = json.loads((data / "pii" / "synth_dataset_v2.json").read_text(encoding="utf-8"))
        return [r["full_text"] for r in records] * 10  # 15k short texts: enough to time
    return [d["text"] for d in load_jsonl(data / "web" / "docs_en.jsonl.gz", limit=web_docs)]


def _run_config(name: str, texts: list[str]) -> None:
    kinds = CONFIGS[name]
    if kinds is None:
        from datatrove.pipeline.formatters import PIIFormatter

        fn = PIIFormatter().format
    else:
        fn = lambda t: scrub(t, kinds)[0]
    for t in texts:
        fn(t)


def speed_table(data: Path, web_docs: int, repeats: int) -> list[dict]:
    """docs/s, MB/s, peak RSS per configuration (fresh forked process each, median of `repeats`)."""
    rows, json_rows = [], []
    corpora = [("synth", "synth_dataset_v2 x10 (short texts)")]
    if web_docs:
        corpora.append(("web", f"docs_en.jsonl.gz, first {web_docs} docs"))
    for corpus, label in corpora:
        texts = load_texts(data, corpus, web_docs)
        mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
        results = {}
        for name in CONFIGS:
            r = measure(_run_config, name, texts, repeats=repeats)
            results[name] = metrics(len(texts), mb, r["seconds"], r["rss_mb"])
            m = results[name]
            rows.append(
                [label, name, f"{m['docs_per_s']:,.0f}", f"{m['mb_per_s']:.2f}", f"{m['rss_mb']:.0f}"]
            )
        dt = results["datatrove PIIFormatter (email+ip)"]
        for name, kinds_label in (
            ("rootstock scrub (email+ip)", "email+ip"),
            ("rootstock scrub (6 default kinds)", "6 kinds"),
        ):
            json_rows.append(result_row(f"pii: {kinds_label}, {corpus}", results[name], dt,
                                        "datatrove PIIFormatter (email+ip)", note=label))  # fmt: skip
    print(f"\n### Throughput and peak RSS (one core, forked process per variant, median of {repeats})\n")
    print(table(["corpus", "scrubber", "docs/s", "MB/s", "peak RSS MB"], rows))
    return json_rows


def show_detections(data: Path, web_docs: int, n: int) -> None:
    """Print detections on real documents (no labels) to eyeball false positives."""
    by_kind: dict[str, list[str]] = defaultdict(list)
    counts: Counter = Counter()
    for text in load_texts(data, "web", web_docs):
        for s in find_pii(text, DEFAULT_KINDS):
            counts[s.kind] += 1
            if len(by_kind[s.kind]) < n:
                ctx = text[max(0, s.start - 30) : s.end + 15].replace("\n", "⏎")
                by_kind[s.kind].append(f"  {text[s.start : s.end]!r:45.45}  | {ctx}")
    print(f"\n### Detections on the first {web_docs} docs of docs_en.jsonl.gz (unlabelled)\n")
    print(
        "| "
        + " | ".join(counts)
        + " |\n|"
        + "---:|" * len(counts)
        + "\n| "
        + " | ".join(map(str, counts.values()))
        + " |"
    )
    for kind, rows in by_kind.items():
        print(f"\n{kind}:\n" + "\n".join(rows))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shared data folder (../shared/data)")
    ap.add_argument("--web-docs", type=int, default=2000, help="real documents for the speed table (0: skip)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="one repeat, 300 web documents")
    ap.add_argument("--json", help="also write the speed rows as JSON (the `curate bench` contract)")
    ap.add_argument("--show", type=int, default=0, help="only print N detections per kind on real documents")
    args = ap.parse_args(argv)
    if args.quick:
        args.repeats, args.web_docs = 1, min(args.web_docs, 300)
    if args.show:
        return show_detections(args.data, args.web_docs, args.show)
    synth_tables(args.data)
    secrets_table(args.data)
    write_json(args.json, speed_table(args.data, args.web_docs, args.repeats))


if __name__ == "__main__":
    main()
