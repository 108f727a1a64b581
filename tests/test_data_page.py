"""The Data page follows its data: after creating a version or importing labels, every select, caption and table
drawn after the action shows the new state in the same run (issue 14 item 4), and import problems are a table."""

from __future__ import annotations

import pytest
from conftest import REPO  # noqa: I001
from streamlit.testing.v1 import AppTest

from label_app import store
from label_app.project import Project
from label_app.schema import load_schema
from label_app.store import LabelRow

APP = str(REPO / "label_app" / "app.py")


@pytest.fixture
def data_page(project: Project, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("LABEL_APP_PROJECT", str(project.root))
    schema = load_schema(project.schema_path)
    store.append_label(project, schema, LabelRow(store.text_sentence_id("First text."), "First text.", "ann",
                                                 topic="trade"))
    store.create_version(project)
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["annotator"] = "sara"
    at.run()
    at.switch_page("views/data.py").run()
    assert not at.exception
    return at


def _select(at: AppTest, prefix: str):  # noqa: ANN202
    found = [s for s in at.selectbox if s.key and s.key.startswith(prefix)]
    assert len(found) == 1, [s.key for s in at.selectbox]
    return found[0]


def _diff_caption(at: AppTest) -> str:
    return next(c.value for c in at.caption if "→" in c.value)


def test_a_new_version_is_selected_for_download_and_diff_at_once(data_page: AppTest, project: Project):
    at = data_page
    assert _select(at, "data_export_v").value == 1
    schema = load_schema(project.schema_path)
    store.append_label(project, schema, LabelRow("s2", "Second text.", "ann", topic="energy"))
    at.text_input(key="data_note").input("round 2")
    at.button[0].click().run()  # the form's "Create version"
    assert not at.exception
    assert at.success[0].value == "Created version 2 with 2 labels."
    assert _select(at, "data_export_v").value == 2  # was: still 1 after "Created version 2"
    assert list(at.dataframe[0].value["version"]) == [1, 2]
    assert _select(at, "data_diff_a").value == "2" and _diff_caption(at) == "2 → current: 0 added, 0 changed, 0 removed"
    names = [b.proto.label for b in at.get("download_button")]
    assert "spaCy DocBin (topic)" in names


def test_the_diff_caption_counts_an_import_in_the_same_run(data_page: AppTest, project: Project):
    at = data_page
    assert _diff_caption(at) == "1 → current: 0 added, 0 changed, 0 removed"
    good = b"text,topic,stance,annotator\nFirst text.,energy,,ann\nA new text.,other,favor,bob\n"
    at.file_uploader(key="data_labels").set_value(("good.csv", good, "text/csv")).run()
    at.button(key="data_import").click().run()
    assert not at.exception
    assert at.success[0].value == "Imported 2 labels (annotators: ann, bob; 0 matched corpus sentences)."
    # was: "1 → current: 0 added" until the next rerun
    assert _diff_caption(at) == "1 → current: 1 added, 1 changed, 0 removed"
    assert any(c.value == "1 relabel earlier labels." for c in at.caption), [c.value for c in at.caption]


def test_import_problems_are_a_table_and_nothing_is_written(data_page: AppTest, project: Project):
    at = data_page
    before = project.log_path.read_bytes()
    bad = b"text,topic,stance,annotator\nSame.,trade,,ann\nSame.,energy,,ann\nOther.,weather,,ann\n"
    at.file_uploader(key="data_labels").set_value(("bad.csv", bad, "text/csv")).run()
    at.button(key="data_import").click().run()
    assert not at.exception
    assert at.error[0].value == "bad.csv: nothing imported, 2 problems. Fix these rows and import the file again:"
    table = at.dataframe[-1].value
    assert list(table.columns) == ["row", "column", "value", "problem"]
    assert table[["row", "column", "value"]].values.tolist() == [[3, "topic", "energy"], [4, "topic", "weather"]]
    assert table["problem"][0] == ("conflicts with row 2 (same sentence, annotator 'ann', topic 'trade'): keep one "
                                   "of the two rows")
    assert project.log_path.read_bytes() == before
