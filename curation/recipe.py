"""YAML recipe -> typed, validated `Recipe`, with errors that name the file, the line and the key.

Recipes are data a person writes and diffs. They are read with `yaml.safe_load` semantics; the node
tree from `yaml.compose` gives the line of every key so that a validation error can point at it
(both in `curation/recipe_yaml.py`, which also bounds what a file may expand to). `extends` and
`--set` are put together in `curation/recipe_merge.py`; each section is checked against its model in
`curation/recipe_validate.py`.
"""

from __future__ import annotations

import copy
import hashlib
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from curation.card import CardConfig
from curation.errors import RecipeError  # noqa: F401 (re-exported: callers import it from here)
from curation.executors.base import ExecutorConfig, all_executors
from curation.recipe_langs import check_languages
from curation.recipe_merge import _load_merged, _merge_extends, _step_items, apply_overrides
from curation.recipe_validate import RecipeContext, _check_strings, _short_repr, _suggest, _validate_model
from curation.recipe_yaml import check_value_tree
from curation.registry import InputParams, OpParams, all_readers, get_op


class OutputConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str | None = Field(None, description="the run folder (default runs/<name>)")
    format: str = Field("jsonl.gz", description="jsonl.gz | jsonl | parquet | messages | alpaca | sharegpt")
    max_shard_docs: int | None = Field(100_000, ge=1, description="start a new shard after this many docs")
    max_shard_bytes: int | None = Field(None, ge=1, description="start a new shard after this many text bytes")
    keep_removed: bool = Field(False, description="write removed documents to removed/<step>/")
    allow_empty: bool = Field(False, description="a run that keeps no document (or rejects every record) "
                              "exits 0; by default it exits 1 with what removed or rejected them")
    storage_options: dict[str, Any] | None = Field(
        None, description="fsspec options for an s3:// (or other URL) path; secrets as ${ENV_VAR} only")
    control_path: str | None = Field(
        None, description="with a URL path: the local or shared folder for the lock, logs, work/ and rejected/ "
        "(default runs/<name>)")


class Step(BaseModel):
    op: str
    id: str
    params: OpParams


