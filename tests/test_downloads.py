"""Every table the app shows downloads formula-guarded, like the exports: the dataframe toolbar's own CSV export is
off and a guarded download button replaces it (checked in the code, in AppTest and in Chromium)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import CHROMIUM, CHROMIUM_ARGS, REPO, make_project, start_app, stop_app
from streamlit.testing.v1 import AppTest

from label_app import store
from label_app.corpus import ingest
from label_app.review import confusion_table
from label_app.schema import load_schema
from label_app.store import LabelRow
from label_app.table_view import table_csv

APP = str(REPO / "label_app" / "app.py")
HOSTILE = ['=HYPERLINK("http://example.invalid/x","Click for the full report") was pasted into the story.',
           "-5% was the drop in Iraqi imports from Iran last year.",
           "+98 is the dialling code printed under the ad.",
           "@IranIraqNews reported the visit first."]
ARTICLE = "Hostile cells\n\n" + " ".join(HOSTILE) + "\n"


def _cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_table_csv_guards_text_cells_and_keeps_numbers():
    df = pd.DataFrame({"text": HOSTILE, "kappa": [-0.25, 0.5, None, 1], "=col": ["a", "b", "c", "d"]})
    cells = _cells(table_csv(df))
    assert cells[0] == ["text", "kappa", "'=col"]
    assert [r[0] for r in cells[1:]] == ["'" + t for t in HOSTILE]
    assert [r[1] for r in cells[1:]] == ["-0.25", "0.5", "", "1.0"]
    assert all(not c.startswith(("=", "+", "@")) for r in cells for c in r if not re.fullmatch(r"-?[\d.]+", c))


def test_table_csv_keeps_the_row_labels_of_a_confusion_matrix():
    from label_app.agreement import PairAgreement

    pair = PairAgreement("ann", "bob", 2, None, 0.5, {"trade": {"trade": 1, "energy": 1}})
    cells = _cells(table_csv(confusion_table(pair, ["trade", "energy"])))
    assert cells[1][0] == "trade" and len(cells[0]) == len(cells[1])


def test_no_page_shows_a_table_except_through_show_table():
    """The kind, not the instance: a new st.dataframe call would bring back the unguarded toolbar download."""
    found = []
    for path in (REPO / "label_app").rglob("*.py"):
        if path.name == "table_view.py":
            continue
        for n, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
            if re.search(r"\.(dataframe|data_editor|table)\(", line):
                found.append(f"{path.relative_to(REPO)}:{n}: {line.strip()}")
    assert found == []


@pytest.fixture
def hostile_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    project = make_project(tmp_path / "proj", seeds=False)
    (project.seeds_dir / "hostile.txt").write_text(ARTICLE, encoding="utf-8")
    ingest(project)
    monkeypatch.setenv("LABEL_APP_PROJECT", str(project.root))
    return project


def test_every_table_on_the_pages_has_a_guarded_download_and_no_toolbar_export(hostile_project):
    schema = load_schema(hostile_project.schema_path)
    store.append_rows(hostile_project, schema, [LabelRow("x1", HOSTILE[0], "ann", topic="trade"),
                                                LabelRow("x1", HOSTILE[0], "bob", topic="energy")])
    store.create_version(hostile_project, note="-first")
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["annotator"] = "sara"
    at.run()
    for page in ("views/browse.py", "views/data.py", "views/dashboard.py"):
        at.switch_page(page).run()
        assert not at.exception, page
        shown = [d for d in at.dataframe if len(d.value)]
        guarded = [b for b in at.get("download_button") if b.proto.label == "Download CSV"]
        assert shown and len(guarded) == len(shown), page  # one guarded download per table with rows
    import streamlit as st

    assert st.get_option("client.disableDataExport") is True


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)")
def test_browse_download_in_chromium_is_guarded_and_the_toolbar_has_no_csv_export(hostile_project, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    proc, url = start_app(hostile_project, tmp_path / "server.log", timeout_s=90)
    try:
        expect.set_options(timeout=30_000)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1366, "height": 900}, accept_downloads=True)
            page.set_default_timeout(30_000)
            page.goto(f"{url}/browse?annotator=sara")
            grid = page.locator("[data-testid=stDataFrame]").first
            expect(grid).to_be_visible()
            expect(page.get_by_text(re.compile(r"rows match"))).to_be_visible()
            grid.hover()
            expect(grid.locator("[data-testid=stElementToolbar]")).to_have_count(1)  # the toolbar is there ...
            expect(grid.locator("[data-testid=stElementToolbar] button").first).to_be_visible()  # drawn
            expect(page.get_by_role("button", name="Download as CSV")).to_have_count(0)  # ... without its export
            button = page.locator(".st-key-br_table_csv button")
            with page.expect_download() as dl:
                button.click()
            data = Path(dl.value.path()).read_text("utf-8")
            name = dl.value.suggested_filename
            browser.close()
    finally:
        stop_app(proc)
    cells = _cells(data)
    assert {"'" + t for t in HOSTILE} <= {c for r in cells for c in r}
    assert not [c for r in cells for c in r if c.startswith(("=", "+", "-", "@"))]
    assert name == "sentences.csv"
