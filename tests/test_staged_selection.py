"""Staged model selection on large label sets: the family's members are compared at the first C value, then
only the best member's other C values are tried; the scores of what is tried are those of the full grid."""

from __future__ import annotations

import numpy as np

from train.data import TaskData
from train.fitting import TrainConfig, fit_task, variant_key

WORDS = {
    "sport": ["match", "goal", "team", "coach", "league", "season"],
    "econ": ["market", "bank", "shares", "profit", "trade", "rates"],
    "tech": ["software", "chip", "phone", "internet", "robot", "data"],
}


def _data(n: int = 90, seed: int = 0) -> tuple[TaskData, list[str]]:
    rng = np.random.default_rng(seed)
    labels, texts, topics = [], [], []
    for i in range(n):
        lab = list(WORDS)[i % 3]
        own = rng.choice(WORDS[lab], size=3).tolist()
        noise = rng.choice([w for v in WORDS.values() for w in v], size=2).tolist()
        texts.append(" ".join(own + noise + [f"w{rng.integers(20)}"]))
        labels.append(lab)
        topics.append(["t1", "t2"][i % 2])
    ids = [f"s{i:03d}" for i in range(n)]
    groups = [f"a{i // 3}" for i in range(n)]
    return TaskData("stance", ids, groups, texts, labels, ["1/1"] * n), topics


def _config(**kw: object) -> TrainConfig:
    return TrainConfig(feature_sets=("tfidf",), c_values=(0.3, 1.0, 3.0), n_jobs=1, **kw)


def test_staged_selection_tries_every_member_at_the_first_c_then_the_best_members_other_cs() -> None:
    data, topics = _data()
    staged = fit_task(data, sorted(WORDS), _config(staged_from=10), topics=topics, final_fit=False).metrics
    full = fit_task(data, sorted(WORDS), _config(staged_from=10**9), topics=topics, final_fit=False).metrics
    assert staged["cv"]["staged"] is True and full["cv"]["staged"] is False
    assert "C=0.3" in staged["cv"]["staged_note"]
    assert len(full["grid"]) == 6
    first = [g for g in staged["grid"] if g["params"]["C"] == 0.3]
    assert [variant_key(g["params"]) for g in first] == [("tfidf", "pooled"), ("tfidf", "per_topic")]
    lead = max(range(len(first)), key=lambda i: (first[i]["macro_f1"], -i))
    rest = [g for g in staged["grid"] if g["params"]["C"] != 0.3]
    assert [g["params"]["C"] for g in rest] == [1.0, 3.0]
    assert {variant_key(g["params"]) for g in rest} == {variant_key(first[lead]["params"])}
    # what is tried scores exactly as in the full grid, and the chosen setting is the best tried
    full_scores = {tuple(sorted(g["params"].items())): g["macro_f1"] for g in full["grid"]}
    for g in staged["grid"]:
        assert g["macro_f1"] == full_scores[tuple(sorted(g["params"].items()))]
    assert staged["macro_f1"] == max(g["macro_f1"] for g in staged["grid"])
    # the family table lists every member, each with the best C tried for it
    assert [(f["features"], f["topic_mode"]) for f in staged["family"]] == [("tfidf", "pooled"),
                                                                          ("tfidf", "per_topic")]


def test_below_the_threshold_every_member_and_c_is_tried() -> None:
    data, topics = _data()
    m = fit_task(data, sorted(WORDS), _config(), topics=topics, final_fit=False).metrics
    assert m["cv"]["staged"] is False and "staged_note" not in m["cv"] and len(m["grid"]) == 6
