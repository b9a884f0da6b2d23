"""Instruction data: the four chat readers, output converters, `instruction_filters` and `decontaminate`.

Readers run on real self-instruct seed tasks (tests/data/instruct, Apache-2.0) in each container format;
malformed records are literal. Filters are checked against hand-computed answers; decontamination
against a "benchmark" made of other seed tasks (jsonl with nested fields + a CSV with a header).
Run: `.venv/bin/python -m pytest tests/curation/steps/test_instruct.py`
"""

import csv
import json
import unicodedata
from pathlib import Path

import pytest

from curation.formats.instruct import (
    PARSERS,
    READERS,
    from_alpaca,
    from_messages,
    from_sharegpt,
    make_document,
    to_alpaca,
    to_messages,
    to_sharegpt,
)
from curation.steps.decontam import Decontaminate, DecontaminateParams, informative, normalize_words
from curation.steps.instruct_filters import (
    InstructionFilter,
    InstructionFilterParams,
    instruction_metrics,
    missing_content,
)

DATA = Path(__file__).parents[2] / "data" / "instruct"


def read(fmt, path, tmp_path):
    path = Path(path)
    reader = READERS[fmt](str(path.parent), glob_pattern=path.name)
    reader.rejected_dir = str(tmp_path / "rejected")
    docs = list(reader.run())
    rej_file = tmp_path / "rejected" / "00000.jsonl"
    rejected = [json.loads(x) for x in rej_file.read_text().splitlines()] if rej_file.exists() else []
    return docs, rejected


@pytest.mark.parametrize(
    "fmt,name,count",
    [
        ("alpaca", "alpaca.json", 10),  # JSON array
        ("alpaca", "self_instruct_seed.jsonl", 30),  # self-instruct `instances`
        ("sharegpt", "sharegpt.jsonl", 8),
        ("messages", "messages.jsonl", 6),
        ("prompt_completion", "prompt_completion.jsonl", 6),
    ],
)
def test_readers_on_real_samples(fmt, name, count, tmp_path):
    docs, rejected = read(fmt, DATA / name, tmp_path)
    assert len(docs) == count and rejected == []
    for doc in docs:
        msgs = doc.metadata["messages"]
        assert [m["role"] for m in msgs if m["role"] != "system"] == ["user", "assistant"]
        user = next(m["content"] for m in msgs if m["role"] == "user")
        assert doc.metadata["prompt"] == " ".join(unicodedata.normalize("NFKC", user).lower().split())
        assert f"User: {user}" in doc.text and doc.text.endswith(f"Assistant: {msgs[-1]['content']}")


def test_alpaca_schema_known_record(tmp_path):
    docs, _ = read("alpaca", DATA / "alpaca.json", tmp_path)
    doc = next(d for d in docs if d.metadata.get("alpaca_input") == "Burpees")
    assert doc.id.endswith("alpaca.json:2")
    assert (
        doc.metadata["messages"][0]["content"]
        == "Given the name of an exercise, explain how to do it.\n\nBurpees"
    )
    assert doc.metadata["prompt"] == "given the name of an exercise, explain how to do it. burpees"
    seed, _ = read("alpaca", DATA / "self_instruct_seed.jsonl", tmp_path / "s")
    assert seed[0].id == "seed_task_0" and seed[0].metadata["source_format"] == "alpaca"


