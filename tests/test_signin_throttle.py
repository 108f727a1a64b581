"""Sign-in throttling: per account name and per client address, the same words for known and unknown names."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from label_app import auth
from label_app.project import Project

APP = str(Path(__file__).resolve().parent.parent / "label_app" / "app.py")
PASSWORDS = {"lead": "correct horse 1", "sara": "battery staple 2"}
T0 = 1_000_000.0


@pytest.fixture
def users(project: Project) -> dict[str, auth.User]:
    auth.add_user(project, "lead", "reviewer", PASSWORDS["lead"])
    auth.add_user(project, "sara", "annotator", PASSWORDS["sara"])
    return auth.load_users(project)


def test_an_account_is_throttled_after_five_failures_known_or_not(project: Project, users) -> None:
    th = auth.SigninThrottle.for_project(project)
    for name in ("sara", "nobody"):
        for i in range(5):
            assert auth.sign_in(th, users, name, "wrong guess", "10.0.0.1", now=T0 + i) == (None, auth.SIGNIN_FAILED)
        # the sixth try is refused unchecked, even with the right password, in the same words for both names
        got = auth.sign_in(th, users, name, PASSWORDS.get(name, "x"), "10.0.0.2", now=T0 + 10)
        assert got == (None, "Too many failed sign-ins for this account or from this address: wait 15 minutes "
                             "and try again (a reviewer can reset a forgotten password).")
    # another account from the same addresses is not affected (10 failures < 20 per address)
    assert auth.sign_in(th, users, "lead", PASSWORDS["lead"], "10.0.0.1", now=T0 + 10)[0].name == "lead"
    # the window passes: sara may try again, and a success clears her count
    assert auth.sign_in(th, users, "sara", PASSWORDS["sara"], "10.0.0.1", now=T0 + 900.5)[0].name == "sara"
    assert th.wait("sara", "10.0.0.9", now=T0 + 901) == 0.0


def test_an_address_is_throttled_after_twenty_failures_over_any_names(project: Project, users) -> None:
    th = auth.SigninThrottle.for_project(project)
    for i in range(20):
        assert auth.sign_in(th, users, f"guess{i}", "wrong", "203.0.113.7", now=T0 + i)[1] == auth.SIGNIN_FAILED
    user, message = auth.sign_in(th, users, "sara", PASSWORDS["sara"], "203.0.113.7", now=T0 + 60)
    assert user is None and message == auth.throttled_message(900 - 60)
    assert message.startswith("Too many failed sign-ins") and "wait 14 minutes" in message  # the first failure ages out at 900 s
    assert auth.throttled_message(59).split("wait ")[1].startswith("1 minute and")
    # the same account from elsewhere is fine
    assert auth.sign_in(th, users, "sara", PASSWORDS["sara"], "198.51.100.1", now=T0 + 60)[0].name == "sara"


def test_the_throttle_is_shared_through_the_project_folder(project: Project, users) -> None:
    # a second server process opens its own throttle on the same file: the count carries over
    a, b = auth.SigninThrottle.for_project(project), auth.SigninThrottle.for_project(project)
    for i in range(3):
        a.failed("sara", "10.0.0.1", now=T0 + i)
    for i in range(2):
        b.failed("sara", "10.0.0.2", now=T0 + 3 + i)
    assert a.wait("sara", "10.0.0.3", now=T0 + 5) == pytest.approx(895.0)


def test_the_client_address_trusts_forwarding_headers_only_from_a_local_proxy() -> None:
    headers = {"X-Forwarded-For": "198.51.100.9, 203.0.113.5", "Host": "x"}
    assert auth.client_address("203.0.113.77", headers) == "203.0.113.77"  # a remote peer's headers: spoofable
    assert auth.client_address(None, headers) == "203.0.113.5"  # loopback proxy: the hop it saw
    assert auth.client_address("127.0.0.1", {"x-real-ip": "198.51.100.4", **headers}) == "198.51.100.4"
    assert auth.client_address(None, {}) == "local"


def test_the_sign_in_page_says_so_after_too_many_failures(project: Project, users,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABEL_APP_PROJECT", str(project.root))
    monkeypatch.setenv(auth.HOST_ENV, "0.0.0.0")
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()

    def attempt(name: str, password: str) -> list[str]:
        at.text_input[0].input(name)
        at.text_input[1].input(password)
        at.button[0].click().run()
        assert not at.exception
        return [e.value for e in at.error]

    for _ in range(5):
        assert attempt("sara", "wrong guess") == [auth.SIGNIN_FAILED]
    throttled = attempt("sara", PASSWORDS["sara"])
    assert len(throttled) == 1 and throttled[0].startswith("Too many failed sign-ins for this account")
    assert [t.value for t in at.title] == ["Sign in"]
    for _ in range(5):
        attempt("nobody", "wrong guess")
    assert attempt("nobody", "wrong guess") == throttled  # an unknown name reads exactly the same
    assert attempt("lead", PASSWORDS["lead"]) == []
    assert [t.value for t in at.title] == ["Annotate"]
