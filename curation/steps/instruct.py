"""Instruction data: four chat formats -> one schema, the output converters, and `instruction_filters`.

Readers (`input.format`): `alpaca` (instruction/input/output; also self-instruct's `instances`),
`sharegpt` (conversations of from/value), `messages` (OpenAI role/content) and `prompt_completion`.
Each file is a JSON array or JSON lines (optionally .gz/.zst). Every document gets

  - `metadata.messages`: `[{"role": "system"|"user"|"assistant", "content": str}, ...]`
  - `metadata.prompt`: the first user turn, normalized (NFKC, lowercase, collapsed whitespace) for dedup
  - `text`: the conversation rendered as `User: ...\\n\\nAssistant: ...` (what text filters and MinHash see)

A record that cannot become such a conversation (missing field, wrong type, unknown role, no user or
no assistant turn) is rejected with the reason; filters decide about records that *are* conversations.
`to_messages`, `to_alpaca`, `to_sharegpt` turn a document back into a record (lossless round trip).
"""

from __future__ import annotations

import re
import unicodedata

import orjson
from datatrove.data import Document
from datatrove.pipeline.readers.base import BaseDiskReader
from pydantic import Field

from curation.readers import RejectingReaderMixin, _disk_kwargs, _with_rejects
from curation.registry import InputParams, OpParams, ReaderContext, StepContext, register_op, register_reader
from curation.steps.base import ScoredFilter

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


def _messages_of(doc: Document) -> list[dict]:
    msgs = doc.metadata.get("messages")
    if not isinstance(msgs, list):
        raise ValueError(f"document {doc.id} has no metadata.messages (read it with an instruction format)")  # noqa: TRY004 (STYLE: ValueError for data)
    return msgs


def to_messages(doc: Document) -> dict:
    """`{"id", "messages": [{"role", "content"}]}` (OpenAI chat format)."""
    return {
        "id": doc.id,
        "messages": [{"role": m["role"], "content": m["content"]} for m in _messages_of(doc)],
    }


def to_sharegpt(doc: Document) -> dict:
    """`{"id", "conversations": [{"from": "system"|"human"|"gpt", "value"}]}`."""
    return {"id": doc.id, "conversations": [{"from": TO_SHAREGPT[m["role"]], "value": m["content"]} for m in _messages_of(doc)]}  # fmt: skip


def to_alpaca(doc: Document) -> dict:
    """`{"id", "instruction", "input", "output"}` (+ `system`, `history` for multi-turn, LLaMA-Factory style).

    The input is split off again when the reader recorded it (`metadata.alpaca_input`); otherwise the
    whole last user turn is the instruction. Raises ValueError when turns do not alternate user/assistant
    or the conversation does not end with an assistant turn (Alpaca cannot represent it).
    """
    msgs = list(_messages_of(doc))
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
        with self.data_folder.open(filepath, "rb", compression="infer") as f:
            raw = f.read()
        if raw.lstrip()[:1] == b"[":
            try:
                data = orjson.loads(raw)
            except orjson.JSONDecodeError as e:
                self.reject(filepath, None, f"malformed JSON: {e}", raw)
                return
            yield from enumerate(data)
            return
        for line_no, line in enumerate(raw.splitlines(), start=1):
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
                self.stat_update("input_bytes", value=len(doc.text.encode("utf-8", errors="surrogatepass")))
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
        kwargs = _disk_kwargs(p, ctx)
        return _with_rejects(READERS[fmt](**kwargs), ctx)

    build.__doc__ = doc
    register_reader(fmt, InstructInputParams)(build)


_register("alpaca", "Alpaca instruction/input/output (JSON array or JSONL; self-instruct `instances` too).")
_register("sharegpt", "ShareGPT `conversations: [{from: human|gpt|system, value}]` (JSON array or JSONL).")
_register("messages", "OpenAI chat `messages: [{role, content}]` (JSON array or JSONL).")
_register("prompt_completion", "`{prompt, completion}` pairs (JSON array or JSONL).")


# --- instruction_filters -------------------------------------------------------------------------