def test_malformed_records_are_rejected_with_reasons(tmp_path):
    lines = [
        '{"instruction": "Name a prime number.", "input": "", "output": "7"}',
        '{"instruction": "broken json", ',
        "[1, 2]",
        '{"instruction": "No output field."}',
        '{"instruction": 5, "output": "x"}',
        '{"instruction": "Two instances", "instances": [{"input": "a", "output": "A"}, {"input": "b", "output": "B"}]}',
        '{"instruction": "Empty instances", "instances": []}',
    ]
    (tmp_path / "a.jsonl").write_text("\n".join(lines) + "\n")
    docs, rejected = read("alpaca", tmp_path / "a.jsonl", tmp_path)
    assert [d.id.rsplit(":", 1)[1] for d in docs] == ["1", "6#0", "6#1"]
    reasons = {r["line"]: r["error"] for r in rejected}
    assert reasons[2].startswith("malformed JSON")
    assert reasons[3] == "record is a list, not an object"
    assert reasons[4] == "malformed alpaca record: missing field 'output'"
    assert reasons[5] == "malformed alpaca record: field 'instruction' is int, not str"
    assert reasons[7] == "malformed alpaca record: field 'instances' is not a non-empty list"


@pytest.mark.parametrize(
    "fmt,record,error",
    [
        ("sharegpt", {"conversations": [{"from": "robot", "value": "hi"}]}, "unknown speaker 'robot'"),
        ("sharegpt", {"conversations": [{"from": "human", "value": "hi"}]}, "needs a user and an assistant"),
        ("messages", {"messages": "hi"}, "'messages' is missing or not a list"),
        (
            "messages",
            {"messages": [{"role": "user", "content": [{"type": "image_url"}]}]},
            "non-text content",
        ),
        (
            "messages",
            {"messages": [{"role": "user", "content": "a"}, {"role": "system", "content": "b"}]},
            "system message after the first turn",
        ),
        ("prompt_completion", {"prompt": "p"}, "missing field 'completion'"),
    ],
)
def test_malformed_chat_records(fmt, record, error):
    with pytest.raises(ValueError, match=error):
        PARSERS[fmt](record)


def test_round_trip_between_chat_formats(tmp_path):
    docs = []
    for fmt, name in [
        ("alpaca", "alpaca.json"),
        ("sharegpt", "sharegpt.jsonl"),
        ("messages", "messages.jsonl"),
    ]:
        docs += read(fmt, DATA / name, tmp_path / fmt)[0]
    multi = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello."},
        {"role": "user", "content": "Name a color."},
        {"role": "assistant", "content": "Blue."},
    ]
    docs.append(make_document(multi, "multi", "messages"))
    for doc in docs:
        msgs = doc.metadata["messages"]
        assert from_messages(to_messages(doc))[0][0] == msgs
        assert from_sharegpt(to_sharegpt(doc))[0][0] == msgs
        assert from_alpaca(to_alpaca(doc))[0][0] == msgs
        # and across: messages -> sharegpt -> alpaca -> messages
        via = make_document(from_sharegpt(to_sharegpt(doc))[0][0], doc.id, "sharegpt")
        assert from_alpaca(to_alpaca(via))[0][0] == msgs
    original = json.loads((DATA / "alpaca.json").read_text())
    alpaca_docs = [d for d in docs if d.metadata["source_format"] == "alpaca"]
    assert [{k: v for k, v in to_alpaca(d).items() if k != "id"} for d in alpaca_docs] == original
    assert (
        to_alpaca(docs[-1])["history"] == [["Hi", "Hello."]] and to_alpaca(docs[-1])["system"] == "Be brief."
    )


def test_to_alpaca_refuses_non_alternating():
    doc = make_document(
        [
            {"role": "user", "content": "a"},
            {"role": "user", "content": "b"},
            {"role": "assistant", "content": "c"},
        ],
        "x",
        "messages",
    )
    with pytest.raises(ValueError, match="alternate"):
        to_alpaca(doc)


def conv(user, answer):
    return make_document(
        [{"role": "user", "content": user}, {"role": "assistant", "content": answer}], "t", "x"
    )


def test_instruction_metrics_known_answers():
    m = instruction_metrics(
        conv("Name three primary colors please.", "Red, yellow and blue.").metadata["messages"]
    )
    assert m["prompt_words"] == 5 and m["response_words"] == 4 and m["max_turn_words"] == 5
    assert m["empty_output"] == m["placeholder_output"] == m["refusal"] == m["missing_content"] == 0
    assert m["merged_markers"] == 0


