"""'Most uncertain first' before any model: a representative first batch (train.active.representative_picks),
served by the queue (Queue.set_representative), the workspace (ensure_representative) and the benchmark."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from label_app.errors import LabelAppError
from label_app.index import Entry
from label_app.project import Project
from label_app.queue import Queue
from label_app.workspace import Workspace
from train.active import COLD_START, HASH_FEATURES, representative_picks

REPO = Path(__file__).resolve().parents[1]

# Three groups in the plane, listed smallest first; in each, the point nearest the group's centre is not the
# group's first member, so neither "first member" nor "list order" gives the expected picks.
POINTS = np.array([
    [10.2, 0.0], [10.0, 0.0], [9.8, 0.0],                              # B: 3 points, centre (10, 0)   -> 1
    [0.1, 0.0], [0.0, 0.0], [0.0, 0.1], [-0.1, 0.0], [0.0, -0.1],      # A: 5 points, centre (0, 0)    -> 4
    [0.3, 10.0], [0.0, 10.0], [0.0, 10.1], [0.0, 9.9],                 # C: 4 points, centre (.075, 10) -> 9
])

SPORT = ["The football striker scored twice as the team won the football cup final.",
         "The football goalkeeper saved a penalty in the last minute of the football match.",
         "The football coach praised his players after the league match on Sunday.",
         "Football fans cheered as the midfielder scored in the football derby."]
MARKETS = ["Shares and stocks fell as bank profits dropped on the stock market.",
           "Stock market investors sold shares as oil prices and bond yields rose.",
           "The central bank raised interest rates and stock prices fell.",
           "Stock markets closed higher as shares of banks and investors rallied."]
SPACE = ["Astronomers found a new planet orbiting a distant star in the galaxy.",
         "The space rocket carried astronauts to the orbiting space station.",
         "A space telescope photographed a galaxy of stars and planets."]


def test_representative_picks_nearest_to_each_centre_largest_group_first() -> None:
    texts = [f"t{i}" for i in range(len(POINTS))]
    assert representative_picks(texts, size=3, vectors=POINTS) == [4, 9, 1]
    assert representative_picks(texts, size=3, seed=7, vectors=POINTS) == [4, 9, 1]  # same groups, any start


def test_representative_picks_small_inputs_duplicates_and_errors() -> None:
    assert representative_picks(["a", "b"], size=5) == [0, 1]
    assert representative_picks([], size=5) == []
    # six copies of one text form one cluster: its nearest member, then the first others in index order
    assert representative_picks(["same words here"] * 6, size=3) == [0, 1, 2]
    with pytest.raises(LabelAppError, match="size must be >= 1, got 0"):
        representative_picks(["a", "b"], size=0)


def test_representative_picks_fit_on_a_seeded_sample() -> None:
    texts = [f"t{i}" for i in range(len(POINTS))]
    sample = np.sort(np.random.default_rng(3).choice(len(POINTS), size=6, replace=False))
    picks = representative_picks(texts, size=2, seed=3, sample=6, vectors=POINTS)
    assert len(set(picks)) == 2 and set(picks) <= set(sample.tolist())
    assert picks == representative_picks(texts, size=2, seed=3, sample=6, vectors=POINTS)


def _label(sid: str, who: str = "sim") -> tuple:
    return (sid, who, None, Entry(sid, who, "label", "x", "", "manual", "", "", "", ""))


def test_queue_serves_one_sentence_per_topic_first_then_article_order() -> None:
    """The real embedding: three topics, a batch of three, one from each; then the rest in article order."""
    texts = SPORT + MARKETS + SPACE
    ids = [f"s{i}" for i in range(len(texts))]
    q = Queue(ids)
    q.apply([_label("s1", "omid")])  # labelled before: never in the batch
    batch = q.set_representative(texts, size=3)
    assert len(batch) == 3 and "s1" not in batch
    assert sorted(int(s[1:]) // 4 for s in batch) == [0, 1, 2]  # sport, markets, space
    served = []
    for _ in range(len(ids) - 1):
        sid = q.next_for("sara", "uncertain", now=0.0)
        served.append(sid)
        q.apply([_label(sid, "sara")])
    assert served[:3] == batch
    assert served[3:] == [s for s in ids if s not in batch and s != "s1"]
    # without an overlap the queue then goes on to what others labelled, as every order does
    assert q.next_for("sara", "uncertain", now=0.0) == "s1"
    # a model's uncertainty replaces the representative order
    q2 = Queue(ids)
    q2.set_representative(texts, size=3)
    q2.set_uncertainty("m1", np.linspace(0.0, 1.0, len(ids)))
    assert q2.representative == [] and q2.next_for("bo", "uncertain", now=0.0) == ids[-1]


def test_without_a_model_uncertain_starts_with_the_representative_batch(project: Project) -> None:
    ws = Workspace.open(project.root)
    assert ws.queue.uncertainty_model is None
    batch = ws.ensure_representative()
    assert len(batch) == min(COLD_START["size"], len(ws.sentence_ids)) and len(set(batch)) == len(batch)
    assert ws.ensure_representative() == batch  # computed once
    assert ws.next_for("sara", "uncertain", now=0.0) == batch[0]
    assert ws.next_for("omid", "uncertain", now=0.0) == batch[1]  # batch[0] is claimed by sara


def test_representation_falls_back_to_hashed_ngrams_without_the_embedding_package() -> None:
    # sys.modules[name] = None makes `import wordllama` raise ImportError, as if it were not installed
    code = textwrap.dedent("""
        import sys
        sys.modules["wordllama"] = None
        from train.active import representation_vectors, representative_picks
        X = representation_vectors(["one text", "another text", "a third"])
        print(type(X).__name__, X.shape)
        print(representative_picks(["same words"] * 4 + ["other"], size=2))
    """)
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=dict(os.environ), capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == [f"csr_matrix (3, {HASH_FEATURES})", "[0, 4]"]


def test_bench_queue_arm_starts_with_what_the_queue_serves(al_bench) -> None:  # noqa: ANN001
    texts = [f"{t} Report {i} from {city}." for i, (t, city) in enumerate(
        (t, c) for c in ("Basra", "Paris", "Lima", "Oslo", "Accra", "Hanoi") for t in SPORT + MARKETS + SPACE * 2)]
    assert len(texts) == 84
    picks = al_bench.queue_start(texts, COLD_START["size"], seed=0)
    assert len(set(picks)) == COLD_START["size"] == 50
    q = Queue([str(i) for i in range(len(texts))])
    assert [int(s) for s in q.set_representative(texts, **COLD_START)] == picks
    assert picks != list(range(50))  # not the first 50 in order


def test_annotate_page_without_a_model_serves_the_representative_batch(project: Project,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from conftest import card_data, card_send
    from streamlit.testing.v1 import AppTest

    from label_app.settings import Settings, save_settings

    save_settings(project, Settings(queue_order="uncertain"))
    monkeypatch.setenv("LABEL_APP_PROJECT", str(project.root))
    batch = Workspace.open(project.root, refresh=False).ensure_representative()
    at = AppTest.from_file(str(REPO / "label_app" / "app.py"), default_timeout=60)
    at.query_params["annotator"] = "sara"
    at.run()
    assert not at.exception
    assert card_data(at)["sentence_id"] == batch[0]
    assert ("No model trained yet: 'most uncertain first' starts with representative sentences (one from each "
            "group of similar sentences), then goes on as 'unlabelled first'.") in [c.value for c in at.caption]
    assert card_send(at, topic=["trade"], stance=["favor"])["sentence_id"] == batch[1]
