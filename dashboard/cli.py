"""`curate dashboard RUN_DIR [RUN_DIR ...]`: start the Streamlit dashboard on run and ablation folders.

The dashboard binds 127.0.0.1 unless `--host` says otherwise, runs headless and sends no usage
statistics. Folders and flags reach `dashboard/app.py` after `--` on Streamlit's command line.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
from pathlib import Path

from dashboard.data import parse_app_args

APP = Path(__file__).resolve().parent / "app.py"
EPILOG = """examples:
  curate dashboard runs/roots-web                      # one run, http://127.0.0.1:8501
  curate dashboard runs/roots-web runs/roots-strict    # compare two runs
  curate dashboard runs/                               # every run folder under runs/
  curate dashboard runs/ablation-roots --port 8600     # an ablation folder (results.json)
"""


def streamlit_command(args: argparse.Namespace) -> list[str]:
    """The `streamlit run` command line for parsed `curate dashboard` arguments."""
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.headless",
        "true",
        "--server.address",
        args.host,
        "--server.port",
        str(args.port),
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        "--client.toolbarMode",
        "viewer",
        "--theme.base",
        "light",
        "--",
        *[str(Path(p).resolve()) for p in args.run_dirs],
    ]
    if args.show_pii:
        cmd.append("--show-pii")
    return cmd


def cmd_dashboard(args: argparse.Namespace) -> int:
    found = parse_app_args([str(p) for p in args.run_dirs])
    if found.missing:
        print(
            f"error: not a run folder (summary.json) or ablation folder (results.json): {', '.join(found.missing)}",
            file=sys.stderr,
        )
        return 2
    host = args.host if args.host != "0.0.0.0" else "all interfaces"
    print(
        f"dashboard: http://{args.host}:{args.port}  ({len(found.runs)} run(s), {len(found.ablations)} "
        f"ablation(s); serving on {host}; Ctrl+C to stop)",
        flush=True,
    )
    proc = subprocess.Popen(streamlit_command(args))
    # `kill <curate pid>` must not leave the server running: pass SIGTERM on to it
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: proc.send_signal(signum))
    try:
        return proc.wait()
    except KeyboardInterrupt:  # Ctrl+C reached streamlit too (same process group); let it finish
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)


def register_cli(subparsers) -> None:
    """Add `dashboard` to `curate`'s subcommands."""
    p = subparsers.add_parser(
        "dashboard",
        help="browse run folders and ablation results in a local web app (Streamlit)",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "run_dirs",
        nargs="+",
        metavar="RUN_DIR",
        help="run folders (summary.json), ablation folders (results.json) or folders holding them",
    )
    p.add_argument("--port", type=int, default=8501, help="port to serve on (default 8501)")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1, this machine only; 0.0.0.0 exposes it)",
    )
    p.add_argument(
        "--show-pii",
        action="store_true",
        help="show original PII values where the run kept them (hidden by default)",
    )
    p.set_defaults(func=cmd_dashboard)
