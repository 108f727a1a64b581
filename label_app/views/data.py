"""Data: label versions (create, diff, export) and uploads of articles and label files.

Actions (create a version, import labels) run as widget callbacks, before the page is drawn, so everything
drawn after them (the version list, the download and diff selects, the diff caption) shows the data as it is
now. Selects whose options come from the versions are keyed by the latest version number: a new version
makes a new select that starts on it.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from label_app import store
from label_app.dataops import check_uploads, diff_table, import_upload, upload_articles, versions_table
from label_app.errors import LabelAppError
from label_app.table_view import show_table
from label_app.ui import annotator_from_url, can, md_escape, require, workspace

FLASH = "data_flash"
NOTES_SHOWN = 10  # import notes shown one box each; more are one table
IMPORT_RESULT = "data_import_result"


def _create_version(ws) -> None:  # noqa: ANN001 - callback of the "Create version" button
    try:
        rec, _ = store.create_version(ws.project, note=st.session_state.get("data_note", ""))
    except LabelAppError as exc:
        st.session_state[FLASH] = ("error", str(exc))
    else:
        st.session_state[FLASH] = ("success", f"Created version {rec['version']} with {rec['rows']} labels.")


def _import_labels(ws) -> None:  # noqa: ANN001 - callback of the "Import labels" button
    up = st.session_state.get("data_labels")
    if up is None:
        return
    who = (st.session_state.get("data_import_who") or "").strip()
    try:
        rep = import_upload(ws.project, ws.schema, up.name, up.getvalue(), who, ws.corpus)
    except LabelAppError as exc:
        st.session_state[IMPORT_RESULT] = ("error", str(exc), None)
        return
    ws.sync()
    st.session_state[IMPORT_RESULT] = ("done", "", rep)


def _flash() -> None:
    kind, msg = st.session_state.pop(FLASH, (None, ""))
    if kind == "success":
        st.success(msg)
    elif kind == "error":
        st.error(msg)


def _versions(ws) -> list[int]:  # noqa: ANN001
    st.subheader("Label versions")
    if can("create-version"):
        with st.form("data_version_form"):
            st.text_input("Note for the new version", key="data_note")
            st.form_submit_button("Create version", on_click=_create_version, args=(ws,))
        _flash()
    table = versions_table(ws.project)
    if table.empty:
        st.caption("No label versions yet.")
    else:
        show_table(table, "data_versions", "label-versions.csv", hide_index=True, width="stretch")
    return [int(v) for v in table["version"]]


def _diff(ws, numbers: list[int]) -> None:  # noqa: ANN001
    st.subheader("Compare versions")
    choices = [str(n) for n in reversed(numbers)] + ["current"]
    latest = numbers[-1] if numbers else 0
    c1, c2 = st.columns(2)
    # default: what changed since the latest version
    a = c1.selectbox("From", choices, index=0, key=f"data_diff_a_{latest}")
    b = c2.selectbox("To", choices, index=len(choices) - 1, key=f"data_diff_b_{latest}")
    try:
        summary, table = diff_table(store.labels_for(ws.project, a), store.labels_for(ws.project, b))
    except LabelAppError as exc:
        st.error(str(exc))
        return
    st.caption(f"{a} → {b}: {summary}")
    if not table.empty:
        show_table(table, "data_diff", f"labels-diff-{a}-{b}.csv", hide_index=True, width="stretch")


def _exports(ws, numbers: list[int]) -> None:  # noqa: ANN001
    st.subheader("Download")
    if not numbers:
        st.caption("Create a version first: exports are made from versions, so they can be reproduced.")
        return
    c1, c2 = st.columns(2)
    v = int(c1.selectbox("Version", list(reversed(numbers)), key=f"data_export_v_{numbers[-1]}"))
    task = c2.selectbox("Task (gold labels and spaCy)", [t.name for t in ws.schema.tasks], key="data_export_task")
    try:
        labels = store.load_version(ws.project, v)
    except LabelAppError as exc:
        st.error(str(exc))
        return
    rows, gold = store.gold_rows(labels, ws.schema, task)
    st.caption(f"Gold labels for training: one row per sentence, {store.gold_summary(len(rows), gold)}. spaCy "
               "DocBin: ready for "
               f"`spacy train` with {'textcat_multilabel' if ws.schema.task(task).multi_label else 'textcat'}.")
    with st.container(horizontal=True):
        for fmt, label in (("csv", "Gold CSV"), ("jsonl", "Gold JSONL"), ("spacy", "spaCy DocBin")):
            st.download_button(f"{label} ({task})",
                               lambda fmt=fmt: store.make_export(labels, ws.schema, v, fmt, task, gold=True).data,
                               store.default_export_name(v, fmt, task, True),
                               "application/octet-stream" if fmt == "spacy" else f"text/{fmt}",
                               key=f"data_dl_gold_{fmt}", on_click="ignore")
    st.caption(f"All labels: {len(labels)} rows, one per sentence and annotator with every column (annotator, "
               "source, model version, time, seconds): for archives and for moving labels to another project; "
               "import gives back exactly the same rows.")
    with st.container(horizontal=True):
        for fmt, label in (("csv", "All labels CSV"), ("jsonl", "All labels JSONL")):
            st.download_button(label, lambda fmt=fmt: store.make_export(labels, ws.schema, v, fmt, gold=False).data,
                               store.default_export_name(v, fmt, task, False), f"text/{fmt}",
                               key=f"data_dl_raw_{fmt}", on_click="ignore")


def _upload_articles(ws) -> None:  # noqa: ANN001
    st.subheader("Upload articles")
    files = st.file_uploader("Article files (.txt, .md, or .csv/.jsonl with a text column)",
                             type=["txt", "md", "csv", "jsonl"], accept_multiple_files=True, key="data_articles")
    if not files:
        return
    payload = [(f.name, f.getvalue()) for f in files]
    checks = check_uploads(ws.project, payload)
    for c in checks:
        if c.refused:
            st.error(f"{c.name}: not added: {c.reason}")
        for note in c.notes:
            st.warning(md_escape(f"{c.name}: {note}"))
    replace: dict[str, str] = {}
    skip: set[str] = set()
    options = ["Replace that article", "Add as a new article", "Skip this file"]
    for c in checks:
        if c.refused or not c.duplicates:
            continue
        d = c.duplicates[0]
        st.warning(f"{c.name} looks like a new version of {d.source} ({md_escape(d.title)}; {d.reason}). "
                   "Replacing keeps the labels of every unchanged sentence.")
        choice = st.radio(f"What to do with {c.name}", options, key=f"data_dup_{c.name}", horizontal=True)
        if choice == options[0]:
            replace[c.name] = d.source
        elif choice == options[2]:
            skip.add(c.name)
    if any(not c.refused for c in checks) and st.button("Add to the corpus", key="data_add_articles"):
        res = upload_articles(ws.project, payload, replace=replace, skip=skip)
        if res.report is not None:
            ws.reload_corpus(ingest=False)
            done = [f"Saved into seeds/: {', '.join(res.saved)}"] if res.saved else []
            done += [f"Replaced in seeds/: {', '.join(res.replaced)}"] if res.replaced else []
            st.success("; ".join(done))
            st.text(res.report.summary())
        else:
            st.info("Nothing added.")


def _upload_labels(ws) -> None:  # noqa: ANN001
    st.subheader("Import labels")
    st.file_uploader("Label file (.csv or .jsonl with columns text, topic, stance; optional sentence_id, "
                     "article_id, annotator and the other columns of an export)",
                     type=["csv", "jsonl"], key="data_labels")
    st.text_input("Annotator for rows without one", value="import", key="data_import_who")
    st.button("Import labels", key="data_import", on_click=_import_labels, args=(ws,),
              disabled=st.session_state.get("data_labels") is None)
    kind, msg, rep = st.session_state.pop(IMPORT_RESULT, (None, "", None))
    if kind == "error":
        st.error(msg)
    if rep is None:
        return
    if len(rep.notes) <= NOTES_SHOWN:
        for note in rep.notes:
            st.info(md_escape(note))
    else:  # many notes (a file full of shared texts): one table to read and download, not a wall of boxes
        st.info(f"{len(rep.notes)} notes on {md_escape(rep.name)}:")
        show_table(pd.DataFrame({"note": rep.notes}), "data_import_notes", "import-notes.csv", hide_index=True,
                   width="stretch")
    if len(rep.problems) == 1 and rep.problems[0].row is None:  # the file as a whole: one line says it
        st.error(f"{rep.summary()}: {rep.problems[0].line()}")
        return
    if rep.problems:
        st.error(f"{rep.summary()}. Fix these rows and import the file again:")
        show_table(problems_table(rep), "data_import_problems", "import-problems.csv", hide_index=True,
                   width="stretch")
        return
    st.success(f"Imported {rep.labels_text()} ({rep.counts_text()}).")
    if rep.details():
        st.caption("; ".join(rep.details()).capitalize() + ".")


def problems_table(rep: store.ImportReport) -> pd.DataFrame:
    """The import's problems as a table: row, column, value, problem."""
    return pd.DataFrame([{"row": "" if p.row is None else p.row, "column": p.column, "value": p.value,
                          "problem": p.message} for p in rep.problems], columns=["row", "column", "value", "problem"])


def render() -> None:
    require("data")  # the page checks the role itself, whatever the navigation shows
    st.title("Data")
    ws = workspace()
    annotator_from_url()
    numbers = _versions(ws)
    _diff(ws, numbers)
    _exports(ws, numbers)
    if can("import"):
        _upload_articles(ws)
        _upload_labels(ws)
    else:
        st.caption("Reviewers create versions and import articles and labels.")


render()
