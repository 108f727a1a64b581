"""Annotator names are not case-sensitive: "Sara" and "sara" are one person in the app, sign-in and accounts."""

from __future__ import annotations

import io

import pytest
from conftest import REPO, card_send
from streamlit.testing.v1 import AppTest

from label_app import auth, store
from label_app.__main__ import main
from label_app.errors import LabelAppError
from label_app.names import canonical_name, same_name
from label_app.project import Project

APP = str(REPO / "label_app" / "app.py")


def test_canonical_name() -> None:
    assert canonical_name(" Sara ") == "sara" == canonical_name("SARA")
    assert canonical_name("Omid.K-2") == "omid.k-2"
    assert same_name("Sara", "sARa") and not same_name("sara", "sarah")


def test_the_address_and_the_name_box_give_one_annotator(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABEL_APP_PROJECT", str(project.root))
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["annotator"] = "Sara"
    at.run()
    card_send(at, topic=["trade"], stance=["favor"])
    assert not at.exception
    assert at.query_params["annotator"] in ("sara", ["sara"])  # the address is rewritten to the canonical name
    fresh = AppTest.from_file(APP, default_timeout=60)
    fresh.run()
    fresh.text_input(key="ann_name").input("SARA")
    fresh.button[0].click().run()
    assert not fresh.exception
    card_send(fresh, topic=["energy"], stance=["neutral"])
    assert [r["annotator"] for r in store.read_log(project).rows] == ["sara", "sara"]


def test_accounts_are_not_case_sensitive(project: Project) -> None:
    user = auth.add_user(project, "Lead", "reviewer", "password123")
    assert user.name == "lead"
    users = auth.load_users(project)
    assert list(users) == ["lead"]
    assert auth.authenticate(users, "LEAD", "password123") is users["lead"]
    assert auth.authenticate(users, "lead", "wrong-password") is None
    with pytest.raises(LabelAppError, match="user 'lead' already exists"):
        auth.add_user(project, "lEAd", "annotator", "password123")
    auth.remove_user(project, "LEAD")
    assert auth.load_users(project) == {}


def test_a_users_file_naming_one_person_twice_is_refused(project: Project) -> None:
    auth.add_user(project, "sara", "annotator", "password123")
    text = auth.users_path(project).read_text()
    auth.users_path(project).write_text(text + text.replace('[users."sara"]', '[users."Sara"]'))
    with pytest.raises(auth.UsersFileError, match=r'\[users.Sara\]: the same user as \[users.sara\] \(names are '
                                                  r"not case-sensitive\); keep one"):
        auth.load_users(project)


def test_users_command_takes_any_spelling(project: Project, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("password123\n"))
    assert main(["users", "add", "Omid", "--role", "annotator", "--password-stdin", "--project",
                 str(project.root)]) == 0
    assert "added annotator omid" in capsys.readouterr().out
    assert main(["users", "remove", "OMID", "--project", str(project.root)]) == 0
    assert auth.load_users(project) == {}


def test_store_canonicalises_names_on_append_and_import(project: Project, schema) -> None:  # noqa: ANN001
    """'Sara' appended or imported is the one annotator 'sara'."""
    row = store.LabelRow(sentence_id="s1", text="One.", annotator="Sara", topic="trade")
    assert store.append_label(project, schema, row)["annotator"] == "sara"
    report = store.import_labels(project, schema, "text,topic,stance,annotator\nTwo.,trade,,SARA\n", name="x.csv")
    assert report.annotators == ["sara"]
    assert {r["annotator"] for r in store.current_labels(project)} == {"sara"}
