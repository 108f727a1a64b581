"""Streamlit glue shared by the pages: cached workspace and model, safe text rendering, the annotator, roles.

With accounts configured (labels/users.toml), the annotator is the signed-in account and the role comes
from the users file on every run; session state holds only the account name, never a password.
"""

from __future__ import annotations

import gc
import os
import re
from typing import Any

import streamlit as st

from . import auth, store
from .errors import LabelAppError
from .names import canonical_name
from .project import Project
from .serve import GC_FREEZE_ENV, PROJECT_ENV
from .suggest import load_model, model_stamp
from .workspace import Workspace

# ASCII punctuation that Markdown (and Streamlit's extensions: $math$, :emoji:, :color[...]) may interpret
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&^=\"'])")


def md_escape(text: str) -> str:
    """User text made inert for st.markdown: every Markdown/HTML special character backslash-escaped."""
    return _MD_SPECIAL.sub(r"\\\1", text).replace("\n", " ")


def project_root() -> str:
    return os.environ.get(PROJECT_ENV) or "."


def _freeze_heap() -> None:
    """Move everything alive now (the corpus, the index, a model: long-lived, hundreds of thousands of
    objects) out of the garbage collector's reach, so later collections only walk what reruns create."""
    if os.environ.get(GC_FREEZE_ENV) != "0":
        gc.collect()
        gc.freeze()


@st.cache_resource(show_spinner="Loading the corpus and the label index…")
def _workspace(root: str) -> Workspace:
    ws = Workspace.open(root)
    _freeze_heap()
    return ws


def workspace() -> Workspace:
    """The process-wide workspace for this project, synced with the log (reads only new rows)."""
    try:
        ws = _workspace(os.path.abspath(project_root()))
    except LabelAppError as exc:  # broken schema, orphaned labels, unreadable log: say what, then stop
        st.error(str(exc))
        st.stop()
    ws.sync()
    for torn in ws.index.torn[-5:]:
        st.warning(torn.message())
    return ws


@st.cache_resource(show_spinner="Loading the model…")
def _model(root: str, stamp: str) -> tuple[Any | None, str]:
    ws = _workspace(root)
    try:
        model = load_model(ws.project, ws.schema)
    except LabelAppError as exc:
        return None, str(exc)
    _freeze_heap()
    return model, ""


def current_model(ws: Workspace) -> Any | None:
    """The current trained model or None; a refused model is reported once per page."""
    model, problem = _model(str(ws.project.root), model_stamp(ws.project))
    if problem:
        st.warning(f"No suggestions: the current model was refused: {problem}")
    return model


SESSION_USER = "auth_user"


def access() -> auth.Access:
    """How this app admits people: accounts, open (single user, a reviewer) or refused."""
    return auth.access(auth_project(), os.environ.get(auth.HOST_ENV), os.environ.get(auth.NO_AUTH_ENV) == "1")


def auth_project() -> Project:
    return Project.at(project_root())


def oidc_provider() -> str | None:
    """The OIDC provider configured in .streamlit/secrets.toml [auth] (for st.login), or None."""
    try:
        return auth.oidc_provider(st.secrets.get("auth"))
    except Exception:  # noqa: BLE001 - no or unreadable secrets file: no OIDC sign-in
        return None


def oidc_email() -> str:
    """The e-mail of the OIDC identity signed in to this browser, or ''."""
    try:
        return str(st.user.get("email") or "") if st.user.get("is_logged_in") else ""
    except Exception:  # noqa: BLE001 - st.user without an auth provider
        return ""


def signed_in_user(acc: auth.Access | None = None) -> auth.User | None:
    """The account signed in to this session (re-checked against the users file on every run); an OIDC
    identity (st.login) counts when its e-mail belongs to an account."""
    acc = acc or access()
    name = st.session_state.get(SESSION_USER)
    user = acc.users.get(name) if name else None
    if name and user is None:
        st.session_state.pop(SESSION_USER, None)  # removed from the users file: signed out
    if user is None and acc.mode == "signin" and oidc_provider() is not None:
        user = auth.user_for_email(acc.users, oidc_email())
        if user is not None:
            st.session_state[SESSION_USER] = user.name
    return user


