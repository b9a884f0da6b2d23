"""Training's one error type: a bad path, argument or config value.

Every training module raises `ConfigError` for what a user can fix (a missing file, an unknown key, a
value out of range); `training.cli` prints it as one line and exits with code 2, and anything else is
a bug (exit 1 with a traceback). It lives in its own module so that config, data, checkpoint and
ablation code all raise the same class without importing one another.
"""

from __future__ import annotations


class ConfigError(ValueError):
    """A bad path, argument or config value: the CLI prints it as one line and exits with code 2."""
