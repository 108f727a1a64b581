"""Retrain and pre-label from the app: a real background job process, its status file, the one-job lock."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from label_app import jobs
from label_app.corpus import KIND_SENTENCE, load_corpus
from label_app.jobs import JobRunning, JobStatus, read_status, start_job
from label_app.project import Project
from label_app.ui import md_escape

train = pytest.importorskip("train")
from train.prelabel import read_prelabels  # noqa: E402
from train.registry import current_model_id  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
APP = str(REPO / "label_app" / "app.py")


def copy_shipped(root: Path, labels: bool = True) -> Project:
    """A project with the shipped schema and seed articles, and (with `labels`) the shipped labels."""
    (root / "labels").mkdir(parents=True)
    shutil.copy(REPO / "labels" / "schema.toml", root / "labels" / "schema.toml")
    if labels:
        shutil.copy(REPO / "labels" / "labels.csv", root / "labels" / "labels.csv")
        shutil.copytree(REPO / "labels" / "versions", root / "labels" / "versions")
    (root / "seeds").mkdir()
    for f in sorted((REPO / "seeds").glob("*.txt")):
        shutil.copy(f, root / "seeds" / f.name)
    return Project.at(root)


def wait_for(project: Project, timeout: float = 90.0) -> tuple[JobStatus, list[JobStatus]]:
    """Poll the status file until the job ends; returns the last status and every status seen."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = read_status(project)
        seen.append(status)
        if not status.running:
            return status, seen
        time.sleep(0.05)
    raise AssertionError(f"the job did not finish in {timeout} s: {read_status(project)}")


def test_job_trains_prelabels_and_switches_the_model(tmp_path: Path) -> None:
    project = copy_shipped(tmp_path / "proj")
    first = train.train_project(project, progress=False).model_id
    # a label added since: the job snapshots the labels as version 2, noted as its own, and trains a new model
    # (on unchanged labels it would reuse the current one: see test_train_cli.py)
    from label_app import store
    from label_app.schema import load_schema

    corpus = load_corpus(project, refresh=True)
    sid, text, aid = corpus.loc[corpus["kind"] == KIND_SENTENCE, ["sentence_id", "text", "article_id"]].iloc[0]
    store.append_label(project, load_schema(project.schema_path),
                       store.LabelRow(sid, text, "omid", topic="trade", stance="favor", article_id=aid))
    started = start_job(project, started_by="lead")
    assert (started.state, started.stage, started.started_by) == ("running", "starting", "lead")
    # one job at a time per project
    with pytest.raises(JobRunning) as refused:
        start_job(project, started_by="omid")
    assert str(refused.value) == (f"A retrain is already running (started by lead at {started.started}); "
                                  "wait for it to finish.")
    status, seen = wait_for(project)
    assert status.state == "done", status.error
    assert status.stages == ["starting", "training", "pre-labeling", "done"]
    assert status.progress == 1.0 and not status.error
    progress = [s.progress for s in seen]
    assert progress == sorted(progress)  # never goes back
    # a new model, current only now that its pre-labels are written
    assert status.model_id != first and current_model_id(project) == status.model_id
    corpus = load_corpus(project, refresh=False)
    sentences = set(corpus.loc[corpus["kind"] == KIND_SENTENCE, "sentence_id"])
    prelabels = read_prelabels(project, status.model_id)
    assert set(prelabels.index) == sentences
    assert store.latest_version(project)["note"] == ("created by a retrain started by lead from the app (Settings): "
                                                     "labels changed since the last version")
    assert re.fullmatch(rf"Model {status.model_id} trained on labels v0002 and {len(sentences)} sentences "
                        r"pre-labeled in \d+ s; suggestions and the queue use it now\.", status.message)
    assert status.describe() == f"Finished {status.finished}: {status.message}"
    # the job lets go of the lock right after its last status write: a new one can start
    deadline = time.monotonic() + 5
    while jobs._lock_held(project) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not jobs._lock_held(project)


def test_a_failed_job_records_its_one_line_error(tmp_path: Path) -> None:
    project = copy_shipped(tmp_path / "proj", labels=False)
    start_job(project)
    status, _ = wait_for(project)
    assert (status.state, status.stage) == ("failed", "training")
    assert status.error == f"{project.labels_dir}: no labels yet; label some sentences (or import labels) first"
    assert status.describe() == f"Failed while training ({status.finished}): {status.error}"
    assert current_model_id(project) is None


def test_a_killed_job_is_reported(tmp_path: Path) -> None:
    project = copy_shipped(tmp_path / "proj", labels=False)
    project.cache_dir.mkdir()
    # what a job killed mid-way leaves: a 'running' status, and a lock file nobody holds
    jobs.lock_path(project).touch()
    jobs.status_path(project).write_text(json.dumps({"state": "running", "job_id": "x", "stage": "training",
                                                     "started": "2026-01-01T00:00:00Z"}))
    status = read_status(project)
    assert (status.state, status.stage) == ("failed", "training")
    assert status.error == ("the retrain process stopped before it finished (killed or crashed); see "
                            f"{project.cache_dir / 'retrain.log'}")
    assert read_status(copy_shipped(tmp_path / "other")).describe() == "No retrain has been started from the app yet."


def test_settings_page_starts_the_job_and_shows_its_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = copy_shipped(tmp_path / "proj")
    monkeypatch.setenv("LABEL_APP_PROJECT", str(project.root))
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["annotator"] = "lead"
    at.run()
    at.switch_page("views/settings.py").run()
    assert not at.exception
    assert at.button(key="set_retrain").label == "Retrain and pre-label now"
    assert any(c.value == md_escape("No retrain has been started from the app yet.") for c in at.caption)
    at.button(key="set_retrain").click().run()
    assert not at.exception
    running = read_status(project)
    assert running.started_by == "lead"
    assert at.button(key="set_retrain").disabled  # while it runs
    status, _ = wait_for(project)
    assert status.state == "done", status.error
    at.run()
    assert at.success[0].value == md_escape(status.describe())
    assert not at.button(key="set_retrain").disabled
