"""YAML recipe -> typed, validated `Recipe`, with errors that name the file, the line and the key.

Recipes are data a person writes and diffs. They are read with `yaml.safe_load` semantics; the node
tree from `yaml.compose` gives the line of every key so that a validation error can point at it
(both in `curation/recipe_yaml.py`, which also bounds what a file may expand to).
`extends: base.yaml` merges a parent recipe: mappings merge key by key, and a child's `steps` entry
overrides the parent's step with the same op (params merged), `op: null` removes it, and a new op is
appended at the end.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from curation.card import CardConfig
from curation.errors import RecipeError
from curation.executors.base import ExecutorConfig, all_executors
from curation.recipe_langs import check_languages
from curation.recipe_yaml import MAX_DEPTH, KeyPath, check_value_tree, key_str, load_yaml
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


TOP_KEYS = {"name", "description", "extends", "input", "steps", "output", "executor", "card"}
MAX_INT = 2**31 - 1  # an int param without its own upper bound (tasks: 1e29, num_perm: 5e9, ngram: 1e20)


class RecipeContext:
    """Error reporting for one (possibly merged) recipe: path -> (file, line)."""

    def __init__(self, file: str, lines: dict[KeyPath, tuple[str, int]]):
        self.file, self.lines = file, lines

    def error(self, path: KeyPath, message: str) -> RecipeError:
        for cut in range(len(path), -1, -1):  # nearest ancestor that has a line
            if path[:cut] in self.lines:
                f, line = self.lines[path[:cut]]
                return RecipeError(f, line, key_str(path), message)
        return RecipeError(self.file, None, key_str(path), message)


def _suggest(word: str, options) -> str:
    close = difflib.get_close_matches(str(word), list(options), n=3, cutoff=0.5)
    return f" (did you mean {', '.join(close)}?)" if close else ""


def _step_items(steps: Any, ctx: RecipeContext, base: KeyPath = ("steps",)) -> list[tuple[str, Any, KeyPath]]:
    if steps is None:
        return []
    if not isinstance(steps, list):
        raise ctx.error(base, "must be a list of `- op_name: {params}` items")
    items = []
    for i, item in enumerate(steps):
        if isinstance(item, str):
            item = {item: {}}
        if not isinstance(item, dict) or len(item) != 1:
            raise ctx.error(base + (i,), "each step must be a mapping with exactly one op name, `- op: {params}`")
        (op, params), = item.items()
        items.append((str(op), params, base + (i,)))
    return items


# --- extends -------------------------------------------------------------------------------------


def _merge(parent: dict, child: dict, plines: dict, clines: dict) -> tuple[dict, dict]:
    """Merge a child recipe over its parent; returns (data, lines) with lines re-keyed for steps."""
    data = {k: v for k, v in parent.items() if k != "steps"}
    lines = {k: v for k, v in plines.items() if not (k and k[0] == "steps")}
    for key, value in child.items():
        if key in ("steps", "extends"):
            continue
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
        lines.update({k: v for k, v in clines.items() if k and k[0] == key})
    ctx_p, ctx_c = RecipeContext("", plines), RecipeContext("", clines)
    merged: list[list] = [[op, params, path, plines] for op, params, path in _step_items(parent.get("steps"), ctx_p)]
    for op, params, path in _step_items(child.get("steps"), ctx_c):
        idx = next((i for i, m in enumerate(merged) if m[0] == op), None)
        if idx is None:
            merged.append([op, params, path, clines])
        elif params is None:
            merged.pop(idx)
        else:
            base = merged[idx][1] if isinstance(merged[idx][1], dict) else {}
            overrides = params if isinstance(params, dict) else {}
            old_path, old_lines = merged[idx][2], merged[idx][3]
            combined = {p[len(old_path):]: v for p, v in old_lines.items() if p[: len(old_path)] == old_path}
            combined.update({p[len(path):]: v for p, v in clines.items() if p[: len(path)] == path})
            merged[idx] = [op, {**base, **overrides}, (), combined]
    steps = []
    for i, (op, params, path, src) in enumerate(merged):
        steps.append({op: params})
        for p, v in src.items():
            if path == () or p[: len(path)] == path:
                rel = p if path == () else p[len(path):]
                lines[("steps", i) + rel] = v
    data["steps"] = steps
    return data, lines


def _load_merged(file: Path, seen: tuple = ()) -> tuple[dict, dict]:
    data, lines = load_yaml(file)
    return _merge_extends(data, lines, file, file.parent, seen)


def _merge_extends(data: Any, lines: dict, file: Path, base_dir: Path, seen: tuple) -> tuple[dict, dict]:
    """Check the top-level keys of one recipe and merge its `extends` parent (relative to base_dir)."""
    ctx = RecipeContext(str(file), lines)
    if data is None:
        raise RecipeError(str(file), None, "", "recipe is empty")
    if not isinstance(data, dict):
        raise RecipeError(str(file), 1, "", "a recipe must be a YAML mapping (name, input, steps, output)")
    for key in data:
        if key not in TOP_KEYS:
            raise ctx.error((key,), f"unknown key{_suggest(key, TOP_KEYS)}; allowed: {', '.join(sorted(TOP_KEYS))}")
    _check_strings(data, (), ctx)
    if "extends" in data:
        if not isinstance(data["extends"], str) or not data["extends"].strip():
            raise ctx.error(("extends",), "must be the path of a parent recipe file")
        parent_file = (base_dir / data["extends"]).resolve()
        if parent_file in seen or parent_file == file.resolve():
            raise ctx.error(("extends",), "circular extends")
        if not parent_file.exists():
            raise ctx.error(("extends",), f"parent recipe not found: {parent_file}")
        if not parent_file.is_file():
            raise ctx.error(("extends",), f"not a recipe file: {parent_file}")
        pdata, plines = _load_merged(parent_file, seen + (parent_file,))
        data, lines = _merge(pdata, data, plines, lines)
    return data, lines


# --- validation ----------------------------------------------------------------------------------


def _check_strings(value: Any, path: KeyPath, ctx: RecipeContext) -> None:
    """No NUL character anywhere (a path with one made `Path` raise deep inside a run)."""
    if isinstance(value, str):
        if "\0" in value:
            raise ctx.error(path, "contains a NUL character")
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_strings(k, path + (k,), ctx)
            _check_strings(v, path + (k,), ctx)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_strings(v, path + (i,), ctx)


def _has_upper_bound(field) -> bool:
    return any(getattr(m, "le", None) is not None or getattr(m, "lt", None) is not None for m in field.metadata)


def _check_ranges(model: BaseModel, path: KeyPath, ctx: RecipeContext) -> None:
    """Checks every params model gets: ints without an upper bound of their own stay below MAX_INT, and
    `min_X <= max_X` wherever a model has both."""
    fields = type(model).model_fields
    for name, field in fields.items():
        value = getattr(model, name)
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT and not _has_upper_bound(field):
            raise ctx.error(path + (name,), f"{value:g} is out of range (at most {MAX_INT:,})" if isinstance(value, float)
                            else f"{value} is out of range (at most {MAX_INT:,})")
        if name.startswith("min_") and f"max_{name[4:]}" in fields:
            high = getattr(model, f"max_{name[4:]}")
            if isinstance(value, (int, float)) and isinstance(high, (int, float)) and value > high:
                raise ctx.error(path + (f"max_{name[4:]}",), f"max_{name[4:]} ({high}) is smaller than {name} ({value})")


def _validate_model(model: type[BaseModel], data: Any, path: KeyPath, ctx: RecipeContext):
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ctx.error(path, f"must be a mapping of parameters, got {type(data).__name__}")
    try:
        validated = model.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        loc = tuple(err["loc"])
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = f"unknown key{_suggest(loc[-1], model.model_fields)}; allowed: {', '.join(model.model_fields)}"
        elif err["type"] == "missing":
            msg = "required key is missing"
        elif model.model_config.get("hide_input_in_errors"):  # the input may hold a secret (a Redis url)
            msg = msg.removeprefix("Value error, ")
        else:
            msg = f"{msg.removeprefix('Value error, ')} (got {_short_repr(err.get('input'))})"
        raise ctx.error(path + loc, msg) from None
    except RecursionError:
        raise ctx.error(path, f"nested deeper than {MAX_DEPTH} levels") from None
    _check_ranges(validated, path, ctx)
    return validated


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:200] + "..."


def apply_overrides(data: dict, overrides: list[str] | dict[str, Any], lines: dict) -> None:
    """`--set input.path=x` / `--set steps.0.length_filter.min_chars=5`: values are parsed as YAML.

    A dict `{"input.path": "x"}` sets the values as they are (the Python API).
    """
    if isinstance(overrides, dict):
        items = [(str(k), v) for k, v in overrides.items()]
    else:
        items = []
        for item in overrides:
            key, sep, raw = item.partition("=")
            if not sep or not key:
                raise RecipeError("--set", None, item, "expected KEY=VALUE, e.g. input.path=data/*.jsonl")
            items.append((key, yaml.safe_load(raw)))
    for key, value in items:
        parts = [int(p) if p.isdigit() else p for p in key.split(".")]
        node = data
        for p in parts[:-1]:
            try:
                node = node[p]
            except (KeyError, IndexError, TypeError):
                if isinstance(node, dict) and isinstance(p, str):
                    node = node.setdefault(p, {})
                else:
                    raise RecipeError("--set", None, key, "no such key in the recipe") from None
        try:
            node[parts[-1]] = value
        except (TypeError, IndexError):
            raise RecipeError("--set", None, key, "no such key in the recipe") from None
        lines[tuple(parts)] = ("--set", None)


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
