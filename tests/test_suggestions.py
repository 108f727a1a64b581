"""Suggestions in the app: stored pre-labels or on-demand predictions, the stance recomputed for the annotator's
topic, and the diverse, cached 'most uncertain first' queue order."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import card_data, card_send
from streamlit.testing.v1 import AppTest

from label_app import store
from label_app.corpus import save_into_seeds
from label_app.index import Entry
from label_app.project import Project
from label_app.queue import Queue
from label_app.schema import load_schema
from label_app.settings import Settings, save_settings
from label_app.suggest import Suggestion, chosen_topic, follow_stance, for_topic, predict
from label_app.workspace import Workspace

train = pytest.importorskip("train")
from train.prelabel import prelabel, read_prelabels  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
APP = str(REPO / "label_app" / "app.py")
NEW_ARTICLE = ("Iraqi Electricity Ministry Signs Gas Deal\n\n"
               "The two neighbours pledged to expand cooperation in every field, the Iranian president said.\n"
               "Iraq's electricity ministry signed a two-year contract on Sunday to keep importing Iranian gas for "
               "its power stations.\n"
               "Officials in Baghdad said the payments would go through an account at the Trade Bank of Iraq.\n")


def copy_shipped(root: Path) -> Project:
    """A project with the shipped schema, label log, versions and seed articles."""
    (root / "labels").mkdir(parents=True)
    for name in ("schema.toml", "labels.csv"):
        shutil.copy(REPO / "labels" / name, root / "labels" / name)
    shutil.copytree(REPO / "labels" / "versions", root / "labels" / "versions")
    (root / "seeds").mkdir()
    for f in sorted((REPO / "seeds").glob("*.txt")):
        shutil.copy(f, root / "seeds" / f.name)
    return Project.at(root)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The shipped project with a model trained by train.train_project (once for the module)."""
    project = copy_shipped(tmp_path_factory.mktemp("sugg") / "proj")
    train.train_project(project, progress=False)
    return project


@pytest.fixture
def project(trained: Project, tmp_path: Path) -> Project:
    shutil.copytree(trained.root, tmp_path / "proj")
    return Project.at(tmp_path / "proj")


@pytest.fixture(scope="module")
def model(trained: Project) -> Any:
    return train.load_current_model(trained, load_schema(trained.schema_path))


TEXT = "Iran and Iraq signed a new agreement on electricity exports on Monday."


# ---------------------------------------------------------------- pure: the stance for the annotator's topic


def test_stance_is_recomputed_for_the_chosen_topic(model: Any) -> None:
    base = predict(model, [TEXT])[0]
    other = next(t for t in ("security", "trade") if t != base.topic)
    sug = for_topic(model, TEXT, other, base)
    expected = model.predict([TEXT], topics=[other])[0]
    assert (sug.topic, sug.topic_prob) == (base.topic, base.topic_prob)  # the topic part stays the model's
    assert (sug.stance, sug.stance_prob, sug.stance_topic) == (expected.stance, expected.stance_prob, other)
    assert sug.stance_prob != base.stance_prob  # the stance model is conditioned on the topic
    assert sug.describe() == (f"topic {base.topic} ({base.topic_prob:.0%}) · stance {expected.stance} "
                              f"({expected.stance_prob:.0%}) given topic {other}")
    # accepting it keeps the annotator's topic
    assert sug.choices() == {"topic": [other], "stance": [expected.stance]}
    # the model's own topic: the suggestion is already conditioned on it
    assert for_topic(model, TEXT, base.topic, base) is base
    assert for_topic(model, TEXT, "", base) is base


def test_chosen_topic_and_follow_stance() -> None:
    assert chosen_topic(["energy"]) == "energy"
    assert chosen_topic([]) == chosen_topic(["energy", "trade"]) == ""
    sug = Suggestion("m1", "trade", 0.8, "against", 0.7, 0.4, stance_topic="energy")
    # a stance the app filled in follows the recomputed suggestion
    assert follow_stance(["favor"], ["favor"], sug) == (["against"], ["against"])
    # one the annotator chose (or cleared) stays
    assert follow_stance(["neutral"], ["favor"], sug) == (["neutral"], ["favor"])
    assert follow_stance([], ["favor"], sug) == ([], ["favor"])
    # hint mode: nothing was filled in
    assert follow_stance([], None, sug) == ([], None)


# ---------------------------------------------------------------- pure: the uncertainty queue order

DUPLICATE = "Iran and Iraq agreed again to raise trade to 20 billion dollars, the minister said."


