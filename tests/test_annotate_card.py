"""The Annotate card: its actions (dedup, half labels, back at the end of the queue), hints, progress and titles.

Pure functions and the Workspace without Streamlit; the page with AppTest (card actions sent as the browser
sends them, see conftest.card_send); the keys themselves in Chromium in test_browser.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import REPO, card_data, card_send
from streamlit.testing.v1 import AppTest

from label_app import store
from label_app.components.card.actions import (
    EMPTY_TEXT,
    RECHECK_SECONDS,
    CardSession,
    apply_action,
    build_card,
    end_text,
    parse_action,
)
from label_app.errors import LabelAppError, SchemaError
from label_app.project import Project
from label_app.schema import parse_schema
from label_app.settings import Settings, save_settings
from label_app.suggest import Suggestion
from label_app.workspace import Workspace, annotate_keys_help, article_title, decide_source, labels_per_hour

APP = str(REPO / "label_app" / "app.py")


def one_article(project: Project, n: int = 3) -> None:
    """Replace the seeds with one article of `n` sentences (a short queue)."""
    for f in project.seeds_dir.glob("*.txt"):
        f.unlink()
    sentences = [f"Iran and Iraq signed agreement number {i} on electricity exports in Baghdad today." for i in
                 range(1, n + 1)]
    (project.seeds_dir / "short.txt").write_text("Border trade deal\n\n" + " ".join(sentences) + "\n")


def action(ws: Workspace, sess: CardSession, seq: int, kind: str = "label", topic: tuple[str, ...] = ("trade",),
           stance: tuple[str, ...] = ("favor",), client: str = "c1", **extra: object) -> dict:
    d = build_card(ws, "sara", sess, "unlabelled", "hint", None)
    return {"client": client, "seq": seq, "card": d["card"], "sentence_id": d["sentence_id"], "action": kind,
            "topic": list(topic), "stance": list(stance), "accept": False, "na": [], **extra}


def test_a_resent_action_is_saved_once(project: Project) -> None:
    ws = Workspace.open(project.root)
    sess = CardSession()
    act = action(ws, sess, 1)
    assert apply_action(ws, "sara", sess, act, "hint", None) == "saved"
    # the browser resends when an answer is late: same client and seq, never a second row
    assert apply_action(ws, "sara", sess, act, "hint", None) == "duplicate"
    assert apply_action(ws, "sara", sess, {**act, "seq": 0 + 1}, "hint", None) == "duplicate"
    rows = store.read_log(project).rows
    assert len(rows) == 1 and rows[0]["sentence_id"] == act["sentence_id"]
    # another page (a new client) counts from 1 again
    assert apply_action(ws, "sara", sess, action(ws, sess, 1, client="c2"), "hint", None) == "saved"
    assert len(store.read_log(project).rows) == 2
    assert sess.last_ack == ("c2", 1)


def test_no_silent_half_label(project: Project) -> None:
    ws = Workspace.open(project.root)
    sess = CardSession()
    assert apply_action(ws, "sara", sess, action(ws, sess, 1, stance=()), "hint", None) == "refused"
    assert sess.status == {"kind": "ask", "text": "No stance chosen: press Enter again to save it as not "
                                                  "applicable, or press a stance key."}
    assert store.read_log(project).rows == []
    # declared not applicable (the second Enter): saved, and the message says so
    assert apply_action(ws, "sara", sess, action(ws, sess, 2, stance=(), na=["stance"]), "hint", None) == "saved"
    assert sess.status["text"].startswith("Saved trade (stance not applicable) for sentence 1 of ")
    assert [(r["topic"], r["stance"]) for r in store.read_log(project).rows] == [("trade", "")]


def test_an_optional_task_may_stay_empty(project: Project) -> None:
    text = project.schema_path.read_text().replace('target = "closer', 'optional = true\ntarget = "closer')
    project.schema_path.write_text(text)
    ws = Workspace.open(project.root)
    assert ws.schema.stance.optional and not ws.schema.topic.optional
    sess = CardSession()
    d = build_card(ws, "sara", sess, "unlabelled", "hint", None)
    assert [t["optional"] for t in d["tasks"]] == [False, True]
    assert apply_action(ws, "sara", sess, action(ws, sess, 1, stance=()), "hint", None) == "saved"
    assert apply_action(ws, "sara", sess, action(ws, sess, 2, topic=()), "hint", None) == "refused"
    assert sess.status["text"].startswith("No topic chosen")


def test_schema_optional_must_be_a_boolean() -> None:
    text = (REPO / "labels" / "schema.toml").read_text().replace('target = "closer', 'optional = "yes"\ntarget = "closer')
    with pytest.raises(SchemaError) as err:
        parse_schema(text, "schema.toml")
    assert str(err.value) == "schema.toml: [stance].optional: must be true or false"


@pytest.mark.parametrize(("raw", "message"), [
    ("x", "card action must be an object, got str"),
    ({"client": "c", "seq": 0, "action": "label"}, "card action: seq must be a positive integer"),
    ({"client": "c", "seq": True, "action": "label"}, "card action: seq must be a positive integer"),
    ({"client": "c", "seq": 1, "action": "delete-all"},
     "card action: unknown action 'delete-all' (known: label, skip, not-sentence, back, forward)"),
    ({"client": "c", "seq": 1, "action": "label", "topic": "trade"}, "card action: topic must be a list of strings"),
    ({"client": 5, "seq": 1, "action": "label"}, "card action: client must be a string"),
])
def test_bad_actions_are_refused_by_name(raw: object, message: str) -> None:
    with pytest.raises(LabelAppError) as err:
        parse_action(raw)
    assert str(err.value) == message


def test_unknown_label_is_not_saved(project: Project) -> None:
    ws = Workspace.open(project.root)
    sess = CardSession()
    assert apply_action(ws, "sara", sess, action(ws, sess, 1, topic=("weather",)), "hint", None) == "refused"
    assert sess.status["kind"] == "error" and sess.status["text"].startswith("Label NOT saved: unknown topic label")
    assert store.read_log(project).rows == []


def test_back_works_at_the_end_of_the_queue(project: Project) -> None:
    one_article(project, 3)
    ws = Workspace.open(project.root)
    sess = CardSession()
    texts = []
    for seq in (1, 2, 3):
        texts.append(build_card(ws, "sara", sess, "unlabelled", "hint", None)["text"])
        apply_action(ws, "sara", sess, action(ws, sess, seq, topic=(["trade", "energy", "security"][seq - 1],)),
                     "hint", None)
    end = build_card(ws, "sara", sess, "unlabelled", "hint", None)
    assert (end["sentence_id"], end["empty_text"]) == ("", EMPTY_TEXT)
    assert "←: back." in end["keys_help"]
    assert apply_action(ws, "sara", sess, action(ws, sess, 4, "back"), "hint", None) == "moved"
    d = build_card(ws, "sara", sess, "unlabelled", "hint", None)
    assert d["text"] == texts[2] and d["selection"] == {"topic": ["security"], "stance": ["favor"]}
    assert d["back"].startswith("Going back (1 of 3); you saved label: security / favor.")
    # relabel it: saved, and forward again to the end of the queue
    assert apply_action(ws, "sara", sess, action(ws, sess, 5, topic=("politics",)), "hint", None) == "saved"
    assert build_card(ws, "sara", sess, "unlabelled", "hint", None)["sentence_id"] == ""
    assert [r["topic"] for r in store.current_labels(project)].count("politics") == 1


WAIT_2 = ("Nothing for you right now: 2 sentences left for you are open with others. Any not saved within 15 "
          "minutes come back to your queue; this card checks again on its own. Press ← to revisit your last ones.")
WAIT_1 = ("Nothing for you right now: 1 sentence left for you is open with others. If it is not saved within 15 "
          "minutes, it comes back to your queue; this card checks again on its own. Press ← to revisit your last "
          "ones.")


def end_of(d: dict) -> tuple[str, str, int, int]:
    return d["sentence_id"], d["empty_text"], d["waiting"], d["recheck_s"]


def test_end_text_says_whether_the_rest_is_open_with_others() -> None:
    assert end_text(0, 15.0) == EMPTY_TEXT
    assert end_text(1, 1.0) == ("Nothing for you right now: 1 sentence left for you is open with others. If it is "
                                "not saved within 1 minute, it comes back to your queue; this card checks again on "
                                "its own. Press ← to revisit your last ones.")
    assert end_text(1234, 1.5).startswith("Nothing for you right now: 1,234 sentences left for you are open with "
                                          "others. Any not saved within 1.5 minutes come back to your queue;")


def test_with_an_overlap_the_end_of_the_queue_waits_for_sentences_open_with_others(project: Project) -> None:
    one_article(project, 3)
    save_settings(project, Settings(overlap=2))
    ws = Workspace.open(project.root)
    s0, s1, s2 = ws.sentence_ids
    for sid in (s0, s1, s2):
        ws.save("ali", sid, topic="trade", stance="favor")  # every sentence needs one more annotator
    sess = CardSession()
    assert apply_action(ws, "sara", sess, action(ws, sess, 1), "hint", None) == "saved"  # s0 has its two
    assert ws.next_for("omid") == s1 and ws.next_for("ben") == s2  # the second annotator of each is at work
    d = build_card(ws, "sara", sess, "unlabelled", "hint", None)
    assert end_of(d) == ("", WAIT_2, 2, RECHECK_SECONDS)  # not "every sentence has been handled"
    assert d["progress"].startswith("1 yours · 2 left for you · ")
    ws.save("omid", s1, topic="trade", stance="favor")
    assert end_of(build_card(ws, "sara", sess, "unlabelled", "hint", None)) == ("", WAIT_1, 1, RECHECK_SECONDS)
    ws.queue.release("ben")  # ben left without saving (or his claim lapsed): s2 comes back to sara
    assert build_card(ws, "sara", sess, "unlabelled", "hint", None)["sentence_id"] == s2
    assert apply_action(ws, "sara", sess, action(ws, sess, 2), "hint", None) == "saved"
    assert end_of(build_card(ws, "sara", sess, "unlabelled", "hint", None)) == ("", EMPTY_TEXT, 0, 0)


@pytest.mark.parametrize("order", ["unlabelled", "article"])
def test_without_overlap_the_end_of_the_queue_waits_for_a_sentence_open_with_another(project: Project,
                                                                                   order: str) -> None:
    one_article(project, 3)
    ws = Workspace.open(project.root)
    s0, s1, s2 = ws.sentence_ids
    assert ws.next_for("omid", order) == s0
    sess = CardSession()
    for seq in (1, 2):
        d = build_card(ws, "sara", sess, order, "hint", None)
        assert d["sentence_id"] in (s1, s2)
        assert apply_action(ws, "sara", sess, action(ws, sess, seq), "hint", None) == "saved"
    assert end_of(build_card(ws, "sara", sess, order, "hint", None)) == ("", WAIT_1, 1, RECHECK_SECONDS)
    ws.save("omid", s0, topic="energy", stance="favor")
    # labelled by omid: without an overlap both orders go on to it as a second opinion
    assert build_card(ws, "sara", sess, order, "hint", None)["sentence_id"] == s0
    assert apply_action(ws, "sara", sess, action(ws, sess, 3), "hint", None) == "saved"
    assert end_of(build_card(ws, "sara", sess, order, "hint", None)) == ("", EMPTY_TEXT, 0, 0)


def test_key_help_is_true_in_every_mode(project: Project) -> None:
    ws = Workspace.open(project.root)
    hint = annotate_keys_help(ws.schema, accept=True, back=False)
    assert hint == ("Topic: 1=trade 2=energy 3=security 4=diplomacy 5=sanctions_us 6=politics 7=society 0=other. "
                    "Stance: f=favor a=against n=neutral. Enter: save & next. Shift+Enter: accept suggestion & "
                    "next. →: skip. ←: back. Delete: not a sentence. Esc: clear choices. ?: guidelines.")
    assert "Shift+Enter" not in annotate_keys_help(ws.schema, accept=False, back=False)
    back = annotate_keys_help(ws.schema, accept=False, back=True)
    assert "→: forward (no change)." in back and "Shift+Enter" not in back and "→: skip" not in back
    # without a model (or hidden), the card offers no accept and says nothing about it
    d = build_card(ws, "sara", CardSession(), "unlabelled", "hint", None)
    assert d["suggestion"] is None and not d["accept"] and "Shift+Enter" not in d["keys_help"]
    assert [a["id"] for a in d["actions"]] == ["save", "skip", "back", "notsent", "clear", "guide"]


def test_decide_source_only_an_explicit_accept_is_accepted() -> None:
    sug = Suggestion("m1", "trade", 0.9, "favor", 0.8, 0.1)
    assert decide_source("label", "trade", "favor", sug, True, accepted=True) == ("suggestion-accepted", "m1")
    assert decide_source("label", "trade", "favor", sug, True, accepted=False) == ("manual", "m1")
    assert decide_source("label", "trade", "against", sug, True, accepted=True) == ("suggestion-corrected", "m1")
    assert decide_source("label", "trade", "favor", sug, False, accepted=True) == ("manual", "")
    assert decide_source("skip", "", "", sug, True, accepted=True) == ("manual", "")


def test_labels_per_hour_waits_a_few_minutes() -> None:
    assert labels_per_hour(2, 1000.0, 1030.0) is None
    assert labels_per_hour(0, None, 5000.0) is None
    assert labels_per_hour(30, 0.0, 1800.0) == pytest.approx(60.0)


@pytest.mark.parametrize(("title", "source", "first", "shown"), [
    ("Iran and Iraq agree on gas", "seeds/a.txt", "Iran and Iraq agree on gas", "Iran and Iraq agree on gas"),
    ("000_5719b8656de3c067", "000_5719b8656de3c067.txt", "Tabnak – Iran’s ties with Iraq grow.",
     "Tabnak – Iran’s ties with Iraq grow."),
    ("news #3", "news.csv#3", "", "news #3"),
    ("a", "a.txt", "word " * 40, ("word " * 18).strip() + "…"),
    ("", "b.md", "", "b"),
])
def test_article_title(title: str, source: str, first: str, shown: str) -> None:
    assert article_title(title, source, first) == shown


def test_progress_counts_people_apart_from_the_starter_labels(project: Project) -> None:
    shutil.copy(REPO / "labels" / "labels.csv", project.log_path)
    ws = Workspace.open(project.root)
    p = ws.progress("sara", "unlabelled")
    assert p.labelled == p.total and p.by_people == 0 and p.left == p.total  # every sentence has a starter label
    sid = ws.next_for("sara", "unlabelled")
    ws.save("sara", sid, topic="trade", stance="favor")
    p = ws.progress("sara", "unlabelled")
    assert (p.by_people, p.mine, p.left) == (1, 1, p.total - 1)
    ws.save("sara", sid, action="skip")  # withdrawn: no longer counted
    assert ws.progress("sara", "unlabelled").by_people == 0
    text = build_card(ws, "omid", CardSession(), "unlabelled", "hint", None)["progress"]
    assert text == f"0 yours · {p.total:,} left for you · corpus 0% labelled by annotators (+{p.total:,} starter labels)"


def test_left_for_you_with_an_overlap(project: Project) -> None:
    save_settings(project, Settings(overlap=2))
    ws = Workspace.open(project.root)
    total = len(ws.queue)
    for who in ("ali", "bea"):
        sid = ws.sentence_ids[0]
        ws.save(who, sid, topic="trade", stance="favor")
    # the first sentence has its two annotators: nothing left there for a third
    assert ws.left_for("cem", "unlabelled") == total - 1
    assert ws.left_for("cem", "article") == total
    assert ws.left_for("ali", "unlabelled") == total - 1


# ---------------------------------------------------------------- the page (AppTest)


@pytest.fixture
def app_project(project: Project, monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.setenv("LABEL_APP_PROJECT", str(project.root))
    return project


def open_app(annotator: str = "sara") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["annotator"] = annotator
    at.run()
    assert not at.exception
    return at


def test_page_sends_one_card_with_everything_on_it(app_project: Project) -> None:
    at = open_app()
    d = card_data(at)
    assert d["title"] and d["file"].endswith(".txt") and d["position"] == "sentence 1 of 18"
    assert d["before"] == [] and len(d["after"]) == 2
    assert [t["name"] for t in d["tasks"]] == ["topic", "stance"]
    assert [lab["key"] for lab in d["tasks"][0]["labels"]] == ["1", "2", "3", "4", "5", "6", "7", "0"]
    assert all(lab["description"] for t in d["tasks"] for lab in t["labels"])  # guidelines on hover and on ?
    assert d["ack"] == {"client": "", "seq": 0}
    assert [b.key for b in at.button] == ["ann_change"]  # the card has no Streamlit buttons: no key races a rerun


def test_page_refuses_a_duplicate_and_a_half_label(app_project: Project) -> None:
    at = open_app()
    first = card_data(at)
    d = card_send(at, topic=["trade"], stance=["favor"], seq=1)
    d2 = card_send(at, topic=["energy"], stance=["favor"], seq=1, sentence_id=first["sentence_id"])
    assert d2["text"] == d["text"] and d2["ack"]["seq"] == 1
    d3 = card_send(at, topic=["energy"], seq=2)
    assert d3["status"]["kind"] == "ask" and d3["text"] == d["text"]
    rows = store.read_log(app_project).rows
    assert [(r["sentence_id"], r["topic"], r["stance"]) for r in rows] == [(first["sentence_id"], "trade", "favor")]


def test_queue_order_change_keeps_the_card(app_project: Project) -> None:
    at = open_app()
    d = card_data(at)
    at.selectbox(key="ann_order").set_value("article").run()
    assert not at.exception
    d2 = card_data(at)
    assert d2["order"] == "article" and d2["sentence_id"] == d["sentence_id"]  # the claimed sentence stays


def test_change_annotator_starts_a_fresh_card_session(app_project: Project, tmp_path: Path) -> None:
    at = open_app()
    card_send(at, topic=["trade"], stance=["favor"])
    at.button(key="ann_change").click().run()
    assert not at.exception
    assert "ann_session" not in at.session_state


def card_recheck(at: AppTest, n: int) -> dict:
    """Send the 'recheck' trigger as card.js does while the card waits for sentences open with others; rerun."""
    import json

    from streamlit.components.v2.bidi_component.main import _make_trigger_id
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    el = at.get("bidi_component")[0]
    states = at._tree.get_widget_states()
    w = WidgetState(id=_make_trigger_id(el.proto.id, "events"))
    w.json_trigger_value = json.dumps([{"event": "recheck", "value": n}])
    states.widgets.append(w)
    at._run(widget_state=states)
    assert not at.exception, at.exception
    return card_data(at)


def test_page_waits_for_sentences_open_with_others_and_rechecks(app_project: Project) -> None:
    one_article(app_project, 3)
    save_settings(app_project, Settings(overlap=2))
    other = Workspace.open(app_project.root)  # another server process of the project, as far as the page knows
    s0, s1, s2 = other.sentence_ids
    for sid in (s0, s1, s2):
        other.save("ali", sid, topic="trade", stance="favor")
    at = open_app()
    assert card_data(at)["sentence_id"] == s0
    assert other.next_for("omid") == s1 and other.next_for("ben") == s2
    d = card_send(at, topic=["trade"], stance=["favor"])
    assert end_of(d) == ("", WAIT_2, 2, RECHECK_SECONDS)
    other.save("omid", s1, topic="trade", stance="favor")
    d = card_recheck(at, 1)
    assert end_of(d) == ("", WAIT_1, 1, RECHECK_SECONDS)
    other.save("ben", s2, topic="trade", stance="favor")
    d = card_recheck(at, 2)
    assert end_of(d) == ("", EMPTY_TEXT, 0, 0) and d["ack"]["seq"] == 1  # a recheck is no action: nothing saved
    assert [(r["annotator"], r["sentence_id"]) for r in store.read_log(app_project).rows if r["annotator"] == "sara"
            ] == [("sara", s0)]