# Placeholders Alpaca / self-instruct generation leaves in outputs (Taori et al. 2023 data; "<nooutput>").
PLACEHOLDERS = {
    "n/a",
    "na",
    "<noinput>",
    "<nooutput>",
    "<no output>",
    "<no input>",
    "no output",
    "-",
    "...",
    "tbd",
}
# Refusal and model-identity phrases, after the lists used to clean ShareGPT/WizardLM ("unfiltered" sets).
REFUSAL = re.compile(
    r"(?<!such )\bas an ai\b|\bas a (?:large )?language model|"
    r"i(?:'m| am) (?:sorry|afraid),? (?:but )?i (?:cannot|can't|can not|am unable|am not able|don't have)|"
    r"i (?:cannot|can't|am unable to|am not able to) (?:fulfill|complete|comply|browse|access|view|see|perform)|"
    r"i do(?:n't| not) have (?:access|the ability|personal (?:opinions|experiences|feelings))|"
    r"this is an inappropriate instruction|cannot be completed by a gpt|as a text-based",
    re.IGNORECASE,
)
# Content the text cannot carry: media placeholders, attachments, pages behind a URL.
MEDIA_TOKEN = re.compile(
    r"<\s*(?:image|img|video|audio|photo|picture)\b[^>]*>|\[\s*(?:image|photo|picture|video|audio)\b[^\]]*\]|"
    r"!\[[^\]]*\]\([^)]*\)|\((?:link|image|photo) to [^)]*\)",
    re.IGNORECASE,
)
ATTACHED = re.compile(
    r"\b(?:the|this|an?|see)\s+(?:attached|attachment|enclosed)\b|"
    r"\battached\s+(?:file|image|photo|document|pdf|picture|screenshot|spreadsheet)s?\b",
    re.IGNORECASE,
)
URL = re.compile(r"https?://\S+|\bwww\.\S+", re.IGNORECASE)
URL_CONTENT = re.compile(
    r"\b(?:article|video|page|web ?page|website|site|link|post|blog|paper|pdf|image|photo|picture|painting|"
    r"song|spreadsheet|document|repository|tweet|clip|podcast|news)s?\b",
    re.IGNORECASE,
)
# "this photo", "the following article", "the photo below": the turn points at a specific thing
DEICTIC = r"\b(?:this|these|the (?:following|given|above|below|provided|attached))\s+(?:[\w-]+\s+)?"
POINTED = r"s?\b(?:\s+(?:below|above|provided|attached)\b)?"
MEDIA = r"(?:image|photo|photograph|picture|painting|drawing|sketch|video|clip|audio|recording|screenshot|figure|diagram)"
MEDIA_REF = re.compile(
    DEICTIC
    + MEDIA
    + POINTED
    + r"|\b(?:in|from|of|on) the "
    + MEDIA
    + r"s?\b|\bthe "
    + MEDIA
    + r"s? (?:below|above)\b",
    re.IGNORECASE,
)
TEXT_REF = re.compile(
    DEICTIC + r"(?:article|text|passage|paragraph|document|essay|story|email|poem|report|sentence|code|list|"
    r"data|conversation|dialogue|review|tweet|speech)s?\b",
    re.IGNORECASE,
)
INSTRUCTION_MARKER = re.compile(
    r"^\s*(?:#{1,4}\s*)?(?:\d+\s*[.)]\s*)?instruction\s*\d*\s*:", re.IGNORECASE | re.MULTILINE
)


def missing_content(user: str) -> bool:
    """True when a user turn refers to content that is not in the text (image, attachment, page at a URL).

    A reference to text (`Summarize the following article.`) counts only in a single-paragraph turn and
    when fewer than 3 words follow it.
    """
    if MEDIA_TOKEN.search(user) or ATTACHED.search(user) or MEDIA_REF.search(user):
        return True
    if URL.search(user) and URL_CONTENT.search(URL.sub(" ", user)):
        return True
    if "\n\n" in user.strip():  # an input paragraph follows the instruction: the referred text is there
        return False
    last = None
    for last in TEXT_REF.finditer(user):
        pass
    return last is not None and len(user[last.end() :].split()) < 3


def instruction_metrics(messages: list[dict]) -> dict[str, float]:
    """The `instruct.*` metrics of one conversation (pure; thresholds in `InstructionFilter.decide`)."""
    users = [m["content"] for m in messages if m["role"] == "user"]
    answers = [m["content"] for m in messages if m["role"] == "assistant"]
    words = [len(m["content"].split()) for m in messages]
    user_markers = max((len(INSTRUCTION_MARKER.findall(u)) for u in users), default=0)
    return {
        "prompt_words": min(len(u.split()) for u in users),
        "response_words": min(len(a.split()) for a in answers),
        "max_turn_words": max(words),
        "empty_output": float(any(not a.strip() for a in answers)),
        "placeholder_output": float(any(normalize_prompt(a) in PLACEHOLDERS for a in answers)),
        "refusal": float(any(REFUSAL.search(a) for a in answers)),
        "missing_content": float(any(missing_content(u) for u in users)),
        # a second "Instruction:" in a prompt, or one in an answer: generation ran into the next task
        "merged_markers": sum(len(INSTRUCTION_MARKER.findall(a)) for a in answers) + max(user_markers - 1, 0),
    }


