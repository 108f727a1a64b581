"""Annotate: one sentence at a time, keyboard first. Session state holds only the UI position."""

from __future__ import annotations

import time
from typing import Any

import streamlit as st

from label_app.errors import LabelAppError
from label_app.settings import QUEUE_ORDER_TEXT, QUEUE_ORDERS
from label_app.suggest import Suggestion, chosen_topic, follow_stance
from label_app.ui import current_model, md_escape, pick_annotator, require, toggled, workspace
from label_app.workspace import Workspace, annotate_keys_help, rate_per_hour

# Streamlit reserves C and R; such label keys stay clickable but get no shortcut.
_RESERVED = {"c", "r"}
S = st.session_state


def _state_defaults() -> None:
    S.setdefault("ann_sel", {"topic": [], "stance": []})
    S.setdefault("ann_sel_for", None)
    S.setdefault("ann_hist", [])  # snapshot of the annotator's recent sentences, latest first
    S.setdefault("ann_hist_pos", -1)  # -1: working through the queue
    S.setdefault("ann_count", 0)
    S.setdefault("ann_started", time.time())
    S.setdefault("ann_flash", None)


def _toggle(task: str, name: str, multi: bool) -> None:
    S["ann_sel"] = toggled(S["ann_sel"], task, name, multi)


def _clear() -> None:
    S["ann_sel"] = {"topic": [], "stance": []}


def _forward() -> None:
    S["ann_hist_pos"] -= 1
    if S["ann_hist_pos"] < 0:
        S["ann_hist"] = []


def _back(ws: Workspace, annotator: str) -> None:
    if S["ann_hist_pos"] < 0:
        S["ann_hist"] = ws.history(annotator)
        if not S["ann_hist"]:
            S["ann_flash"] = ("info", "Nothing to go back to yet.")
            return
        S["ann_hist_pos"] = 0
    elif S["ann_hist_pos"] + 1 < len(S["ann_hist"]):
        S["ann_hist_pos"] += 1
    else:
        S["ann_flash"] = ("info", f"That is as far back as you can go (your last {len(S['ann_hist'])} sentences).")


def _save(ws: Workspace, annotator: str, sid: str, action: str, sug: Suggestion | None, shown: bool,
          accept: bool = False) -> None:
    if accept and sug is not None:
        S["ann_sel"] = sug.choices()
    sep = "|"
    topic = sep.join(S["ann_sel"]["topic"]) if action == "label" else ""
    stance = sep.join(S["ann_sel"]["stance"]) if action == "label" else ""
    if action == "label" and not (topic or stance):
        S["ann_flash"] = ("error", "Choose a topic or a stance first (or press → to skip).")
        return
    seconds = max(0.0, time.time() - S.get("ann_shown_at", time.time()))
    back = S["ann_hist_pos"] >= 0
    try:
        ws.save(annotator, sid, action=action, topic=topic, stance=stance, suggestion=sug,
                shown=shown and not back, seconds=seconds)
    except LabelAppError as exc:
        S["ann_flash"] = ("error", f"Label NOT saved: {exc}")
        return
    if action == "label":
        S["ann_count"] += 1
        what = " · ".join(x for x in (topic, stance) if x)
        S["ann_flash"] = ("success", f"Saved {what} for {ws.view(sid).position_text}.")
    else:
        S["ann_flash"] = ("success", f"Saved: {action}.")
    if back:
        _forward()


def _initial_selection(ws: Workspace, annotator: str, sid: str, sug: Suggestion | None, preselect: bool,
                       back: bool) -> dict[str, list[str]]:
    mine = ws.index.entry(sid, annotator)
    if back and mine is not None and mine.action == "label":
        return {"topic": ws.schema.topic.split(mine.topic), "stance": ws.schema.stance.split(mine.stance)}
    if preselect and sug is not None and not back:
        return {"topic": [sug.topic] if sug.topic else [], "stance": [sug.stance] if sug.stance else []}
    return {"topic": [], "stance": []}


def _sidebar(ws: Workspace, annotator: str) -> str:
    with st.sidebar:
        st.markdown(f"Annotator: **{md_escape(annotator)}**")
        if st.button("Change annotator", key="ann_change"):
            ws.queue.release(annotator)
            S.pop("annotator", None)
            st.query_params.pop("annotator", None)
            S["ann_hist_pos"], S["ann_hist"] = -1, []
            st.rerun()
        default = ws.settings.queue_order if ws.settings.queue_order in QUEUE_ORDERS else "unlabelled"
        order = st.selectbox("Queue order", QUEUE_ORDERS, index=QUEUE_ORDERS.index(default), key="ann_order",
                             format_func=lambda o: QUEUE_ORDER_TEXT[o])
        st.caption(f"Suggestions: {ws.settings.suggestion_mode} (set on the Settings page)")
    return order


def _progress(ws: Workspace, annotator: str) -> None:
    p = ws.progress(annotator)
    c1, c2, c3 = st.columns(3)
    c1.metric("Your labels", f"{p.mine:,}")
    c2.metric("Corpus labelled", f"{p.share:.1%}", help=f"{p.labelled:,} of {p.total:,} sentences")
    c3.metric("Labels per hour (this session)", f"{rate_per_hour(S['ann_count'], S['ann_started'], time.time()):.0f}")


