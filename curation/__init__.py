"""rootstock curation: YAML recipes -> datatrove pipelines -> run folders with an exact ledger.

The Python API (`curation.run`, `curation.load_recipe`, `curation.open_run`) lives in `curation.api`.
"""

from curation.api import Run, load_recipe, open_run, plan, run
from curation.errors import RecipeError, UsageError

__version__ = "0.1.0"
__all__ = ["RecipeError", "Run", "UsageError", "load_recipe", "open_run", "plan", "run"]
