"""The Dashboard and Review pages rendered (AppTest) from the files a real `python -m train`, `python -m train
curve` and `python -m train errors` wrote; the artifacts' one definition; progress window and time per label."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO, make_project, run_cli
from streamlit.testing.v1 import AppTest

from label_app import activity, artifacts, metrics_view, store
from label_app.corpus import KIND_SENTENCE, load_corpus
from label_app.project import Project
from label_app.schema import load_schema
from label_app.ui import md_escape

APP = str(REPO / "label_app" / "app.py")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The shipped starter labels (old timestamps), today's labels by two annotators with the seconds they took,
    and a model, learning curve and label-error list from the real commands."""
    project = make_project(tmp_path_factory.mktemp("dash") / "proj")
    shutil.copy(REPO / "labels" / "labels.csv", project.log_path)
    schema = load_schema(project.schema_path)
    corpus = load_corpus(project)
    sents = corpus[corpus["kind"] == KIND_SENTENCE].head(12)
    for i, (sid, text, aid) in enumerate(sents[["sentence_id", "text", "article_id"]].itertuples(index=False)):
        for who, secs in (("ana", 4.0 + i), ("bo", 10.0)):
            store.append_label(project, schema, store.LabelRow(sid, text, who, topic="trade", stance="favor",
                                                               article_id=aid, seconds=secs))
    for args in ((), ("curve",), ("errors", "--min-confidence", "0.0")):
        done = run_cli("--project", str(project.root), *args, "--quiet", module="train")
        assert done.returncode == 0, done.stderr
    return project


def model_id(project: Project) -> str:
    mid = artifacts.current_model_id(project)
    assert mid is not None
    return mid


