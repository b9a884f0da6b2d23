"""Instruction data formats: four chat input formats -> one schema, and three chat output formats.

Readers (`input.format`): `alpaca` (instruction/input/output; also self-instruct's `instances`),
`sharegpt` (conversations of from/value), `messages` (OpenAI role/content) and `prompt_completion`.
Each file is a JSON array or JSON lines (optionally .gz/.zst). Every document gets

  - `metadata.messages`: `[{"role": "system"|"user"|"assistant", "content": str}, ...]`
  - `metadata.prompt`: the first user turn, normalized (NFKC, lowercase, collapsed whitespace) for dedup
  - `text`: the conversation rendered as `User: ...\\n\\nAssistant: ...` (what text filters and MinHash see)

A record that cannot become such a conversation (missing field, wrong type, unknown role, no user or
no assistant turn) is rejected with the reason; filters decide about records that *are* conversations.
`to_messages`, `to_alpaca`, `to_sharegpt` turn a document back into a record (lossless round trip).
The `instruction_filters` op that works on these documents is in `curation/steps/instruct_filters.py`.
"""

from __future__ import annotations

import io
import re
import unicodedata
from functools import partial

import orjson
from datatrove.data import Document
from datatrove.pipeline.readers.base import BaseDiskReader
from pydantic import Field

from curation.formats.base import (
    STREAM_ERRORS,
    UTF8_BOM,
    RejectingReaderMixin,
    disk_kwargs,
    open_stream,
    with_rejects,
)
from curation.formats.jsonl import ShardedJsonlWriter
from curation.formats.writers import register_writer
from curation.registry import InputParams, ReaderContext, register_reader

ROLES = ("system", "user", "assistant")
TITLES = {"system": "System", "user": "User", "assistant": "Assistant"}
SHAREGPT_ROLES = {
    "human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "chatgpt": "assistant",
    "bard": "assistant", "bing": "assistant", "model": "assistant", "system": "system",
}  # fmt: skip
TO_SHAREGPT = {"system": "system", "user": "human", "assistant": "gpt"}
_WS = re.compile(r"\s+")


class MalformedRecord(ValueError):
    """A record that is not a conversation in the declared format (rejected, not filtered)."""


# --- schema --------------------------------------------------------------------------------------


def normalize_prompt(text: str) -> str:
    """The dedup key of a conversation: NFKC, lowercase, whitespace collapsed, stripped."""
    return _WS.sub(" ", unicodedata.normalize("NFKC", text)).strip().lower()


def render_text(messages: list[dict]) -> str:
    """`Role: content` blocks separated by blank lines (the `text` of an instruction document)."""
    return "\n\n".join(f"{TITLES[m['role']]}: {m['content']}" for m in messages)


def _str(rec: dict, key: str, required: bool = True) -> str:
    value = rec.get(key)
    if value is None and not required:
        return ""
    if value is None:
        raise MalformedRecord(f"missing field {key!r}")
    if not isinstance(value, str):
        raise MalformedRecord(f"field {key!r} is {type(value).__name__}, not str")
    return value


def validate(messages: list[dict]) -> list[dict]:
    """Check roles and contents; a conversation needs a user and an assistant turn, system only first."""
    if not messages:
        raise MalformedRecord("empty conversation")
    for i, m in enumerate(messages):
        if m["role"] not in ROLES:
            raise MalformedRecord(f"turn {i}: unknown role {m['role']!r}")
        if not isinstance(m["content"], str):
            raise MalformedRecord(f"turn {i}: content is {type(m['content']).__name__}, not str")
        if m["role"] == "system" and i != 0:
            raise MalformedRecord(f"turn {i}: system message after the first turn")
    roles = {m["role"] for m in messages}
    if "user" not in roles or "assistant" not in roles:
        raise MalformedRecord("conversation needs a user and an assistant turn")
    return messages


def alpaca_user(instruction: str, input_: str) -> str:
    """Alpaca's instruction and input as one user turn (the Alpaca prompt puts input after instruction)."""
    return f"{instruction}\n\n{input_}" if input_.strip() else instruction


