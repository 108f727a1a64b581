"""Claims shared by every server process of a project: real separate processes on one project folder.

Each worker process opens its own Workspace (as a second `python -m label_app` would) and answers commands
from the test over a pipe, so the interleaving is fixed by the test, not by timing.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
import time
from collections import defaultdict
from typing import Any

import pytest

from label_app import store
from label_app.claims import MemoryClaims, SharedClaims
from label_app.errors import LabelAppError
from label_app.project import Project
from label_app.settings import Settings, save_settings
from label_app.workspace import Workspace

# Fresh interpreters, as real server processes are: a fork of the pytest process would inherit whatever
# threads and locks earlier tests left in it (browsers' servers, AppTest sessions, worker pools).
CTX = mp.get_context("spawn")


def _serve(conn: Any, root: str) -> None:
    """A server process: one Workspace, commands ('next', who, order, now) / ('save', who, sid) /
    ('run', annotators, actions, wait) / ('stop',)."""
    ws = Workspace.open(root, refresh=False)
    while True:
        cmd = conn.recv()
        try:
            if cmd[0] == "next":
                ws.sync()  # as the page does on every run
                conn.send(ws.next_for(cmd[1], cmd[2], now=cmd[3]))
            elif cmd[0] == "save":
                ws.save(cmd[1], cmd[2], topic="trade")
                conn.send("saved")
            elif cmd[0] == "run":
                conn.send(_label_loop(ws, cmd[1], cmd[2], cmd[3]))
            else:
                conn.send("stopped")
                return
        except LabelAppError as exc:
            conn.send(f"error: {exc}")


def _label_loop(ws: Workspace, annotators: list[str], actions: int, wait: float) -> list[str]:
    """Annotators (one thread each, like Streamlit sessions) label up to `actions` sentences each as fast as they
    can, until the queue ends for them. Returns the problems seen (an empty list when all went well).

    `next_for` gives None both when nothing is left for an annotator and when everything left for them is open
    with others (claimed, with overlap 2 often the last sentences). In the second case the annotator asks again,
    as the Annotate card does on its own, for at most `wait` seconds: stopping there would leave sentences one
    label short whenever the threads happen to meet at the end of the queue."""
    problems: list[str] = []

    def one(who: str) -> None:
        try:
            saved = 0
            deadline: float | None = None
            while saved < actions:
                sid = ws.next_for(who, "unlabelled")
                if sid is None:
                    left = ws.left_for(who, "unlabelled")
                    if left == 0:
                        return  # the queue ended for them
                    deadline = deadline or time.monotonic() + wait
                    if time.monotonic() > deadline:
                        problems.append(f"{who}: {left} sentence(s) left, still open with others after {wait:g} s")
                        return
                    time.sleep(0.02)  # the others save (or their claims lapse) meanwhile
                    continue
                deadline = None
                try:
                    ws.save(who, sid, topic="trade")
                    saved += 1
                except LabelAppError as exc:
                    problems.append(str(exc))
        except Exception as exc:  # noqa: BLE001 - a thread's exception would otherwise vanish with it
            problems.append(f"{who}: {exc!r}")

    threads = [threading.Thread(target=one, args=(w,)) for w in annotators]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return problems


class Server:
    """A worker process serving the project; `ask` sends one command and waits for its answer."""

    def __init__(self, root: str) -> None:
        self.conn, child = CTX.Pipe()
        self.proc = CTX.Process(target=_serve, args=(child, root), daemon=True)
        self.proc.start()

    def ask(self, *cmd: Any) -> Any:
        self.conn.send(cmd)
        if not self.conn.poll(300):
            raise AssertionError(f"worker did not answer {cmd}")
        return self.conn.recv()

    def stop(self) -> None:
        if self.proc.is_alive():
            self.ask("stop")
        self.proc.join(30)


@pytest.fixture
def servers(project: Project):
    """Two server processes on one project (corpus ingested once, here)."""
    Workspace.open(project.root)  # ingest the seeds once; the workers read the corpus cache
    made: list[Server] = []

    def start(n: int = 2) -> list[Server]:
        made.extend(Server(str(project.root)) for _ in range(n))
        return made[-n:]

    yield start
    for s in made:
        s.stop()


def log_labels(project: Project) -> dict[str, list[str]]:
    """sentence -> annotators who labelled it, from the log on disk."""
    out: dict[str, list[str]] = defaultdict(list)
    for r in store.read_log(project).rows:
        if r["action"] == "label":
            out[r["sentence_id"]].append(r["annotator"])
    return out


def test_two_processes_never_give_one_sentence_to_two_annotators(project: Project, servers) -> None:
    p1, p2 = servers()
    now = time.time()
    s = p1.ask("next", "ana", "unlabelled", now)
    t = p2.ask("next", "ben", "unlabelled", now)
    u = p1.ask("next", "cy", "unlabelled", now)
    assert s and t and u and len({s, t, u}) == 3  # per-process claims gave ben ana's sentence
    assert p2.ask("next", "ana", "article", now) == s  # ana keeps hers, whichever process she reaches
    assert p2.ask("save", "ana", s) == "saved"
    # ana's label is on disk and her claim gone: the other process must see both before handing s out
    assert p1.ask("next", "dee", "unlabelled", now) not in {s, t, u}
    assert {sid: who for sid, who in log_labels(project).items()} == {s: ["ana"]}


def test_overlap_k_is_exact_across_processes(project: Project, servers) -> None:
    save_settings(project, Settings(overlap=2))
    p1, p2 = servers()
    now = time.time()
    s = p1.ask("next", "ana", "unlabelled", now)
    assert p2.ask("next", "ben", "unlabelled", now) == s  # the sentence needs two annotators
    c = p2.ask("next", "cy", "unlabelled", now)
    assert c != s  # two claims already: a third annotator gets another sentence
    assert p1.ask("save", "ana", s) == "saved" and p2.ask("save", "ben", s) == "saved"
    assert p1.ask("next", "dee", "unlabelled", now) == c  # s has its two labels; c needs a second
    assert sorted(log_labels(project)[s]) == ["ana", "ben"]


def test_settings_saved_by_one_process_route_every_process(project: Project, servers) -> None:
    p1, p2 = servers()  # both started with overlap 1
    now = time.time()
    s = p1.ask("next", "ana", "unlabelled", now)
    save_settings(project, Settings(overlap=2))  # the lead saves overlap 2 on one process's Settings page
    assert p2.ask("next", "ben", "unlabelled", now) == s  # the other process routes with overlap 2 at once
    assert p1.ask("next", "cy", "unlabelled", now) != s  # and so does the first: s has its two claims


def test_a_lapsed_claim_goes_to_another_process_and_the_late_save_is_refused(project: Project, servers) -> None:
    save_settings(project, Settings(lease_minutes=1.0))
    p1, p2 = servers()
    now = time.time()
    s = p1.ask("next", "ana", "unlabelled", now - 120)  # shown two minutes ago: the 1-minute claim lapsed
    assert p2.ask("next", "ben", "unlabelled", now) == s
    answer = p1.ask("save", "ana", s)
    assert answer == (f"error: sentence {s!r} went to another annotator while it was open (a sentence is kept "
                      "for 1 minute); it has the annotators it needs")
    assert p2.ask("save", "ben", s) == "saved"
    assert log_labels(project)[s] == ["ben"]


@pytest.mark.parametrize("overlap", [1, 2])
def test_many_annotators_in_two_processes_label_each_sentence_exactly_k_times(project: Project, servers,
                                                                             overlap: int) -> None:
    save_settings(project, Settings(overlap=overlap))
    p1, p2 = servers()
    n_sentences = len(Workspace.open(project.root, refresh=False).sentence_ids)
    # overlap 1: exactly the corpus between them (beyond it, 'unlabelled first' goes on to labelled sentences);
    # overlap 2: a budget nobody can use up (nobody labels a sentence twice), so the queue's end decides when each
    # annotator stops, never the order in which the threads happened to run
    per = n_sentences // 8 if overlap == 1 else n_sentences
    p1.conn.send(("run", ["a1", "a2", "a3", "a4"], per, 120.0))
    p2.conn.send(("run", ["b1", "b2", "b3", "b4"], per, 120.0))
    assert p1.conn.poll(300) and p2.conn.poll(300)
    assert p1.conn.recv() == [] and p2.conn.recv() == []
    labels = log_labels(project)
    done = n_sentences if overlap > 1 else 8 * per
    assert sorted(len(set(w)) for w in labels.values()) == [overlap] * done  # every sentence exactly k
    assert all(len(w) == len(set(w)) for w in labels.values())  # and nobody twice


def _die_in_a_claim(path: str) -> None:
    claims = SharedClaims(path, 60)
    with claims.session(time.time()) as cs:
        cs.claim("s1", "ana")
        os._exit(3)  # killed while holding SQLite's write lock: the transaction must not stay


def test_a_process_killed_inside_a_claim_leaves_no_lock_and_no_claim(project: Project) -> None:
    path = str(project.cache_dir / "claims.sqlite3")
    p = CTX.Process(target=_die_in_a_claim, args=(path,))
    p.start()
    p.join(60)
    assert p.exitcode == 3
    claims = SharedClaims(path, 60)
    with claims.session(time.time()) as cs:
        assert cs.held_by("ana") is None
        cs.claim("s2", "ben")
    assert [(w, s) for w, s, _ in claims.live(time.time())] == [("ben", "s2")]


@pytest.mark.parametrize("make", [lambda p: MemoryClaims(60), lambda p: SharedClaims(p / "c.sqlite3", 60)])
def test_claims_expire_and_one_annotator_holds_one(tmp_path, make) -> None:
    claims = make(tmp_path)
    with claims.session(100.0) as cs:
        cs.claim("s1", "ana")
        cs.claim("s2", "ana")  # a new claim ends the previous one
        cs.claim("s2", "ben")
    with claims.session(130.0) as cs:
        assert cs.held_by("ana") == "s2" and sorted(cs.others("s2")) == ["ana", "ben"] and not cs.others("s1")
    with claims.session(161.0) as cs:  # both lapsed (claimed at 100 for 60 s)
        assert cs.held_by("ana") is None and not cs.others("s2")
    with pytest.raises(RuntimeError), claims.session(170.0) as cs:
        cs.claim("s3", "cy")
        raise RuntimeError("the page failed")  # nothing of a failed transaction is kept
    assert claims.live(170.0) == []
