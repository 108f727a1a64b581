"""Every page checks the role itself when it runs (ui.require), even when opened outside the navigation."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from label_app import auth
from label_app.project import Project
from label_app.ui import PAGE_FOR_REVIEWERS, SIGN_IN_FIRST

VIEWS = Path(__file__).resolve().parent.parent / "label_app" / "views"
PAGES = ["annotate", "browse", "data", "dashboard", "review", "settings"]
REVIEWER_ONLY = {"review", "settings"}


@pytest.fixture
def team(project: Project, monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.setenv("LABEL_APP_PROJECT", str(project.root))
    monkeypatch.setenv(auth.HOST_ENV, "0.0.0.0")
    auth.add_user(project, "lead", "reviewer", "correct horse 1")
    auth.add_user(project, "sara", "annotator", "battery staple 2")
    return project


def run_page(page: str, user: str | None) -> AppTest:
    at = AppTest.from_file(str(VIEWS / f"{page}.py"), default_timeout=60)
    if user:
        at.session_state["auth_user"] = user
    at.run()
    assert not at.exception
    return at


@pytest.mark.parametrize("page", PAGES)
def test_a_page_run_directly_refuses_whoever_may_not_see_it(team: Project, page: str) -> None:
    at = run_page(page, None)
    assert [e.value for e in at.error] == [SIGN_IN_FIRST]
    assert not at.title and not at.button and not at.text_input and not at.dataframe
    at = run_page(page, "sara")
    if page in REVIEWER_ONLY:
        assert [e.value for e in at.error] == [PAGE_FOR_REVIEWERS.format(name="sara", role="annotator")]
        assert not at.title and not at.button and not at.radio and not at.number_input
    else:
        assert [t.value for t in at.title] == [page.capitalize()]


@pytest.mark.parametrize("page", sorted(REVIEWER_ONLY))
def test_a_reviewer_gets_the_reviewer_pages(team: Project, page: str) -> None:
    at = run_page(page, "lead")
    assert [t.value for t in at.title] == [page.capitalize()] and not at.error


def test_a_removed_account_is_refused_on_its_next_run(team: Project) -> None:
    at = run_page("settings", "lead")
    auth.remove_user(team, "lead")
    at.run()
    assert [e.value for e in at.error] == [SIGN_IN_FIRST] and not at.radio
