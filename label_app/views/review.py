"""Review (reviewers only): disagreements and likely label errors, one at a time; keys pick the final label."""

from __future__ import annotations

import streamlit as st

from label_app.errors import LabelAppError
from label_app.review import (
    ReviewItem,
    adjudicate,
    agreed_value,
    errors_path,
    labels_table,
    read_errors,
    review_queue,
)
from label_app.schema import MULTI_SEP, TASKS
from label_app.table_view import show_table
from label_app.ui import can, current_model, md_escape, pick_annotator, require, toggled, workspace
from label_app.wording import plural
from label_app.workspace import Workspace

# Streamlit reserves C and R; such label keys stay clickable but get no shortcut.
_RESERVED = {"c", "r"}
S = st.session_state


def _toggle(task: str, name: str, multi: bool) -> None:
    S["rev_sel"] = toggled(S["rev_sel"], task, name, multi)


def _clear() -> None:
    S["rev_sel"] = {"topic": [], "stance": []}


def _skip(sid: str) -> None:
    S["rev_skipped"] = S["rev_skipped"] + [sid]


def _save(ws: Workspace, reviewer: str, item: ReviewItem) -> None:
    topic, stance = MULTI_SEP.join(S["rev_sel"]["topic"]), MULTI_SEP.join(S["rev_sel"]["stance"])
    if not (topic or stance):
        S["rev_flash"] = ("error", "Choose the final topic or stance first (or press → to skip).")
        return
    text, article = item.text, item.article_id
    if ws.has(item.sentence_id):  # the corpus text, as the annotators saw it
        v = ws.view(item.sentence_id)
        text, article = v.text, v.article_id
    try:
        adjudicate(ws.project, ws.schema, reviewer, item.sentence_id, article, text, topic, stance)
    except LabelAppError as exc:
        S["rev_flash"] = ("error", f"Final label NOT saved: {exc}")
        return
    ws.sync()
    what = " · ".join(x for x in (topic, stance) if x)
    S["rev_flash"] = ("success", f"Saved the final label {what} for {item.sentence_id}.")


def _label_buttons(ws: Workspace, task_name: str) -> None:
    task = ws.schema.task(task_name)
    st.markdown(f"**{task_name.capitalize()}**")
    for lab in task.labels:
        chosen = lab.name in S["rev_sel"][task_name]
        st.button(lab.name, key=f"rev_{task_name}_{lab.name}", type="primary" if chosen else "secondary",
                  shortcut=lab.key if lab.key and lab.key not in _RESERVED else None,
                  on_click=_toggle, args=(task_name, lab.name, task.multi_label), width="stretch",
                  help=lab.description or None)


def _sentence(ws: Workspace, item: ReviewItem) -> None:
    with st.container(border=True):
        if ws.has(item.sentence_id):
            v = ws.view(item.sentence_id)
            st.caption(f"{md_escape(v.title)} · {v.position_text} · {item.sentence_id}")
            for line in v.before:
                st.caption(md_escape(line))
            st.markdown(f"#### {md_escape(v.text)}")
            for line in v.after:
                st.caption(md_escape(line))
        else:
            st.caption(f"{item.sentence_id} (not in the corpus: no context)")
            st.markdown(f"#### {md_escape(item.text)}")


OOF_NOTE = ("by python -m train errors: trained on the other folds with this model's settings, so it never saw "
            "this sentence or its article")


def _prediction(ws: Workspace, item: ReviewItem) -> None:
    """One model figure per screen, from one named source. A likely label error is shown with the out-of-fold
    prediction that flagged it (the current model was trained on this very label, so its figure would contradict
    it); a plain disagreement with the current model's prediction."""
    if item.errors:
        st.caption(md_escape(f"Model figures on this screen: out-of-fold predictions of model "
                             f"{item.errors[0].model_id} ({OOF_NOTE})."))
        return
    model = current_model(ws)
    if model is None:
        st.caption("No model trained yet: no prediction to show.")
        return
    sug = ws.suggestion(model, item.sentence_id)
    if sug is not None:
        st.info(md_escape(sug.describe()) + f"  ·  current model {md_escape(sug.model_id)}")
        st.caption("Current model: trained on all gold labels of its label version, which may include this "
                   "sentence.")


def render() -> None:
    require("adjudicate")  # the page checks the role itself, whatever the navigation shows
    st.title("Review")
    if not can("adjudicate"):
        st.error("Only reviewers can review and adjudicate labels.")
        return
    ws = workspace()
    reviewer = pick_annotator("rev")
    if not reviewer:
        st.info("Pick your name: final labels are recorded under it.")
        return
    S.setdefault("rev_skipped", [])
    S.setdefault("rev_sel_for", None)
    try:
        errors = read_errors(errors_path(ws.project))
    except LabelAppError as exc:
        st.warning(str(exc))
        errors = []
    tasks = [t.name for t in ws.schema.tasks]
    items = review_queue(ws.index.by_sentence, tasks, errors, ws.sentence_ids)
    pending = [i for i in items if i.sentence_id not in S["rev_skipped"]]
    n_dis = sum(1 for i in items if i.disagree)
    n_err = sum(1 for i in items if i.errors)
    st.caption(f"{len(items)} to review: {n_dis} with disagreements, {plural(n_err, 'likely label error')}"
               + (f"; {len(items) - len(pending)} skipped in this session" if len(pending) < len(items) else "")
               + ("" if errors else ". No likely-error list yet: run `python -m train errors`."))
    flash = S.pop("rev_flash", None)
    if flash:
        getattr(st, flash[0])(flash[1])
    if not pending:
        st.success("Nothing to review.")
        if len(pending) < len(items) and st.button("Show the skipped ones again", key="rev_unskip"):
            S["rev_skipped"] = []
            st.rerun()
        return

    item = pending[0]
    entries = ws.index.entries(item.sentence_id)
    if S["rev_sel_for"] != item.sentence_id:
        S["rev_sel"] = {t: [v] if (v := agreed_value(entries, t)) else [] for t in TASKS}
        S["rev_sel_for"] = item.sentence_id
    for reason in item.reasons():
        st.caption(md_escape(reason))
    _sentence(ws, item)
    show_table(labels_table(entries), "rev_labels", "review-labels.csv", hide_index=True, width="stretch")
    _prediction(ws, item)

    left, right = st.columns(2)
    with left:
        _label_buttons(ws, "topic")
    with right:
        _label_buttons(ws, "stance")
    with st.container(horizontal=True):
        st.button("Save final label", key="rev_save", type="primary", shortcut="Enter",
                  on_click=_save, args=(ws, reviewer, item))
        st.button("Skip", key="rev_skip", shortcut="Right", on_click=_skip, args=(item.sentence_id,))
        st.button("Clear choices", key="rev_clear", shortcut="Esc", on_click=_clear)
    keys = " ".join(f"{lab.key}={lab.name}" for t in ws.schema.tasks for lab in t.labels
                    if lab.key and lab.key not in _RESERVED)
    st.caption("Keyboard: " + md_escape(f"{keys}. Enter: save the final label. →: skip. Esc: clear choices."))


render()
