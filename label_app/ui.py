"""Streamlit glue shared by the pages: cached workspace and model, safe text rendering, the annotator."""

from __future__ import annotations

import os
import re
from typing import Any

import streamlit as st

from . import store
from .errors import LabelAppError
from .serve import PROJECT_ENV
from .suggest import load_model, model_stamp
from .workspace import Workspace

# ASCII punctuation that Markdown (and Streamlit's extensions: $math$, :emoji:, :color[...]) may interpret
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&^=\"'])")


def md_escape(text: str) -> str:
    """User text made inert for st.markdown: every Markdown/HTML special character backslash-escaped."""
    return _MD_SPECIAL.sub(r"\\\1", text).replace("\n", " ")


def project_root() -> str:
    return os.environ.get(PROJECT_ENV) or "."


@st.cache_resource(show_spinner="Loading the corpus and the label index…")
def _workspace(root: str) -> Workspace:
    return Workspace.open(root)


def workspace() -> Workspace:
    """The process-wide workspace for this project, synced with the log (reads only new rows)."""
    ws = _workspace(os.path.abspath(project_root()))
    ws.sync()
    for torn in ws.index.torn[-5:]:
        st.warning(torn.message())
    return ws


@st.cache_resource(show_spinner="Loading the model…")
def _model(root: str, stamp: str) -> tuple[Any | None, str]:
    ws = _workspace(root)
    try:
        return load_model(ws.project, ws.schema), ""
    except LabelAppError as exc:
        return None, str(exc)


def current_model(ws: Workspace) -> Any | None:
    """The current trained model or None; a refused model is reported once per page."""
    model, problem = _model(str(ws.project.root), model_stamp(ws.project))
    if problem:
        st.warning(f"No suggestions: the current model was refused: {problem}")
    return model


def annotator_from_url() -> str | None:
    """The annotator named in the URL (?annotator=...) or picked earlier in this session, if valid."""
    name = st.query_params.get("annotator") or st.session_state.get("annotator")
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
    """Ask for a name once; it goes into the URL so a bookmark resumes the session."""
    name = annotator_from_url()
    if name:
        return name
    with st.form(key=f"{key}_form"):
        typed = st.text_input("Your annotator name", key=f"{key}_name",
                              help="Letters, digits, '.', '_' or '-'; kept in the page address")
        ok = st.form_submit_button("Start")
    if ok:
        try:
            store.validate_annotator(typed.strip())
        except LabelAppError as exc:
            st.error(str(exc))
            return None
        st.session_state["annotator"] = typed.strip()
        st.query_params["annotator"] = typed.strip()
        st.rerun()
    return None