class Recipe(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    name: str
    description: str = ""
    input: InputParams
    steps: list[Step]
    output: OutputConfig
    executor: ExecutorConfig
    card: CardConfig = Field(default_factory=CardConfig)  # what README.md states (licences, sources)
    source: str = ""  # the recipe file
    lines: Any = Field(None, exclude=True, repr=False)  # key path -> (file, line), for errors found later

    @property
    def run_dir(self) -> Path:
        """The local (or shared) run folder: `output.path`, or `output.control_path` when `output.path` is
        an object-store URL (then output/, removed/ and summary.json also go to the URL)."""
        if self.output.control_path is not None:
            return Path(self.output.control_path)
        return Path(self.output.path)

    def resolved(self) -> dict:
        """The recipe with every default filled in (written as recipe.resolved.yaml). The object-storage
        keys appear only when set, so a local recipe's fingerprint is what it always was."""
        inp, out = self.input.model_dump(), self.output.model_dump()
        for section, keys in ((inp, ("storage_options",)), (out, ("storage_options", "control_path"))):
            for key in keys:
                if section.get(key) is None:
                    section.pop(key, None)
        return {
            "name": self.name,
            "description": self.description,
            "input": inp,
            "steps": [{s.op: s.params.model_dump()} for s in self.steps],
            "output": out,
            "executor": self.executor.model_dump(),
            **({"card": self.card.model_dump()} if self.card != CardConfig() else {}),
        }

    def resolved_yaml(self) -> str:
        return yaml.safe_dump(self.resolved(), sort_keys=False, allow_unicode=True)

    def fingerprint(self) -> str:
        """Identity of what the run computes (workers and allow_empty excluded: they don't change the output)."""
        data = self.resolved()
        data["executor"] = {k: v for k, v in data["executor"].items() if k != "workers"}
        data.pop("card", None)  # the card describes the output; it does not change it
        data["output"] = {k: v for k, v in data["output"].items() if k != "allow_empty"}  # how it ends, not what
        return hashlib.sha256(yaml.safe_dump(data, sort_keys=True).encode()).hexdigest()[:16]


def load_recipe(source: str | Path | dict, overrides: list[str] | dict[str, Any] | None = None) -> Recipe:
    """Read, merge (`extends`), apply overrides and validate; raises RecipeError for user errors.

    `source` is a YAML file or a dict of the same shape (then `extends` is relative to the current
    directory and errors name `<dict>`). `overrides` are `--set` strings (`KEY=VALUE`, YAML values) or a
    dict `{dotted key: value}`.
    """
    if isinstance(source, dict):
        file = Path("<dict>")
        check_value_tree(source, str(file))
        data, lines = _merge_extends(copy.deepcopy(source), {}, file, Path.cwd(), ())
    else:
        file = Path(source)
        data, lines = _load_merged(file)
    if isinstance(overrides, dict):
        check_value_tree(overrides, "--set")
    apply_overrides(data, overrides or [], lines)
    ctx = RecipeContext(str(file), lines)
    _check_strings(data, (), ctx)
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ctx.error(("name",), "required: a non-empty string naming the recipe")
    if re.search(r"[\x00-\x1f\x7f]", name):  # it names the run folder, jobs and files
        raise ctx.error(("name",), f"contains a control character (got {_short_repr(name)})")

    raw_input = data.get("input")
    if not isinstance(raw_input, dict):
        raise ctx.error(("input",), "required: a mapping like {format: jsonl, path: data/*.jsonl.gz}")
    readers = all_readers()
    fmt = raw_input.get("format")
    if fmt not in readers:
        raise ctx.error(("input", "format"), f"unknown input format {fmt!r}{_suggest(fmt, readers)}; known: {', '.join(readers)}")
    inp = _validate_model(readers[fmt].params, raw_input, ("input",), ctx)

    steps, counts, paths = [], {}, []
    for op_name, params, path in _step_items(data.get("steps"), ctx):
        try:
            op = get_op(op_name)
        except KeyError as e:
            raise ctx.error(path + (op_name,), str(e.args[0])) from None
        counts[op_name] = counts.get(op_name, 0) + 1
        step_id = op_name if counts[op_name] == 1 else f"{op_name}_{counts[op_name]}"
        steps.append(Step(op=op_name, id=step_id, params=_validate_model(op.params, params, path + (op_name,), ctx)))
        paths.append(path + (op_name,))
    check_languages(list(zip(steps, paths)), ctx)  # every language code a step names (recipe_langs.py)

    output = _validate_model(OutputConfig, data.get("output"), ("output",), ctx)
    card = _validate_model(CardConfig, data.get("card"), ("card",), ctx)
    if output.path is None:
        output.path = str(Path("runs") / name)
    _check_storage(inp, output, name, ctx)
    raw_executor = data.get("executor") or {}
    kinds = all_executors()
    kind = raw_executor.get("kind", "local") if isinstance(raw_executor, dict) else "local"
    if kind not in kinds:
        raise ctx.error(("executor", "kind"), f"unknown executor kind {kind!r}{_suggest(kind, kinds)}; known: {', '.join(kinds)}")
    executor = _validate_model(kinds[kind].config, raw_executor, ("executor",), ctx)
    from curation.formats.writers import OUTPUT_FORMATS

    if output.format not in OUTPUT_FORMATS:
        raise ctx.error(("output", "format"),
                        f"unknown output format {output.format!r}{_suggest(output.format, OUTPUT_FORMATS)}")
    recipe = Recipe(
        name=name,
        description=str(data.get("description", "")),
        input=inp,
        steps=steps,
        output=output,
        executor=executor,
        card=card,
        source=str(file),
        lines=lines,
    )
    check_recipe(recipe)
    return recipe


def check_recipe(recipe: Recipe) -> None:
    """The checks of the whole recipe that its executor kind makes (e.g. what goes into sbatch scripts);
    run again by `curation.api.run` on a recipe changed after loading (`--output`)."""
    ctx = RecipeContext(recipe.source, recipe.lines or {})
    all_executors()[recipe.executor.kind]().check(recipe, ctx.error)


def _check_storage(inp, output: OutputConfig, name: str, ctx: RecipeContext) -> None:
    """`storage_options` hold no secret in clear; `control_path` only with (and by default for) a URL."""
    from curation.storage import is_url, secret_keys

    for section, params in (("input", inp), ("output", output)):
        for key in secret_keys(getattr(params, "storage_options", None) or {}):
            raise ctx.error((section, "storage_options", *key), "a credential in clear: write `${ENV_VAR}` and set "
                            "that variable where the run and its tasks run (or use the AWS_* variables)")
    if is_url(output.path):
        if output.control_path is None:
            output.control_path = str(Path("runs") / name)
        if is_url(output.control_path):
            raise ctx.error(("output", "control_path"), "must be a local or shared-filesystem folder (it holds the "
                            "run's lock, logs and completion markers), not a URL")
    elif output.control_path is not None:
        raise ctx.error(("output", "control_path"), "only for an object-store output.path (s3://...); a local "
                        "output.path is the run folder itself")


def check_input_paths(recipe: Recipe) -> None:
    """`input.path` must name existing input: checked by `curate validate` and before a run writes
    anything, not by `load_recipe` (an ablation's variants name a sample it writes later).

    Raises:
        RecipeError: at `input.path`, when nothing exists there or a glob matches no file.
    """
    from curation.formats.base import folder_and_glob
    from curation.storage import is_url

    ctx = RecipeContext(recipe.source, recipe.lines or {})
    path = recipe.input.path
    if is_url(path):
        _check_input_url(recipe, ctx)
        return
    try:
        folder, pattern = folder_and_glob(path, recipe.input.glob)
    except FileNotFoundError:
        raise ctx.error(("input", "path"), f"no such file or folder: {path} (relative paths start at "
                        f"{Path.cwd()})") from None
    except (OSError, ValueError) as e:
        raise ctx.error(("input", "path"), f"unusable path {path!r}: {e}") from None
    base = Path(folder)
    if pattern:
        found = next((q for q in base.glob(pattern) if q.is_file()), None)
    elif base.is_dir():
        found = next((q for q in base.rglob("*") if q.is_file()), None)
    else:
        found = base
    if found is None:
        raise ctx.error(("input", "path"), f"matches no files: {path}")


def _check_input_url(recipe: Recipe, ctx: RecipeContext) -> None:
    """An object-store input must be reachable and match at least one object."""
    from curation.storage import RemoteFolder, check_reachable, split_glob, storage_errors

    path, options = recipe.input.path, recipe.input.storage_options
    check_reachable(path, options)
    try:
        folder, pattern = split_glob(path, recipe.input.glob, options)
    except FileNotFoundError:
        raise ctx.error(("input", "path"), f"no such object or prefix: {path}") from None
    except ValueError as e:
        raise ctx.error(("input", "path"), f"unusable URL {path!r}: {e}") from None
    with storage_errors(path):
        if not RemoteFolder(folder, options).list_files(glob_pattern=pattern, recursive=True):
            raise ctx.error(("input", "path"), f"matches no objects: {path}")
