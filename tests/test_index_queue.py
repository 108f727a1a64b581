"""The incremental label index and the annotation queue (pure functions, no Streamlit)."""

from __future__ import annotations

import numpy as np
import pytest

from label_app import store
from label_app.index import LabelIndex
from label_app.project import Project
from label_app.queue import Queue
from label_app.schema import Schema
from label_app.suggest import Suggestion
from label_app.workspace import Workspace, decide_source, rate_per_hour


def add(project: Project, schema: Schema, sid: str, who: str, action: str = "label", topic: str = "trade") -> None:
    store.append_label(project, schema, store.LabelRow(sid, f"text {sid}", who, topic if action == "label" else "",
                                                       "", "a1", action=action))


def test_index_reads_only_new_rows(project: Project, schema: Schema) -> None:
    idx = LabelIndex(project)
    add(project, schema, "s1", "sara")
    add(project, schema, "s2", "sara")
    assert len(idx.refresh()) == 2
    add(project, schema, "s1", "sara", topic="energy")
    changes = idx.refresh()
    assert [(c[0], c[2].topic, c[3].topic) for c in changes] == [("s1", "trade", "energy")]
    assert idx.rows_read == 3 and idx.label_count("sara") == 2
    assert idx.recent("sara") == ["s1", "s2"]
    add(project, schema, "s2", "sara", action="clear")
    idx.refresh()
    assert idx.label_count("sara") == 1 and idx.recent("sara") == ["s1"]


def test_index_reports_a_torn_row(project: Project, schema: Schema) -> None:
    add(project, schema, "s1", "sara")
    with open(project.log_path, "a") as fh:
        fh.write("torn,row")
    idx = LabelIndex(project)
    idx.refresh()
    assert len(idx.torn) == 1 and idx.torn[0].line == 3
    assert idx.torn[0].message().startswith(f"{project.log_path}: line 3: torn or corrupt label row set aside")


class _Change:
    def __init__(self, action: str) -> None:
        self.action = action


def change(sid: str, who: str, action: str, old: str | None = None) -> tuple:
    return (sid, who, _Change(old) if old else None, _Change(action))


def test_queue_orders_and_leases() -> None:
    q = Queue([f"s{i}" for i in range(6)])
    assert q.next_for("sara", "article", now=0) == "s0"
    # s0 is leased to sara: omid gets the next one, and sara keeps hers on a reload
    assert q.next_for("omid", "article", now=1) == "s1"
    assert q.next_for("sara", "article", now=2) == "s0"
    q.apply([change("s0", "sara", "label"), change("s2", "bo", "label")])
    assert q.next_for("sara", "unlabelled", now=3) == "s3"  # s1 leased to omid, s2 done by bo
    assert q.next_for("sara", "article", now=4) == "s3"  # still her lease
    q.apply([change("s3", "sara", "skip")])
    assert q.next_for("sara", "article", now=5) == "s2"  # article order offers bo's sentence for a second opinion
    # an expired lease frees the sentence
    assert q.next_for("ann", "unlabelled", now=10_000) == "s1"
    # clearing a label makes the sentence available again to cursors that passed it
    q.apply([change("s0", "sara", "clear", old="label")])
    assert q.labelled_count() == 1
    q.release("ann")
    assert q.next_for("zed", "unlabelled", now=10_001) == "s0"


def test_queue_uncertain_order_and_overlap() -> None:
    q = Queue(["s0", "s1", "s2"], overlap=2)
    q.set_uncertainty("m1", np.array([0.1, 0.9, 0.5]))
    assert q.next_for("sara", "uncertain", now=0) == "s1"
    assert q.next_for("omid", "uncertain", now=0) == "s1"  # overlap 2: two annotators may hold it
    assert q.next_for("bo", "uncertain", now=0) == "s2"


def test_decide_source() -> None:
    sug = Suggestion("m7", "trade", 0.8, "favor", 0.6, 0.4)
    assert decide_source("label", "trade", "favor", sug, True, accepted=True) == ("suggestion-accepted", "m7")
    # the same label chosen without an explicit accept: shown (the model is recorded), not accepted
    assert decide_source("label", "trade", "favor", sug, True) == ("manual", "m7")
    assert decide_source("label", "energy", "favor", sug, True) == ("suggestion-corrected", "m7")
    assert decide_source("label", "trade", "favor", sug, False) == ("manual", "")
    assert decide_source("skip", "", "", sug, True) == ("manual", "")
    assert rate_per_hour(30, 0.0, 1800.0) == pytest.approx(60.0)


def test_workspace_save_is_on_disk_and_indexed(project: Project) -> None:
    ws = Workspace.open(project.root)
    sid = ws.next_for("sara")
    v = ws.view(sid)
    assert v.position_text == "sentence 1 of 18" and v.before == []
    ws.save("sara", sid, "label", "trade", "favor")
    assert [r["sentence_id"] for r in store.read_log(project).rows] == [sid]
    assert ws.progress("sara").mine == 1 and ws.next_for("sara") != sid
    assert ws.history("sara") == [sid]
    # a second process appending is picked up by sync()
    other = Workspace.open(project.root, refresh=False)
    other.save("omid", ws.sentence_ids[5], "not-sentence")
    ws.sync()
    assert ws.progress("sara").labelled == 2
    with pytest.raises(store.UnknownLabel):
        ws.save("sara", sid, "label", "weather")
