"""A simulated annotator: a browser's side of Streamlit's websocket protocol, without a browser.

It speaks what the Streamlit front end speaks: it opens `/_stcore/stream`, sends `BackMsg.rerun_script` with a
`ClientState` (query string, widget states, page), and reads the `ForwardMsg` stream (new_session, deltas,
script_finished) with the protobuf classes of the installed streamlit package. A button press is what the
browser sends for it: the button's widget id with `trigger_value = true`. The page's elements are kept by
their widget key (the part of the element id after the hash), so the simulation finds "ann_topic_trade" or
"ann_save" the way a user finds the key on the screen.

`perform_save` is the one function that knows how the Annotate page takes a label. It drives today's page
(helper 13 is replacing it): to drive a page that sends one complete action per save, replace that function
only (see docs/teams.md, "The load benchmark").
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import websockets
from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

SUCCESS, ERROR = Alert.Format.SUCCESS, Alert.Format.ERROR
SENTENCE_PREFIX = "#### "  # the Annotate page shows the sentence as a level-4 heading


@dataclass
class Run:
    """What one script run showed: the keyed buttons (key -> widget id), the sentence, alerts, errors."""

    buttons: dict[str, str] = field(default_factory=dict)
    sentence: str | None = None
    alerts: list[tuple[int, str]] = field(default_factory=list)  # (Alert.Format, body): 4 success, 1 error
    exceptions: list[str] = field(default_factory=list)
    status: int = -1


def widget_key(element_id: str) -> str:
    """The user key of a keyed widget id ('$$ID-<hash>-ann_save' -> 'ann_save'); '' when it has none."""
    parts = element_id.split("-", 2)
    return parts[2] if len(parts) == 3 else ""


def md_unescape(text: str) -> str:
    """Undo label_app.ui.md_escape (a backslash before each special character)."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            i += 1
        out.append(text[i])
        i += 1
    return "".join(out)


class StreamlitSession:
    """One browser tab: a websocket to the server and the page state of the last run."""

    def __init__(self, url: str, query: str, cookie: str = "") -> None:
        self.url = url.rstrip("/")
        self.query = query
        self.cookie = cookie  # e.g. a reverse proxy's sticky-session cookie, sent with the websocket
        self.ws: websockets.ClientConnection | None = None
        self.page_hash = ""
        self.last = Run()

    async def connect(self) -> Run:
        ws_url = self.url.replace("http://", "ws://") + "/_stcore/stream"
        self.ws = await websockets.connect(ws_url, subprotocols=["streamlit"], origin=self.url, max_size=None,
                                           open_timeout=120, ping_interval=None,
                                           additional_headers={"Cookie": self.cookie} if self.cookie else None)
        return await self.rerun({})

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()

    async def rerun(self, triggers: dict[str, str]) -> Run:
        """Send one rerun (button keys to trigger -> their widget ids) and read until the run finishes."""
        msg = BackMsg()
        cs = msg.rerun_script
        cs.query_string = self.query
        cs.page_script_hash = self.page_hash
        for wid in triggers.values():
            w = cs.widget_states.widgets.add()
            w.id = wid
            w.trigger_value = True
        assert self.ws is not None
        await self.ws.send(msg.SerializeToString())
        run = Run()
        while True:
            fwd = ForwardMsg()
            fwd.ParseFromString(await self.ws.recv())
            kind = fwd.WhichOneof("type")
            if kind == "new_session":
                self.page_hash = fwd.new_session.page_script_hash or self.page_hash
            elif kind == "page_info_changed":
                self.query = fwd.page_info_changed.query_string or self.query
            elif kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                self._element(fwd.delta.new_element, run)
            elif kind == "script_finished":
                run.status = fwd.script_finished
                # 2 = finished early for a rerun: another run follows (a callback's st.rerun)
                if run.status != 2:
                    self.last = run
                    return run

    @staticmethod
    def _element(e, run: Run) -> None:  # noqa: ANN001 - a protobuf Element
        kind = e.WhichOneof("type")
        if kind == "button":
            key = widget_key(e.button.id)
            if key:
                run.buttons[key] = e.button.id
        elif kind == "markdown" and e.markdown.body.startswith(SENTENCE_PREFIX):
            run.sentence = md_unescape(e.markdown.body[len(SENTENCE_PREFIX):])
        elif kind == "alert":
            run.alerts.append((e.alert.format, e.alert.body))
        elif kind == "exception":
            run.exceptions.append(f"{e.exception.type}: {e.exception.message}")

    async def press(self, key: str) -> tuple[Run, float]:
        """Press the button with widget key `key` as the browser would; (the run it caused, seconds)."""
        wid = self.last.buttons.get(key)
        if wid is None:
            raise KeyError(f"no button {key!r} on the page (buttons: {sorted(self.last.buttons)})")
        t0 = time.perf_counter()
        run = await self.rerun({key: wid})
        return run, time.perf_counter() - t0


@dataclass
class SaveResult:
    """One save: the sentence it was for, whether the page confirmed it, and each action's latency (s)."""

    sentence: str
    confirmed: bool
    latencies: list[float]
    next_sentence: str | None
    problem: str = ""


async def perform_save(s: StreamlitSession, topic: str, stance: str, gap_s: float = 0.2) -> SaveResult:
    """Label the sentence on screen with today's Annotate page: topic key, stance key, Enter.

    Each key is one rerun (a button press); `gap_s` is the typist's pause between keys. The save is
    confirmed when the page answers with its "Saved ..." success message. THE function to replace when the
    Annotate page changes (see the module docstring).
    """
    sentence = s.last.sentence or ""
    lat: list[float] = []
    for key in (f"ann_topic_{topic}", f"ann_stance_{stance}"):
        _run, dt = await s.press(key)
        lat.append(dt)
        await asyncio.sleep(gap_s)
    run, dt = await s.press("ann_save")
    lat.append(dt)
    confirmed = any(fmt == SUCCESS and body.startswith("Saved ") for fmt, body in run.alerts)
    problem = "; ".join([b for f, b in run.alerts if f == ERROR] + run.exceptions)
    return SaveResult(sentence, confirmed, lat, run.sentence, problem)
