"""Real-browser test: `curate dashboard` on a free localhost port, driven by headless Chromium.

Visits every page (deep links with query parameters), checks key text and that no Streamlit error
box (`[data-testid="stException"]`) appears, and saves full-page screenshots to
test-artifacts/dashboard/. Needs Debian's chromium (`apt-get install chromium`, /usr/bin/chromium)
and the `playwright` Python package (its own browser download is never used); skipped without them.

Run: `.venv/bin/python -m pytest tests/dashboard/test_browser.py`
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.dashboard.conftest import ROOT

CHROMIUM = os.environ.get("ROOTSTOCK_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts" / "dashboard"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(*folders, extra=()):
    """`curate dashboard FOLDERS --port P` in its own process group; yields the base URL once healthy."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "rootstock.cli", "dashboard", *map(str, folders), "--port", str(port), *extra]
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.time() + 40
            while True:
                try:
                    if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                        break
                except OSError:
                    pass
                if proc.poll() is not None or time.time() > deadline:
                    log.seek(0)
                    pytest.fail(f"dashboard did not start:\n{log.read().decode()[-3000:]}")
                time.sleep(0.3)
            yield url
        finally:  # `curate` and the streamlit process it started: the group we created, nothing else
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"chromium not found at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="pip install playwright (no browser download)"
    )
    profile = tempfile.mkdtemp(prefix="rootstock-chromium-")
    with sync_api.sync_playwright() as pw:
        # a fresh profile folder (Playwright passes it as --user-data-dir)
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1440, "height": 1000},
        )
        yield context
        context.close()
    shutil.rmtree(profile, ignore_errors=True)


def visit(page, url: str, expect: list[str], shot: str, timeout_ms: int = 30_000) -> None:
    """Open `url`, wait until the app has finished running, check texts and errors, screenshot."""
    page.set_viewport_size({"width": 1440, "height": 1000})
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector(f'h1:has-text("{expect[0]}")', timeout=timeout_ms)
    for text in expect[1:]:
        page.get_by_text(text, exact=False).first.wait_for(timeout=timeout_ms)
    # finished when Streamlit's "running" status widget is gone
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout_ms
    )
    page.wait_for_timeout(400)  # charts draw after the script ends
    errors = page.locator('[data-testid="stException"]')
    assert errors.count() == 0, f"{url}: {errors.first.inner_text()[:2000]}"
    # the app scrolls inside its main section: grow the window to the content for a full screenshot
    height = page.evaluate(
        "() => (document.querySelector('[data-testid=\"stMain\"]') || document.body).scrollHeight"
    )
    page.set_viewport_size({"width": 1440, "height": max(1000, min(int(height) + 40, 9000))})
    page.wait_for_timeout(300)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{shot}.png"), full_page=True)


def test_every_page_in_chromium(browser, synthetic_run, synthetic_run_b, ablation_dir, real_run):
    summary = __import__("json").loads((synthetic_run / "summary.json").read_text())
    kept = f"{summary['output']['docs']:,}"
    with serve(synthetic_run, synthetic_run_b, ablation_dir, real_run) as url:
        page = browser.new_page()
        run = "?run=synthetic-web"
        visit(
            page,
            f"{url}/{run}",
            ["Overview · synthetic-web", kept, "Funnel", "Resolved recipe"],
            "1-overview",
        )
        visit(
            page,
            f"{url}/filters{run}",
            ["Filters · synthetic-web", "roots.char_rep_ratio", "Would fail", "Download thresholds"],
            "2-filters",
        )
        visit(
            page,
            f"{url}/languages{run}",
            ["Languages · synthetic-web", "LID score per language", "Funnel per language"],
            "3-languages",
        )
        visit(
            page,
            f"{url}/duplicates{run}",
            ["Duplicates · synthetic-web", "Largest clusters", "Similarity"],
            "4-duplicates",
        )
        visit(page, f"{url}/pii{run}", ["PII · synthetic-web", "email", "<EMAIL>"], "5-pii")
        visit(
            page,
            f"{url}/samples{run}&kind=removed&step=roots_filters",
            ["Samples · synthetic-web", "removed by roots_filters"],
            "6-samples",
        )
        visit(page, f"{url}/compare", ["Compare runs", "Funnels", "Metric distributions"], "7-compare")
        visit(
            page,
            f"{url}/ablations",
            ["Ablations", "Effective-data multipliers", "planted_duplicates"],  # a control verdict line (variant names sit in grid cells)
            "8-ablations",
        )
        # a real `curate run` folder
        visit(page, f"{url}/?run=dash-real", ["Overview · dash-real", "Funnel"], "9-real-overview")
        visit(page, f"{url}/filters?run=dash-real", ["Filters · dash-real", "roots."], "10-real-filters")
        visit(page, f"{url}/samples?run=dash-real", ["Samples · dash-real", "Document"], "11-real-samples")
        # sidebar navigation (a click, not a deep link) keeps the run picked in the URL
        visit(
            page,
            f"{url}/languages?run=synthetic-strict",
            ["Languages · synthetic-strict"],
            "12-strict-languages",
        )
        page.get_by_role("link", name="Overview").first.click()
        page.wait_for_selector('h1:has-text("Overview · synthetic-strict")', timeout=30_000)
        assert "run=synthetic-strict" in page.url
        page.close()