@pytest.mark.parametrize(
    "user,answer,reason",
    [
        ("Convert 20 inches to centimetres", "  ", "empty_output"),
        ("Compose a piano piece from the following notes.\n\nA-D-C", "<nooutput>", "placeholder_output"),
        ("What is your favorite food?", "As an AI language model, I do not eat.", "refusal"),
        ("Describe the following photo in detail.", "It shows a lake.", "missing_content"),
        ("Summarize the article: https://example.com/news/1", "The article says...", "missing_content"),
        ("Crop a portrait photo to a square. <image attached>", "Done.", "missing_content"),
        ("Summarize the following article.", "It is about cats.", "missing_content"),
        (
            "Describe hummingbirds.",
            "They hover.\n\n11. Instruction: Write a poem about joy.\n11. Input:\n<noinput>",
            "merged_instructions",
        ),
        ("Explain gravity", "Mass attracts mass.", "prompt_too_short"),
        ("Write a long essay on rivers.", "word " * 5000, "turn_too_long"),
    ],
)
def test_instruction_filter_reasons(user, answer, reason):
    doc = conv(user, answer)
    assert InstructionFilter().filter(doc) == (False, reason)
    assert f"instruct.{'refusal'}" in doc.metadata  # metrics written for removed documents too


def test_instruction_filter_keeps_clean_examples(tmp_path):
    docs, _ = read("alpaca", DATA / "self_instruct_seed.jsonl", tmp_path)
    f = InstructionFilter(InstructionFilterParams(languages=["en"]))
    verdicts = {d.id: f.filter(d) for d in docs}
    assert {k: v for k, v in verdicts.items() if v is not True} == {}


def test_missing_content_needs_a_pointer():
    assert not missing_content(
        "Generate a list of possible solutions. My computer crashed and I lost my photos."
    )
    assert not missing_content("Summarize the following article.\n\nCats sleep for most of the day.")
    assert not missing_content("Extract the domain name from https://example.com/a/b")
    assert missing_content("Identify the scientific name for the creature in the photo.")


def test_language_filter():
    f = InstructionFilter(InstructionFilterParams(languages=["en"]))
    fr = conv(
        "Écris une courte description de la ville de Lyon pour un guide touristique.",
        "Lyon est une ville française connue pour sa gastronomie et ses traboules.",
    )
    assert f.filter(fr) == (False, "lang_not_target")
    assert fr.metadata["instruct.lang"] == "fr" and fr.metadata["instruct.lang_score"] > 0.5
    # a translation task is English on the prompt side: kept
    tr = conv(
        "Translate to French: The weather is very nice today in the city.", "Il fait très beau en ville."
    )
    assert f.filter(tr) is True
    # language_id ran before: its label wins, no model call
    tagged = conv("Écris une courte description de la ville de Lyon.", "Lyon est belle.")
    tagged.metadata.update(lang="en", lang_score=0.9)
    assert f.filter(tagged) is True


# --- decontamination -------------------------------------------------------------------------------


def bench_filter(**kw):
    return Decontaminate(
        DecontaminateParams(against=[str(DATA / "bench_seed.jsonl"), str(DATA / "bench_seed.csv")], **kw)
    )


def test_normalization_and_informative_ngrams():
    assert normalize_words("Don't  STOP—now!\n(ok)") == ["don", "t", "stop", "now", "ok"]
    assert list(informative(["1", "2", "x", "if"], 2)) == [False, False, True]  # "if" is half of [x, if]
    assert list(informative(["the", "cat", "1", "2"], 2)) == [True, True, False]


