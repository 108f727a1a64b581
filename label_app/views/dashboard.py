"""Dashboard: labels per topic and stance, progress and time per label per annotator, inter-annotator agreement,
and the current model's scores and learning curve (read from the files `python -m train` writes)."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from label_app import store
from label_app.activity import DEFAULT_WINDOW, WINDOWS, label_actions, progress_frame, time_per_label
from label_app.agreement import agreement_report
from label_app.artifacts import ArtifactError
from label_app.metrics_view import (
    confusion_frame,
    learning_curve_frame,
    load_curve,
    load_metrics,
    macro_f1,
    model_choice,
    per_class_frame,
)
from label_app.project import Project
from label_app.review import (
    MIN_PAIR_OVERLAP,
    confusion_table,
    entries_as_rows,
    pairs_frame,
    per_label_frame,
    split_pairs,
)
from label_app.schema import TASKS
from label_app.table_view import show_table
from label_app.ui import annotator_from_url, current_model, md_escape, require, workspace
from label_app.wording import plural
from label_app.workspace import label_counts


def _labels(ws) -> None:  # noqa: ANN001
    st.subheader("Labels per topic and stance")
    counts = label_counts(ws.index.label_entries(), ws.schema)
    p = ws.queue
    st.caption(f"{p.labelled_count():,} of {plural(len(p), 'sentence')} labelled; "
               f"{plural(len(ws.index.label_entries()), 'current label')} from "
               f"{plural(len(ws.index.annotators()), 'annotator')}")
    cols = st.columns(2)
    for col, task in zip(cols, TASKS, strict=True):
        data = counts[counts["task"] == task]
        if not data["count"].sum():
            # an all-zero bar chart is an empty frame with a "0.000000" tick: say it instead
            col.caption(f"No {task} labels yet.")
            continue
        chart = alt.Chart(data).mark_bar().encode(
            x=alt.X("count:Q", title="labels"), y=alt.Y("label:N", sort=list(data["label"]), title=task),
            tooltip=["label", "count"])
        col.altair_chart(chart, key=f"dash_{task}_counts")


@st.cache_data(show_spinner=False, max_entries=4)
def _actions(root: str, size: int, mtime: int) -> pd.DataFrame:  # noqa: ARG001 - size and mtime key the cache
    return label_actions(store.read_log(Project.at(root), warn=False).rows)


def _progress(ws) -> None:  # noqa: ANN001
    st.subheader("Progress and time per label")
    try:
        stat = ws.project.log_path.stat()
        actions = _actions(str(ws.project.root), stat.st_size, stat.st_mtime_ns)
    except FileNotFoundError:
        actions = label_actions([])
    if actions.empty:
        st.caption("No labels yet.")
        return
    window = st.selectbox("Time window", list(WINDOWS), index=list(WINDOWS).index(DEFAULT_WINDOW),
                          format_func=WINDOWS.get, key="dash_window",
                          help="Counted back from the latest label, so an old project shows its last working day.")
    df = progress_frame(actions, window)
    first, last = df["time"].min(), df["time"].max()
    st.caption(f"{plural(len(df), 'label action')} from {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC"
               + (f"; {plural(len(actions) - len(df), 'earlier one')} outside the window" if len(df) < len(actions)
                  else "") + ". Adjudications are not counted.")
    chart = alt.Chart(df).mark_line(interpolate="step-after", point=len(df) <= 200).encode(
        x=alt.X("time:T", title="time (UTC)"), y=alt.Y("labels:Q", title="labels in the window (cumulative)"),
        color=alt.Color("annotator:N"), tooltip=["annotator", "time", "labels"])
    st.altair_chart(chart, key="dash_progress")
    timing = time_per_label(actions, window)
    if timing.empty:
        st.caption("No label in this window recorded the time spent on it (imported and starter labels do not).")
    else:
        show_table(timing, "dash_timing", "time-per-label.csv", hide_index=True, width="stretch")


def _agreement(ws) -> None:  # noqa: ANN001
    st.subheader("Agreement between annotators")
    report = agreement_report(entries_as_rows(ws.index.label_entries()), ws.schema)
    least = int(st.number_input("Least shared sentences for a pair", min_value=1, max_value=10_000,
                                value=MIN_PAIR_OVERLAP, step=1, key="dash_min_overlap",
                                help="Pairs of annotators who share fewer sentences are left out of the kappa table: "
                                     "a kappa over a handful of sentences is noise."))
    for task, ta in report.items():
        st.markdown(f"**{task.capitalize()}**")
        if ta.units_multi == 0:
            st.caption(f"{task}: no sentence has labels from two annotators yet (set an overlap on the Settings "
                       "page).")
            continue
        alpha = "n/a" if ta.alpha is None else f"{ta.alpha:.3f}"
        st.metric(f"Krippendorff's alpha ({task})", alpha,
                  help=f"nominal; over {plural(ta.units_multi, 'sentence')} labelled by two or more annotators")
        shown, hidden = split_pairs(ta, least)
        if hidden:
            st.caption(f"{plural(len(hidden), 'pair shares', 'pairs share')} fewer than "
                       f"{plural(least, 'sentence')} and {'is' if len(hidden) == 1 else 'are'} left out: "
                       + ", ".join(f"{p.a} / {p.b} ({p.n})" for p in hidden))
        left, right = st.columns(2)
        show_table(pairs_frame(ta, shown), f"dash_{task}_kappa", f"kappa-{task}.csv", where=left, hide_index=True,
                   width="stretch", column_config={"Cohen's kappa": st.column_config.NumberColumn(format="%.3f"),
                                                   "identical": st.column_config.NumberColumn(format="percent")})
        show_table(per_label_frame(ta), f"dash_{task}_per_label", f"agreement-{task}.csv", where=right,
                   hide_index=True, width="stretch",
                   column_config={"agreement": st.column_config.NumberColumn(format="%.2f")})
        if not shown:
            continue
        names = [f"{p.a} / {p.b}" for p in shown]
        pick = st.selectbox("Confusion between", names, key=f"dash_{task}_pair")
        pair = shown[names.index(pick)]
        show_table(confusion_table(pair, ws.schema.task(task).names), f"dash_{task}_confusion",
                   f"confusion-{task}.csv", width="stretch")


def _model(ws, model) -> None:  # noqa: ANN001
    st.subheader("Current model")
    if model is None:
        st.info("No model trained yet: run `python -m train` to train one.")
        return
    st.caption(f"Model {model.model_id}: scores are cross-validated (out-of-fold, folds grouped by article).")
    try:
        metrics = load_metrics(ws.project, model.model_id)
    except ArtifactError as exc:
        st.warning(str(exc))
        metrics = None
    if metrics is None:
        st.warning(f"Model {model.model_id}: no metrics.json found; retrain with `python -m train`.")
    else:
        scores = per_class_frame(metrics)
        for task in TASKS:
            f1 = macro_f1(metrics, task)
            st.markdown(f"**{task.capitalize()}**" + (f" — macro-F1 {f1:.2f}" if f1 is not None else
                                                      " — not trained"))
            for line in model_choice(metrics, task):
                st.caption(md_escape(line))
            left, right = st.columns(2)
            data = scores[scores["task"] == task]
            if not data.empty:
                left.altair_chart(alt.Chart(data).mark_bar().encode(
                    x=alt.X("value:Q", title="score", scale=alt.Scale(domain=[0, 1])),
                    y=alt.Y("metric:N", title=None), row=alt.Row("label:N", title=None), color="metric:N",
                    tooltip=["label", "metric", "value"]), key=f"dash_{task}_scores")
            cm = confusion_frame(metrics, task)
            if not cm.empty:
                base = alt.Chart(cm).encode(x=alt.X("predicted:N"), y=alt.Y("true:N", title="gold"))
                right.altair_chart(base.mark_rect().encode(color=alt.Color("count:Q", scale=alt.Scale(scheme="blues")),
                                                           tooltip=["true", "predicted", "count"])
                                   + base.mark_text().encode(text="count:Q"), key=f"dash_{task}_cm")
    st.markdown("**Learning curve**")
    try:
        curve = load_curve(ws.project, model.model_id)
    except ArtifactError as exc:
        st.warning(str(exc))
        return
    if curve is None:
        st.caption(f"No learning curve for model {model.model_id} yet: run `python -m train curve`.")
        return
    lc = learning_curve_frame(curve)
    skipped = {t: b["skipped"] for t, b in curve["tasks"].items() if "skipped" in b}
    st.caption(f"Macro-F1 when training on part of label version {curve['labels_version']} (cross-validated, "
               "folds grouped by article): does labelling more still pay?"
               + "".join(f" {t}: skipped ({why})." for t, why in skipped.items()))
    if not lc.empty:
        st.altair_chart(alt.Chart(lc).mark_line(point=True).encode(
            x=alt.X("n_train:Q", title="training labels (mean per fold)"),
            y=alt.Y("macro_f1:Q", title="macro-F1", scale=alt.Scale(domain=[0, 1])),
            color="task:N", tooltip=["task", "n_train", "macro_f1", "accuracy"]), key="dash_curve")
        show_table(lc, "dash_curve_table", "learning-curve.csv", hide_index=True, width="stretch")


def render() -> None:
    require("dashboard")  # the page checks the role itself, whatever the navigation shows
    st.title("Dashboard")
    ws = workspace()
    annotator_from_url()
    _labels(ws)
    _progress(ws)
    _agreement(ws)
    _model(ws, current_model(ws))


render()