def open_page(project: Project, page: str, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("LABEL_APP_PROJECT", str(project.root))
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["annotator"] = "lead"
    at.run()
    at.switch_page(page).run()
    assert not at.exception
    return at


def frame_with(at: AppTest, columns: list[str]) -> pd.DataFrame:
    """The one table on the page with exactly these columns (AppTest keeps no key on a plain st.dataframe)."""
    found = [d.value for d in at.dataframe if list(d.value.columns) == columns]
    assert len(found) == 1, [list(d.value.columns) for d in at.dataframe]
    return found[0]


def test_the_files_train_writes_match_the_one_definition(trained: Project) -> None:
    folder = artifacts.model_folder(trained, model_id(trained))
    metrics = artifacts.read_metrics(folder / artifacts.METRICS_FILE)
    curve = artifacts.read_learning_curve(folder / artifacts.CURVE_FILE)
    assert metrics is not None and curve is not None
    assert set(metrics["tasks"]) == {"topic", "stance"}
    frame = artifacts.curve_frame(curve)
    assert list(frame.columns) == artifacts.CURVE_COLUMNS
    assert frame.groupby("task").size().to_dict() == {"topic": 5, "stance": 5}
    header = (folder / artifacts.ERRORS_FILE).read_text("utf-8").splitlines()[0]
    assert header.split(",") == artifacts.LABEL_ERROR_COLUMNS


def test_dashboard_shows_the_learning_curve_and_scores_of_a_real_run(trained: Project,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page(trained, "views/dashboard.py", monkeypatch)
    mid = model_id(trained)
    curve = json.loads((trained.models_dir / mid / "learning_curve.json").read_text())
    shown = frame_with(at, artifacts.CURVE_COLUMNS)
    want = [(t, p["n_train"], p["macro_f1"]) for t, b in curve["tasks"].items() for p in b["points"]]
    assert list(shown[["task", "n_train", "macro_f1"]].itertuples(index=False, name=None)) == want
    assert not shown.empty
    metrics = json.loads((trained.models_dir / mid / "metrics.json").read_text())
    headings = [m.value for m in at.markdown]
    assert f"**Topic** — macro-F1 {metrics['tasks']['topic']['macro_f1']:.2f}" in headings
    assert "**Learning curve**" in headings
    assert not at.warning


def test_a_curve_file_of_another_shape_is_named_not_shown_empty(trained: Project, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(tmp_path / "copy")
    shutil.copy(trained.log_path, project.log_path)
    shutil.copytree(trained.versions_dir, project.versions_dir)
    shutil.copytree(trained.models_dir, project.models_dir)
    path = project.models_dir / model_id(project) / artifacts.CURVE_FILE
    path.write_text(json.dumps({"topic": [{"n": 10, "score": 0.5}]}))  # the keys the old Dashboard read
    at = open_page(project, "views/dashboard.py", monkeypatch)
    assert [w.value for w in at.warning] == [
        f"{path}: missing model_id, labels_version, tasks (not written by this version of `python -m train`; "
        "rerun it)"]
    with pytest.raises(artifacts.ArtifactError):
        artifacts.read_learning_curve(path)


def test_dashboard_progress_window_and_time_per_label(trained: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page(trained, "views/dashboard.py", monkeypatch)
    # the starter labels are old: the default window is the latest day with labels, today's 24
    assert at.selectbox(key="dash_window").value == "day"
    assert any(c.value.startswith("24 label actions from ") and "84 earlier ones outside the window" in c.value
               for c in at.caption)
    timing = frame_with(at, activity.TIMING_COLUMNS)
    assert timing.values.tolist() == [["ana", 12, 9.5, 13.9, 379], ["bo", 12, 10.0, 10.0, 360]]
    at.selectbox(key="dash_window").set_value("all").run()
    assert any(c.value.startswith("108 label actions from ") for c in at.caption)


def test_review_page_names_its_one_source(trained: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page(trained, "views/review.py", monkeypatch)
    mid = model_id(trained)
    captions = [c.value for c in at.caption]
    reasons = [c for c in captions if c.startswith(md_escape("likely "))]
    assert reasons and all(md_escape("out-of-fold prediction ") in r for r in reasons)
    assert md_escape(f"Model figures on this screen: out-of-fold predictions of model {mid} (by python -m train "
                     "errors: trained on the other folds with this model's settings, so it never saw this sentence "
                     "or its article).") in captions
    # no second, contradicting figure from the current model on the same screen
    assert not [i for i in at.info if "current model" in i.value]


def test_windows_count_back_from_the_latest_label() -> None:
    rows = [{"timestamp": t, "annotator": a, "action": "label", "source": "manual", "seconds": s}
            for t, a, s in [("2026-01-01T09:00:00.000Z", "seed", ""), ("2026-03-01T23:00:00.000Z", "ana", "3"),
                            ("2026-03-02T08:00:00.000Z", "ana", "5"), ("2026-03-02T09:00:00.000Z", "bo", "x")]]
    rows.append({"timestamp": "2026-03-02T10:00:00.000Z", "annotator": "lead", "action": "label",
                 "source": "adjudicated", "seconds": "1"})
    actions = activity.label_actions(rows)
    assert actions["annotator"].tolist() == ["seed", "ana", "ana", "bo"]  # adjudications are not annotation
    assert activity.progress_frame(actions, "day")[["annotator", "labels"]].values.tolist() == [["ana", 1],
                                                                                                 ["bo", 1]]
    assert len(activity.progress_frame(actions, "7d")) == 3
    assert len(activity.progress_frame(actions, "all")) == 4
    assert activity.window_start(actions["time"], "day") == pd.Timestamp("2026-03-02", tz="UTC")
    timing = activity.time_per_label(actions, "all")
    assert timing.values.tolist() == [["ana", 2, 4.0, 4.8, 900]]  # bo's unreadable seconds are not timed
    with pytest.raises(ValueError, match="unknown window 'week'"):
        activity.window_start(actions["time"], "week")


# ---------------------------------------------------------------- replay 17 #10: empty charts, the chosen model

def _task(**extra: object) -> dict:
    return {"trained": True, "n_sentences": 40, "n_ties": 0, "class_counts": {}, "macro_f1": 0.5, "accuracy": 0.5,
            "per_class": {}, "confusion": {"labels": [], "matrix": []}, **extra}


def test_model_choice_reads_the_member_and_self_training_of_new_and_old_metrics() -> None:
    member = "TF-IDF + wordllama embedding"
    metrics = {"labels_version": 3, "tasks": {
        "topic": _task(chosen_features=f"{member}, self-trained on unlabelled corpus sentences",
                       self_training={"tried": True, "chosen": True, "unlabelled_sentences": 975, "reason": None,
                                      "cv_plain": 0.7861, "cv_self_trained": 0.7949}),
        "stance": _task(chosen_features=member, cv={"selection": "pooled out-of-fold F_avg (mean F1 of favor and "
                                                                 "against)"},
                        self_training={"tried": True, "chosen": False, "unlabelled_sentences": 1,
                                       "cv_plain": 0.5, "cv_self_trained": 0.25}),
        "genre": _task(chosen_features=member, self_training={
            "tried": False, "chosen": False, "unlabelled_sentences": 12,
            "reason": "12 unlabelled corpus sentences (at least 200 needed)"}),
        "old": _task(chosen_features=member, self_training={"tried": False, "chosen": False,
                                                            "unlabelled_sentences": 0}),
        "older": _task(),
        "skipped": {"trained": False, "n_sentences": 3, "n_ties": 0, "class_counts": {},
                    "skipped": "3 gold labels (at least 10 needed)"},
    }}
    assert {t: metrics_view.model_choice(metrics, t) for t in metrics["tasks"]} == {
        "topic": [f"Chosen: {member}, self-trained on unlabelled corpus sentences",
                  "Self-training: tried on 975 unlabelled corpus sentences, chosen (CV macro-F1 0.795 against "
                  "0.786 without)"],
        "stance": [f"Chosen: {member}",
                   "Self-training: tried on 1 unlabelled corpus sentence, not chosen (CV F_avg 0.250 against "
                   "0.500 without)"],
        "genre": [f"Chosen: {member}",
                  "Self-training: not tried: 12 unlabelled corpus sentences (at least 200 needed)"],
        "old": [f"Chosen: {member}", "Self-training: not tried"],
        "older": [],
        "skipped": ["Not trained: 3 gold labels (at least 10 needed)"],
    }
    assert metrics_view.model_choice(metrics, "absent") == []


def test_dashboard_shows_each_task_s_chosen_member_and_self_training(trained: Project,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page(trained, "views/dashboard.py", monkeypatch)
    metrics = json.loads((trained.models_dir / model_id(trained) / "metrics.json").read_text())
    captions = [c.value for c in at.caption]
    for task in ("topic", "stance"):
        block = metrics["tasks"][task]
        assert md_escape(f"Chosen: {block['chosen_features']}") in captions
        want = metrics_view.model_choice(metrics, task)
        assert len(want) == 2 and want[1].startswith("Self-training: ")
        assert md_escape(want[1]) in captions


def test_a_task_without_labels_gets_a_message_not_an_empty_chart(project: Project,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    schema = load_schema(project.schema_path)
    corpus = load_corpus(project)
    sid, text, aid = corpus[corpus["kind"] == KIND_SENTENCE][["sentence_id", "text", "article_id"]].iloc[0]
    store.append_label(project, schema, store.LabelRow(sid, text, "ana", topic="trade", article_id=aid))
    at = open_page(project, "views/dashboard.py", monkeypatch)
    captions = [c.value for c in at.caption]
    assert "No stance labels yet." in captions and "No topic labels yet." not in captions
    charts = at.get("vega_lite_chart")
    assert len(charts) == 2  # the topic counts and the progress line; no stance chart
