"""Every language code a recipe names is checked against the LID model's labels (with a suggestion),
and an override for a language that an earlier `language_id` drops is an error naming both fixes.

Run: `.venv/bin/python -m pytest tests/curation/test_recipe_langs.py`
"""

from pathlib import Path

import pytest

from curation.errors import RecipeError
from curation.recipe import load_recipe

ROOT = Path(__file__).resolve().parents[2]


def _recipe(tmp_path, steps: str) -> Path:
    p = tmp_path / "r.yaml"
    p.write_text(
        f"name: t\ninput: {{format: jsonl, path: x.jsonl}}\nsteps:\n{steps}output: {{path: {tmp_path}/run}}\n"
    )
    return p


def test_an_unknown_per_lang_code_is_an_error_with_a_suggestion(tmp_path):
    p = _recipe(tmp_path, "  - roots_filters:\n      per_lang:\n        eng: {min_words: 5}\n")
    with pytest.raises(RecipeError) as e:
        load_recipe(p)
    msg = str(e.value)
    assert msg.startswith(f"{p}:6: steps[0].roots_filters.per_lang.eng: language 'eng' is not a language")
    assert "did you mean 'en'?" in msg


def test_codes_of_other_ops_are_checked_too(tmp_path):
    p = _recipe(tmp_path, "  - instruction_filters: {languages: [english]}\n")
    with pytest.raises(RecipeError, match=r"languages: language 'english' .*did you mean 'en'\?"):
        load_recipe(p)
    p = _recipe(tmp_path, "  - minhash_dedup: {char_langs: [zh, jp]}\n")
    with pytest.raises(RecipeError, match=r"char_langs: language 'jp' is not a language"):
        load_recipe(p)
    # a three-letter code that starts like a label never matches a document's lang (found by a recheck)
    p = _recipe(tmp_path, "  - minhash_dedup: {char_langs: [zho]}\n")
    with pytest.raises(RecipeError, match=r"char_langs: language 'zho' is not a language"):
        load_recipe(p)
    load_recipe(_recipe(tmp_path, "  - minhash_dedup: {char_langs: [zh-Hant, th]}\n"))  # a region or script suffix


def test_an_override_for_a_dropped_language_is_an_error(tmp_path):
    p = _recipe(
        tmp_path,
        "  - language_id: {keep: [en]}\n  - roots_filters:\n      per_lang:\n        fr: {min_words: 5}\n",
    )
    with pytest.raises(RecipeError) as e:
        load_recipe(p)
    assert "per_lang.fr: an override for 'fr', but language_id keeps only en" in str(e.value)
    assert "add 'fr' to language_id.keep or remove the override" in str(e.value)
    ok = _recipe(
        tmp_path,
        "  - language_id: {keep: [en, fr]}\n  - roots_filters:\n      per_lang:\n        fr: {min_words: 5}\n",
    )
    assert load_recipe(ok).steps[1].params.per_lang["fr"].min_words == 5


def test_every_shipped_recipe_still_validates():
    checked = 0
    for path in sorted((ROOT / "recipes").rglob("*.yaml")):
        text = path.read_text()
        if "\nsteps:" not in text or "quality_classifier" in text or "\nkind:" in text:
            continue  # training / ablation configs, or recipes that need a trained classifier
        load_recipe(path)
        checked += 1
    assert checked >= 10
