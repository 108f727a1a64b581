"""The load benchmark (bench/load) drives the real Annotate card and its checks catch what they claim to: a lost
label, a label saved twice, a sentence on two screens at once, more than k annotators; the websocket client sends
what card.js sends and reads what the card gets."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

from conftest import REPO, make_project

from label_app import store
from label_app.components.card.actions import parse_action
from label_app.project import Project
from label_app.schema import Schema
from label_app.workspace import Workspace

sys.path.insert(0, str(REPO / "bench" / "load"))
from annotator import StreamlitSession, action_payload, perform_save, trigger_id, widget_key  # noqa: E402
from run import Record, check, start_servers, stop_servers  # noqa: E402


def test_the_checks_find_lost_twice_at_once_and_over_k(project: Project, schema: Schema) -> None:
    ws = Workspace.open(project.root)
    s1, s2, s3 = ws.sentence_ids[:3]
    for sid, who in ((s1, "ana"), (s2, "ben"), (s2, "ben"), (s3, "ana"), (s3, "cy")):
        ws.save(who, sid, topic="trade")
    rec = Record()
    rec.saves = [
        ("ana", s1, 0.0, 1.0, True),
        ("ben", s2, 0.0, 1.0, True),   # on disk twice
        ("cy", s1, 2.0, 3.0, True),    # confirmed, but not on disk: lost
        ("ana", s3, 10.0, 12.0, True),
        ("cy", s3, 11.0, 13.0, True),  # s3 on two screens at once
        ("dee", s2, 5.0, 6.0, False),  # not confirmed: not counted as lost
    ]
    got = check(project.root, rec, overlap=1)
    assert (got["lost"], got["saved_twice"], got["given_to_more_than_k_at_once"], got["sentences_over_k"]) == (1, 1, 1, 1)
    assert got["unconfirmed_saves"] == 1 and got["confirmed"] == 5
    relaxed = check(project.root, rec, overlap=2)  # with overlap 2, two at once and two annotators are fine
    assert (relaxed["given_to_more_than_k_at_once"], relaxed["sentences_over_k"], relaxed["sentences_with_k"]) == (0, 0, 1)
    assert store.read_log(project).rows  # the checks only read


def test_the_client_sends_what_card_js_sends() -> None:
    from streamlit.components.v2.bidi_component.main import _make_trigger_id

    assert widget_key("$$ID-0b4071940e3ccaa974b1e435ff589c3e-ann_card") == "ann_card"
    assert widget_key("$$ID-0b4071940e3ccaa974b1e435ff589c3e") == ""
    cid = "$$ID-dc12cf1dd56bc76d6ac3cf0fa04a6154-ann_card"
    assert trigger_id(cid) == _make_trigger_id(cid, "events")
    payload = action_payload("c1", 3, {"card": "7", "sentence_id": "a-0001"}, "label", ["trade"], ["favor"])
    # the same fields, in the same order, as card.js's dispatch() builds them
    js = (REPO / "label_app" / "components" / "card" / "card.js").read_text("utf-8")
    block = js[js.index("const payload = {"):js.index("};", js.index("const payload = {"))]
    assert list(payload) == re.findall(r"[{,]\s*(\w+)\b", block)
    assert parse_action(payload) == {**payload, "accept": False}


def test_simulated_annotators_save_through_the_real_card(tmp_path: Path) -> None:
    project = make_project(tmp_path / "proj")
    for f in sorted(project.seeds_dir.glob("*.txt"))[2:]:
        f.unlink()  # two seed articles are enough
    Workspace.open(project.root)  # ingest once
    servers = start_servers(project.root, 1)
    url = servers[0][1]

    async def two() -> tuple[list, list, str]:
        a = StreamlitSession(url, "annotator=ana")
        b = StreamlitSession(url, "annotator=ben")
        await a.connect()
        await b.connect()
        shown = [a.last.sentence_id, b.last.sentence_id]
        r1 = await perform_save(a, "trade", "favor", 0.0)
        r2 = await perform_save(b, "energy", "neutral", 0.0)
        r3 = await perform_save(a, "security", "against", 0.0)
        # card.js resends an unanswered action with the same seq: the server saves it at most once
        again, _dt, _n = await a.card_action(action_payload(a.client, a.seq, {"card": "x", "sentence_id": r3.sentence_id},
                                                            "label", ["other"], ["neutral"]))
        results = [r1, r2, r3]
        await a.close()
        await b.close()
        return shown, results, again.card["ack"]

    try:
        shown, (r1, r2, r3), ack = asyncio.run(two())
    finally:
        stop_servers(servers)
    assert shown[0] and shown[1] and shown[0] != shown[1]  # overlap 1: two annotators, two sentences
    assert all(r.confirmed and not r.problem for r in (r1, r2, r3)), [r.problem for r in (r1, r2, r3)]
    assert (r1.sentence_id, r2.sentence_id) == tuple(shown) and r3.sentence_id == r1.next_sentence_id
    assert ack["seq"] == 2  # the resent seq 2 was answered, not saved again
    rows = store.read_log(project).rows
    assert sorted((r["annotator"], r["sentence_id"], r["topic"], r["stance"]) for r in rows) == sorted([
        ("ana", r1.sentence_id, "trade", "favor"), ("ben", r2.sentence_id, "energy", "neutral"),
        ("ana", r3.sentence_id, "security", "against")])
