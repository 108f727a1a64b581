"""Settings: the lead's choices for the project (suggestion mode, queue order, overlap, leases), and retraining."""

from __future__ import annotations

import streamlit as st

from label_app.errors import LabelAppError
from label_app.jobs import JobStatus, read_status, start_job
from label_app.settings import (
    QUEUE_ORDER_TEXT,
    QUEUE_ORDERS,
    SUGGESTION_MODE_TEXT,
    SUGGESTION_MODES,
    Settings,
    load_settings,
    save_settings,
)
from label_app.ui import annotator_from_url, md_escape, require, workspace
from label_app.workspace import Workspace


def render() -> None:
    require("settings")  # the page checks the role itself, whatever the navigation shows
    st.title("Settings")
    ws = workspace()
    current, problems = load_settings(ws.project)
    for p in problems:
        st.warning(p)
    st.caption(f"Stored in {ws.project.settings_path}")
    with st.form("set_form"):
        mode = st.radio("Model suggestions", SUGGESTION_MODES, index=SUGGESTION_MODES.index(current.suggestion_mode),
                        format_func=lambda m: SUGGESTION_MODE_TEXT[m], key="set_mode",
                        help="Suggestions can bias annotators: 'hidden' keeps them out of sight.")
        order = st.radio("Default queue order", QUEUE_ORDERS, index=QUEUE_ORDERS.index(current.queue_order),
                         format_func=lambda o: QUEUE_ORDER_TEXT[o], key="set_order")
        overlap = st.number_input("Annotators per sentence", min_value=1, max_value=20, value=current.overlap,
                                  step=1, key="set_overlap",
                                  help="1: a sentence labelled by one annotator is done for everyone.")
        share = st.number_input("Share of sentences that get that many annotators", min_value=0.0, max_value=1.0,
                                value=float(current.overlap_share), step=0.05, key="set_overlap_share",
                                help="The others get one annotator. Picked by a hash of the sentence id, so the "
                                     "same sentences on every server.")
        lease = st.number_input("Minutes a shown sentence is kept from other annotators", min_value=1.0,
                                max_value=1440.0, value=float(current.lease_minutes), step=1.0, key="set_lease")
        ok = st.form_submit_button("Save settings")
    if ok:
        new = Settings(suggestion_mode=mode, queue_order=order, overlap=int(overlap), overlap_share=float(share),
                       lease_minutes=float(lease))
        try:
            save_settings(ws.project, new)
        except LabelAppError as exc:
            st.error(str(exc))
            return
        ws.apply_settings(new)
        st.success("Settings saved.")


RETRAIN_HELP = ("Trains a new model on the current labels, pre-labels the corpus with it, then switches suggestions "
                "and the 'most uncertain first' queue to it. It runs in the background: annotators keep working "
                "with the current model meanwhile.")


def retrain_section(ws: Workspace, started_by: str = "") -> None:
    """Start "retrain and pre-label" and follow its progress (reviewers only: the caller decides who sees it)."""
    st.divider()
    st.subheader("Retrain and pre-label")
    st.caption(RETRAIN_HELP)
    running = read_status(ws.project).running
    # while a job runs, the status part polls the status file every 2 s; otherwise it only runs with the page
    st.fragment(_retrain_status, run_every=2.0 if running else None)(ws, started_by, running)


def _retrain_status(ws: Workspace, started_by: str, was_running: bool) -> None:
    status: JobStatus = read_status(ws.project)
    if was_running and not status.running:
        st.rerun()  # finished: a full rerun stops the polling and brings the button back
    line = md_escape(status.describe())
    if status.running:
        st.progress(min(max(float(status.progress), 0.0), 1.0), text=md_escape(status.stage))
        st.caption(line)
    elif status.state == "done":
        st.success(line)
    elif status.state == "failed":
        st.error(line)
    else:
        st.caption(line)
    if not started_by:
        st.caption("Pick your name (Annotate page, or ?annotator=NAME in the address) to start a retrain: it is "
                   "recorded under it.")
    if st.button("Retrain and pre-label now", key="set_retrain", disabled=status.running or not started_by):
        try:
            start_job(ws.project, started_by)
        except LabelAppError as exc:
            st.error(md_escape(str(exc)))
            return
        st.rerun()


render()
# The retrain is recorded under the reviewer's name (the account, else the name picked for this session).
retrain_section(workspace(), annotator_from_url() or "")
