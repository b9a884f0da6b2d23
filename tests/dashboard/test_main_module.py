"""An in-process `AppTest` run leaves nothing behind for the tests after it: Streamlit installs the app
as `sys.modules["__main__"]`, and the dashboard conftest puts pytest's back, so a forkserver process
started later (datatrove's local executor) does not run dashboard/app.py first.

The second and third tests check what the first one left: they rely on pytest's file order.
Run: `.venv/bin/python -m pytest tests/dashboard/test_main_module.py`
"""

import multiprocessing
import sys
from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.dashboard.conftest import APP

MAIN = sys.modules["__main__"]  # pytest's, at collection


def test_an_app_run_installs_the_app_as_main(dashboard_args, synthetic_run):
    dashboard_args(synthetic_run)
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert not at.exception
    assert Path(sys.modules["__main__"].__file__) == APP  # so the checks below can fail


def test_main_is_pytests_again_after_an_app_run():
    assert sys.modules["__main__"] is MAIN


def test_a_forkserver_process_starts_after_an_app_run():
    ctx = multiprocessing.get_context("forkserver")
    with ctx.Pool(1) as pool:
        assert pool.apply_async(len, ("abc",)).get(timeout=60) == 3  # without the fix: the child hangs
