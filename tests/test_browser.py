"""End to end in a real browser: Debian's chromium, driven by Playwright, against `python -m label_app`.

The Annotate card at 1366x768. Waits are on stable markers only (the card's data-sid attribute, its status
kind, test ids that exist once), never on fixed sleeps or on text a stale rerun could show twice, so the tests
hold on a busy 2-core machine.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import CHROMIUM, CHROMIUM_ARGS, REPO, VIEWPORT, make_project, start_app, stop_app

from label_app import store
from label_app.components.card.actions import EMPTY_TEXT, end_text
from label_app.project import Project
from label_app.settings import Settings, save_settings
from label_app.workspace import Workspace

# the docs' pictures are refreshed only on request (LABEL_APP_SCREENSHOTS=docs), so a test run leaves the tree clean
_SHOTS = (REPO / "docs" if os.environ.get("LABEL_APP_SCREENSHOTS") == "docs"
          else REPO / "tests" / "artifacts" / "screenshots")
SCREENSHOT = _SHOTS / "annotate.png"
SCREENSHOT_HINT = _SHOTS / "annotate-suggestion.png"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)"),
]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[[Project], str]]:
    """Start `python -m label_app` for a project; returns its URL. Stopped at the end of the test."""
    procs: list[subprocess.Popen] = []

    def start(project: Project) -> str:
        proc, url = start_app(project, tmp_path / f"server-{len(procs)}.log")
        procs.append(proc)
        return url

    try:
        yield start
    finally:
        for proc in procs:
            stop_app(proc)


@pytest.fixture
def browser_page() -> Iterator[object]:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=60_000)  # the first page load ingests the seeds
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport=VIEWPORT)
        page.set_default_timeout(60_000)
        yield page
        browser.close()


def two_seeds(root: Path) -> Project:
    project = make_project(root)
    for f in sorted(project.seeds_dir.glob("*.txt"))[2:]:
        f.unlink()  # two seed articles are enough
    return project


def card_ready(page, sid: str) -> None:  # noqa: ANN001
    """Wait until the card shows sentence `sid` with nothing in flight or queued (stable markers only)."""
    from playwright.sync_api import expect

    expect(page.get_by_test_id("annSentence")).to_have_attribute("data-sid", sid)
    page.wait_for_function("() => { const M = globalThis.__labelCard; return M && !M.pending && !M.queue.length; }")


def rows_of(project: Project, who: str) -> list[dict[str, str]]:
    return [r for r in store.read_log(project).rows if r["annotator"] == who]


def test_label_at_typing_speed_on_one_screen(serve: Callable[[Project], str], browser_page: object,
                                            tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page = browser_page
    project = two_seeds(tmp_path / "proj")
    url = serve(project)
    page.goto(f"{url}/?annotator=sara")  # type: ignore[attr-defined]
    expect(page.get_by_test_id("annSentence")).not_to_have_attribute("data-sid", "")  # type: ignore[attr-defined]
    sids = Workspace.open(project.root, refresh=False).sentence_ids  # the queue's order (unlabelled first)
    card_ready(page, sids[0])

    # one screen at 1366x768: the sentence, every choice, the actions, the save state and the key help
    boxes = page.evaluate("""() => {
        const host = [...document.querySelectorAll('.stBidiComponent *')].find((e) => e.shadowRoot).shadowRoot;
        const ids = ['annSentence', 'annStatus', 'annKeys', 'annProgress', 'annAct-save', 'annAct-skip'];
        const els = [...ids.map((i) => host.querySelector(`[data-testid="${i}"]`)),
                     ...host.querySelectorAll('button.opt')];
        return els.map((e) => { const r = e.getBoundingClientRect();
                                return [e.getAttribute('data-testid'), r.top, r.bottom, r.height]; });
    }""")
    assert len(boxes) == 6 + 11
    for name, top, bottom, height in boxes:
        assert height > 0 and top >= 0 and bottom <= VIEWPORT["height"], (name, top, bottom)

    # typing speed: nine keys back to back, three sentences; the browser queues what comes during a save
    choices = [("1", "trade", "f", "favor"), ("2", "energy", "a", "against"), ("4", "diplomacy", "n", "neutral")]
    before = page.get_by_test_id("annOpt-topic-trade").bounding_box()
    for tkey, _t, skey, _s in choices:
        for key in (tkey, skey, "Enter"):
            page.keyboard.press(key)
    card_ready(page, sids[3])
    expect(page.get_by_test_id("annStatus")).to_have_attribute("data-kind", "success")
    assert page.get_by_test_id("annOpt-topic-trade").bounding_box() == before  # no layout jump after saves
    got = [(r["sentence_id"], r["topic"], r["stance"], r["source"]) for r in rows_of(project, "sara")]
    assert got == [(sids[i], c[1], c[3], "manual") for i, c in enumerate(choices)]

    # a label key highlights its option at once; the screenshot of the docs shows a choice being made
    page.keyboard.press("3")
    expect(page.get_by_test_id("annOpt-topic-security")).to_have_attribute("aria-pressed", "true")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))

    # no silent half label: Enter with the stance empty asks; the second Enter saves it as not applicable
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("annStatus")).to_have_attribute("data-kind", "ask")
    expect(page.get_by_test_id("annStatus")).to_have_text(
        "No stance chosen: press Enter again to save it as not applicable, or press a stance key.")
    assert len(rows_of(project, "sara")) == 3
    page.keyboard.press("Enter")
    card_ready(page, sids[4])
    assert rows_of(project, "sara")[-1]["topic"] == "security" and rows_of(project, "sara")[-1]["stance"] == ""

    # no model: no accept offered, and Shift+Enter says so instead of doing nothing
    assert "Shift+Enter" not in page.get_by_test_id("annKeys").inner_text()
    page.keyboard.press("Shift+Enter")
    expect(page.get_by_test_id("annStatus")).to_have_text("No suggestion to accept here: choose and press Enter.")

    # the sidebar's queue order: after choosing, keys go to the card, not into the select
    page.get_by_test_id("stSidebar").get_by_role("combobox").click()
    page.get_by_role("option", name=re.compile("^article order")).click()
    card_ready(page, sids[4])
    page.keyboard.press("4")
    expect(page.get_by_test_id("annOpt-topic-diplomacy")).to_have_attribute("aria-pressed", "true")
    assert "4" not in page.get_by_test_id("stSidebar").get_by_role("combobox").input_value()
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("annOpt-topic-diplomacy")).to_have_attribute("aria-pressed", "false")

    # guidelines on demand
    expect(page.get_by_test_id("annGuide")).to_be_hidden()
    page.keyboard.press("?")
    expect(page.get_by_test_id("annGuide")).to_be_visible()
    expect(page.get_by_test_id("annGuide")).to_contain_text("Trade and economy")
    page.keyboard.press("?")
    expect(page.get_by_test_id("annGuide")).to_be_hidden()

    # back to the last label, then forward again without changing it
    page.keyboard.press("ArrowLeft")
    card_ready(page, sids[3])
    expect(page.get_by_test_id("annBack")).to_contain_text("you saved label: security / -")
    expect(page.get_by_test_id("annOpt-topic-security")).to_have_attribute("aria-pressed", "true")
    assert "→: forward (no change)." in page.get_by_test_id("annKeys").inner_text()
    page.keyboard.press("ArrowRight")
    card_ready(page, sids[4])
    assert len(rows_of(project, "sara")) == 4


def test_end_of_queue_back_and_text_never_html(serve: Callable[[Project], str], browser_page: object,
                                               tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page = browser_page
    project = make_project(tmp_path / "proj", seeds=False)
    # a key Streamlit's own button shortcuts reserve (c) works on the card
    project.schema_path.write_text(project.schema_path.read_text().replace(
        '{ name = "other", key = "0"', '{ name = "other", key = "c"'))
    (project.seeds_dir / "short.txt").write_text(
        "Border trade deal\n\n"
        "Iran and Iraq signed a new agreement on electricity exports in Baghdad on Monday. "
        "The text <img src=x onerror=\"document.title='pwned'\"> must stay plain text in this long sentence. "
        "Officials in both capitals said that the border crossings would stay open through the winter.\n")
    url = serve(project)
    page.goto(f"{url}/?annotator=omid")  # type: ignore[attr-defined]
    expect(page.get_by_test_id("annSentence")).not_to_have_attribute("data-sid", "")  # type: ignore[attr-defined]
    sids = Workspace.open(project.root, refresh=False).sentence_ids
    assert len(sids) == 3
    card_ready(page, sids[0])
    expect(page.get_by_test_id("annTitle")).to_have_text("Border trade deal")
    expect(page.get_by_test_id("annFile")).to_have_text("short.txt")
    page.keyboard.press("c")
    expect(page.get_by_test_id("annOpt-topic-other")).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("Escape")
    for _ in sids:
        page.keyboard.press("Delete")  # not a sentence, three times, back to back
    expect(page.get_by_test_id("annEmpty")).to_be_visible()
    page.wait_for_function("() => { const M = globalThis.__labelCard; return !M.pending && !M.queue.length; }")
    assert [r["action"] for r in rows_of(project, "omid")] == ["not-sentence"] * 3
    # nothing to save on an empty card: its buttons look off, except ← (back)
    expect(page.get_by_test_id("annAct-save")).to_have_css("pointer-events", "none")
    expect(page.get_by_test_id("annAct-back")).to_have_css("pointer-events", "auto")
    # ← works at the end of the queue
    page.keyboard.press("ArrowLeft")
    card_ready(page, sids[2])
    page.keyboard.press("ArrowLeft")
    card_ready(page, sids[1])
    sentence = page.get_by_test_id("annSentence")
    expect(sentence).to_contain_text("<img src=x onerror=")
    assert sentence.locator("img").count() == 0 and page.title() != "pwned"


def test_the_card_moves_on_by_itself_when_sentences_open_with_others_come_free(
        serve: Callable[[Project], str], browser_page: object, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page = browser_page
    project = make_project(tmp_path / "proj", seeds=False)
    (project.seeds_dir / "short.txt").write_text(
        "Border trade deal\n\n" + " ".join(f"Iran and Iraq signed agreement number {i} on electricity exports "
                                           "in Baghdad today." for i in (1, 2, 3)) + "\n")
    save_settings(project, Settings(overlap=2))
    other = Workspace.open(project.root)  # the other annotators, in another process of the project
    s0, s1, s2 = other.sentence_ids
    for sid in (s0, s1, s2):
        other.save("ali", sid, topic="trade", stance="favor")  # each sentence needs one more annotator
    assert other.next_for("omid") == s0 and other.next_for("ben") == s1
    url = serve(project)
    page.goto(f"{url}/?annotator=sara")  # type: ignore[attr-defined]
    card_ready(page, s2)
    for key in ("1", "f", "Enter"):
        page.keyboard.press(key)
    empty = page.get_by_test_id("annEmpty")
    expect(empty).to_have_text(end_text(2, 15.0))
    page.wait_for_function("() => { const M = globalThis.__labelCard; return !M.pending && !M.queue.length; }")
    # no key pressed from here on: the card asks again on its own
    other.save("omid", s0, topic="trade", stance="favor")
    expect(empty).to_have_text(end_text(1, 15.0))
    other.queue.release("ben")  # ben left without saving: s1 comes back to sara's queue
    card_ready(page, s1)
    page.keyboard.press("Delete")
    expect(empty).to_have_text(EMPTY_TEXT)
    assert [(r["sentence_id"], r["action"]) for r in rows_of(project, "sara")] == [(s2, "label"), (s1, "not-sentence")]


def test_suggestion_marked_on_the_buttons_and_accepted(serve: Callable[[Project], str], browser_page: object,
                                                       tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page = browser_page
    project = two_seeds(tmp_path / "proj")
    shutil.copy(REPO / "labels" / "labels.csv", project.log_path)  # the starter labels, to train on
    done = subprocess.run([sys.executable, "-m", "train", "--project", str(project.root), "--quiet"],
                          capture_output=True, text=True, timeout=600, cwd=REPO)
    assert done.returncode == 0, done.stderr[-2000:]
    url = serve(project)
    page.goto(f"{url}/?annotator=lea")  # type: ignore[attr-defined]
    expect(page.get_by_test_id("annSentence")).not_to_have_attribute("data-sid", "")  # type: ignore[attr-defined]
    sid = page.get_by_test_id("annSentence").get_attribute("data-sid")
    card_ready(page, sid)
    marked = page.locator("button.opt[data-suggested=true]")
    expect(marked).to_have_count(2)  # one topic, one stance, each with its confidence
    for text in marked.all_inner_texts():
        assert re.search(r"model \d+%", text), text
    expect(page.get_by_test_id("annKeys")).to_contain_text("Shift+Enter: accept suggestion & next.")
    SCREENSHOT_HINT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT_HINT))
    # choosing another topic moves the stance mark to the stance suggested for that topic, and says so;
    # the topic mark stays on the model's topic (the hint never mixes the two)
    model_topic = page.locator(".task-topic button.opt[data-suggested=true] .n").inner_text()
    other = "security" if model_topic != "security" else "trade"
    page.keyboard.press({"security": "3", "trade": "1"}[other])
    expect(page.locator(".task-stance button.opt[data-suggested=true]")).to_contain_text(f"for {other}")
    expect(page.locator(".task-topic button.opt[data-suggested=true] .n")).to_have_text(model_topic)
    page.keyboard.press("Escape")
    expect(page.locator(".task-stance button.opt[data-suggested=true]")).not_to_contain_text("for ")
    page.keyboard.press("Shift+Enter")
    expect(page.get_by_test_id("annSentence")).not_to_have_attribute("data-sid", sid)
    row = rows_of(project, "lea")[-1]
    assert (row["sentence_id"], row["source"]) == (sid, "suggestion-accepted") and row["model_version"]
    assert row["topic"] and row["stance"]
    # five accepts back to back: five sentences, each saved once (the old page re-saved one sentence)
    page.wait_for_function("() => { const M = globalThis.__labelCard; return !M.pending && !M.queue.length; }")
    for _ in range(5):
        page.keyboard.press("Shift+Enter")
    expect(page.get_by_test_id("annPosition")).to_have_text(re.compile(r"sentence 7 of \d+"))
    page.wait_for_function("() => { const M = globalThis.__labelCard; return !M.pending && !M.queue.length; }")
    rows = rows_of(project, "lea")
    assert len(rows) == 6 and len({r["sentence_id"] for r in rows}) == 6
    assert all(r["source"] == "suggestion-accepted" and r["topic"] and r["stance"] for r in rows)
