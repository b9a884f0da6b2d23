"""rootstock curation: YAML recipes -> datatrove pipelines -> run folders with an exact ledger."""

__version__ = "0.1.0"
