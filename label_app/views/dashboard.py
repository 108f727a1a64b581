"""Dashboard: labels per topic and stance, progress per annotator, inter-annotator agreement, and the current
model's scores."""

from __future__ import annotations

import altair as alt
import streamlit as st

from label_app.agreement import agreement_report
from label_app.metrics_view import (
    confusion_frame,
    learning_curve_frame,
    load_metrics,
    macro_f1,
    model_dir,
    per_class_frame,
)
from label_app.review import confusion_table, entries_as_rows, pairs_frame, per_label_frame
from label_app.suggest import read_json
from label_app.ui import annotator_from_url, current_model, require, workspace
from label_app.workspace import label_counts, progress_over_time


def _labels(ws) -> None:  # noqa: ANN001
    st.subheader("Labels per topic and stance")
    counts = label_counts(ws.index.current_labels(), ws.schema)
    p = ws.queue
    st.caption(f"{p.labelled_count():,} of {len(p):,} sentences labelled; {len(ws.index.current_labels()):,} "
               f"current labels from {len(ws.index.annotators())} annotators")
    cols = st.columns(2)
    for col, task in zip(cols, ("topic", "stance"), strict=True):
        data = counts[counts["task"] == task]
        chart = alt.Chart(data).mark_bar().encode(
            x=alt.X("count:Q", title="labels"), y=alt.Y("label:N", sort=list(data["label"]), title=task),
            tooltip=["label", "count"])
        col.altair_chart(chart, key=f"dash_{task}_counts")


def _progress(ws) -> None:  # noqa: ANN001
    st.subheader("Progress over time")
    df = progress_over_time(ws.index.events)
    if df.empty:
        st.caption("No labels yet.")
        return
    chart = alt.Chart(df).mark_line(interpolate="step-after").encode(
        x=alt.X("time:T", title="time"), y=alt.Y("labels:Q", title="labels (cumulative)"),
        color=alt.Color("annotator:N"), tooltip=["annotator", "time", "labels"])
    st.altair_chart(chart, key="dash_progress")


def _agreement(ws) -> None:  # noqa: ANN001
    st.subheader("Agreement between annotators")
    report = agreement_report(entries_as_rows(ws.index.current_labels()), ws.schema)
    for task, ta in report.items():
        st.markdown(f"**{task.capitalize()}**")
        if ta.units_multi == 0:
            st.caption(f"{task}: no sentence has labels from two annotators yet (set an overlap on the Settings "
                       "page).")
            continue
        alpha = "n/a" if ta.alpha is None else f"{ta.alpha:.3f}"
        st.metric(f"Krippendorff's alpha ({task})", alpha,
                  help=f"nominal; over {ta.units_multi} sentences labelled by two or more annotators")
        left, right = st.columns(2)
        left.dataframe(pairs_frame(ta), key=f"dash_{task}_kappa", hide_index=True, width="stretch",
                       column_config={"Cohen's kappa": st.column_config.NumberColumn(format="%.3f"),
                                      "identical": st.column_config.NumberColumn(format="percent")})
        right.dataframe(per_label_frame(ta), key=f"dash_{task}_per_label", hide_index=True, width="stretch",
                        column_config={"agreement": st.column_config.NumberColumn(format="%.2f")})
        names = [f"{p.a} / {p.b}" for p in ta.pairs]
        pick = st.selectbox("Confusion between", names, key=f"dash_{task}_pair")
        pair = ta.pairs[names.index(pick)]
        st.dataframe(confusion_table(pair, ws.schema.task(task).names), key=f"dash_{task}_confusion",
                     width="stretch")


def _model(ws, model) -> None:  # noqa: ANN001
    st.subheader("Current model")
    if model is None:
        st.info("No model trained yet: run `python -m train` to train one.")
        return
    metrics = load_metrics(ws.project, model.model_id)
    st.caption(f"Model {model.model_id}")
    if metrics is None:
        st.warning(f"{model_dir(ws.project, model.model_id) / 'metrics.json'}: no metrics found for this model.")
        return
    scores = per_class_frame(metrics)
    for task in ("topic", "stance"):
        f1 = macro_f1(metrics, task)
        st.markdown(f"**{task.capitalize()}**" + (f" — macro F1 {f1:.2f}" if f1 is not None else ""))
        left, right = st.columns(2)
        data = scores[scores["task"] == task]
        if not data.empty:
            left.altair_chart(alt.Chart(data).mark_bar().encode(
                x=alt.X("value:Q", title="score", scale=alt.Scale(domain=[0, 1])), y=alt.Y("metric:N", title=None),
                row=alt.Row("label:N", title=None), color="metric:N", tooltip=["label", "metric", "value"]),
                key=f"dash_{task}_scores")
        cm = confusion_frame(metrics, task)
        if not cm.empty:
            base = alt.Chart(cm).encode(x=alt.X("predicted:N"), y=alt.Y("true:N"))
            right.altair_chart(base.mark_rect().encode(color=alt.Color("count:Q", scale=alt.Scale(scheme="blues")),
                                                       tooltip=["true", "predicted", "count"])
                               + base.mark_text().encode(text="count:Q"), key=f"dash_{task}_cm")
    curve = None
    for name in ("learning_curve.json", "learning-curve.json"):
        curve = read_json(model_dir(ws.project, model.model_id) / name) or read_json(ws.project.models_dir / name)
        if curve is not None:
            break
    lc = learning_curve_frame(curve) if curve is not None else None
    if lc is not None and not lc.empty:
        st.markdown("**Learning curve**")
        st.altair_chart(alt.Chart(lc).mark_line(point=True).encode(
            x=alt.X("train_size:Q", title="training labels"), y=alt.Y("score:Q", title="macro F1"),
            color="task:N", tooltip=["task", "train_size", "score"]), key="dash_curve")


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
