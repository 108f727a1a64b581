"""Streamlit entry point: `python -m label_app` runs this with LABEL_APP_PROJECT set to the project."""

from __future__ import annotations

import sys
from pathlib import Path

# `streamlit run` puts this file's folder on sys.path, not the repository root.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import streamlit as st  # noqa: E402

# not "pages/": a folder of that name switches Streamlit to its legacy page discovery
_PAGES = Path(__file__).resolve().parent / "views"

st.set_page_config(page_title="Label app", page_icon=":material/label:", layout="wide")
nav = st.navigation([
    st.Page(_PAGES / "annotate.py", title="Annotate", icon=":material/edit_note:", url_path="annotate", default=True),
    st.Page(_PAGES / "browse.py", title="Browse", icon=":material/table_view:", url_path="browse"),
    st.Page(_PAGES / "data.py", title="Data", icon=":material/database:", url_path="data"),
    st.Page(_PAGES / "dashboard.py", title="Dashboard", icon=":material/monitoring:", url_path="dashboard"),
    st.Page(_PAGES / "settings.py", title="Settings", icon=":material/settings:", url_path="settings"),
])
nav.run()