class InstructionFilterParams(OpParams):
    min_prompt_words: int = Field(3, ge=0, description="remove when a user turn has fewer words")
    min_response_words: int = Field(1, ge=0, description="remove when an assistant turn has fewer words")
    max_turn_words: int = Field(4096, ge=1, description="remove when any turn has more words")
    remove_refusals: bool = Field(True, description="remove answers with refusal / 'as an AI' phrases")
    remove_missing_content: bool = Field(True, description="remove prompts about images, attachments, URLs")
    max_merged_markers: int = Field(0, ge=0, description="max extra 'Instruction:' markers (merged tasks)")
    languages: list[str] | None = Field(
        None, description="keep only conversations in these languages (ISO codes); null: all"
    )
    min_lang_score: float = Field(
        0.5,
        ge=0,
        le=1,
        description="remove only when fastText is at least this sure of another language",
    )
    lid_model: str | None = Field(
        None, description="fastText LID model path (default: the shipped lid.176.ftz)"
    )


class InstructionFilter(ScoredFilter):
    name = "💬 Instruction filters"
    metric_prefix = "instruct."

    def __init__(self, params: InstructionFilterParams | None = None, exclusion_writer=None):
        super().__init__(exclusion_writer)
        self.params = params or InstructionFilterParams()
        self._model = None

    def _language(self, doc: Document, turns: list[str]) -> tuple[str, float]:
        if "lang" in doc.metadata:  # language_id ran before us
            return doc.metadata["lang"], float(doc.metadata.get("lang_score", 1.0))
        if self._model is None:
            import fasttext

            from curation.resources import LID_MODEL

            self._model = fasttext.load_model(str(self.params.lid_model or LID_MODEL))
        labels, scores = self._model.predict(_WS.sub(" ", " ".join(turns)).strip(), k=1)
        return labels[0].removeprefix("__label__"), float(scores[0])

    def score(self, doc: Document) -> dict[str, float]:
        msgs = _messages_of(doc)
        scores = instruction_metrics(msgs)
        if self.params.languages:
            # prompt and answers apart: a translation task is in the target language on one side
            side = [
                self._language(doc, [m["content"] for m in msgs if (m["role"] == "assistant") == a])
                for a in (0, 1)
            ]
            lang, lang_score = min(side, key=lambda ls: (ls[0] not in self.params.languages, -ls[1]))
            doc.metadata["instruct.lang"] = lang
            scores["lang_score"] = lang_score
        return scores

    def __getstate__(self):  # a loaded fastText model does not pickle; each worker loads its own
        state = self.__dict__.copy()
        state["_model"] = None
        return state

    def decide(self, doc: Document, s: dict[str, float]) -> bool | tuple[bool, str]:
        p = self.params
        checks = [
            (s["empty_output"], "empty_output"),
            (s["placeholder_output"], "placeholder_output"),
            (p.remove_refusals and s["refusal"], "refusal"),
            (p.remove_missing_content and s["missing_content"], "missing_content"),
            (s["merged_markers"] > p.max_merged_markers, "merged_instructions"),
            (s["prompt_words"] < p.min_prompt_words, "prompt_too_short"),
            (s["response_words"] < p.min_response_words, "response_too_short"),
            (s["max_turn_words"] > p.max_turn_words, "turn_too_long"),
        ]
        if p.languages:
            lang = doc.metadata.get("instruct.lang")
            checks.append(
                (lang not in p.languages and s["lang_score"] >= p.min_lang_score, "lang_not_target")
            )
        for failed, reason in checks:
            if failed:
                return False, reason
        return True


def _thresholds(p: InstructionFilterParams) -> dict:
    return {
        "instruct.prompt_words": {"op": "min", "value": p.min_prompt_words},
        "instruct.response_words": {"op": "min", "value": p.min_response_words},
        "instruct.max_turn_words": {"op": "max", "value": p.max_turn_words},
        "instruct.merged_markers": {"op": "max", "value": p.max_merged_markers},
    }


@register_op("instruction_filters", InstructionFilterParams, thresholds=_thresholds)
def instruction_filters(p: InstructionFilterParams, ctx: StepContext):
    """Instruction-data filters: empty/placeholder outputs, refusals, missing content, merged tasks, lengths, language."""
    return InstructionFilter(p, exclusion_writer=ctx.removed_writer())


def _register_output_formats() -> None:
    from curation.writers import register_output_format

    for name, fn in FORMATTERS.items():  # output.format: messages | alpaca | sharegpt (one record a line)
        register_output_format(name, "jsonl.gz", fn)


_register_output_formats()
