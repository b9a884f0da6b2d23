"""`python -m bench [--data DIR] [--quick] [--only a,b]`: every benchmark, one combined table (see bench/cli.py)."""

import sys

from bench.cli import main

if __name__ == "__main__":
    sys.exit(main())