def _queue_corpus() -> tuple[list[str], list[str], np.ndarray]:
    """30 near-identical most-uncertain sentences, then 70 different, less uncertain ones."""
    words = ("oil gas border pilgrims militia bank sanctions visit pipeline electricity water dam port rail "
             "wheat tourism students hospital").split()
    rng = np.random.RandomState(0)
    texts = [DUPLICATE.replace("minister", f"minister {i}") for i in range(30)]
    texts += [" ".join(rng.choice(words, 8)) + f" story {i}." for i in range(70)]
    u = np.concatenate([np.full(30, 0.9), np.linspace(0.8, 0.5, 70)])
    return [f"s{i:03d}" for i in range(100)], texts, u


def test_uncertain_order_keeps_batches_diverse() -> None:
    ids, texts, u = _queue_corpus()
    plain = Queue(ids)
    plain.set_uncertainty("m1", u)  # no texts: plain uncertainty order
    assert sum(int(p) < 30 for p in plain.perm["uncertain"][:20]) == 20
    q = Queue(ids)
    q.set_uncertainty("m1", u, texts, diversity=0.5, batch_size=20, step=40)
    first = q.perm["uncertain"][:20]
    assert int(first[0]) == 0  # the most uncertain sentence still comes first
    assert sum(int(p) < 30 for p in first) == 1  # not twenty near-identical sentences in a row
    assert q.next_for("ann", "uncertain") == "s000"


def test_uncertain_order_is_cached_and_extended_ahead() -> None:
    ids, texts, u = _queue_corpus()
    q = Queue(ids)
    q.set_uncertainty("m1", u, texts, diversity=0.5, batch_size=20, step=40)
    assert (q.diversified, q.diverse_end) == (1, 40)
    stretch = q.perm["uncertain"][:40].copy()
    served = []
    for _ in range(21):  # more than a batch of the stretch left: nothing is recomputed
        sid = q.next_for("ann", "uncertain")
        served.append(sid)
        q.apply([(sid, "ann", None, _entry(sid))])
    assert q.diversified == 1
    assert served == [ids[int(p)] for p in stretch[:21]]
    # one batch left: the next stretch is diversified, once; the first stretch does not move
    q.next_for("ann", "uncertain")
    assert (q.diversified, q.diverse_end) == (2, 80)
    assert list(q.perm["uncertain"][:40]) == list(stretch)
    assert sorted(q.perm["uncertain"].tolist()) == list(range(100))


def _entry(sid: str) -> Entry:
    return Entry(sentence_id=sid, annotator="ann", action="label", topic="trade", stance="", source="manual",
                 model_version="", timestamp="t", article_id="", text="")


def test_workspace_caches_predictions_per_model_id(project: Project, model: Any) -> None:
    save_into_seeds(project, "new article.txt", NEW_ARTICLE.encode())  # unlabelled sentences for the order
    ws = Workspace.open(project.root)
    frame = ws.ensure_predictions(model)
    assert ws.queue.uncertainty_model == model.model_id and ws.queue.diversified == 1
    sid = ws.next_for("sara", "uncertain")
    ws.save("sara", sid, topic="trade")
    assert ws.ensure_predictions(model) is frame and ws.queue.diversified == 1
    # a new model id replaces predictions, pre-labels and the order
    newer = train.train_project(project, progress=False)
    model2 = train.load_current_model(project, load_schema(project.schema_path))
    assert model2.model_id == newer.model_id != model.model_id
    ws.ensure_predictions(model2)
    assert list(ws.predictions) == [model2.model_id] and ws.queue.uncertainty_model == model2.model_id
    assert ws.suggestion(model2, sid).model_id == model2.model_id


# ---------------------------------------------------------------- the Annotate page


def open_annotate(project: Project, monkeypatch: pytest.MonkeyPatch, mode: str) -> AppTest:
    save_settings(project, Settings(suggestion_mode=mode))
    monkeypatch.setenv("LABEL_APP_PROJECT", str(project.root))
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["annotator"] = "sara"
    at.run()
    assert not at.exception
    return at


def _new_article_sentence(ws: Workspace, at: AppTest) -> tuple[str, str]:
    sid = card_data(at)["sentence_id"]
    assert ws.view(sid).source.endswith("new_article.txt")
    return sid, ws.view(sid).text


