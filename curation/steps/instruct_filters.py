"""`instruction_filters`: drop conversations that are not good training examples.

Works on documents read by an instruction reader (`curation/formats/instruct.py`), which carry
`metadata.messages`. Removes empty or placeholder outputs, refusals, prompts about content the text
cannot carry (images, attachments, pages behind a URL), merged generation tasks, too short or too long
turns and, optionally, conversations not in the target languages. Metrics go under `instruct.*`.
"""

from __future__ import annotations

import re

from datatrove.data import Document
from pydantic import Field

from curation.formats.instruct import messages_of, normalize_prompt
from curation.registry import OpParams, StepContext, register_op
from curation.steps.base import ScoredFilter

_WS = re.compile(r"\s+")

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
        msgs = messages_of(doc)
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
