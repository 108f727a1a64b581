"""Data: label versions (create, diff, export) and uploads of articles and label files."""

from __future__ import annotations

import streamlit as st

from label_app import store
from label_app.dataops import check_uploads, diff_table, import_upload, upload_articles, versions_table
from label_app.errors import LabelAppError
from label_app.ui import annotator_from_url, can, md_escape, workspace


def _versions(ws) -> list[int]:  # noqa: ANN001
    st.subheader("Label versions")
    if can("create-version"):
        with st.form("data_version_form"):
            note = st.text_input("Note for the new version", key="data_note")
            if st.form_submit_button("Create version"):
                try:
                    rec, _ = store.create_version(ws.project, note=note)
                except LabelAppError as exc:
                    st.error(str(exc))
                else:
                    st.success(f"Created version {rec['version']} with {rec['rows']} labels.")
    table = versions_table(ws.project)
    if table.empty:
        st.caption("No label versions yet.")
    else:
        st.dataframe(table, key="data_versions", hide_index=True, width="stretch")
    return [int(v) for v in table["version"]]


def _diff(ws, numbers: list[int]) -> None:  # noqa: ANN001
    st.subheader("Compare versions")
    choices = [str(n) for n in reversed(numbers)] + ["current"]
    c1, c2 = st.columns(2)
    # default: what changed since the latest version
    a = c1.selectbox("From", choices, index=0, key=f"data_diff_a_{len(numbers)}")
    b = c2.selectbox("To", choices, index=len(choices) - 1, key=f"data_diff_b_{len(numbers)}")
    try:
        summary, table = diff_table(store.labels_for(ws.project, a), store.labels_for(ws.project, b))
    except LabelAppError as exc:
        st.error(str(exc))
        return
    st.caption(f"{a} → {b}: {summary}")
    if not table.empty:
        st.dataframe(table, key="data_diff", hide_index=True, width="stretch")


def _exports(ws, numbers: list[int]) -> None:  # noqa: ANN001
    st.subheader("Download")
    if not numbers:
        st.caption("Create a version first: exports are made from versions, so they can be reproduced.")
        return
    v = st.selectbox("Version", list(reversed(numbers)), key="data_export_v")
    try:
        labels = store.load_version(ws.project, int(v))
    except LabelAppError as exc:
        st.error(str(exc))
        return
    stem = f"labels-v{int(v):04d}"
    with st.container(horizontal=True):
        st.download_button("CSV", lambda: store.export_csv_text(labels), f"{stem}.csv", "text/csv", key="data_dl_csv",
                           on_click="ignore")
        st.download_button("JSONL", lambda: store.export_jsonl_text(labels), f"{stem}.jsonl", "application/jsonl",
                           key="data_dl_jsonl", on_click="ignore")
        for task in ("topic", "stance"):
            st.download_button(f"spaCy DocBin ({task})", lambda task=task: store.export_spacy_bytes(labels, ws.schema, task),
                               f"{stem}-{task}.spacy", "application/octet-stream", key=f"data_dl_spacy_{task}",
                               on_click="ignore")


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
    up = st.file_uploader("Label CSV (columns text, topic, stance; optional sentence_id, article_id, annotator)",
                          type=["csv"], key="data_labels")
    who = st.text_input("Annotator for rows without one", value="import", key="data_import_who")
    if up is not None and st.button("Import labels", key="data_import"):
        try:
            rep = import_upload(ws.project, ws.schema, up.name, up.getvalue(), who.strip(), ws.text_index())
        except LabelAppError as exc:
            st.error(str(exc))
            return
        ws.sync()
        st.success(f"Imported {rep.rows} labels (annotators: {', '.join(rep.annotators) or '-'}; "
                   f"{rep.matched_corpus} matched corpus sentences).")
        if rep.skipped_empty:
            st.caption(f"{rep.skipped_empty} rows without topic or stance were skipped.")
        if rep.ignored_columns:
            st.caption(f"Ignored columns: {', '.join(rep.ignored_columns)}")


def render() -> None:
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