def test_unseen_sentence_gets_a_suggestion_and_its_stance_follows_the_topic(
        project: Project, model: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    prelabel(project)  # the seed articles' pre-labels; the new article comes after
    save_into_seeds(project, "new article.txt", NEW_ARTICLE.encode())
    at = open_annotate(project, monkeypatch, "hint")
    ws = Workspace.open(project.root)
    sid, text = _new_article_sentence(ws, at)  # every seed sentence is labelled: the queue is at the new one
    assert sid not in read_prelabels(project, model.model_id).index
    expected = predict(model, [text])[0]
    sug = card_data(at)["suggestion"]
    # marked on the option buttons with its confidence: the model's topic, and the stance given that topic
    assert (sug["model"], sug["topic"]) == (model.model_id, expected.topic)
    assert sug["topic_prob"] == pytest.approx(expected.topic_prob, abs=1e-4)
    assert sug["stance_by_topic"][""][0] == expected.stance
    # the stance for each topic the annotator may choose is there too, so the card follows the chosen topic
    # with no round trip; it never mixes the model's topic with the chosen one (the stance says which topic)
    other = next(t for t in ("security", "trade") if t != expected.topic)
    recomputed = for_topic(model, text, other, expected)
    assert recomputed.stance_topic == other
    stance, prob = sug["stance_by_topic"][other]
    assert (stance, prob) == (recomputed.stance, pytest.approx(recomputed.stance_prob, abs=1e-4))
    # Shift+Enter after choosing another topic: that topic and the stance suggested for it
    card_send(at, topic=[other], stance=[stance], accept=True)
    row = store.read_log(project).rows[-1]
    assert (row["sentence_id"], row["topic"], row["stance"]) == (sid, other, recomputed.stance)
    assert (row["source"], row["model_version"]) == ("suggestion-corrected", model.model_id)


def test_preselected_choices_and_the_stance_for_every_topic(
        project: Project, model: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    save_into_seeds(project, "new article.txt", NEW_ARTICLE.encode())
    at = open_annotate(project, monkeypatch, "preselect")
    ws = Workspace.open(project.root)
    _sid, text = _new_article_sentence(ws, at)
    base = predict(model, [text])[0]
    d = card_data(at)
    assert d["prefilled"] and d["selection"] == {"topic": [base.topic], "stance": [base.stance]}
    by_topic = d["suggestion"]["stance_by_topic"]
    assert set(by_topic) == {""} | set(ws.schema.topic.names)
    other = next(t for t in ("security", "trade") if t != base.topic)
    recomputed = for_topic(model, text, other, base)
    assert recomputed.stance != base.stance  # this sentence's stance depends on the topic (trained model)
    assert by_topic[other][0] == recomputed.stance
    # Enter on the untouched pre-selected choices is the explicit accept of this mode
    card_send(at, topic=[base.topic], stance=[base.stance], accept=True)
    row = store.read_log(project).rows[-1]
    assert (row["source"], row["model_version"]) == ("suggestion-accepted", model.model_id)


def test_uncertain_order_is_extended_in_the_background() -> None:
    ids, texts, u = _queue_corpus()
    q = Queue(ids, background=True)
    q.set_uncertainty("m1", u, texts, diversity=0.5, batch_size=10, step=40, pool_factor=5, selection="kmeans")
    assert (q.diversified, q.diverse_end) == (1, 40)  # the first stretch is there at once
    stretch = q.perm["uncertain"][:40].copy()
    served = []
    for _ in range(25):  # two batches before the end of the stretch the next one is started, not awaited
        sid = q.next_for("ann", "uncertain")
        served.append(sid)
        q.apply([(sid, "ann", None, _entry(sid))])
    q.wait_ahead(30)
    assert (q.diversified, q.diverse_end) == (2, 80)
    assert served == [ids[int(p)] for p in stretch[:25]]
    assert list(q.perm["uncertain"][:40]) == list(stretch)
    assert sorted(q.perm["uncertain"].tolist()) == list(range(100))
    # a stretch computed for an older order is dropped when the model changes meanwhile: holding the queue's
    # lock keeps the thread from putting its stretch in place until the new order is set
    q2 = Queue(ids, background=True)
    q2.set_uncertainty("m1", u, texts, diversity=0.5, batch_size=10, step=40, pool_factor=5, selection="kmeans")
    with q2._lock:
        for _ in range(22):
            sid = q2.next_for("ann", "uncertain")
            q2.apply([(sid, "ann", None, _entry(sid))])
        assert q2._ahead is not None and q2._ahead.is_alive()
        q2.set_uncertainty("m2", u[::-1].copy(), texts, diversity=0.5, batch_size=10, step=40, pool_factor=5,
                           selection="kmeans")
        new_order = q2.perm["uncertain"].copy()
    q2.wait_ahead(30)
    assert q2.uncertainty_model == "m2" and q2.diversified == 2 and q2.diverse_end == 40
    assert list(q2.perm["uncertain"]) == list(new_order)
