"""A retrain started from the Settings page is recorded under the reviewer who started it, even when Settings
is the first page opened (a bookmark), and snapshots changed labels under its own note."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from conftest import REPO, make_project
from streamlit.testing.v1 import AppTest

from label_app.jobs import read_status, retrain_note
from label_app.project import Project

APP = str(REPO / "label_app" / "app.py")


def settings_first(project: Project, monkeypatch: pytest.MonkeyPatch, annotator: str | None) -> AppTest:
    """Settings as the first page of the session (no other page has run and remembered a name)."""
    monkeypatch.setenv("LABEL_APP_PROJECT", str(project.root))
    at = AppTest.from_file(APP, default_timeout=60)
    if annotator:
        at.query_params["annotator"] = annotator
    at.switch_page("views/settings.py").run()
    assert not at.exception
    assert at.title[0].value == "Settings"
    return at


def test_retrain_needs_a_name_and_records_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(tmp_path / "proj")
    shutil.copy(REPO / "labels" / "labels.csv", project.log_path)
    shutil.copytree(REPO / "labels" / "versions", project.versions_dir)
    at = settings_first(project, monkeypatch, None)
    assert at.button(key="set_retrain").disabled
    assert any(c.value.startswith("Pick your name (Annotate page, or ?annotator=NAME in the address) to start a "
                                  "retrain") for c in at.caption)
    at = settings_first(project, monkeypatch, "Lead")
    assert not at.button(key="set_retrain").disabled
    at.button(key="set_retrain").click().run()
    assert not at.exception
    assert read_status(project).started_by == "lead"
    deadline = time.monotonic() + 120
    while read_status(project).running and time.monotonic() < deadline:
        time.sleep(0.1)
    status = read_status(project)
    assert status.state == "done", status.error
    assert status.started_by == "lead"


def test_the_version_note_of_an_app_retrain() -> None:
    assert retrain_note("lead") == ("created by a retrain started by lead from the app (Settings): labels changed "
                                    "since the last version")
    assert retrain_note("") == "created by a retrain started from the app (Settings): labels changed since the last " \
                               "version"
