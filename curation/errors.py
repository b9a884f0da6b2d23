"""User errors of the curation package; the CLI turns them into exit code 2 with one line, no traceback.

Kept in their own module so that any module (build, executors, the API) can raise them without
importing the CLI.
"""

from __future__ import annotations


class UsageError(Exception):
    """Bad arguments, or a run folder that belongs to another recipe."""


class ServiceError(Exception):
    """A service the run needs (e.g. a Redis index) refused it or cannot be reached: exit 1, one line."""


class RecipeError(ValueError):
    """A user error in a recipe: printed as `file:line: key: message`.

    Attributes:
        file: the recipe file (or `--set`, or `<dict>` for a recipe given as a dict).
        line: 1-based line of the offending key, when known.
        key: dotted path of the key, e.g. `steps.2.roots_filters.min_words`.
        message: what is wrong.
    """

    def __init__(self, file: str, line: int | None, key: str, message: str):
        self.file, self.line, self.key, self.message = file, line, key, message
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {key + ': ' if key else ''}{message}")
