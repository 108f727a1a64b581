"""Shared fixtures: temporary projects built from the shipped schema and seed articles."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from label_app.project import Project
from label_app.schema import Schema, load_schema

REPO = Path(__file__).resolve().parent.parent
# Debian's chromium, driven by Playwright in the browser tests (never a browser download)
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1366, "height": 768}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(project: Project, log_path: Path, timeout_s: float = 120) -> tuple[subprocess.Popen, str]:
    """Start `python -m label_app` for `project` on a free port, its output in `log_path`; wait until its health
    check answers. Returns (process, URL); the caller stops the process (`stop_app`). Fails the test with the
    server's log when it does not start."""
    port = free_port()
    with open(log_path, "w") as log:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen([sys.executable, "-m", "label_app", "--project", str(project.root), "--port",
                                 str(port)], cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return proc, url
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_app(proc)
            pytest.fail(f"app did not start: {log_path.read_text()[-2000:]}")
        time.sleep(0.3)


def stop_app(proc: subprocess.Popen) -> None:
    """Stop a server started by `start_app` (SIGTERM, then SIGKILL after 15 s)."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
DATA = Path(__file__).resolve().parent / "data"


def make_project(root: Path, seeds: bool = True) -> Project:
    """A project folder with the shipped schema and (optionally) the five seed articles; no labels."""
    (root / "labels").mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "labels" / "schema.toml", root / "labels" / "schema.toml")
    (root / "seeds").mkdir(exist_ok=True)
    if seeds:
        for f in sorted((REPO / "seeds").glob("*.txt")):
            shutil.copy(f, root / "seeds" / f.name)
    return Project.at(root)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return make_project(tmp_path / "proj")


@pytest.fixture
def empty_project(tmp_path: Path) -> Project:
    return make_project(tmp_path / "proj", seeds=False)


@pytest.fixture
def schema(project: Project) -> Schema:
    return load_schema(project.schema_path)


def run_cli(*args: str, cwd: Path | None = None, module: str = "label_app") -> subprocess.CompletedProcess[str]:
    """Run `python -m <module> ARGS` as a user would; returns the completed process."""
    return subprocess.run(
        [sys.executable, "-m", module, *args], capture_output=True, text=True, cwd=cwd or REPO, timeout=300
    )


# ---------------------------------------------------------------- the Annotate card under AppTest

def card_data(at: object) -> dict:
    """The data the Annotate page sent to its card (label_app.components.card) in the last run."""
    import json

    cards = at.get("bidi_component")  # type: ignore[attr-defined]
    assert len(cards) == 1, f"expected one annotation card, found {len(cards)}"
    return json.loads(cards[0].proto.json)


def card_send(at: object, action: str = "label", topic: tuple[str, ...] | list[str] = (),
              stance: tuple[str, ...] | list[str] = (), accept: bool = False, na: tuple[str, ...] = (),
              seq: int | None = None, client: str = "test-client", sentence_id: str | None = None) -> dict:
    """Send one card action as the browser does (the trigger value `action`) and rerun; returns the new card data.

    AppTest has no driver for components-v2 elements, so the trigger is put into the widget states of the run
    (the aggregated `events` trigger widget Streamlit registers for the component)."""
    import json

    from streamlit.components.v2.bidi_component.main import _make_trigger_id
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    d = card_data(at)
    if seq is None:
        seq = getattr(at, "_card_seq", 0) + 1
    at._card_seq = max(seq, getattr(at, "_card_seq", 0))  # type: ignore[attr-defined]
    payload = {"client": client, "seq": seq, "card": d["card"],
               "sentence_id": d["sentence_id"] if sentence_id is None else sentence_id, "action": action,
               "topic": list(topic), "stance": list(stance), "accept": accept, "na": list(na)}
    el = at.get("bidi_component")[0]  # type: ignore[attr-defined]
    states = at._tree.get_widget_states()  # type: ignore[attr-defined]
    w = WidgetState(id=_make_trigger_id(el.proto.id, "events"))
    w.json_trigger_value = json.dumps([{"event": "action", "value": payload}])
    states.widgets.append(w)
    at._run(widget_state=states)  # type: ignore[attr-defined]
    assert not at.exception, at.exception  # type: ignore[attr-defined]
    return card_data(at)


@pytest.fixture(scope="session")
def al_bench():  # noqa: ANN201 - the module bench/active_learning/run.py
    """The active-learning benchmark's module (a script, not a package), loaded once for the tests of its
    queue arm and criterion."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "bench" / "active_learning" / "run.py"
    spec = importlib.util.spec_from_file_location("al_bench", path)
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(mod)
    return mod
