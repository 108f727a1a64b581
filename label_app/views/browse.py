"""Browse: every sentence with its labels; filter, search, open one and change its label."""

from __future__ import annotations

import streamlit as st

from label_app.errors import LabelAppError
from label_app.review import adjudicate, final_label
from label_app.schema import TASKS
from label_app.table_view import show_table
from label_app.ui import annotator_from_url, can, current_model, md_escape, require, workspace
from label_app.views.orphans import render_orphans
from label_app.wording import plural
from label_app.workspace import BrowseFilter, filter_browse

MAX_ROWS = 5000
NONE = "(none)"
S = st.session_state


def _start(ws, sid: str, task: str, row_annotator: str | None) -> str:  # noqa: ANN001
    """What the editor starts from: the label of the row picked in the table, else the sentence's final label."""
    picked = ws.index.entry(sid, row_annotator) if row_annotator else None
    if picked is not None and picked.action == "label":
        return getattr(picked, task) or NONE
    return final_label(ws.index.entries(sid), task)[0] or NONE


def _editor(ws, sid: str, me: str | None) -> None:  # noqa: ANN001
    v = ws.view(sid)
    reviewer = can("adjudicate")
    with st.container(border=True):
        st.caption(f"{md_escape(v.title)} · {v.position_text} · {sid}")
        st.markdown(md_escape(v.text))
        entries = ws.index.entries(sid)
        for e in entries:
            st.caption(f"{md_escape(e.annotator)}: {e.action} {md_escape(e.topic or '-')} / "
                       f"{md_escape(e.stance or '-')} ({e.source}, {e.timestamp})")
        finals = {t: final_label(entries, t) for t in TASKS}
        st.caption("Final label now (what training uses): " + "; ".join(
            f"{t} {md_escape(val or '-')}" + (f" ({md_escape(why)})" if why else "") for t, (val, why) in finals.items()))
        if not me:
            st.info("Pick your name on the Annotate page (or add ?annotator=NAME to the address) to change labels.")
            return
        # No name box: a change is always recorded under the name of the person making it, never as another
        # annotator. A reviewer's change is the sentence's final label (adjudicated); an annotator changes only
        # their own label.
        if reviewer:
            st.markdown(f"**Correct the final label** (saved as **{md_escape(me)}**, source *adjudicated*)")
            st.caption("Training takes it as this sentence's gold label, whatever the annotators' majority says; "
                       "their own labels stay in the log as they are.")
        else:
            st.markdown(f"**Change your label** (saved as **{md_escape(me)}**)")
        row_who = S.get("br_row_annotator") if S.get("br_row_sid") == sid else None
        if not reviewer:
            row_who = me
        topics = [NONE] + ws.schema.topic.names
        stances = [NONE] + ws.schema.stance.names
        cur_t, cur_s = _start(ws, sid, "topic", row_who), _start(ws, sid, "stance", row_who)
        c1, c2 = st.columns(2)
        # keyed by the row it starts from, so picking another annotator's row starts from that row's label
        tail = f"{sid}_{row_who}" if row_who else sid
        topic = c1.selectbox("Topic", topics, index=topics.index(cur_t) if cur_t in topics else 0,
                             key=f"br_topic_{tail}")
        stance = c2.selectbox("Stance", stances, index=stances.index(cur_s) if cur_s in stances else 0,
                              key=f"br_stance_{tail}")
        label = "Save as the final label" if reviewer else "Save my label"
        if st.button(label, key="br_save", type="primary"):
            t, s_ = ("" if topic == NONE else topic), ("" if stance == NONE else stance)
            try:
                if reviewer:
                    adjudicate(ws.project, ws.schema, me, sid, v.article_id, v.text, t, s_)
                    ws.sync()
                else:
                    ws.save(me, sid, "label", t, s_)
            except LabelAppError as exc:
                st.error(f"Label NOT saved: {exc}")
                return
            what = " · ".join(x for x in (t, s_) if x)
            S["br_flash"] = (f"Saved the final label {what} for {sid} as {me} (adjudicated)." if reviewer
                             else f"Saved your label {what} for {sid}.")
            st.rerun()  # the table above shows the new label


def render() -> None:
    require("browse")  # the page checks the role itself, whatever the navigation shows
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
    st.caption(f"{plural(len(hits), 'row matches', 'rows match')} "
               f"({plural(df['sentence_id'].nunique(), 'sentence')} in the corpus)"
               + (f"; showing the first {MAX_ROWS:,}" if len(hits) > MAX_ROWS else ""))
    shown = hits.head(MAX_ROWS).reset_index(drop=True)
    cols = [c for c in ("sentence", "text", "topic", "stance", "annotator", "source", "confidence",
                        "suggested_topic", "suggested_stance", "title", "sentence_id") if c in shown]
    event = show_table(shown[cols], "br_table", "sentences.csv", on_select="rerun", selection_mode="single-row",
                         hide_index=True, width="stretch",
                         column_config={"text": st.column_config.TextColumn("text", width="large")})
    rows = event.selection.rows if event is not None else []
    if rows and S.get("br_picked") != rows[0]:
        S["br_open_id"] = shown.iloc[rows[0]]["sentence_id"]
        S["br_row_sid"], S["br_row_annotator"] = S["br_open_id"], shown.iloc[rows[0]]["annotator"] or None
    S["br_picked"] = rows[0] if rows else None
    flash = S.pop("br_flash", None)
    if flash:
        st.success(flash)
    opened = st.text_input("Open sentence id", key="br_open_id")
    if opened and ws.has(opened.strip()):
        _editor(ws, opened.strip(), annotator)
    elif opened:
        st.error(f"No sentence {opened.strip()!r} in the corpus.")
    else:
        st.caption("Select a row (or type its id) to open the sentence and change its label.")


render()