def test_decontamination_finds_planted_items_and_keeps_clean(tmp_path):
    bench = [json.loads(x) for x in (DATA / "bench_seed.jsonl").read_text().splitlines()]
    csv_rows = list(csv.DictReader((DATA / "bench_seed.csv").open()))
    f = bench_filter()
    clean, _ = read("alpaca", DATA / "self_instruct_seed.jsonl", tmp_path)
    assert all(f.filter(d) is True for d in clean)
    assert all(d.metadata["decontam.hits"] == 0 for d in clean)

    long_input = bench[1]["instances"][0]["input"]  # 35 words
    edited = long_input.upper().replace(",", " ;")  # case and punctuation edits keep every 13-gram
    planted = {
        "verbatim_input": conv("Answer the question about this text.\n\n" + long_input, "ok"),
        "edited_input": conv("Read this.\n\n" + edited, "ok"),
        "in_answer": conv("Write something.", "Sure: " + bench[1]["instances"][0]["output"]),
        "short_question": conv(
            bench[0]["instruction"].lower().rstrip("."), "ok"
        ),  # 7 words: whole-item match
        "csv_question": conv(csv_rows[3]["question"], "ok"),
    }
    for name, doc in planted.items():
        assert f.filter(doc) == (False, "contaminated"), name
    assert planted["verbatim_input"].metadata["decontam.benchmark"] == "bench_seed.jsonl"
    assert planted["verbatim_input"].metadata["decontam.item"] == "seed_task_61"
    assert planted["csv_question"].metadata["decontam.benchmark"] == "bench_seed.csv"
    assert (
        planted["csv_question"].metadata["decontam.item"] == "4"
    )  # 4th data row (the header row is sniffed)
    assert f.stats["ledger:decontamination:bench_seed.jsonl"].total == 4

    # a short benchmark field as an *answer* is not contamination; a sub-13-word overlap is not either
    assert f.filter(conv("Name something.", bench[0]["instruction"])) is True
    assert f.filter(conv(" ".join(long_input.split()[:12]) + " and more words here", "ok")) is True


def test_decontam_index_is_not_pickled():
    import pickle

    f = bench_filter()
    f.filter(conv("hello there friend", "ok"))
    assert f._index is not None
    assert pickle.loads(pickle.dumps(f))._index is None


def test_decontam_missing_path_fails_at_build(tmp_path):
    with pytest.raises(FileNotFoundError):
        Decontaminate(DecontaminateParams(against=[str(tmp_path / "nope.jsonl")]))


def test_instruction_recipe_ledger_balances(run_recipe, tmp_path):
    data = tmp_path / "in.jsonl"
    lines = (DATA / "self_instruct_seed.jsonl").read_text().splitlines()[:10]
    lines += [
        lines[0],
        '{"instruction": "no output"}',
        '{"instruction": "Rewrite this sentence.", "output": "ok"}',
    ]
    data.write_text("\n".join(lines) + "\n")
    recipe = {
        "name": "instruct-test",
        "input": {"format": "alpaca", "path": str(data)},
        "steps": [
            {"instruction_filters": {}},
            {"exact_dedup": {"field": "prompt"}},
            {"decontaminate": {"against": [str(DATA / "bench_seed.csv")]}},
        ],
        "output": {"format": "alpaca", "keep_removed": True},
        "executor": {"kind": "local", "tasks": 1},
    }
    code, run_dir, summary = run_recipe(recipe)
    assert code == 0, summary
    assert summary["rejected"] == 1
    assert summary["steps"][0]["removed_by_reason"] == {"missing_content": 1}
    assert summary["steps"][1]["removed"] == 1
    assert summary["output"]["docs"] == 10 and summary["invariant"]["ok"]
    # output.format: alpaca, read back by the alpaca reader: the same conversations as the input
    out, rejected = read("alpaca", next((run_dir / "output").iterdir()), tmp_path / "back")
    src, _ = read("alpaca", DATA / "self_instruct_seed.jsonl", tmp_path / "src")
    assert rejected == [] and [d.metadata["messages"] for d in out] == [
        d.metadata["messages"] for d in src[:10]
    ]