def from_alpaca(rec: dict) -> list[tuple[list[dict], dict]]:
    """Alpaca (+ LLaMA-Factory `system`/`history`), or self-instruct with `instances`: one conversation each."""
    instruction = _str(rec, "instruction")
    if "instances" in rec:  # self-instruct seed / user-oriented tasks
        if not isinstance(rec["instances"], list) or not rec["instances"]:
            raise MalformedRecord("field 'instances' is not a non-empty list")
        pairs = []
        for k, inst in enumerate(rec["instances"]):
            if not isinstance(inst, dict):
                raise MalformedRecord(f"instance {k} is not an object")
            pairs.append((_str(inst, "input", required=False), _str(inst, "output")))
    else:
        pairs = [(_str(rec, "input", required=False), _str(rec, "output"))]
    prefix = [{"role": "system", "content": _str(rec, "system")}] if rec.get("system") else []
    for turn in rec.get("history") or []:
        if not (isinstance(turn, list) and len(turn) == 2 and all(isinstance(t, str) for t in turn)):
            raise MalformedRecord("history turns must be [user, assistant] string pairs")
        prefix += [{"role": "user", "content": turn[0]}, {"role": "assistant", "content": turn[1]}]
    out = []
    for input_, output in pairs:
        msgs = prefix + [
            {"role": "user", "content": alpaca_user(instruction, input_)},
            {"role": "assistant", "content": output},
        ]
        out.append((validate(msgs), {"alpaca_input": input_} if input_.strip() else {}))
    return out


def from_sharegpt(rec: dict) -> list[tuple[list[dict], dict]]:
    conv = rec.get("conversations")
    if not isinstance(conv, list):
        raise MalformedRecord("field 'conversations' is missing or not a list")
    msgs = [{"role": "system", "content": _str(rec, "system")}] if rec.get("system") else []
    for i, turn in enumerate(conv):
        if not isinstance(turn, dict):
            raise MalformedRecord(f"turn {i} is not an object")
        speaker = _str(turn, "from")
        if speaker.lower() not in SHAREGPT_ROLES:
            raise MalformedRecord(f"turn {i}: unknown speaker {speaker!r}")
        msgs.append({"role": SHAREGPT_ROLES[speaker.lower()], "content": _str(turn, "value")})
    return [(validate(msgs), {})]


def from_messages(rec: dict) -> list[tuple[list[dict], dict]]:
    raw = rec.get("messages")
    if not isinstance(raw, list):
        raise MalformedRecord("field 'messages' is missing or not a list")
    msgs = []
    for i, m in enumerate(raw):
        if not isinstance(m, dict):
            raise MalformedRecord(f"message {i} is not an object")
        content = m.get("content")
        if isinstance(content, list):  # OpenAI content parts: text only (an image cannot be training text)
            if any(not isinstance(p, dict) or p.get("type") != "text" for p in content):
                raise MalformedRecord(f"message {i}: non-text content part")
            content = "".join(str(p.get("text", "")) for p in content)
        msgs.append({"role": _str(m, "role"), "content": content})
    return [(validate(msgs), {})]


def from_prompt_completion(rec: dict) -> list[tuple[list[dict], dict]]:
    msgs = [
        {"role": "user", "content": _str(rec, "prompt")},
        {"role": "assistant", "content": _str(rec, "completion")},
    ]
    return [(validate(msgs), {})]


PARSERS = {
    "alpaca": from_alpaca,
    "sharegpt": from_sharegpt,
    "messages": from_messages,
    "prompt_completion": from_prompt_completion,
}


def make_document(messages: list[dict], doc_id: str, fmt: str, extra: dict | None = None) -> Document:
    """A document in the common schema (see the module docstring)."""
    first_user = next(m["content"] for m in messages if m["role"] == "user")
    meta = {
        "messages": messages,
        "prompt": normalize_prompt(first_user),
        "source_format": fmt,
        **(extra or {}),
    }
    return Document(text=render_text(messages), id=doc_id, metadata=meta)


