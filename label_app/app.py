"""Streamlit entry point: `python -m label_app` runs this with LABEL_APP_PROJECT set to the project.

Who gets which pages is decided here on every run: with accounts, nothing but the sign-in page until
signed in; Review and Settings only for reviewers (pages left out of st.navigation cannot be opened).
"""

from __future__ import annotations

import sys
from pathlib import Path

# `streamlit run` puts this file's folder on sys.path, not the repository root.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import streamlit as st  # noqa: E402

from label_app.ui import (  # noqa: E402
    SESSION_USER,
    access,
    current_role,
    md_escape,
    oidc_email,
    signed_in_user,
)

# not "pages/": a folder of that name switches Streamlit to its legacy page discovery
_PAGES = Path(__file__).resolve().parent / "views"
_URL_PATHS = ("annotate", "browse", "review", "data", "dashboard", "settings")


def _sign_out() -> None:
    st.session_state.pop(SESSION_USER, None)
    st.session_state.pop("annotator", None)


# A local image: a ":material/...:" page icon makes the browser fetch it from fonts.gstatic.com (no icon offline).
st.set_page_config(page_title="Label app", page_icon=str(Path(__file__).resolve().parent / "icon.png"), layout="wide")
acc = access()
if acc.mode == "refused":
    st.error(acc.message)
    st.stop()
user = signed_in_user(acc)
if acc.mode == "signin" and user is None:
    # the sign-in form answers every page address, so a bookmark opens its page right after signing in
    signin = [st.Page(_PAGES / "signin.py", title="Sign in", icon=":material/login:", url_path=path,
                      default=not path) for path in ("",) + _URL_PATHS]
    st.navigation(signin, position="hidden").run()
    st.stop()

reviewer = current_role(acc) == "reviewer"
pages = [
    st.Page(_PAGES / "annotate.py", title="Annotate", icon=":material/edit_note:", url_path="annotate", default=True),
    st.Page(_PAGES / "browse.py", title="Browse", icon=":material/table_view:", url_path="browse"),
]
if reviewer:
    pages.append(st.Page(_PAGES / "review.py", title="Review", icon=":material/rule:", url_path="review"))
pages += [
    st.Page(_PAGES / "data.py", title="Data", icon=":material/database:", url_path="data"),
    st.Page(_PAGES / "dashboard.py", title="Dashboard", icon=":material/monitoring:", url_path="dashboard"),
]
if reviewer:
    pages.append(st.Page(_PAGES / "settings.py", title="Settings", icon=":material/settings:", url_path="settings"))
nav = st.navigation(pages)
if user is not None:
    with st.sidebar:
        st.caption(f"Signed in as **{md_escape(user.name)}** ({user.role})")
        if st.button("Sign out", key="auth_sign_out"):
            _sign_out()
            if oidc_email():
                st.logout()  # else the provider's identity would sign the account straight back in
            st.rerun()
nav.run()
