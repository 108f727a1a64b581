"""Training in worker processes (forked from the training process where the OS can fork: train.forking) gives
exactly what training in one process gives: the same cross-validation scores, choice, calibration and final
classifier, with the embedding computed in a worker beside the TF-IDF features."""

from __future__ import annotations

import numpy as np

from train.data import TaskData
from train.fitting import TrainConfig, fit_task
from train.forking import can_fork

WORDS = {
    "sport": ["match", "goal", "team", "coach", "league", "season"],
    "econ": ["market", "bank", "shares", "profit", "trade", "rates"],
    "tech": ["software", "chip", "phone", "internet", "robot", "data"],
}


def _data(n: int = 120, seed: int = 1) -> TaskData:
    rng = np.random.default_rng(seed)
    labels, texts = [], []
    for i in range(n):
        lab = list(WORDS)[i % 3]
        own = rng.choice(WORDS[lab], size=3).tolist()
        noise = rng.choice([w for v in WORDS.values() for w in v], size=3).tolist()
        texts.append(" ".join(own + noise + [f"w{rng.integers(30)}"]) + ".")
        labels.append(lab)
    return TaskData("topic", [f"s{i:03d}" for i in range(n)], [f"a{i // 4}" for i in range(n)], texts, labels,
                    ["1/1"] * n)


def test_forked_fits_and_features_equal_one_process() -> None:
    data = _data()
    # parallel_from lowered so that 120 sentences go to worker processes (the default starts at 2,000).
    one = fit_task(data, sorted(WORDS), TrainConfig(n_jobs=1))
    two = fit_task(data, sorted(WORDS), TrainConfig(n_jobs=2, parallel_from=10))
    assert can_fork()  # Linux: the workers above were forked
    assert [g["macro_f1"] for g in two.metrics["grid"]] == [g["macro_f1"] for g in one.metrics["grid"]]
    assert {g["params"]["features"] for g in one.metrics["grid"]} == {"tfidf", "both", "embedding"}
    assert two.metrics["chosen"] == one.metrics["chosen"]
    assert two.model.temperature == one.model.temperature
    assert np.array_equal(two.oof_probs, one.oof_probs)
    assert np.array_equal(two.model.clf.coef_, one.model.clf.coef_)
    assert np.array_equal(two.model.clf.intercept_, one.model.clf.intercept_)
    texts = ["the coach praised the team", "bank shares and rates", "a new phone chip"]
    assert np.array_equal(two.model.proba(texts), one.model.proba(texts))
