"""`curate dashboard`: argument parsing and the `streamlit run` command it builds (localhost by default,
no usage statistics, folders and --show-pii passed after `--`). The browser test starts it for real.

Run: `.venv/bin/python -m pytest tests/dashboard/test_cli.py`
"""

import argparse
import sys

from dashboard.cli import APP, cmd_dashboard, register_cli, streamlit_command


def parse(argv):
    parser = argparse.ArgumentParser()
    register_cli(parser.add_subparsers(dest="command"))
    return parser.parse_args(["dashboard", *argv])


def test_defaults_bind_localhost_headless_without_telemetry(synthetic_run):
    args = parse([str(synthetic_run)])
    cmd = streamlit_command(args)
    assert cmd[:5] == [sys.executable, "-m", "streamlit", "run", str(APP)]
    opts = dict(zip(cmd[5 : cmd.index("--") : 2], cmd[6 : cmd.index("--") : 2]))
    assert opts["--server.address"] == "127.0.0.1" and opts["--server.port"] == "8501"
    assert opts["--server.headless"] == "true" and opts["--browser.gatherUsageStats"] == "false"
    assert cmd[cmd.index("--") + 1 :] == [str(synthetic_run.resolve())]
    assert args.func is cmd_dashboard


def test_flags_pass_through(synthetic_run, ablation_dir):
    args = parse([str(synthetic_run), str(ablation_dir), "--port", "9123", "--host", "0.0.0.0", "--show-pii"])
    cmd = streamlit_command(args)
    assert "9123" in cmd and "0.0.0.0" in cmd
    assert cmd[cmd.index("--") + 1 :] == [
        str(synthetic_run.resolve()),
        str(ablation_dir.resolve()),
        "--show-pii",
    ]


def test_not_a_run_folder_is_a_usage_error(tmp_path, capsys):
    assert cmd_dashboard(parse([str(tmp_path)])) == 2
    assert "not a run folder" in capsys.readouterr().err


def test_registered_in_curate():
    from rootstock.cli import build_parser

    args = build_parser().parse_args(["dashboard", "runs/x"])
    assert args.func is cmd_dashboard and args.host == "127.0.0.1" and not args.show_pii
