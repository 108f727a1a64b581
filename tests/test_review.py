"""Review: the queue of disagreements and likely label errors, adjudication, and what training makes of it;
the Review page and the Dashboard's agreement section in AppTest."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from label_app import review, store
from label_app.agreement import agreement_report
from label_app.index import LabelIndex
from label_app.project import Project
from label_app.schema import Schema
from label_app.workspace import Workspace

APP = str(Path(__file__).resolve().parent.parent / "label_app" / "app.py")
TASKS = ["topic", "stance"]


def add(project: Project, schema: Schema, sid: str, who: str, topic: str = "", stance: str = "",
        source: str = "manual", action: str = "label") -> None:
    store.append_label(project, schema, store.LabelRow(sid, f"text of {sid}", who, topic, stance, "a1",
                                                       source=source, action=action))


def queue(project: Project, errors: list[review.LabelError] | None = None) -> list[review.ReviewItem]:
    idx = LabelIndex(project)
    idx.refresh()
    return review.review_queue(idx.by_sentence, TASKS, errors or [], order=["s2", "s1", "s3"])


def test_disagreements_are_queued_until_adjudicated(project: Project, schema: Schema) -> None:
    add(project, schema, "s1", "ana", "trade", "favor")
    add(project, schema, "s1", "bo", "energy", "favor")
    add(project, schema, "s2", "ana", "trade", "favor")
    add(project, schema, "s2", "bo", "trade", "against")
    add(project, schema, "s3", "ana", "trade", "favor")
    add(project, schema, "s3", "bo", "trade", "")  # no stance is no disagreement
    items = queue(project)
    assert [(i.sentence_id, i.disagree) for i in items] == [("s2", ["stance"]), ("s1", ["topic"])]
    assert items[0].reasons() == ["annotators disagree on stance"]
    review.adjudicate(project, schema, "lead", "s2", "a1", "text of s2", "trade", "against")
    assert [i.sentence_id for i in queue(project)] == ["s1"]
    # an annotator relabelling after the decision brings the disagreement back (timestamps have ms resolution)
    time.sleep(0.005)
    add(project, schema, "s2", "ana", "trade", "neutral")
    assert [i.sentence_id for i in queue(project)] == ["s2", "s1"]
    last = store.read_log(project).rows[-2]
    assert (last["annotator"], last["source"], last["action"], last["stance"]) == ("lead", "adjudicated", "label",
                                                                                   "against")


def test_adjudication_needs_a_label(project: Project, schema: Schema) -> None:
    with pytest.raises(store.LabelAppError, match="^choose the final topic or stance first$"):
        review.adjudicate(project, schema, "lead", "s1", "a1", "t", "", "")
    with pytest.raises(store.InvalidName):
        review.adjudicate(project, schema, "not a name", "s1", "a1", "t", "trade", "")


ERRORS_CSV = ("rank,task,sentence_id,article_id,text,gold,predicted,p_predicted,p_gold,margin,votes,labels_version,"
              "model_id\n"
              "2,stance,s1,a1,text of s1,favor,against,0.8,0.1,0.7,2/2,1,m0001-v0001-0123abcd\n"
              "1,topic,s4,a1,'=SUM(A1),trade,energy,0.9,0.05,0.85,1/1,1,m0001-v0001-0123abcd\n"
              "3,topic,s9,a1,cleared since,trade,energy,0.9,0.05,0.85,1/1,1,m0001-v0001-0123abcd\n")


def test_errors_csv_is_parsed_and_merged_by_rank(project: Project, schema: Schema, tmp_path: Path) -> None:
    errors = review.parse_errors(ERRORS_CSV)
    assert [(e.rank, e.sentence_id, e.text) for e in errors] == [
        (1, "s4", "=SUM(A1)"), (2, "s1", "text of s1"), (3, "s9", "cleared since")]
    assert errors[1].describe() == ("likely stance error (rank 2): labelled favor (2/2); out-of-fold prediction "
                                    "against (80%)")
    add(project, schema, "s1", "ana", "trade", "favor")
    add(project, schema, "s1", "bo", "energy", "favor")
    add(project, schema, "s4", "ana", "trade", "")
    add(project, schema, "s9", "ana", "trade", "")
    add(project, schema, "s9", "ana", action="clear")
    items = queue(project, errors)
    assert [(i.sentence_id, i.disagree, [e.rank for e in i.errors]) for i in items] == [
        ("s1", ["topic"], [2]), ("s4", [], [1])]
    review.adjudicate(project, schema, "lead", "s4", "a1", "=SUM(A1)", "energy", "")
    assert [i.sentence_id for i in queue(project, errors)] == ["s1"]
    path = tmp_path / "label_errors.csv"
    assert review.read_errors(path) == []
    path.write_text(ERRORS_CSV, encoding="utf-8")
    assert review.read_errors(path) == errors
    # a file of another shape is named, not read as "no errors"
    path.write_text("something,else\n1,2\n", encoding="utf-8")
    with pytest.raises(review.artifacts.ArtifactError, match=r"label_errors\.csv: missing columns rank, task, "):
        review.read_errors(path)


def test_adjudicated_label_is_the_gold_label_in_training(project: Project, schema: Schema) -> None:
    from train.data import gold_labels

    ws = Workspace.open(project.root)
    sid = ws.sentence_ids[3]
    ws.save("ana", sid, "label", "trade", "favor")
    ws.save("bo", sid, "label", "energy", "against")
    store.create_version(project)
    before = gold_labels(store.load_version(project, 1), schema)
    assert sid in before["topic"].tie_ids and sid in before["stance"].tie_ids  # one each: a tie, left out
    ws.sync()
    item = review.review_queue(ws.index.by_sentence, TASKS, [], ws.sentence_ids)[0]
    v = ws.view(sid)
    review.adjudicate(project, schema, "lead", item.sentence_id, v.article_id, v.text, "energy", "favor")
    # even when the reviewer is outvoted by a majority, the adjudicated label wins
    ws.save("cy", sid, "label", "trade", "against")
    store.create_version(project)
    gold = gold_labels(store.load_version(project, 2), schema)
    for task, want in (("topic", "energy"), ("stance", "favor")):
        data = gold[task]
        i = data.sentence_ids.index(sid)
        assert (data.labels[i], data.votes[i]) == (want, "adjudicated")
        assert sid not in data.tie_ids


def test_the_errors_of_a_trained_model_reach_the_review_queue(project: Project, schema: Schema) -> None:
    import shutil

    from train.training import find_label_errors, train_project

    shutil.copy(Path(APP).parent.parent / "labels" / "labels.csv", project.log_path)
    train_project(project, progress=False)
    result = find_label_errors(project, progress=False)
    path = review.errors_path(project)
    assert path is not None and str(path) == result["path"]
    errors = review.read_errors(path)
    assert [(e.sentence_id, e.task, e.gold, e.predicted) for e in errors] == [
        (r["sentence_id"], r["task"], r["gold"], r["predicted"]) for r in result["errors"]]
    ws = Workspace.open(project.root)
    items = review.review_queue(ws.index.by_sentence, TASKS, errors, ws.sentence_ids)
    assert {i.sentence_id for i in items} == {e.sentence_id for e in errors}


def test_agreement_tables(project: Project, schema: Schema) -> None:
    for sid, (a, b) in {"s1": ("trade", "trade"), "s2": ("trade", "energy"), "s3": ("energy", "energy")}.items():
        add(project, schema, sid, "ana", a)
        add(project, schema, sid, "bo", b)
    review.adjudicate(project, schema, "lead", "s2", "a1", "text of s2", "trade", "")
    idx = LabelIndex(project)
    idx.refresh()
    ta = agreement_report(review.entries_as_rows(idx.label_entries()), schema)["topic"]
    assert ta.annotators == ["ana", "bo"]  # the adjudication is not an annotation
    pairs = review.pairs_frame(ta)
    assert pairs.iloc[0].tolist()[:3] == ["ana", "bo", 3]
    assert pairs.iloc[0]["identical"] == pytest.approx(2 / 3)
    table = review.confusion_table(ta.pairs[0], schema.topic.names)
    assert table.index.name == "ana \\ bo" and list(table.columns) == ["trade", "energy"]
    assert table.to_numpy().tolist() == [[1, 1], [0, 1]]
    assert review.per_label_frame(ta)["label"].tolist() == ["trade", "energy"]


# ---------------------------------------------------------------- pages (AppTest, single-user mode)

@pytest.fixture
def app_project(project: Project, monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.setenv("LABEL_APP_PROJECT", str(project.root))
    return project


def open_page(page: str, annotator: str = "lead") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["annotator"] = annotator
    at.run()
    at.switch_page(page).run()
    assert not at.exception
    return at


def press(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click().run()
    assert not at.exception
    return at


def test_review_page_adjudicates_with_the_keyboard_buttons(app_project: Project, schema: Schema) -> None:
    ws = Workspace.open(app_project.root)
    first, second = ws.sentence_ids[2], ws.sentence_ids[5]
    ws.save("ana", first, "label", "trade", "favor")
    ws.save("bo", first, "label", "energy", "favor")
    ws.save("ana", second, "label", "security", "against")
    ws.save("bo", second, "label", "security", "neutral")
    at = open_page("views/review.py")
    assert at.caption[0].value == ("2 to review: 2 with disagreements, 0 likely label errors. No likely-error list "
                                   "yet: run `python -m train errors`.")
    assert at.caption[1].value == "annotators disagree on topic"
    shown = next(m.value for m in at.markdown if m.value.startswith("#### "))
    assert shown == "#### " + review_md(ws.view(first).text)
    table = at.dataframe[0].value
    assert table[["annotator", "topic", "stance"]].values.tolist() == [["ana", "trade", "favor"],
                                                                       ["bo", "energy", "favor"]]
    # the stance both gave is pre-selected; the topic is the reviewer's call
    assert at.button(key="rev_stance_favor").proto.type == "primary"
    assert at.button(key="rev_topic_trade").proto.type == "secondary"
    assert at.button(key="rev_save").proto.shortcut == "enter"
    assert at.button(key="rev_topic_energy").proto.shortcut == schema.topic.label("energy").key
    press(at, "rev_stance_favor")  # toggled off
    press(at, "rev_save")
    assert at.error[0].value == "Choose the final topic or stance first (or press → to skip)."
    press(at, "rev_topic_energy")
    press(at, "rev_save")
    assert at.success[0].value == f"Saved the final label energy for {first}."
    row = store.read_log(app_project).rows[-1]
    assert (row["sentence_id"], row["annotator"], row["source"], row["topic"], row["stance"]) == (
        first, "lead", "adjudicated", "energy", "")
    # the reviewed sentence left the queue: the next one is shown
    assert at.caption[0].value.startswith("1 to review: 1 with disagreements")
    assert next(m.value for m in at.markdown if m.value.startswith("#### ")) == "#### " + review_md(
        ws.view(second).text)
    press(at, "rev_skip")
    assert at.success[0].value == "Nothing to review."
    press(at, "rev_unskip")
    assert at.button(key="rev_save")


def review_md(text: str) -> str:
    from label_app.ui import md_escape

    return md_escape(text)


def test_dashboard_shows_agreement(app_project: Project, schema: Schema) -> None:
    ws = Workspace.open(app_project.root)
    for i, (a, b) in enumerate([("trade", "trade"), ("trade", "energy"), ("energy", "energy"), ("other", "other")]):
        sid = ws.sentence_ids[i]
        ws.save("ana", sid, "label", a, "favor")
        ws.save("bo", sid, "label", b, "favor" if i else "against")
    at = open_page("views/dashboard.py")
    report = agreement_report(store.current_labels(app_project), schema)
    # four shared sentences are below the default minimum overlap: the pair is named and left out
    assert "1 pair shares fewer than 10 sentences and is left out: ana / bo (4)" in [c.value for c in at.caption]
    assert at.dataframe[0].value.empty  # the topic kappa table
    at.number_input(key="dash_min_overlap").set_value(4).run()
    alpha = next(m for m in at.metric if m.label == "Krippendorff's alpha (topic)")
    assert alpha.value == f"{report['topic'].alpha:.3f}"
    # per task: kappa per pair, per-label agreement, the pair's confusion
    kappa, per_label, confusion = (d.value for d in at.dataframe[:3])
    assert kappa["Cohen's kappa"].tolist() == [pytest.approx(report["topic"].pairs[0].kappa)]
    assert per_label["label"].tolist() == ["trade", "energy", "other"]
    assert confusion.loc["trade", "energy"] == 1 and confusion.loc["other", "other"] == 1
    assert at.selectbox(key="dash_topic_pair").options == ["ana / bo"]
    stance = at.dataframe[4].value
    assert stance.values.tolist() == [["favor", pytest.approx(6 / 7)], ["against", 0.0]]
