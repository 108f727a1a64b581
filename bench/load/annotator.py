"""A simulated annotator: a browser's side of Streamlit's websocket protocol, without a browser.

It speaks what the Streamlit front end speaks: it opens `/_stcore/stream`, sends `BackMsg.rerun_script` with a
`ClientState` (query string, widget states, page, fragment, the hashes of the messages it has cached), and reads
the `ForwardMsg` stream (new_session, deltas, script_finished; a `ref_hash` is answered from its cache, as the
browser's message cache does) with the protobuf classes of the installed streamlit package.

The Annotate page is one components-v2 element, the card (label_app/components/card). What the simulation does
is what card.js does in the browser:
- label keys only toggle choices in the browser: no message to the server (the typist's pauses are kept);
- a save is ONE rerun of the card's fragment whose widget states carry the component's trigger aggregator
  (`$$STREAMLIT_INTERNAL_KEY_<card id>__events`) with `json_trigger_value = [{"event": "action", "value":
  payload}]`, payload = {client, seq, card, sentence_id, action, topic, stance, accept, na} (see
  label_app/components/card/actions.py);
- the save is confirmed when the card's data comes back with `ack` = (client, seq) and a "success" status; the
  next sentence is that data's `sentence_id`/`text`; an action not answered within 4 s is sent again with the
  same seq (card.js's RESEND_MS: the server saves it at most once).

Widgets are kept by their user key (the part of the element id after the hash), so the simulation finds
"ann_card" or "ann_change" the way a user finds them on the screen.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass, field
from typing import Any

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

CARD_KEY = "ann_card"  # label_app.views.annotate.CARD_KEY
RESEND_S = 4.0  # card.js RESEND_MS
FRAGMENT_DONE = 3  # ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY
EARLY_FOR_RERUN = 2  # ForwardMsg.FINISHED_EARLY_FOR_RERUN: another run follows


@dataclass
class Run:
    """What one script run showed: keyed widgets (key -> element id), the card's data, errors."""

    card: dict[str, Any] | None = None  # the data the page sent to the annotation card in this run
    card_at: float = 0.0  # time.perf_counter() when that data arrived (what the browser renders)
    exceptions: list[str] = field(default_factory=list)
    status: int = -1

    @property
    def sentence(self) -> str | None:
        """The sentence on the card; None at the end of the queue or when there is no card."""
        return self.card["text"] if self.card and self.card.get("sentence_id") else None

    @property
    def sentence_id(self) -> str | None:
        return (self.card.get("sentence_id") or None) if self.card else None


def widget_key(element_id: str) -> str:
    """The user key of a keyed widget id ('$$ID-<hash>-ann_card' -> 'ann_card'); '' when it has none."""
    parts = element_id.split("-", 2)
    return parts[2] if len(parts) == 3 else ""


def trigger_id(element_id: str, event: str = "events") -> str:
    """The id of a components-v2 element's trigger aggregator (streamlit's _make_trigger_id)."""
    return f"$$STREAMLIT_INTERNAL_KEY_{element_id}__{event}"


def card_data(element) -> dict[str, Any] | None:  # noqa: ANN001 - a protobuf BidiComponent
    """The JSON data a components-v2 element carries (plain JSON, or the JSON part of mixed data)."""
    kind = element.WhichOneof("data")
    if kind == "json":
        return json.loads(element.json)
    if kind == "mixed":
        return json.loads(element.mixed.json)
    return None


def action_payload(client: str, seq: int, card: dict[str, Any], action: str = "label",
                   topic: list[str] | None = None, stance: list[str] | None = None, accept: bool = False,
                   na: list[str] | None = None) -> dict[str, Any]:
    """The action card.js sends for a save (its `dispatch`): one dict, the trigger value of event 'action'."""
    return {"client": client, "seq": seq, "card": card["card"], "sentence_id": card.get("sentence_id") or "",
            "action": action, "topic": list(topic or []) if action == "label" else [],
            "stance": list(stance or []) if action == "label" else [], "accept": accept, "na": list(na or [])}