def _label_buttons(ws: Workspace, task_name: str) -> None:
    task = ws.schema.task(task_name)
    st.markdown(f"**{task_name.capitalize()}**" + (f" — {md_escape(task.description)}" if task.description else ""))
    if task.target:
        st.caption(f"Target: {md_escape(task.target)}")
    for lab in task.labels:
        left, right = st.columns([1, 2], vertical_alignment="center")
        chosen = lab.name in S["ann_sel"][task_name]
        left.button(lab.name, key=f"ann_{task_name}_{lab.name}", type="primary" if chosen else "secondary",
                    shortcut=lab.key if lab.key and lab.key not in _RESERVED else None,
                    on_click=_toggle, args=(task_name, lab.name, task.multi_label), width="stretch")
        right.caption(md_escape(lab.description) or "&nbsp;")


def render() -> None:
    require("annotate")  # the page checks the role itself, whatever the navigation shows
    st.title("Annotate")
    ws = workspace()
    annotator = pick_annotator("ann")
    if not annotator:
        st.info("Pick a name to start; it is kept in the page address, so a bookmark resumes your session.")
        return
    _state_defaults()
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
        st.caption("No model trained yet: 'most uncertain first' works as 'unlabelled first'.")

    back = S["ann_hist_pos"] >= 0
    sid = S["ann_hist"][S["ann_hist_pos"]] if back else ws.next_for(annotator, order)
    flash = S.pop("ann_flash", None)
    S["ann_flash"] = None

    _progress(ws, annotator)
    if flash:
        getattr(st, flash[0])(flash[1])
    if sid is None or not ws.has(sid):
        st.success("Nothing left in your queue: every sentence has been handled. Thank you!")
        return

    sug = ws.suggestion(model, sid) if model is not None and mode != "hidden" else None
    shown = sug is not None and mode in ("hint", "preselect")
    if S["ann_sel_for"] != (sid, back):
        S["ann_sel"] = _initial_selection(ws, annotator, sid, sug, mode == "preselect", back)
        S["ann_sel_for"] = (sid, back)
        S["ann_shown_at"] = time.time()
        # the stance the app filled in (pre-selected mode); it follows the suggestion until the annotator picks one
        S["ann_auto_stance"] = list(S["ann_sel"]["stance"]) if mode == "preselect" and not back else None
    if sug is not None:
        # the stance model is conditioned on the topic: once the annotator has picked one, suggest for it
        sug = ws.suggestion(model, sid, chosen_topic(S["ann_sel"]["topic"]))
        stance, S["ann_auto_stance"] = follow_stance(S["ann_sel"]["stance"], S.get("ann_auto_stance"), sug)
        S["ann_sel"] = {**S["ann_sel"], "stance": stance}

    v = ws.view(sid)
    if back:
        mine = ws.index.entry(sid, annotator)
        was = f"{mine.action}" + (f": {mine.topic or '-'} / {mine.stance or '-'}" if mine and mine.action == "label" else "")
        st.warning(f"Going back ({S['ann_hist_pos'] + 1} of {len(S['ann_hist'])}); you saved {was}. "
                   "Enter saves a new label, → returns without changing it.")
    with st.container(border=True):
        st.caption(f"{md_escape(v.title)} · {v.position_text}")
        for line in v.before:
            st.caption(md_escape(line))
        st.markdown(f"#### {md_escape(v.text)}")
        for line in v.after:
            st.caption(md_escape(line))
    if shown:
        verb = "pre-selected" if mode == "preselect" else "Shift+Enter accepts it"
        st.info(f"Model suggestion ({verb}): {sug.describe()}  ·  model {sug.model_id}")

    left, right = st.columns(2)
    with left:
        _label_buttons(ws, "topic")
    with right:
        _label_buttons(ws, "stance")

    with st.container(horizontal=True):
        st.button("Save & next", key="ann_save", type="primary", shortcut="Enter",
                  on_click=_save, args=(ws, annotator, sid, "label", sug, shown))
        if shown and not back:
            st.button("Accept suggestion", key="ann_accept", shortcut="Shift+Enter",
                      on_click=_save, args=(ws, annotator, sid, "label", sug, shown, True))
        if back:
            st.button("Forward", key="ann_skip", shortcut="Right", on_click=_forward)
        else:
            st.button("Skip", key="ann_skip", shortcut="Right",
                      on_click=_save, args=(ws, annotator, sid, "skip", sug, shown))
        st.button("Back", key="ann_btn_back", shortcut="Left", on_click=_back, args=(ws, annotator))
        st.button("Not a sentence", key="ann_notsent", shortcut="Delete",
                  on_click=_save, args=(ws, annotator, sid, "not-sentence", sug, shown))
        st.button("Clear choices", key="ann_clear", shortcut="Esc", on_click=_clear)
    st.caption("Keyboard: " + md_escape(annotate_keys_help(ws.schema)))
    reserved = [lab.key for t in ws.schema.tasks for lab in t.labels if lab.key in _RESERVED]
    if reserved:
        st.caption(f"Keys {', '.join(reserved)} cannot be shortcuts in the browser (Streamlit reserves C and R).")


render()
