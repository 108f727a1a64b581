"""Browse's correction (AppTest): a reviewer's change is the sentence's final label (adjudicated, under the
reviewer's own name), starts from the current labels and refreshes the table; nobody writes as someone else."""

from __future__ import annotations

import pytest
from conftest import REPO
from streamlit.testing.v1 import AppTest

from label_app import auth, store
from label_app.project import Project
from label_app.review import final_label
from label_app.workspace import Workspace
from train.data import gold_labels

APP = str(REPO / "label_app" / "app.py")


@pytest.fixture
def voted(project: Project, monkeypatch: pytest.MonkeyPatch) -> tuple[Project, str]:
    """Seven annotators on one sentence: four say trade/favor, three diplomacy/neutral (tester among them)."""
    monkeypatch.setenv("LABEL_APP_PROJECT", str(project.root))
    ws = Workspace.open(project.root)
    sid = ws.sentence_ids[3]
    for who in ("ana", "bo", "cy", "di"):
        ws.save(who, sid, "label", "trade", "favor")
    for who in ("ed", "fa", "tester"):
        ws.save(who, sid, "label", "diplomacy", "neutral")
    return project, sid


def browse(annotator: str | None = "lead", user: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if annotator:
        at.query_params["annotator"] = annotator
    if user:
        at.session_state["auth_user"] = user
    at.run()
    at.switch_page("views/browse.py").run()
    assert not at.exception
    return at


def gold(project: Project, sid: str, schema) -> tuple[str, str]:  # noqa: ANN001
    g = gold_labels(store.current_labels(project), schema)
    return tuple(g[t].labels[g[t].sentence_ids.index(sid)] for t in ("topic", "stance"))  # type: ignore[return-value]


def test_a_reviewers_correction_changes_the_gold_label(voted: tuple[Project, str], schema) -> None:  # noqa: ANN001
    project, sid = voted
    assert gold(project, sid, schema) == ("trade", "favor")
    at = browse()
    at.text_input(key="br_open_id").input(sid).run()
    # there is no name box: the change is recorded under the session's own name
    assert not [t for t in at.text_input if t.key == "br_who"]
    assert any(m.value == "**Correct the final label** (saved as **lead**, source *adjudicated*)" for m in at.markdown)
    # it starts from the current labels (the majority), not from "(none)"
    assert (at.selectbox(key=f"br_topic_{sid}").value, at.selectbox(key=f"br_stance_{sid}").value) == (
        "trade", "favor")
    assert any(c.value == "Final label now (what training uses): topic trade (4/7 annotators); stance favor "
               "(4/7 annotators)" for c in at.caption)
    at.selectbox(key=f"br_topic_{sid}").set_value("energy").run()
    at.button(key="br_save").click().run()
    assert not at.exception
    assert at.success[0].value == f"Saved the final label energy · favor for {sid} as lead (adjudicated)."
    row = store.read_log(project).rows[-1]
    assert (row["annotator"], row["source"], row["topic"], row["stance"]) == ("lead", "adjudicated", "energy", "favor")
    # the majority no longer outvotes it: training takes it as gold
    assert gold(project, sid, schema) == ("energy", "favor")
    # the page shows the new final label and the table has the reviewer's row
    assert any(c.value == "Final label now (what training uses): topic energy (adjudicated by lead); stance "
               "favor (adjudicated by lead)" for c in at.caption)
    table = at.dataframe(key="br_table").value
    assert table[(table["sentence_id"] == sid) & (table["annotator"] == "lead")][["topic", "source"]].values.tolist() \
        == [["energy", "adjudicated"]]


def test_an_annotator_account_changes_only_its_own_label(voted: tuple[Project, str]) -> None:
    project, sid = voted
    auth.add_user(project, "tester", "annotator", "password123")
    at = browse(annotator="ana", user="tester")  # ?annotator=ana is ignored with accounts
    at.text_input(key="br_open_id").input(sid).run()
    assert any(m.value == "**Change your label** (saved as **tester**)" for m in at.markdown)
    assert at.selectbox(key=f"br_topic_{sid}_tester").value == "diplomacy"  # starts from tester's own label
    at.selectbox(key=f"br_topic_{sid}_tester").set_value("energy").run()
    at.button(key="br_save").click().run()
    assert at.success[0].value == f"Saved your label energy · neutral for {sid}."
    row = store.read_log(project).rows[-1]
    assert (row["annotator"], row["source"], row["topic"]) == ("tester", "manual", "energy")
    assert store.read_log(project).rows[0]["annotator"] == "ana"  # ana's label untouched


def test_final_label_rule(voted: tuple[Project, str]) -> None:
    project, sid = voted
    ws = Workspace.open(project.root)
    assert final_label(ws.index.entries(sid), "topic") == ("trade", "4/7 annotators")
    ws.save("gu", sid, "label", "diplomacy", "")
    assert final_label(ws.index.entries(sid), "topic") == ("", "tie 4/4")
    assert final_label(ws.index.entries(sid), "stance") == ("favor", "4/7 annotators")
