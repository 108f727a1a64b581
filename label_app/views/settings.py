"""Settings: the lead's choices for the project (suggestion mode, queue order, overlap, leases)."""

from __future__ import annotations

import streamlit as st

from label_app.errors import LabelAppError
from label_app.settings import (
    QUEUE_ORDER_TEXT,
    QUEUE_ORDERS,
    SUGGESTION_MODE_TEXT,
    SUGGESTION_MODES,
    Settings,
    load_settings,
    save_settings,
)
from label_app.ui import workspace


def render() -> None:
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
        lease = st.number_input("Minutes a shown sentence is kept from other annotators", min_value=1.0,
                                max_value=1440.0, value=float(current.lease_minutes), step=1.0, key="set_lease")
        ok = st.form_submit_button("Save settings")
    if ok:
        new = Settings(suggestion_mode=mode, queue_order=order, overlap=int(overlap), lease_minutes=float(lease))
        try:
            save_settings(ws.project, new)
        except LabelAppError as exc:
            st.error(str(exc))
            return
        ws.apply_settings(new)
        st.success("Settings saved.")


render()
