"""Browse: every sentence with its labels; filter, search, open one and change its label."""

from __future__ import annotations

import streamlit as st

from label_app.errors import LabelAppError
from label_app.ui import access, annotator_from_url, current_model, md_escape, workspace
from label_app.views.orphans import render_orphans
from label_app.workspace import BrowseFilter, filter_browse

MAX_ROWS = 5000
NONE = "(none)"


def _editor(ws, sid: str, annotator: str | None) -> None:  # noqa: ANN001
    v = ws.view(sid)
    with st.container(border=True):
        st.caption(f"{md_escape(v.title)} · {v.position_text} · {sid}")
        st.markdown(md_escape(v.text))
        for e in ws.index.entries(sid):
            st.caption(f"{md_escape(e.annotator)}: {e.action} {md_escape(e.topic or '-')} / "
                       f"{md_escape(e.stance or '-')} ({e.source}, {e.timestamp})")
        locked = access().mode != "open"  # with accounts, labels are saved under the signed-in account only
        if annotator and (locked or not st.session_state.get("br_who")):
            st.session_state["br_who"] = annotator
        who = st.text_input("Save as annotator", key="br_who", disabled=locked)
        if locked:
            who = annotator or ""
        mine = ws.index.entry(sid, who) if who else None
        topics = [NONE] + ws.schema.topic.names
        stances = [NONE] + ws.schema.stance.names
        cur_t = mine.topic if mine and mine.action == "label" and mine.topic in topics else NONE
        cur_s = mine.stance if mine and mine.action == "label" and mine.stance in stances else NONE
        c1, c2 = st.columns(2)
        topic = c1.selectbox("Topic", topics, index=topics.index(cur_t), key=f"br_topic_{sid}")
        stance = c2.selectbox("Stance", stances, index=stances.index(cur_s), key=f"br_stance_{sid}")
        if st.button("Save label", key="br_save", type="primary"):
            try:
                ws.save(who.strip(), sid, "label", "" if topic == NONE else topic, "" if stance == NONE else stance)
            except LabelAppError as exc:
                st.error(f"Label NOT saved: {exc}")
            else:
                st.success(f"Saved {topic} · {stance} as {who.strip()}.")


def render() -> None:
    st.title("Browse")
    ws = workspace()
    annotator = annotator_from_url()
    model = current_model(ws) if ws.settings.suggestion_mode != "hidden" else None
    preds = ws.predictions.get(model.model_id) if model is not None else None
    if model is not None and preds is None:
        if st.button("Compute model confidence for every sentence", key="br_predict"):
            preds = ws.ensure_predictions(model)
    df = ws.browse_frame(preds)
    render_orphans(ws)

    titles = {a: t for a, t in zip(df["article_id"], df["title"], strict=True)}
    with st.sidebar:
        article = st.selectbox("Article", [""] + list(titles), key="br_article",
                               format_func=lambda a: "All articles" if not a else f"{titles[a]} ({a})")
        topics = st.multiselect("Topic", ws.schema.topic.names, key="br_topics")
        stances = st.multiselect("Stance", ws.schema.stance.names, key="br_stances")
        annotators = st.multiselect("Annotator", ws.index.annotators(), key="br_annotators")
        sources = st.multiselect("Source", sorted(set(df["source"]) - {""}), key="br_sources")
        unlabelled = st.checkbox("Only sentences nobody has handled", key="br_unlabelled")
        conf = None
        if "confidence" in df:
            conf = st.slider("Model confidence", 0.0, 1.0, (0.0, 1.0), 0.05, key="br_conf")
    search = st.text_input("Search the text", key="br_search", placeholder="words to find (plain text)")
    f = BrowseFilter(article=article, topics=tuple(topics), stances=tuple(stances), annotators=tuple(annotators),
                     sources=tuple(sources), confidence=conf, search=search, unlabelled_only=unlabelled)
    hits = filter_browse(df, f)
    st.caption(f"{len(hits):,} rows match ({df['sentence_id'].nunique():,} sentences in the corpus)"
               + (f"; showing the first {MAX_ROWS:,}" if len(hits) > MAX_ROWS else ""))
    shown = hits.head(MAX_ROWS).reset_index(drop=True)
    cols = [c for c in ("sentence", "text", "topic", "stance", "annotator", "source", "confidence",
                        "suggested_topic", "suggested_stance", "title", "sentence_id") if c in shown]
    event = st.dataframe(shown[cols], key="br_table", on_select="rerun", selection_mode="single-row",
                         hide_index=True, width="stretch",
                         column_config={"text": st.column_config.TextColumn("text", width="large")})
    rows = event.selection.rows if event is not None else []
    if rows and st.session_state.get("br_picked") != rows[0]:
        st.session_state["br_open_id"] = shown.iloc[rows[0]]["sentence_id"]
    st.session_state["br_picked"] = rows[0] if rows else None
    opened = st.text_input("Open sentence id", key="br_open_id")
    if opened and ws.has(opened.strip()):
        _editor(ws, opened.strip(), annotator)
    elif opened:
        st.error(f"No sentence {opened.strip()!r} in the corpus.")
    else:
        st.caption("Select a row (or type its id) to open the sentence and change its label.")


render()
