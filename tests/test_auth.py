"""Accounts, roles and sign-in: the users file and CLI, the start-up rule, and the app (AppTest)."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import pytest
from conftest import card_send, run_cli
from streamlit.testing.v1 import AppTest

from label_app import auth, store
from label_app.__main__ import main
from label_app.project import Project

APP = str(Path(__file__).resolve().parent.parent / "label_app" / "app.py")
PASSWORDS = {"lead": "correct horse 1", "sara": "battery staple 2"}


def users_cli(project: Project, *args: str, password: str | None = None,
              monkeypatch: pytest.MonkeyPatch | None = None) -> int:
    if password is not None and monkeypatch is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    return main(["users", *args, "--project", str(project.root)])


def test_passwords_are_stored_as_salted_scrypt_hashes() -> None:
    a, b = auth.hash_password("s3cret-pass"), auth.hash_password("s3cret-pass")
    assert a != b and a.startswith("scrypt$16384$8$1$") and "s3cret" not in a
    assert auth.check_password("s3cret-pass", a) and auth.check_password("s3cret-pass", b)
    assert not auth.check_password("s3cret-pasS", a)
    assert not auth.check_password("s3cret-pass", "plain text")


def test_users_cli_add_list_remove(project: Project, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    path = auth.users_path(project)
    assert users_cli(project, "add", "lead", "--role", "reviewer", "--password-stdin", password=PASSWORDS["lead"],
                     monkeypatch=monkeypatch) == 0
    assert capsys.readouterr().out == (f"added reviewer lead in {path} (password stored as an scrypt hash)\n")
    assert users_cli(project, "add", "sara", "--role", "annotator", "--email", "sara@example.org",
                     "--password-stdin", password=PASSWORDS["sara"], monkeypatch=monkeypatch) == 0
    text = path.read_text()
    assert PASSWORDS["lead"] not in text and PASSWORDS["sara"] not in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    users = auth.load_users(project)
    assert {n: (u.role, u.email) for n, u in users.items()} == {"lead": ("reviewer", ""),
                                                               "sara": ("annotator", "sara@example.org")}
    capsys.readouterr()
    assert users_cli(project, "list") == 0
    assert capsys.readouterr().out == "lead  reviewer\nsara  annotator  sara@example.org\n"
    # mistakes are one line each, and change nothing
    assert users_cli(project, "add", "sara", "--role", "reviewer", "--password-stdin", password="another pass",
                     monkeypatch=monkeypatch) == 1
    assert capsys.readouterr().err == ("error: user 'sara' already exists (use --replace to change the role or "
                                       "password)\n")
    assert users_cli(project, "add", "bo", "--role", "annotator", "--password-stdin", password="short",
                     monkeypatch=monkeypatch) == 1
    assert capsys.readouterr().err == "error: password too short: use at least 8 characters\n"
    assert users_cli(project, "add", "bad name", "--role", "annotator", "--password-stdin", password="long enough",
                     monkeypatch=monkeypatch) == 1
    assert capsys.readouterr().err.startswith("error: invalid annotator name 'bad name'")
    assert users_cli(project, "add", "sara", "--role", "reviewer", "--replace", "--password-stdin",
                     password="a new password", monkeypatch=monkeypatch) == 0
    assert auth.authenticate(auth.load_users(project), "sara", "a new password").role == "reviewer"
    assert users_cli(project, "remove", "sara") == 0
    assert users_cli(project, "remove", "sara") == 1
    assert capsys.readouterr().err == f"error: no user 'sara' in {path}\n"
    assert set(auth.load_users(project)) == {"lead"}


def test_authenticate_refuses_unknown_names_and_wrong_passwords(project: Project) -> None:
    auth.add_user(project, "lead", "reviewer", PASSWORDS["lead"])
    users = auth.load_users(project)
    assert auth.authenticate(users, "lead", PASSWORDS["lead"]).name == "lead"
    assert auth.authenticate(users, "lead", "wrong password") is None
    assert auth.authenticate(users, "nobody", PASSWORDS["lead"]) is None


def test_start_up_refuses_an_open_app_on_a_public_address(project: Project) -> None:
    assert auth.startup_problem("0.0.0.0", {}, no_auth=False) == (
        "refusing to serve on 0.0.0.0 without sign-in: no users are configured; add one with "
        "`python -m label_app users add NAME --role reviewer` (or pass --no-auth to let anyone who can reach "
        "the address in as a reviewer)")
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        assert auth.startup_problem(host, {}, no_auth=False) is None
    assert auth.startup_problem("192.168.1.5", {}, no_auth=True) is None
    user = auth.User("lead", "reviewer", auth.hash_password("x" * 8))
    assert auth.startup_problem("0.0.0.0", {"lead": user}, no_auth=False) is None
    # the real command: one line on stderr, exit 1, no server started
    done = run_cli("--project", str(project.root), "--host", "0.0.0.0", "--port", "8599")
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == "error: " + auth.startup_problem("0.0.0.0", {}, no_auth=False) + "\n"


def test_roles() -> None:
    assert auth.allowed("reviewer", "adjudicate") and auth.allowed("annotator", "label")
    for action in ("adjudicate", "create-version", "settings", "retrain", "import"):
        assert not auth.allowed("annotator", action)


# ---------------------------------------------------------------- the app (AppTest)

@pytest.fixture
def team_project(project: Project, monkeypatch: pytest.MonkeyPatch) -> Project:
    """A project with a reviewer and an annotator, served on a public address (as a team would)."""
    monkeypatch.setenv("LABEL_APP_PROJECT", str(project.root))
    monkeypatch.setenv(auth.HOST_ENV, "0.0.0.0")
    auth.add_user(project, "lead", "reviewer", PASSWORDS["lead"])
    auth.add_user(project, "sara", "annotator", PASSWORDS["sara"])
    return project


def app(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    assert not at.exception
    return at


def sign_in(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input[0].input(name)
    at.text_input[1].input(password)
    at.button[0].click().run()  # the form's submit button
    assert not at.exception
    return at


def test_sign_in_is_required_when_users_exist(team_project: Project) -> None:
    at = app({"annotator": "mallory"})
    # nothing but the sign-in form
    assert [t.value for t in at.title] == ["Sign in"]
    assert [w.label for w in at.text_input] == ["User name", "Password"]
    assert at.text_input[1].proto.type == at.text_input[1].proto.PASSWORD
    assert len(at.button) == 1 and not at.markdown and not at.dataframe and not at.sidebar.children
    sign_in(at, "sara", "wrong password")
    assert [e.value for e in at.error] == ["Sign-in failed: unknown user or wrong password."]
    assert [t.value for t in at.title] == ["Sign in"]
    sign_in(at, "nobody", PASSWORDS["sara"])
    assert [e.value for e in at.error] == ["Sign-in failed: unknown user or wrong password."]
    assert at.text_input[0].value == "nobody"  # the name is kept; the password never is
    assert at.text_input[1].value == ""
    assert PASSWORDS["sara"] not in repr(at.session_state.to_dict())
    sign_in(at, "sara", PASSWORDS["sara"])
    assert [t.value for t in at.title] == ["Annotate"]
    assert at.session_state["auth_user"] == "sara"
    assert PASSWORDS["sara"] not in repr(at.session_state.to_dict())
    # the annotator is the account: ?annotator=mallory is ignored and dropped, nothing to type
    assert "annotator" not in at.query_params
    assert not [w for w in at.text_input if w.key == "ann_name"]
    assert any(c.value == "Signed in as **sara** (annotator)" for c in at.sidebar.caption)
    card_send(at, topic=["trade"], na=("stance",))  # the Annotate card's save, as the browser sends it
    assert [r["annotator"] for r in store.read_log(team_project).rows] == ["sara"]
    at.button(key="auth_sign_out").click().run()
    assert [t.value for t in at.title] == ["Sign in"]


def test_an_annotator_cannot_reach_review_or_version_actions(team_project: Project) -> None:
    at = sign_in(app(), "sara", PASSWORDS["sara"])
    pages = {Path(str(p["script_path"])).name for p in at._registered_pages.values()}
    assert pages == {"annotate.py", "browse.py", "data.py", "dashboard.py"}
    for page in ("views/review.py", "views/settings.py"):
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(page)
    at.switch_page("views/data.py").run()
    assert not at.exception
    assert not at.text_input and not at.get("file_uploader") and not at.main.button
    assert at.main.caption[-1].value == "Reviewers create versions and import articles and labels."
    # browsing: the label is saved under the account, the name cannot be typed
    at.switch_page("views/browse.py").run()
    sid = _first_sentence(team_project)
    at.text_input(key="br_open_id").input(sid).run()
    assert not [t for t in at.text_input if t.key == "br_who"]  # no name box at all
    assert any(m.value == "**Change your label** (saved as **sara**)" for m in at.markdown)


def _first_sentence(project: Project) -> str:
    from label_app.corpus import load_corpus

    df = load_corpus(project)
    return str(df[df["kind"] == "sentence"]["sentence_id"].iloc[0])


def test_a_reviewer_gets_review_and_settings(team_project: Project) -> None:
    at = sign_in(app(), "lead", PASSWORDS["lead"])
    pages = {Path(str(p["script_path"])).name for p in at._registered_pages.values()}
    assert {"review.py", "settings.py"} <= pages
    at.switch_page("views/review.py").run()
    assert not at.exception
    assert at.success[0].value == "Nothing to review."
    at.switch_page("views/data.py").run()
    assert at.text_input(key="data_note") and at.get("file_uploader")


def test_removing_the_account_signs_it_out(team_project: Project) -> None:
    at = sign_in(app(), "sara", PASSWORDS["sara"])
    auth.remove_user(team_project, "sara")
    at.run()
    assert [t.value for t in at.title] == ["Sign in"]


def test_a_broken_users_file_or_no_users_on_a_public_address_refuses_everyone(team_project: Project) -> None:
    path = auth.users_path(team_project)
    path.write_text('[users.lead]\nrole = "boss"\npassword = "x"\n')
    at = app()
    assert [e.value for e in at.error] == [
        f"Sign-in is unavailable: {path}: [users.lead].role: 'boss' (use annotator or reviewer)"]
    assert not at.title and not at.text_input
    path.write_text("")
    at = app()
    assert [e.value for e in at.error] == ["The app is not open: " + auth.startup_problem("0.0.0.0", {}, False)]


def test_without_users_on_this_machine_the_single_user_is_a_reviewer(project: Project,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABEL_APP_PROJECT", str(project.root))
    monkeypatch.setenv(auth.HOST_ENV, "127.0.0.1")
    at = app({"annotator": "me"})
    assert [t.value for t in at.title] == ["Annotate"]
    pages = {Path(str(p["script_path"])).name for p in at._registered_pages.values()}
    assert {"review.py", "settings.py", "data.py"} <= pages


def test_the_review_page_itself_refuses_an_annotator(team_project: Project) -> None:
    # even run directly (not through the navigation), the page checks the role
    at = AppTest.from_file(str(Path(APP).parent / "views" / "review.py"), default_timeout=60)
    at.session_state["auth_user"] = "sara"
    at.run()
    assert [e.value for e in at.error] == ["This page is for reviewers; you are signed in as sara (annotator)."]
    assert not at.button


OIDC = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
        "client_id": "label-app", "client_secret": "s", "server_metadata_url":
        "https://accounts.example.org/.well-known/openid-configuration"}


def test_an_oidc_identity_signs_in_the_account_with_its_e_mail(team_project: Project) -> None:
    auth.add_user(team_project, "omid", "annotator", "another password", email="Omid@Example.org")
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["auth"] = OIDC
    at.run()
    assert at.button(key="signin_oidc").label == "Sign in with your organisation"
    at.user = {"is_logged_in": True, "email": "nobody@example.org"}
    at.run()
    assert [e.value for e in at.error] == [auth.NO_ACCOUNT_FOR_EMAIL.format(email="nobody@example.org")]
    assert [t.value for t in at.title] == ["Sign in"]
    at.user = {"is_logged_in": True, "email": "omid@example.org"}
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Annotate"]
    assert any(c.value == "Signed in as **omid** (annotator)" for c in at.sidebar.caption)
