"""What the annotation card shows and what its actions do, as plain Python (tested without a browser).

The browser sends one action per save or move, a dict:

    {"client": str, "seq": int, "card": str, "sentence_id": str,
     "action": "label" | "skip" | "not-sentence" | "back" | "forward",
     "topic": [names], "stance": [names], "accept": bool, "na": [task names left empty on purpose]}

`client` is random per page load and `seq` counts its actions; an action whose (client, seq) was already
handled is ignored (a resend after a lost answer is never saved twice). Every card Python sends back carries
`ack` = the last (client, seq) handled, so the browser knows its action is on disk before it shows the next
sentence and replays the keys pressed meanwhile.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from label_app.errors import LabelAppError
from label_app.queue import minutes_text
from label_app.schema import MULTI_SEP, TASKS
from label_app.workspace import Workspace, annotate_keys_help, article_title, labels_per_hour

ACTIONS = ("label", "skip", "not-sentence", "back", "forward")
SAVE_ACTIONS = ("label", "skip", "not-sentence")
EMPTY_TEXT = "Nothing left in your queue: every sentence has been handled. Thank you! Press ← to revisit your last ones."
# while the queue gives an annotator nothing only because what is left for them is open with others, the card asks
# the server again this often (card.js sends a 'recheck' trigger, which reruns the card's fragment)
RECHECK_SECONDS = 5


def end_text(open_with_others: int, lease_minutes: float) -> str:
    """What the card says when the queue gives the annotator no sentence.

    `open_with_others`: sentences still left for the annotator (Workspace.left_for) although the queue gave them
    none, i.e. every one is open with other annotators (claimed; a claim lapses after `lease_minutes`, the
    project's lease setting). 0: the queue has really ended for them (EMPTY_TEXT)."""
    if open_with_others <= 0:
        return EMPTY_TEXT
    if open_with_others == 1:
        what = ("1 sentence left for you is open with others. If it is not saved within "
                f"{minutes_text(lease_minutes)}, it comes back to your queue")
    else:
        what = (f"{open_with_others:,} sentences left for you are open with others. Any not saved within "
                f"{minutes_text(lease_minutes)} come back to your queue")
    return f"Nothing for you right now: {what}; this card checks again on its own. Press ← to revisit your last ones."


@dataclass
class CardSession:
    """One browser session's position on the Annotate page (kept in st.session_state; nothing else is)."""

    hist: list[str] = field(default_factory=list)  # the annotator's recent sentences, latest first (going back)
    hist_pos: int = -1  # -1: working through the queue
    acked: dict[str, int] = field(default_factory=dict)  # client -> last seq handled
    last_ack: tuple[str, int] = ("", 0)
    card_n: int = 0  # bumped whenever a different card is shown
    card_key: tuple[str | None, bool] | None = None  # (sentence id, going back) of the card shown
    shown_at: float = 0.0
    labels: int = 0  # labels saved in this session
    first_save: float | None = None
    status: dict[str, str] | None = None
    status_n: int = 0

    @property
    def back(self) -> bool:
        return self.hist_pos >= 0

    def say(self, kind: str, text: str) -> None:
        self.status = {"kind": kind, "text": text}
        self.status_n += 1


def parse_action(raw: Any) -> dict[str, Any]:
    """The action sent by the browser, checked; raises LabelAppError naming the bad field."""
    if not isinstance(raw, dict):
        raise LabelAppError(f"card action must be an object, got {type(raw).__name__}")
    out: dict[str, Any] = {}
    for name, kind in (("client", str), ("sentence_id", str), ("action", str), ("card", str)):
        v = raw.get(name, "")
        if not isinstance(v, kind):
            raise LabelAppError(f"card action: {name} must be a string")
        out[name] = v
    seq = raw.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        raise LabelAppError("card action: seq must be a positive integer")
    out["seq"] = seq
    if out["action"] not in ACTIONS:
        raise LabelAppError(f"card action: unknown action {out['action']!r} (known: {', '.join(ACTIONS)})")
    for name in ("topic", "stance", "na"):
        v = raw.get(name) or []
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise LabelAppError(f"card action: {name} must be a list of strings")
        out[name] = v
    out["accept"] = raw.get("accept") is True
    return out


def _back(ws: Workspace, annotator: str, sess: CardSession) -> None:
    if sess.hist_pos < 0:
        sess.hist = ws.history(annotator)
        if not sess.hist:
            sess.say("info", "Nothing to go back to yet.")
            return
        sess.hist_pos = 0
    elif sess.hist_pos + 1 < len(sess.hist):
        sess.hist_pos += 1
    else:
        sess.say("info", f"That is as far back as you can go (your last {len(sess.hist)} sentences).")


def _forward(sess: CardSession) -> None:
    sess.hist_pos -= 1
    if sess.hist_pos < 0:
        sess.hist = []


def apply_action(ws: Workspace, annotator: str, sess: CardSession, raw: Any, mode: str, model: Any | None,
                 now: float | None = None) -> str:
    """Handle one card action: save it (on disk when this returns) or move back/forward.

    Returns what happened: 'saved', 'moved', 'duplicate' (already handled: nothing done), 'refused' (bad action
    or the store refused the label: nothing saved, the message is in sess.status).
    """
    now = time.time() if now is None else now
    try:
        act = parse_action(raw)
    except LabelAppError as exc:
        sess.say("error", f"Label NOT saved: {exc}")
        return "refused"
    client, seq = act["client"], act["seq"]
    if seq <= sess.acked.get(client, 0):
        return "duplicate"
    sess.acked[client] = seq
    sess.last_ack = (client, seq)
    kind = act["action"]
    if kind == "back":
        _back(ws, annotator, sess)
        return "moved"
    if kind == "forward":
        if sess.back:
            _forward(sess)
        return "moved"
    sid = act["sentence_id"]
    if not ws.has(sid):
        sess.say("error", f"Label NOT saved: sentence {sid!r} is not in the corpus (it was re-ingested?)")
        return "refused"
    back = sess.back and sess.hist[sess.hist_pos] == sid
    sug = ws.suggestion(model, sid) if model is not None and mode != "hidden" and not back else None
    shown = sug is not None and mode in ("hint", "preselect")
    topic = MULTI_SEP.join(act["topic"]) if kind == "label" else ""
    stance = MULTI_SEP.join(act["stance"]) if kind == "label" else ""
    if kind == "label" and not (topic or stance):
        sess.say("error", "Choose a topic or a stance first (or press → to skip).")
        return "refused"
    if kind == "label":
        # never a silent half label: an empty task must be optional or declared not applicable by the annotator
        empty = [t.name for t in ws.schema.tasks if not t.optional and not act[t.name] and t.name not in act["na"]]
        if empty:
            sess.say("ask", f"No {empty[0]} chosen: press Enter again to save it as not applicable, or press a "
                            f"{empty[0]} key.")
            return "refused"
    seconds = max(0.0, now - sess.shown_at) if sess.card_key == (sid, sess.back) else None
    try:
        ws.save(annotator, sid, action=kind, topic=topic, stance=stance, suggestion=sug, shown=shown,
                seconds=seconds, accepted=act["accept"] and shown)
    except LabelAppError as exc:
        sess.say("error", f"Label NOT saved: {exc}")
        return "refused"
    where = ws.view(sid).position_text
    if kind == "label":
        sess.labels += 1
        if sess.first_save is None:
            sess.first_save = now
        what = " · ".join(x for x in (topic, stance) if x)
        na = [t for t in act["na"] if t in TASKS and not (topic if t == "topic" else stance)]
        if na:
            what += " (" + ", ".join(f"{t} not applicable" for t in na) + ")"
        sess.say("success", f"Saved {what} for {where}.")
    else:
        sess.say("success", f"Saved: {kind} for {where}.")
    if back:
        _forward(sess)
    return "saved"


def _initial_selection(ws: Workspace, annotator: str, sid: str, sug: Any | None, preselect: bool,
                       back: bool) -> dict[str, list[str]]:
    mine = ws.index.entry(sid, annotator)
    if back and mine is not None and mine.action == "label":
        return {"topic": ws.schema.topic.split(mine.topic), "stance": ws.schema.stance.split(mine.stance)}
    if preselect and sug is not None and not back:
        return {"topic": [sug.topic] if sug.topic else [], "stance": [sug.stance] if sug.stance else []}
    return {"topic": [], "stance": []}


def progress_text(ws: Workspace, annotator: str, order: str, sess: CardSession, now: float) -> str:
    """The card's progress line: yours, left for you in this queue, the corpus share labelled by people
    (the starter labels shown apart), and labels per hour once a few minutes have passed."""
    p = ws.progress(annotator, order)
    parts = [f"{p.mine:,} yours", f"{p.left:,} left for you"]
    starter = p.labelled - p.by_people
    corpus = f"corpus {p.people_share:.0%} labelled by annotators"
    if starter > 0:
        corpus += f" (+{starter:,} starter labels)"
    parts.append(corpus)
    rate = labels_per_hour(sess.labels, sess.first_save, now)
    if rate is not None:
        parts.append(f"{rate:.0f} labels/h")
    return " · ".join(parts)


def _actions(accept: bool, back: bool) -> list[dict[str, Any]]:
    acts = [{"id": "save", "label": "Save & next", "key": "Enter", "keyText": "Enter", "primary": True}]
    if accept:
        acts.append({"id": "accept", "label": "Accept suggestion", "key": "Enter", "shift": True,
                     "keyText": "Shift+Enter"})
    if back:
        acts.append({"id": "forward", "label": "Forward", "key": "ArrowRight", "keyText": "→"})
    else:
        acts.append({"id": "skip", "label": "Skip", "key": "ArrowRight", "keyText": "→"})
    acts += [{"id": "back", "label": "Back", "key": "ArrowLeft", "keyText": "←"},
             {"id": "notsent", "label": "Not a sentence", "key": "Delete", "keyText": "Del"},
             {"id": "clear", "label": "Clear", "key": "Escape", "keyText": "Esc"},
             {"id": "guide", "label": "Guidelines", "key": "?", "keyText": "?"}]
    return acts


def _tasks(ws: Workspace) -> list[dict[str, Any]]:
    return [{"name": t.name, "title": t.name.capitalize(), "multi": t.multi_label, "optional": t.optional,
             "target": t.target, "description": t.description,
             "labels": [{"name": lab.name, "key": lab.key, "description": lab.description} for lab in t.labels]}
            for t in ws.schema.tasks]


def build_card(ws: Workspace, annotator: str, sess: CardSession, order: str, mode: str, model: Any | None,
               now: float | None = None) -> dict[str, Any]:
    """The data the card renders: the sentence (or the end of the queue), choices, suggestion, hints, ack.

    With no sentence, `empty_text` says why (end_text): `waiting` counts the sentences left for the annotator
    that are open with others, and `recheck_s` (seconds, 0: never) is how often the browser asks again.

    JSON-serialisable; it changes only when something on the card changes, so the browser re-renders then."""
    now = time.time() if now is None else now
    back = sess.back
    sid = sess.hist[sess.hist_pos] if back else ws.next_for(annotator, order)
    if sid is not None and not ws.has(sid):
        sid = None
    key = (sid, back)
    if sess.card_key != key:
        sess.card_key = key
        sess.card_n += 1
        sess.shown_at = now
    accept = False
    data: dict[str, Any] = {
        "card": f"{sess.card_n}", "tasks": _tasks(ws), "ack": {"client": sess.last_ack[0], "seq": sess.last_ack[1]},
        "status": sess.status, "status_id": sess.status_n, "progress": progress_text(ws, annotator, order, sess, now),
        "mode": mode, "order": order, "suggestion": None, "prefilled": False,
        "selection": {"topic": [], "stance": []}, "back": "", "empty_text": "", "waiting": 0, "recheck_s": 0,
    }
    if sid is None:
        # next_for just synced and found nothing: whatever is still left for them is open with others
        waiting = ws.left_for(annotator, order) if not back else 0
        data.update(sentence_id="", title="", file="", position="", before=[], text="", after=[],
                    empty_text=end_text(waiting, ws.settings.lease_minutes), waiting=waiting,
                    recheck_s=RECHECK_SECONDS if waiting else 0)
    else:
        v = ws.view(sid)
        lo, _hi = ws.article_span[v.article_id]
        source = v.source or ""
        data.update(sentence_id=sid, title=article_title(v.title, source, ws.seg_text[lo]),
                    file=PurePosixPath(source.split("#", 1)[0]).name if source else "",
                    position=v.position_text, before=v.before, text=v.text, after=v.after)
        sug = ws.suggestion(model, sid) if model is not None and mode != "hidden" and not back else None
        shown = sug is not None and mode in ("hint", "preselect") and bool(sug.topic or sug.stance)
        if shown:
            data["suggestion"] = {
                "model": sug.model_id, "topic": sug.topic, "topic_prob": round(float(sug.topic_prob), 4),
                "stance_by_topic": {t: [s, round(p, 4)] for t, (s, p) in ws.stance_by_topic(model, sid).items()},
            }
            accept = True
        data["selection"] = _initial_selection(ws, annotator, sid, sug if shown else None, mode == "preselect", back)
        data["prefilled"] = shown and mode == "preselect"
        if back:
            mine = ws.index.entry(sid, annotator)
            was = mine.action if mine else "nothing"
            if mine is not None and mine.action == "label":
                was += f": {mine.topic or '-'} / {mine.stance or '-'}"
            data["back"] = (f"Going back ({sess.hist_pos + 1} of {len(sess.hist)}); you saved {was}. "
                            "Enter saves a new label, → returns without changing it.")
    if sid is None and back:
        accept = False
    data["accept"] = accept
    data["actions"] = _actions(accept, back)
    data["keys_help"] = "Keyboard: " + annotate_keys_help(ws.schema, accept=accept, back=back)
    return data