# --- output formats (the writer calls these for output.format: messages | alpaca | sharegpt) -------


def messages_of(doc: Document) -> list[dict]:
    msgs = doc.metadata.get("messages")
    if not isinstance(msgs, list):
        raise ValueError(f"document {doc.id} has no metadata.messages (read it with an instruction format)")  # noqa: TRY004 (STYLE: ValueError for data)
    return msgs


def to_messages(doc: Document) -> dict:
    """`{"id", "messages": [{"role", "content"}]}` (OpenAI chat format)."""
    return {
        "id": doc.id,
        "messages": [{"role": m["role"], "content": m["content"]} for m in messages_of(doc)],
    }


def to_sharegpt(doc: Document) -> dict:
    """`{"id", "conversations": [{"from": "system"|"human"|"gpt", "value"}]}`."""
    return {"id": doc.id, "conversations": [{"from": TO_SHAREGPT[m["role"]], "value": m["content"]} for m in messages_of(doc)]}  # fmt: skip


def to_alpaca(doc: Document) -> dict:
    """`{"id", "instruction", "input", "output"}` (+ `system`, `history` for multi-turn, LLaMA-Factory style).

    The input is split off again when the reader recorded it (`metadata.alpaca_input`); otherwise the
    whole last user turn is the instruction. Raises ValueError when turns do not alternate user/assistant
    or the conversation does not end with an assistant turn (Alpaca cannot represent it).
    """
    msgs = list(messages_of(doc))
    out: dict = {"id": doc.id}
    if msgs and msgs[0]["role"] == "system":
        out["system"] = msgs.pop(0)["content"]
    if len(msgs) % 2 or any(m["role"] != ("user", "assistant")[i % 2] for i, m in enumerate(msgs)):
        raise ValueError(
            f"document {doc.id}: turns do not alternate user/assistant; not representable as Alpaca"
        )
    history = [[msgs[i]["content"], msgs[i + 1]["content"]] for i in range(0, len(msgs) - 2, 2)]
    user, output = msgs[-2]["content"], msgs[-1]["content"]
    input_ = doc.metadata.get("alpaca_input") or ""
    if input_ and user.endswith(f"\n\n{input_}"):
        out.update(instruction=user[: -len(input_) - 2], input=input_, output=output)
    else:
        out.update(instruction=user, input="", output=output)
    if history:
        out["history"] = history
    return out


FORMATTERS = {"messages": to_messages, "alpaca": to_alpaca, "sharegpt": to_sharegpt}


# --- readers -------------------------------------------------------------------------------------


