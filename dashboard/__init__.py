"""The rootstock dashboard (`curate dashboard`): app.py is the Streamlit entry point.

LOADING is here, not in app.py, so tests can read it without running the app.
"""

# the line a session's first page shows while the app loads (app.py: first paint)
LOADING = "Loading… (the first page of a fresh server takes a few seconds)"
