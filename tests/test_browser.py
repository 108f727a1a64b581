"""End to end in a real browser: Debian's chromium, driven by Playwright, against `python -m label_app`."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO, make_project

from label_app import store
from label_app.project import Project

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SCREENSHOT = REPO / "docs" / "annotate.png"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Project, str]]:
    project = make_project(tmp_path / "proj")
    for f in sorted(project.seeds_dir.glob("*.txt"))[2:]:
        f.unlink()  # two seed articles are enough
    port = free_port()
    log = open(tmp_path / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "label_app", "--project", str(project.root), "--port", str(port)],
                            cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                log.flush()
                pytest.fail(f"app did not start: {(tmp_path / 'server.log').read_text()[-2000:]}")
            time.sleep(0.3)
        yield project, url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def settle(page) -> None:  # noqa: ANN001
    """Wait until the page's script run has finished (its last element is drawn, no run in progress)."""
    from playwright.sync_api import expect

    expect(page.get_by_text("Keyboard: Topic:")).to_be_visible()
    expect(page.locator("[data-testid=stStatusWidget]")).to_have_count(0)
    page.wait_for_timeout(150)


def test_label_three_sentences_with_the_keyboard(served: tuple[Project, str]) -> None:
    from playwright.sync_api import expect, sync_playwright

    project, url = served
    expect.set_options(timeout=30_000)  # the first page load ingests the seeds
    choices = [("1", "trade", "f", "favor"), ("2", "energy", "a", "against"), ("4", "diplomacy", "n", "neutral")]
    texts = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1700})
        page.set_default_timeout(30_000)
        page.goto(f"{url}/?annotator=sara")
        for k, (tkey, topic, skey, stance) in enumerate(choices, start=1):
            expect(page.get_by_text(re.compile(rf"sentence {k} of \d+"))).to_be_visible()
            settle(page)
            texts.append(page.locator("h4").first.inner_text())
            for key, name in ((tkey, topic), (skey, stance)):
                page.keyboard.press(key)
                expect(page.locator("[data-testid=stBaseButton-primary]", has_text=name)).to_be_visible()
                settle(page)
            page.keyboard.press("Enter")
            expect(page.get_by_text(f"Saved {topic} · {stance}")).to_be_visible()
        page.reload()
        expect(page.get_by_text(re.compile(r"sentence 4 of \d+"))).to_be_visible()
        expect(page.locator("[data-testid=stMetricValue]").first).to_have_text("3")
        settle(page)
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        page.keyboard.press("ArrowLeft")
        expect(page.get_by_text("you saved label: diplomacy / neutral")).to_be_visible()
        assert page.locator("h4").first.inner_text() == texts[2]
        browser.close()
    labels = {r["text"]: (r["topic"], r["stance"]) for r in store.current_labels(project) if r["annotator"] == "sara"}
    assert labels == {t: (c[1], c[3]) for t, c in zip(texts, choices, strict=True)}
    assert [r["source"] for r in store.read_log(project).rows] == ["manual"] * 3