class _InstructDiskReader(BaseDiskReader):
    """Records from JSON arrays or JSON lines -> one document per conversation."""

    name = "💬 Instructions"
    fmt = "messages"

    def _records(self, filepath: str):
        """(position, record) pairs; a truncated compressed file rejects the rest from where it broke.

        Read as a stream: JSON lines one at a time; a JSON array (first non-blank byte `[`) whole.
        """
        self._line_no = 0
        try:
            with open_stream(self.data_folder, filepath) as f:
                head = f.peek(1 << 16)[:1 << 16] if hasattr(f, "peek") else b""
                if head.removeprefix(UTF8_BOM).lstrip()[:1] == b"[":
                    raw = f.read().removeprefix(UTF8_BOM)
                    try:
                        data = orjson.loads(raw)
                    except orjson.JSONDecodeError as e:
                        if len(raw.strip().splitlines()) > 1:  # JSON lines whose first record is an array:
                            yield from self._lines(filepath, io.BytesIO(raw))  # each line is counted
                            return
                        self.reject(filepath, None, f"malformed JSON: {e}", raw)
                        return
                    if not isinstance(data, list):
                        self.reject(filepath, None, "a JSON file must hold an array of records", raw)
                        return
                    yield from enumerate(data)
                    return
                yield from self._lines(filepath, f)
        except STREAM_ERRORS as e:
            self.reject(filepath, self._line_no + 1, f"truncated or corrupt compressed stream: {e}")

    def _lines(self, filepath: str, f):
        """(line number, record) of JSON lines; a malformed line is rejected with its number."""
        self._line_no = 0
        for line_no, line in enumerate(f, start=1):
            self._line_no = line_no
            if line_no == 1:
                line = line.removeprefix(UTF8_BOM)
            if not line.strip():
                continue
            try:
                yield line_no, orjson.loads(line)
            except orjson.JSONDecodeError as e:
                self.reject(filepath, line_no, f"malformed JSON: {e}", line)

    def read_file(self, filepath: str):
        parse = PARSERS[self.fmt]
        for pos, rec in self._records(filepath):
            with self.track_time():
                if not isinstance(rec, dict):
                    self.reject(filepath, pos, f"record is a {type(rec).__name__}, not an object", rec)
                    continue
                try:
                    convs = parse(rec)
                except MalformedRecord as e:
                    self.reject(filepath, pos, f"malformed {self.fmt} record: {e}", rec)
                    continue
            rid = rec.get(
                self.id_key
            )  # the record's own id, else file:line (JSONL, 1-based) / file:index (array)
            base = str(rid) if isinstance(rid, (str, int)) else f"{filepath}:{pos}"
            for k, (msgs, extra) in enumerate(convs):
                doc = make_document(msgs, base if len(convs) == 1 else f"{base}#{k}", self.fmt, extra)
                nbytes = len(doc.text.encode("utf-8", errors="surrogatepass"))
                if self.max_doc_bytes and nbytes > self.max_doc_bytes:
                    self.reject(filepath, pos, f"document too large: {nbytes} bytes of text > input.max_doc_bytes "
                                f"{self.max_doc_bytes}", doc.text[:2000])
                    continue
                self.stat_update("input_bytes", value=nbytes)
                yield doc


class AlpacaReader(RejectingReaderMixin, _InstructDiskReader):
    fmt = "alpaca"


class ShareGPTReader(RejectingReaderMixin, _InstructDiskReader):
    fmt = "sharegpt"


class MessagesReader(RejectingReaderMixin, _InstructDiskReader):
    fmt = "messages"


class PromptCompletionReader(RejectingReaderMixin, _InstructDiskReader):
    fmt = "prompt_completion"


READERS = {r.fmt: r for r in (AlpacaReader, ShareGPTReader, MessagesReader, PromptCompletionReader)}


class InstructInputParams(InputParams):
    text_key: str = Field("text", description="unused: instruction formats render `text` from the turns")


def _register(fmt: str, doc: str):
    def build(p: InstructInputParams, ctx: ReaderContext):
        kwargs = disk_kwargs(p, ctx)
        return with_rejects(READERS[fmt](**kwargs), ctx, p)

    build.__doc__ = doc
    register_reader(fmt, InstructInputParams)(build)


_register("alpaca", "Alpaca instruction/input/output (JSON array or JSONL; self-instruct `instances` too).")
_register("sharegpt", "ShareGPT `conversations: [{from: human|gpt|system, value}]` (JSON array or JSONL).")
_register("messages", "OpenAI chat `messages: [{role, content}]` (JSON array or JSONL).")
_register("prompt_completion", "`{prompt, completion}` pairs (JSON array or JSONL).")


def _format_adapter(fn, _writer, doc: Document) -> dict:
    return fn(doc)


def _register_writer(name: str, fn) -> None:
    def build(folder, max_shard_docs=None, max_shard_bytes=None):
        return ShardedJsonlWriter(folder, max_shard_docs, max_shard_bytes, adapter=partial(_format_adapter, fn))

    build.__doc__ = f"one `{name}` record a line (jsonl.gz shards)"
    register_writer(name)(build)


for _name, _fn in FORMATTERS.items():  # output.format: messages | alpaca | sharegpt
    _register_writer(_name, _fn)
