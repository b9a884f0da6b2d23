"""The `pii` op (`curation.steps.pii.op`): its params and builder, the datatrove step on documents
(`pii.<kind>` metadata, ledger counts, chat turns), and a recipe run's summary.json counts. The
detectors and the scanner have their own files (test_pii_contacts, _financial, _secrets, _scan).

Run: `.venv/bin/python -m pytest tests/curation/steps/test_pii.py`
"""

import pytest
from datatrove.data import Document
from pydantic import ValidationError

from curation.registry import StepContext, get_op
from curation.steps.pii import DEFAULT_KINDS, PIIScrubber
from tests.curation.steps.pii_cases import TEXT

# --- the op and the datatrove step ---------------------------------------------------------------


def test_op_params_and_builder(tmp_path):
    op = get_op("pii")
    params = op.params()
    assert params.kinds == list(DEFAULT_KINDS) and params.replace == "tag"
    with pytest.raises(ValidationError):
        op.params(kinds=["email", "ssn"])
    with pytest.raises(ValidationError):
        op.params(kinds=["email", "email"])
    with pytest.raises(ValidationError):
        op.params(replace="blank")
    with pytest.raises(ValidationError):
        op.params(mask=True)  # unknown key
    step = op.build(
        op.params(kinds=["email", "phone"], replace="mask"), StepContext(run_dir=tmp_path, step_id="pii")
    )
    assert isinstance(step, PIIScrubber) and step.kinds == ("email", "phone") and step.replace == "mask"


def test_step_on_documents():
    docs = [
        Document(text=TEXT, id="0"),
        Document(text="nothing to see, version 1.2.3.4", id="1"),
        Document(text="two mails: x@y.io z@w.org", id="2"),
    ]
    step = PIIScrubber()
    out = list(step.run(iter(docs)))
    assert [d.id for d in out] == ["0", "1", "2"]  # a transform never drops a document
    assert out[0].text.startswith("Mail <EMAIL> from <IP_ADDRESS>")
    assert out[1].text == "nothing to see, version 1.2.3.4"
    assert out[2].metadata["pii.email"] == 2
    assert {k: v for k, v in out[1].metadata.items() if k.startswith("pii.")} == dict.fromkeys(
        (f"pii.{k}" for k in DEFAULT_KINDS), 0
    )
    stats = step.stats.stats
    assert stats["total"].total == 3 and stats["forwarded"].total == 3
    assert stats["ledger:pii:email"].total == 3 and stats["ledger:pii:secret"].total == 1
    assert "ledger:pii:iban" not in stats  # zero counts are not written to the ledger


def test_recipe_run_writes_summary_and_metadata(run_recipe, tmp_path):
    """`pii` in a recipe: scrubbed output, `pii.<kind>` metadata, summary.json `pii` counts, nothing lost."""
    import json

    from tests.conftest import read_output

    src = tmp_path / "in.jsonl"
    rows = [{"id": "a", "text": TEXT}, {"id": "b", "text": "no pii, see section 1.2.3.4"}]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, run_dir, summary = run_recipe(
        {"name": "t", "input": {"format": "jsonl", "path": str(src)}, "steps": [{"pii": {"replace": "tag"}}]}
    )
    assert code == 0
    out = {d["id"]: d for d in read_output(run_dir)}
    assert out["a"]["text"].startswith("Mail <EMAIL> from <IP_ADDRESS>")
    assert out["a"]["metadata"]["pii.secret"] == 1 and out["b"]["metadata"]["pii.email"] == 0
    assert summary["pii"] == {"email": 1, "ip_address": 1, "phone": 1, "credit_card": 1, "secret": 1}
    assert summary["invariant"]["ok"] and summary["steps"][0]["removed"] == 0


def test_chat_turns_in_metadata_are_scrubbed_too():
    from datatrove.data import Document

    from curation.steps.pii import PIIScrubber

    msgs = [{"role": "user", "content": "Mail me at jane.doe@example.org"}, {"role": "assistant", "content": "Sure."}]
    doc = Document(text="user: Mail me at jane.doe@example.org\nassistant: Sure.", id="c1", metadata={"messages": msgs})
    out = next(iter(PIIScrubber(kinds=["email"], replace="tag").run(iter([doc]))))
    assert out.metadata["messages"][0]["content"] == "Mail me at <EMAIL>"
    assert "<EMAIL>" in out.text and out.metadata["pii.email"] == 1

