"""Sign in: name and password checked against the project's users file; only the name is kept.

Failed sign-ins are throttled per name and per client address (auth.sign_in), in every server process."""

from __future__ import annotations

import streamlit as st

from label_app import auth
from label_app.ui import SESSION_USER, access, auth_project, client_address, oidc_email, oidc_provider

S = st.session_state
_PASSWORD_KEY = "signin_password_"


def _forget_passwords(keep: str = "") -> None:
    # widget values outlive a rerun; a typed password must not stay in the session
    for key in [k for k in S if isinstance(k, str) and k.startswith(_PASSWORD_KEY) and k != keep]:
        del S[key]


def render() -> None:
    st.title("Sign in")
    acc = access()
    n = S.setdefault("signin_n", 0)
    _forget_passwords(keep=f"{_PASSWORD_KEY}{n}")
    flash = S.pop("signin_flash", None)
    if flash:
        st.error(flash)
    provider = oidc_provider()
    if provider is not None:
        email = oidc_email()
        if email:  # signed in with the provider, but no account has that e-mail
            st.error(auth.NO_ACCOUNT_FOR_EMAIL.format(email=email))
            if st.button("Sign out of the provider", key="signin_oidc_logout"):
                st.logout()
        elif st.button("Sign in with " + (provider or "your organisation"), key="signin_oidc", type="primary"):
            if provider:
                st.login(provider)
            else:
                st.login()
        st.caption("Or with a name and password:")
    with st.form(f"signin_form_{n}"):
        name = st.text_input("User name", value=S.get("signin_last_name", ""), key=f"signin_name_{n}",
                             autocomplete="username")
        password = st.text_input("Password", type="password", key=f"{_PASSWORD_KEY}{n}",
                                 autocomplete="current-password")
        ok = st.form_submit_button("Sign in", type="primary")
    if not ok:
        return
    user, problem = auth.sign_in(auth.SigninThrottle.for_project(auth_project()), acc.users, name, password,
                                 client_address())
    # new widget keys next run (an empty form), and the typed password out of the session
    S["signin_n"] = n + 1
    _forget_passwords()
    if user is None:
        S["signin_last_name"] = name.strip()
        S["signin_flash"] = problem
    else:
        S.pop("signin_last_name", None)
        S[SESSION_USER] = user.name
    st.rerun()


render()