def current_role(acc: auth.Access | None = None) -> str:
    """'reviewer' in the open single-user mode, the account's role when signed in, else '' (nothing)."""
    acc = acc or access()
    if acc.mode == "open":
        return "reviewer"
    if acc.mode == "signin":
        user = signed_in_user(acc)
        return user.role if user else ""
    return ""


def can(action: str) -> bool:
    """Whether this session may do a reviewer-only action (see auth.REVIEWER_ACTIONS)."""
    role = current_role()
    return bool(role) and auth.allowed(role, action)


def client_address() -> str:
    """The browser's address for sign-in throttling (auth.client_address: a loopback proxy's X-Real-IP)."""
    try:
        return auth.client_address(st.context.ip_address, dict(st.context.headers))
    except Exception:  # noqa: BLE001 - no request context (AppTest): one local client
        return "local"


PAGE_FOR_REVIEWERS = "This page is for reviewers; you are signed in as {name} ({role})."
SIGN_IN_FIRST = "Sign in first."


def require(action: str) -> str:
    """Called first by every page: the session's role when it may do `action` (see auth.allowed), else an
    error and st.stop(). Pages check this themselves when they run, whatever the navigation shows."""
    acc = access()
    if acc.mode == "refused":
        st.error(acc.message)
        st.stop()
    role = current_role(acc)
    if not role:
        st.error(SIGN_IN_FIRST)
        st.stop()
    if not auth.allowed(role, action):
        user = signed_in_user(acc)
        st.error(PAGE_FOR_REVIEWERS.format(name=md_escape(user.name if user else ""), role=role))
        st.stop()
    return role


def annotator_from_url() -> str | None:
    """The annotator: the signed-in account when accounts exist (?annotator= is then ignored and dropped),
    else the name in the URL (?annotator=...) or picked earlier in this session, if valid."""
    acc = access()
    if acc.mode != "open":
        user = signed_in_user(acc)
        if "annotator" in st.query_params:
            del st.query_params["annotator"]
        return user.name if user else None
    name = canonical_name(st.query_params.get("annotator") or st.session_state.get("annotator") or "")
    if not name:
        return None
    try:
        store.validate_annotator(name)
    except LabelAppError as exc:
        st.error(str(exc))
        return None
    st.session_state["annotator"] = name
    if st.query_params.get("annotator") != name:
        st.query_params["annotator"] = name
    return name


def pick_annotator(key: str) -> str | None:
    """Ask for a name once; it goes into the URL so a bookmark resumes the session (with accounts: the
    account's name, never typed)."""
    name = annotator_from_url()
    if name or access().mode != "open":
        return name
    with st.form(key=f"{key}_form"):
        typed = st.text_input("Your annotator name", key=f"{key}_name",
                              help="Letters, digits, '.', '_' or '-' (not case-sensitive: 'Sara' is 'sara'); "
                                   "kept in the page address")
        ok = st.form_submit_button("Start")
    if ok:
        typed = canonical_name(typed)  # "Sara" and "sara" are one annotator
        try:
            store.validate_annotator(typed)
        except LabelAppError as exc:
            st.error(str(exc))
            return None
        st.session_state["annotator"] = typed
        st.query_params["annotator"] = typed
        st.rerun()
    return None


def toggled(selection: dict[str, list[str]], task: str, name: str, multi: bool) -> dict[str, list[str]]:
    """The label selection after pressing `name`'s key: add or remove it (multi-label), else choose or unchoose."""
    sel = list(selection[task])
    if multi:
        sel = [n for n in sel if n != name] if name in sel else sel + [name]
    else:
        sel = [] if sel == [name] else [name]
    return {**selection, task: sel}
