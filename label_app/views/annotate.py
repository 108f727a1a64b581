"""Annotate: one sentence at a time, keyboard first, on one 1366x768 screen.

The card (label_app.components.card) handles keys in the browser and sends one complete action per save;
only the card's fragment reruns for it. Session state holds only the UI position (a CardSession).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import streamlit as st

from label_app.components.card import annotation_card
from label_app.components.card.actions import CardSession, apply_action, build_card
from label_app.settings import QUEUE_ORDER_TEXT, QUEUE_ORDERS
from label_app.ui import current_model, md_escape, pick_annotator, require, workspace
from label_app.workspace import Workspace

S = st.session_state
CARD_KEY = "ann_card"
# less empty space above the card, so the whole card fits a 1366x768 screen
_COMPACT = ("<style>.stMainBlockContainer { padding-top: 1.6rem; padding-bottom: 1rem; }"
            ".stMainBlockContainer h1 { padding: 0 0 0.25rem 0; font-size: 1.6rem; }</style>")


def _session() -> CardSession:
    sess = S.get("ann_session")
    if not isinstance(sess, CardSession):
        sess = S["ann_session"] = CardSession()
    return sess


def _sidebar(ws: Workspace, annotator: str) -> str:
    with st.sidebar:
        st.markdown(f"Annotator: **{md_escape(annotator)}**")
        if st.button("Change annotator", key="ann_change"):
            ws.queue.release(annotator)
            S.pop("annotator", None)
            st.query_params.pop("annotator", None)
            S.pop("ann_session", None)
            st.rerun()
        default = ws.settings.queue_order if ws.settings.queue_order in QUEUE_ORDERS else "unlabelled"
        order = st.selectbox("Queue order", QUEUE_ORDERS, index=QUEUE_ORDERS.index(default), key="ann_order",
                             format_func=lambda o: QUEUE_ORDER_TEXT[o])
        st.caption(f"Suggestions: {ws.settings.suggestion_mode} (set on the Settings page)")
    return order


def _on_action(ws: Workspace, annotator: str, mode: str, model: Any | None) -> None:
    """Runs before the rerun that carries the card's action: the label is on disk before the card is built."""
    state = S.get(CARD_KEY)
    raw = state.get("action") if state is not None else None
    if raw is not None:
        apply_action(ws, annotator, _session(), raw, mode, model)


@st.fragment
def _card(ws: Workspace, annotator: str, order: str, mode: str, model: Any | None) -> None:
    ws.sync()
    data = build_card(ws, annotator, _session(), order, mode, model)
    annotation_card(data, key=CARD_KEY, on_action=partial(_on_action, ws, annotator, mode, model))


def render() -> None:
    require("annotate")  # the page checks the role itself, whatever the navigation shows
    st.title("Annotate")
    ws = workspace()
    annotator = pick_annotator("ann")
    if not annotator:
        st.info("Pick a name to start; it is kept in the page address, so a bookmark resumes your session.")
        return
    st.html(_COMPACT)
    order = _sidebar(ws, annotator)
    mode = ws.settings.suggestion_mode
    # the uncertainty order needs the model even when its suggestions are hidden from annotators
    model: Any | None = current_model(ws) if mode != "hidden" or order == "uncertain" else None
    if model is not None and order == "uncertain":
        if ws.has_predictions(model.model_id):
            ws.ensure_predictions(model)  # cached per model id: a dict lookup per action
        else:
            with st.spinner(f"Ordering the queue by the uncertainty of model {model.model_id}…"):
                ws.ensure_predictions(model)
    elif order == "uncertain" and model is None:
        if not ws.has_uncertain_order():  # once per corpus: a few seconds at 10,000 sentences
            with st.spinner("Choosing representative sentences to start with…"):
                ws.ensure_representative()
        st.sidebar.caption("No model trained yet: 'most uncertain first' starts with representative sentences "
                           "(one from each group of similar sentences), then goes on as 'unlabelled first'.")
    _card(ws, annotator, order, mode, model)


render()
