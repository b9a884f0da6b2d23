"""rootstock: the umbrella above curation, training, dashboard and bench (only the `curate` command)."""
