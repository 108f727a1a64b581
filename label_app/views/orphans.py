"""Browse > Orphaned labels: labels whose sentence text is no longer in the corpus, to re-attach or drop.

Called by the Browse page with one line (`render_orphans(ws)`); reads the workspace's label index, calls
the pure functions of `label_app.orphans`, and appends re-attach/drop rows to the store.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from label_app import store
from label_app.errors import LabelAppError
from label_app.orphans import Orphan, drop_rows, find_orphans, reattach_rows, suggest_sentence
from label_app.table_view import show_table
from label_app.ui import can, md_escape


def orphans_of(ws) -> list[Orphan]:  # noqa: ANN001
    """Labels in the workspace's index whose sentence id is not in its corpus (latest action 'label')."""
    files = {a: s.split("#", 1)[0] for a, s in ws.sources.items()}
    entries = [{"sentence_id": e.sentence_id, "article_id": e.article_id, "annotator": e.annotator,
                "topic": e.topic, "stance": e.stance, "text": e.text, "action": e.action}
               for sid, per in ws.index.by_sentence.items() if sid not in ws.row_of for e in per.values()]
    return find_orphans(entries, ws.row_of, files)


def _candidates(ws, orphan: Orphan) -> list[tuple[str, str]]:  # noqa: ANN001
    """(sentence_id, text) of the orphan's article if it is still in the corpus, else of the corpus."""
    if orphan.article_id in ws.article_span:
        lo, hi = ws.article_span[orphan.article_id]
    else:
        lo, hi = 0, len(ws.seg_text)
    sids = ws.corpus["sentence_id"].tolist()
    return [(sids[i], ws.seg_text[i]) for i in range(lo, hi) if ws.seg_kind[i] == "sentence"]


def render_orphans(ws) -> None:  # noqa: ANN001
    """An expander listing orphaned labels, with re-attach and drop for reviewers."""
    orphans = orphans_of(ws)
    if not orphans:
        return
    with st.expander(f"Orphaned labels ({len(orphans)}): their sentence changed or is gone", expanded=False):
        st.caption("These labels are kept in the log and in every version, but attach to no sentence of the "
                   "corpus (the article was edited, removed, or segmented differently). Re-attach each to the "
                   "sentence it belongs to, or drop it.")
        show_table(pd.DataFrame([{"file": o.file, "annotator": o.annotator, "topic": o.topic, "stance": o.stance,
                                  "text": o.text, "sentence_id": o.sentence_id} for o in orphans]),
                   "br_orphans", "orphaned-labels.csv", hide_index=True, width="stretch")
        if not can("adjudicate"):
            st.caption("A reviewer can re-attach or drop them.")
            return
        labels = [f"{o.annotator}: {o.text[:90]}" for o in orphans]
        k = st.selectbox("Orphaned label", range(len(orphans)), format_func=lambda i: labels[i], key="br_orphan_pick")
        orphan = orphans[k]
        cands = _candidates(ws, orphan)
        best = suggest_sentence(orphan.text, cands)
        ids = [sid for sid, _ in cands]
        texts = dict(cands)
        if ids:
            default = ids.index(best[0]) if best else 0
            target = st.selectbox("Re-attach to", ids, index=default, key=f"br_orphan_to_{orphan.sentence_id}",
                                  format_func=lambda s: texts[s][:120])
            if best:
                st.caption(f"Suggested: the most similar sentence ({best[1]:.0%} alike).")
        else:
            target = None
            st.caption("No sentence to re-attach to.")
        c1, c2 = st.columns(2)
        if target and c1.button("Re-attach", key="br_orphan_attach", type="primary"):
            i = ws.row_of[target]
            rows = reattach_rows(orphan, target, ws.seg_text[i], ws.seg_article[i])
            _append(ws, rows, f"Re-attached {orphan.annotator}'s label to: {md_escape(texts[target][:80])}")
        if c2.button("Drop", key="br_orphan_drop"):
            _append(ws, drop_rows(orphan), f"Dropped {orphan.annotator}'s orphaned label.")


def _append(ws, rows: list, done: str) -> None:  # noqa: ANN001
    try:
        store.append_rows(ws.project, ws.schema, rows)
    except LabelAppError as exc:
        st.error(f"Nothing changed: {exc}")
        return
    ws.sync()
    st.success(done)
    st.rerun()
