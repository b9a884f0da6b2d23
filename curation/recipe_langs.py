"""Every language code a recipe names is one its LID model can write, and none is configured for a
language an earlier `language_id` step removes.

`language_id.keep` and `min_score` check their own codes (curation/steps/langid.py); the codes other
ops take were not checked, so `roots_filters: {per_lang: {eng: {min_words: 5}}}` validated and was
silently ignored (documents carry `lang: en`). This pass runs once the steps are parsed and checks, in
every step, the parameters that hold language codes (`LANG_FIELDS`) against the labels of the model
that writes `lang`: the recipe's first `language_id` model, else the op's own LID model, else the
shipped lid.176.ftz.

An override for a language that an earlier `language_id.keep` drops is an error, not a warning: it can
never apply (no such document reaches the step), and a recipe is hand-written and reviewed, so dead
configuration that looks like tuning misleads the next reader; the message names both fixes.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from curation.resources import LID_MODEL

# parameter name -> how it holds codes: "keys" of a mapping or "items" of a list
LANG_FIELDS = {"per_lang": "keys", "languages": "items", "char_langs": "items"}
NOT_CODES = {"default"}  # per_lang / min_score's fallback entry
OWN_MODEL_FIELDS = (
    "lid_model_path",
    "lid_model",
)  # an op's own LID model (roots_filters, instruction_filters)


def _codes(params: Any) -> list[tuple[str, str]]:
    """(field, code) for every language code in a step's params."""
    out = []
    for field, kind in LANG_FIELDS.items():
        value = getattr(params, field, None)
        if not value:
            continue
        codes = value.keys() if kind == "keys" else value
        out += [(field, str(c)) for c in codes if str(c) not in NOT_CODES]
    return out


def _suggestion(code: str, known: frozenset[str]) -> str:
    from curation.steps.langid import LANGUAGE_NAMES

    hint = LANGUAGE_NAMES.get(code.lower())
    close = (
        [hint] if hint in known else difflib.get_close_matches(code.lower(), sorted(known), n=3, cutoff=0.6)
    )
    if (
        not close and len(code) == 3
    ):  # ISO 639-3 (eng) or a 3-letter typo: codes sharing its first two letters
        close = sorted(c for c in known if len(c) == 2 and code.lower().startswith(c))[:3]
    return f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""


def check_languages(steps: list[tuple[Any, tuple]], ctx) -> None:
    """Raise `ctx.error` (file:line: key) for an unknown code or an override for a dropped language.

    Args:
        steps: (Step, key path of the step's params) in pipeline order.
        ctx: the recipe's RecipeContext.
    """
    from curation.steps.langid import model_languages

    lid = next((s for s, _ in steps if s.op == "language_id"), None)
    recipe_model = getattr(lid.params, "model_path", None) if lid else None
    kept: tuple[str, list[str]] | None = None  # (step id, codes) of the nearest language_id with keep
    for step, path in steps:
        if step.op == "language_id":
            if step.params.keep:
                kept = (step.id, list(step.params.keep))
            continue
        own = next((getattr(step.params, f) for f in OWN_MODEL_FIELDS if getattr(step.params, f, None)), None)
        model = Path(recipe_model or own or LID_MODEL)
        if not model.is_file():
            continue  # the model path's own check reports it
        known = model_languages(str(model))
        for field, code in _codes(step.params):
            key = path + (field, code) if LANG_FIELDS[field] == "keys" else path + (field,)
            base = code.split("-")[0].split("_")[0]  # zh-Hant matches documents labelled zh; zho matches none
            if code not in known and not (field == "char_langs" and base in known):
                raise ctx.error(key, f"language {code!r} is not a language of the model {model.name} (codes as "
                                     f"written to metadata.lang, e.g. en, fr){_suggestion(code, known)}")  # fmt: skip
            if field == "per_lang" and kept and code not in kept[1]:
                raise ctx.error(key, f"an override for {code!r}, but {kept[0]} keeps only {', '.join(kept[1])}, so "
                                     f"no {code} document reaches this step; add {code!r} to {kept[0]}.keep or remove "
                                     "the override")  # fmt: skip
