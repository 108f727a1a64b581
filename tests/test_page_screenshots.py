"""Every page in a real browser (Debian's chromium, Playwright) at 1366×768, the annotators' laptop: each renders
without an exception, asks nothing of the internet (icons included), and leaves a screenshot.

Screenshots go to tests/artifacts/screenshots/ (git-ignored). `LABEL_APP_SCREENSHOTS=docs` writes them to
docs/img/ instead, to refresh the pictures in README.md and docs/ after a change to the pages.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from conftest import CHROMIUM, CHROMIUM_ARGS, REPO, VIEWPORT, make_project, run_cli, start_app, stop_app

from label_app import store
from label_app.corpus import KIND_SENTENCE, load_corpus
from label_app.project import Project
from label_app.schema import load_schema

WAIT_MS = 60_000  # a busy 2-core machine; every wait is on a marker, this is only the give-up time

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)"),
]


def shots_dir() -> Path:
    if os.environ.get("LABEL_APP_SCREENSHOTS") == "docs":
        return REPO / "docs" / "img"
    return REPO / "tests" / "artifacts" / "screenshots"


def lead_project(root: Path) -> Project:
    """The shipped project (starter labels, version 1), a day of work by two annotators who disagree on some
    sentences, and the model, learning curve and label-error list of the real commands."""
    project = make_project(root)
    shutil.copy(REPO / "labels" / "labels.csv", project.log_path)
    shutil.copytree(REPO / "labels" / "versions", project.versions_dir)
    schema = load_schema(project.schema_path)
    corpus = load_corpus(project)
    sents = corpus[corpus["kind"] == KIND_SENTENCE].head(16)
    topics = ["trade", "energy", "diplomacy", "security"]
    for i, (sid, text, aid) in enumerate(sents[["sentence_id", "text", "article_id"]].itertuples(index=False)):
        ana = (topics[i % 4], "favor")
        bo = ana if i % 3 else (topics[(i + 1) % 4], "neutral")
        for who, (topic, stance), secs in (("ana", ana, 5.0 + i % 4), ("bo", bo, 8.0 + i % 5)):
            store.append_label(project, schema, store.LabelRow(sid, text, who, topic=topic, stance=stance,
                                                               article_id=aid, seconds=secs))
    for args in ((), ("curve",), ("errors",)):
        done = run_cli("--project", str(project.root), *args, "--quiet", module="train")
        assert done.returncode == 0, done.stderr
    return project


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Project, str]]:
    root = tmp_path_factory.mktemp("shots")
    project = lead_project(root / "proj")
    proc, url = start_app(project, root / "server.log", timeout_s=90)
    try:
        yield project, url
    finally:
        stop_app(proc)


# page path -> (title, a marker drawn at the end of the page's script: once it shows, the run has reached the end)
PAGES = {
    "": ("Annotate", "Keyboard: Topic:"),  # the default page lives at the root (/annotate is "Page not found")
    "browse": ("Browse", "Select a row (or type its id)"),
    "review": ("Review", "Keyboard:"),
    "data": ("Data", "Import"),
    "dashboard": ("Dashboard", "Macro-F1 when training on part of label version"),
    "settings": ("Settings", "Retrain and pre-label now"),
}


def settle(page, title: str, marker: str) -> None:  # noqa: ANN001
    """Wait for the page's title and its end marker, then for Streamlit's running indicator to be gone."""
    from playwright.sync_api import expect

    expect(page.get_by_role("heading", name=title, exact=True)).to_be_visible()
    expect(page.get_by_text(marker).first).to_be_attached()
    expect(page.locator("[data-testid=stStatusWidget]")).to_have_count(0)
    expect(page.locator("[data-testid=stException]")).to_have_count(0)
    expect(page.get_by_text("Page not found")).to_have_count(0)


def shot_name(path: str) -> str:
    return path or "annotate"


def test_every_page_renders_offline_and_leaves_a_screenshot(served: tuple[Project, str]) -> None:
    from playwright.sync_api import expect, sync_playwright

    project, url = served
    expect.set_options(timeout=WAIT_MS)
    out = shots_dir()
    out.mkdir(parents=True, exist_ok=True)
    foreign: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport=VIEWPORT)
        page.set_default_timeout(WAIT_MS)
        page.on("request", lambda r: foreign.append(r.url)
                if urlparse(r.url).hostname not in ("127.0.0.1", None) and not r.url.startswith("data:") else None)
        for path, (title, marker) in PAGES.items():
            page.goto(f"{url}/{path}?annotator=lead")
            settle(page, title, marker)
            if path == "dashboard":
                # charts draw after the script run: wait for the learning curve's, then picture the whole page
                expect(page.locator("[data-testid=stVegaLiteChart]").last).to_be_visible()
                page.get_by_text("Learning curve", exact=True).scroll_into_view_if_needed()
                page.screenshot(path=str(out / "dashboard-curve.png"))
                page.get_by_role("heading", name=title, exact=True).scroll_into_view_if_needed()
            page.screenshot(path=str(out / f"{shot_name(path)}.png"))
            if path == "browse":
                # open a sentence the annotators disagree on: the correction form
                sid = store.read_log(project).rows[-1]["sentence_id"]
                box = page.get_by_label("Open sentence id")
                box.fill(sid)
                box.press("Enter")
                expect(page.get_by_text("Correct the final label")).to_be_visible()
                expect(page.locator("[data-testid=stStatusWidget]")).to_have_count(0)
                page.get_by_text("Final label now").scroll_into_view_if_needed()
                page.screenshot(path=str(out / "browse-correction.png"))
        browser.close()
    assert foreign == []  # no icon font, favicon or script from the internet: the app looks the same offline
    for path in PAGES:
        assert (out / f"{shot_name(path)}.png").stat().st_size > 10_000
