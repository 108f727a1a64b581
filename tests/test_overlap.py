"""Overlap routing: a hash-chosen share of sentences gets exactly k distinct annotators, the rest one."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest

from label_app import store
from label_app.project import Project
from label_app.queue import Queue, annotators_needed, in_overlap
from label_app.settings import Settings, load_settings, save_settings
from label_app.workspace import Workspace


class _Entry:
    def __init__(self, action: str) -> None:
        self.action = action


def change(sid: str, who: str, action: str, old: str | None = None) -> tuple:
    """An index change as the queue receives it (only the action is read)."""
    return (sid, who, _Entry(old) if old else None, _Entry(action))


def test_the_overlapped_share_is_chosen_by_the_sentence_id() -> None:
    ids = [f"a{i:04d}-{j:04d}" for i in range(40) for j in range(50)]
    picked = [s for s in ids if in_overlap(s, 0.3)]
    assert 0.27 < len(picked) / len(ids) < 0.33
    # the same on every call and in every process (a hash of the id, not of the process or the order)
    assert picked == [s for s in reversed(ids) if in_overlap(s, 0.3)][::-1]
    assert in_overlap("a1b2c3d4e5f6-0007", 0.5) is in_overlap("a1b2c3d4e5f6-0007", 0.5)
    # a larger share keeps every sentence of a smaller one (raising the share only adds sentences)
    assert set(picked) <= {s for s in ids if in_overlap(s, 0.6)}
    assert not any(in_overlap(s, 0.0) for s in ids) and all(in_overlap(s, 1.0) for s in ids)
    assert list(annotators_needed(ids[:5], 1, 1.0)) == [1] * 5
    assert sorted(set(annotators_needed(ids, 3, 0.3))) == [1, 3]


def simulate(q: Queue, annotators: list[str], skip: Callable[[str, str], bool] = lambda sid, who: False,
             order: str = "unlabelled") -> list[tuple[str, str, str]]:
    """Annotators take turns: in each round all claim a sentence first, then all save; until nobody gets one."""
    done: list[tuple[str, str, str]] = []
    now = 0.0
    while True:
        now += 1
        claims = [(who, q.next_for(who, order, now=now)) for who in annotators]
        claims = [(who, sid) for who, sid in claims if sid is not None]
        if not claims:
            return done
        for who, sid in claims:
            action = "skip" if skip(sid, who) else "label"
            q.apply([change(sid, who, action)])
            done.append((sid, who, action))
        assert now < 10_000


@pytest.mark.parametrize("order", ["unlabelled", "uncertain"])
def test_routing_gives_k_distinct_annotators_to_the_share_and_one_to_the_rest(order: str) -> None:
    ids = [f"s{i:03d}" for i in range(120)]
    q = Queue(ids, overlap=3, overlap_share=0.25)
    if order == "uncertain":
        import numpy as np

        q.set_uncertainty("m1", np.linspace(0, 1, len(ids)))
    annotators = ["ana", "bo", "cy", "dee", "eli"]
    # ana skips the first three sentences of the share she gets: they must still reach three others
    overlapped = {s for s in ids if in_overlap(s, 0.25)}
    skipped: list[str] = []

    def skip(sid: str, who: str) -> bool:
        if who == "ana" and sid in overlapped and len(skipped) < 3:
            skipped.append(sid)
            return True
        return False

    done = simulate(q, annotators, skip, order)
    assert sum(action == "skip" for *_, action in done) == 3
    pairs = Counter((sid, who) for sid, who, _ in done)
    assert max(pairs.values()) == 1  # nobody got a sentence twice
    labelled: dict[str, set[str]] = {}
    for sid, who, action in done:
        if action == "label":
            labelled.setdefault(sid, set()).add(who)
    assert set(labelled) == set(ids)
    assert 15 < len(overlapped) < 45
    assert {s for s, who in labelled.items() if len(who) == 3} == overlapped
    assert all(len(who) == 1 for s, who in labelled.items() if s not in overlapped)
    assert q.labelled_count() == len(ids)


def test_with_an_overlap_the_queue_ends_when_each_sentence_has_its_annotators() -> None:
    q = Queue(["s0", "s1"], overlap=2, overlap_share=0.0)  # an overlap for nobody: one annotator each
    q.apply([change("s0", "ana", "label"), change("s1", "ana", "label")])
    assert q.next_for("bo", "unlabelled", now=0) is None
    assert q.next_for("bo", "article", now=0) == "s0"  # article order: a second opinion, when asked for
    # without an overlap (the default), 'unlabelled first' goes on to the rest, as before
    q = Queue(["s0", "s1"], overlap=1)
    q.apply([change("s0", "ana", "label"), change("s1", "ana", "label")])
    assert q.next_for("bo", "unlabelled", now=0) == "s0"


def test_a_cleared_label_reopens_the_sentence_for_another_annotator() -> None:
    q = Queue(["s0", "s1"], overlap=2, overlap_share=1.0)
    q.apply([change("s0", "ana", "label"), change("s0", "bo", "label")])
    assert q.next_for("cy", "unlabelled", now=0) == "s1"
    q.apply([change("s1", "cy", "label")])
    assert q.next_for("cy", "unlabelled", now=1) is None
    q.apply([change("s0", "bo", "clear", old="label")])
    assert q.next_for("cy", "unlabelled", now=2) == "s0"
    assert q.next_for("ana", "unlabelled", now=3) == "s1"  # s1 needs a second annotator, never s0 again


def test_workspaces_in_two_processes_route_the_same_share(project: Project) -> None:
    save_settings(project, Settings(overlap=2, overlap_share=0.5))
    a = Workspace.open(project.root)
    b = Workspace.open(project.root, refresh=False)
    assert list(a.queue.need) == list(b.queue.need)
    assert set(a.queue.need) == {1, 2}
    # annotators on both "servers", saving through the real store, until nothing is left
    annotators = [(a, "ana"), (b, "bo"), (a, "cy")]
    saved = 0
    while True:
        got = 0
        for ws, who in annotators:
            ws.sync()
            sid = ws.next_for(who)
            if sid is not None:
                ws.save(who, sid, "label", topic="trade")
                got += 1
        saved += got
        if not got:
            break
    per_sentence: dict[str, list[str]] = {}
    for r in store.read_log(project).rows:
        per_sentence.setdefault(r["sentence_id"], []).append(r["annotator"])
    need = dict(zip(a.sentence_ids, a.queue.need.tolist(), strict=True))
    assert saved == sum(need.values())
    assert {s: len(w) for s, w in per_sentence.items()} == need
    assert all(len(set(w)) == len(w) for w in per_sentence.values())


def test_overlap_share_is_validated_and_applied(project: Project) -> None:
    project.settings_path.write_text('{"overlap": 2, "overlap_share": 1.5}')
    settings, problems = load_settings(project)
    assert problems == [f"{project.settings_path}: overlap_share 1.5 (use a share from 0 to 1); using 1.0"]
    with pytest.raises(store.LabelAppError, match=r"^settings not saved: bad overlap_share -0.1 \(use a share"):
        save_settings(project, Settings(overlap_share=-0.1))
    ws = Workspace.open(project.root)
    assert set(ws.queue.need) == {2}
    ws.apply_settings(Settings(overlap=2, overlap_share=0.0))
    assert set(ws.queue.need) == {1}