class StreamlitSession:
    """One browser tab: a websocket to the server, its message cache and the page state of the last run."""

    def __init__(self, url: str, query: str, cookie: str = "") -> None:
        self.url = url.rstrip("/")
        self.query = query
        self.cookie = cookie  # e.g. a reverse proxy's sticky-session cookie, sent with the websocket
        self.ws: websockets.ClientConnection | None = None
        self.page_hash = ""
        self.last = Run()
        self.widgets: dict[str, str] = {}  # user key -> element id, of every keyed widget seen on the page
        self.fragments: dict[str, str] = {}  # user key -> id of the fragment the element is in
        # element id -> (value field, value) of the widgets that hold a value (the sidebar's queue order): the
        # browser sends them with every rerun, and the card's first action is only handled when they are there
        self.values: dict[str, tuple[str, Any]] = {}
        self.cache: dict[str, ForwardMsg] = {}  # the browser's ForwardMsg cache (hash -> message)
        self.client = "sim" + "".join(random.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=10))
        self.seq = 0
        self._run = Run()  # the run being read

    async def connect(self) -> Run:
        ws_url = self.url.replace("http://", "ws://") + "/_stcore/stream"
        self.ws = await websockets.connect(ws_url, subprotocols=["streamlit"], origin=self.url, max_size=None,
                                           open_timeout=120, ping_interval=None,
                                           additional_headers={"Cookie": self.cookie} if self.cookie else None)
        await self.send({})
        return await self.read_run()

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()

    async def send(self, states: dict[str, tuple[str, Any]], fragment_id: str = "") -> None:
        """Send one rerun request: widget id -> (value field, value), e.g. ('trigger_value', True)."""
        msg = BackMsg()
        cs = msg.rerun_script
        cs.query_string = self.query
        cs.page_script_hash = self.page_hash
        cs.fragment_id = fragment_id
        cs.cached_message_hashes.extend(self.cache)
        for wid, (kind, value) in {**self.values, **states}.items():
            w = cs.widget_states.widgets.add()
            w.id = wid
            setattr(w, kind, value)
        assert self.ws is not None
        await self.ws.send(msg.SerializeToString())

    async def read_run(self, timeout: float | None = None) -> Run:
        """Read messages until a run finishes (a run cut short for a rerun is followed by the next one)."""
        run = self._run  # kept across a timeout, so a run read in two parts is not lost
        while True:
            assert self.ws is not None
            raw = await (asyncio.wait_for(self.ws.recv(), timeout) if timeout else self.ws.recv())
            fwd = ForwardMsg()
            fwd.ParseFromString(raw)
            if fwd.WhichOneof("type") == "ref_hash":
                fwd = self.cache[fwd.ref_hash]
            elif fwd.metadata.cacheable and fwd.hash:
                self.cache[fwd.hash] = fwd
            kind = fwd.WhichOneof("type")
            if kind == "new_session":
                self.page_hash = fwd.new_session.page_script_hash or self.page_hash
            elif kind == "navigation":  # st.navigation names the page that ran; the browser sends it back
                self.page_hash = fwd.navigation.page_script_hash or self.page_hash
            elif kind == "page_info_changed":
                self.query = fwd.page_info_changed.query_string or self.query
            elif kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                self._element(fwd.delta.new_element, fwd.delta.fragment_id, run)
            elif kind == "script_finished":
                run.status = fwd.script_finished
                if run.status != EARLY_FOR_RERUN:
                    if run.card is None and run.status == FRAGMENT_DONE:
                        run.card, run.card_at = self.last.card, self.last.card_at  # the card was not redrawn
                    self.last = run
                    self._run = Run()
                    return run

    def _element(self, e, fragment_id: str, run: Run) -> None:  # noqa: ANN001 - a protobuf Element
        kind = e.WhichOneof("type")
        if kind in ("button", "bidi_component", "selectbox"):
            eid = getattr(e, kind).id
            key = widget_key(eid)
            if key:
                self.widgets[key] = eid
                self.fragments[key] = fragment_id
            if kind == "selectbox":
                box = e.selectbox
                if box.set_value:
                    self.values[eid] = ("string_value", box.raw_value)
                elif eid not in self.values and box.HasField("default") and box.options:
                    self.values[eid] = ("string_value", box.options[box.default])
            if kind == "bidi_component" and key == CARD_KEY:
                run.card = card_data(e.bidi_component)
                run.card_at = time.perf_counter()
        elif kind == "exception":
            run.exceptions.append(f"{e.exception.type}: {e.exception.message}")

    async def press(self, key: str) -> tuple[Run, float]:
        """Press the button with widget key `key` as the browser would; (the run it caused, seconds)."""
        wid = self.widgets.get(key)
        if wid is None:
            raise KeyError(f"no button {key!r} on the page (widgets: {sorted(self.widgets)})")
        t0 = time.perf_counter()
        await self.send({wid: ("trigger_value", True)}, self.fragments.get(key, ""))
        run = await self.read_run()
        return run, time.perf_counter() - t0

    async def card_action(self, payload: dict[str, Any], resend_s: float = RESEND_S) -> tuple[Run, float, int]:
        """Send one card action as card.js does and wait for its ack; (the run that answered it, seconds from
        the first send to the acknowledging card data, how many times it was sent)."""
        cid = self.widgets.get(CARD_KEY)
        if cid is None:
            raise KeyError(f"no annotation card on the page (widgets: {sorted(self.widgets)})")
        states = {trigger_id(cid): ("json_trigger_value", json.dumps([{"event": "action", "value": payload}]))}
        t0 = time.perf_counter()
        sends = 0
        while True:
            await self.send(states, self.fragments.get(CARD_KEY, ""))
            sends += 1
            deadline = time.perf_counter() + resend_s
            try:
                while True:
                    run = await self.read_run(timeout=max(0.01, deadline - time.perf_counter()))
                    ack = (run.card or {}).get("ack") or {}
                    if ack.get("client") == payload["client"] and ack.get("seq", 0) >= payload["seq"]:
                        return run, run.card_at - t0, sends
                    if run.exceptions:
                        return run, time.perf_counter() - t0, sends
            except TimeoutError:
                continue  # unanswered: send it again, same seq (a partial run's messages are read next time)


