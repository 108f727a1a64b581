"""The load benchmark's checks (bench/load/run.py) catch what they claim to: a lost label, a label saved twice,
a sentence on two screens at once, more than k annotators; and the websocket client's small parsers."""

from __future__ import annotations

import sys

from conftest import REPO

from label_app import store
from label_app.project import Project
from label_app.schema import Schema
from label_app.ui import md_escape
from label_app.workspace import Workspace

sys.path.insert(0, str(REPO / "bench" / "load"))
from annotator import md_unescape, widget_key  # noqa: E402
from run import Record, check  # noqa: E402


def test_the_checks_find_lost_twice_at_once_and_over_k(project: Project, schema: Schema) -> None:
    ws = Workspace.open(project.root)
    s1, s2, s3 = ws.sentence_ids[:3]
    text = {s: ws.view(s).text for s in (s1, s2, s3)}
    for sid, who in ((s1, "ana"), (s2, "ben"), (s2, "ben"), (s3, "ana"), (s3, "cy")):
        ws.save(who, sid, topic="trade")
    rec = Record()
    rec.saves = [
        ("ana", text[s1], 0.0, 1.0, True),
        ("ben", text[s2], 0.0, 1.0, True),   # on disk twice
        ("cy", text[s1], 2.0, 3.0, True),    # confirmed, but not on disk: lost
        ("ana", text[s3], 10.0, 12.0, True),
        ("cy", text[s3], 11.0, 13.0, True),  # s3 on two screens at once
        ("dee", text[s2], 5.0, 6.0, False),  # not confirmed: not counted as lost
    ]
    got = check(project.root, rec, overlap=1)
    assert (got["lost"], got["saved_twice"], got["given_to_more_than_k_at_once"], got["sentences_over_k"]) == (1, 1, 1, 1)
    assert got["unconfirmed_saves"] == 1 and got["confirmed"] == 5
    relaxed = check(project.root, rec, overlap=2)  # with overlap 2, two at once and two annotators are fine
    assert (relaxed["given_to_more_than_k_at_once"], relaxed["sentences_over_k"], relaxed["sentences_with_k"]) == (0, 0, 1)
    assert store.read_log(project).rows  # the checks only read


def test_the_client_reads_widget_keys_and_escaped_text() -> None:
    assert widget_key("$$ID-0b4071940e3ccaa974b1e435ff589c3e-ann_topic_sanctions_us") == "ann_topic_sanctions_us"
    assert widget_key("$$ID-0b4071940e3ccaa974b1e435ff589c3e") == ""
    for text in ["Iran's 3.5% share (2019): *not* a [link] -- `x` $5 <b>", "back\\slash"]:
        assert md_unescape(md_escape(text)) == text
