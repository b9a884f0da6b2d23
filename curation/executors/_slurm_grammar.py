"""What a recipe may write into a generated sbatch script: Slurm's own grammar, nothing else.

Every value a recipe puts into a `.slurm` script (job name, `time`, `partition`, `sbatch_args`, the run
folder's paths) is checked here when the recipe is validated, so that `curate validate`, `--dry-run`
and a real submission all refuse the same recipe with `file:line: key: message` before anything is
written or run; the script writer then `shlex.quote`s every value as well (sbatch reads quoted
`#SBATCH` values), so a value that slipped past a check still could not reach a shell.
"""

from __future__ import annotations

import re

# Slurm's time formats (sbatch --time): MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS, or no limit.
_TIME = re.compile(r"(\d+(:\d{1,2}){0,2}|\d+-\d+(:\d{1,2}){0,2}|UNLIMITED|INFINITE)")
_NAME = r"[A-Za-z0-9_.+-]+"  # job and partition names as sites write them
_PARTITION = re.compile(rf"{_NAME}(,{_NAME})*")  # sbatch accepts a comma-separated list
_JOB_NAME = re.compile(_NAME)
_TOKEN = re.compile(r"[A-Za-z0-9_.,:=+@%/-]+")  # accounts, qos, node lists, gres, sizes, mail types
_CONSTRAINT = re.compile(r"[A-Za-z0-9_.,:=+@%/&|!*()\[\]-]+")  # features joined with & | [ ] *
_MAIL = re.compile(r"[A-Za-z0-9_.+-]+@[A-Za-z0-9.-]+")
_INT = re.compile(r"-?\d+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

FLAG = "flag"  # an option without a value (`#SBATCH --exclusive`)

# sbatch options a recipe may set in `sbatch_args`, and the grammar of their values. Options that
# would replace what rootstock writes itself (array, output, error, job-name, export, dependency,
# wrap) or run a program (--wrap, --export of variables) are not among them.
SBATCH_OPTIONS: dict[str, re.Pattern | str] = {
    "account": _TOKEN,
    "qos": _TOKEN,
    "reservation": _TOKEN,
    "constraint": _CONSTRAINT,
    "prefer": _CONSTRAINT,
    "clusters": _TOKEN,
    "nodelist": _TOKEN,
    "exclude": _TOKEN,
    "gres": _TOKEN,
    "gpus": _TOKEN,
    "gpus-per-node": _TOKEN,
    "gpus-per-task": _TOKEN,
    "cpus-per-gpu": _INT,
    "mem": _TOKEN,
    "mem-per-gpu": _TOKEN,
    "tmp": _TOKEN,
    "licenses": _TOKEN,
    "wckey": _TOKEN,
    "comment": _TOKEN,
    "hint": _TOKEN,
    "nice": _INT,
    "priority": _TOKEN,
    "mail-type": _TOKEN,
    "mail-user": _MAIL,
    "time-min": _TIME,
    "begin": _TOKEN,
    "deadline": _TOKEN,
    "signal": _TOKEN,
    "switches": _TOKEN,
    "chdir": "path",
    "exclusive": FLAG,
    "oversubscribe": FLAG,
    "requeue": FLAG,
    "no-requeue": FLAG,
    "spread-job": FLAG,
}


def control_character(value: str) -> str | None:
    """The first control character (newline, tab, NUL, ESC, ...) in `value`, as a repr, or None."""
    m = _CONTROL.search(value)
    return repr(m.group()) if m else None


def check_time(value: str) -> str:
    if not _TIME.fullmatch(value):
        raise ValueError("must be a Slurm time: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS or UNLIMITED")
    return value


def check_partition(value: str) -> str:
    if not _PARTITION.fullmatch(value):
        raise ValueError(
            "must be a Slurm partition name (letters, digits, . _ + -; several joined by commas)"
        )
    return value


def check_job_name(value: str) -> str | None:
    """Why `value` cannot be a Slurm job name written into a script, or None when it can."""
    if not _JOB_NAME.fullmatch(value):
        return "with kind: slurm the recipe name is the job name: letters, digits and . _ + - only"
    return None


def check_path(value: str) -> str | None:
    """Why `value` cannot be a path written into a script (quoted), or None when it can."""
    bad = control_character(value)
    if bad:
        return f"contains the control character {bad}; a path written into an sbatch script cannot"
    return None


def check_sbatch_args(args: dict) -> dict[str, str]:
    """`sbatch_args` -> `{option: value}` as strings; a flag option's value is "".

    Raises:
        ValueError: an option rootstock does not know, or a value outside the option's grammar.
    """
    out: dict[str, str] = {}
    for key, value in args.items():
        grammar = SBATCH_OPTIONS.get(key)
        if grammar is None:
            known = ", ".join(sorted(SBATCH_OPTIONS))
            raise ValueError(f"unknown sbatch option {key!r}; known: {known}")
        if grammar == FLAG:
            if value not in (None, True, ""):
                raise ValueError(f"{key}: a flag takes no value (write `{key}: true`)")
            out[key] = ""
            continue
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise ValueError(f"{key}: must be a string or a number")  # noqa: TRY004 (a recipe error: exit 2)
        text = str(value)
        if grammar == "path":
            why = check_path(text)
            if why or not text:
                raise ValueError(f"{key}: {why or 'must not be empty'}")
        elif not grammar.fullmatch(text):
            raise ValueError(f"{key}: not a valid value for sbatch --{key} (allowed: {grammar.pattern})")
        out[key] = text
    return out