@dataclass
class SaveResult:
    """One save: the sentence it was for, whether the page confirmed it, and its latency (s)."""

    sentence_id: str
    sentence: str
    confirmed: bool
    latencies: list[float]  # the actions that went to the server: one per save
    next_sentence: str | None
    problem: str = ""
    sends: int = 1
    next_sentence_id: str | None = None


async def perform_save(s: StreamlitSession, topic: str, stance: str, gap_s: float = 0.2) -> SaveResult:
    """Label the card's sentence as an annotator does: topic key, stance key, Enter.

    The two label keys stay in the browser (card.js toggles the choices; `gap_s` is the typist's pause after
    each); Enter sends one action with both choices. Confirmed when the card comes back with this action's ack
    and a success status; the latency is Enter -> the next card's data received.
    """
    card = s.last.card or {}
    sid, text = card.get("sentence_id") or "", card.get("text") or ""
    await asyncio.sleep(2 * gap_s)
    s.seq += 1
    payload = action_payload(s.client, s.seq, card, "label", [topic], [stance])
    run, dt, sends = await s.card_action(payload)
    got = run.card or {}
    status = got.get("status") or {}
    acked = (got.get("ack") or {}).get("seq", 0) >= payload["seq"]
    confirmed = acked and status.get("kind") == "success" and not run.exceptions
    problem = "; ".join(([] if confirmed else [f"{status.get('kind')}: {status.get('text')}"]) + run.exceptions)
    return SaveResult(sid, text, confirmed, [dt], run.sentence, problem, sends, run.sentence_id)
