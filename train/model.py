"""A trained model: one calibrated linear classifier per task; stance conditioned on the topic."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from .active import joint_uncertainty
from .features import TextFeatures
from .metrics import softmax

# Score given to a class a fold's classifier never saw, so its probability is ~0 but finite.
UNSEEN_SCORE = -50.0


def decision_scores(clf: Any, X: sp.spmatrix, classes: Sequence[str]) -> np.ndarray:
    """Decision scores as an (n, len(classes)) array in `classes` order, whatever the classifier saw."""
    n = X.shape[0]
    out = np.full((n, len(classes)), UNSEEN_SCORE)
    seen = list(clf.classes_)
    raw = clf.decision_function(X)
    if raw.ndim == 1:
        # Binary: the score is for classes_[1]; +-s/2 makes softmax equal to the logistic sigmoid of s.
        raw = np.column_stack([-raw / 2, raw / 2])
    pos = {c: i for i, c in enumerate(classes)}
    for j, c in enumerate(seen):
        out[:, pos[c]] = raw[:, j]
    return out


@dataclass
class TaskModel:
    """Features, classifier and calibration temperature of one task."""

    task: str
    classes: list[str]
    features: TextFeatures
    clf: Any
    temperature: float
    params: dict[str, Any]

    @property
    def uses_topic(self) -> bool:
        return self.features.uses_topic

    def scores(self, texts: Sequence[str], topics: Sequence[str | None] | None = None) -> np.ndarray:
        return decision_scores(self.clf, self.features.transform(texts, topics), self.classes)

    def proba(self, texts: Sequence[str], topics: Sequence[str | None] | None = None) -> np.ndarray:
        """Calibrated class probabilities, columns in `classes` order."""
        return softmax(self.scores(texts, topics), self.temperature)


@dataclass
class Prediction:
    """A suggestion for one sentence. Probabilities are calibrated (temperature-scaled).

    `uncertainty` = 1 - (product over the trained tasks of the margin p1 - p2 between the two most likely
    labels), train.active.joint_uncertainty: 0 when every task is sure, 1 when any task has a tie at the top.
    Margin rather than 1 - p1 because it measures how close the decision is (it orders the "most uncertain
    first" queue; see bench/active_learning).
    """

    topic: str | None
    topic_prob: float | None
    stance: str | None
    stance_prob: float | None
    topic_probs: dict[str, float] = field(default_factory=dict)
    stance_probs: dict[str, float] = field(default_factory=dict)
    uncertainty: float = 1.0
    stance_topic: str | None = None  # the topic the stance was conditioned on (given or predicted)


@dataclass
class TrainedModel:
    """Everything `python -m train` saves in model.joblib; load it only through train.load_model."""

    model_id: str
    labels_version: int
    labels_sha256: str
    schema_fingerprint: str
    sklearn_version: str
    models: dict[str, TaskModel]
    config: dict[str, Any]
    train_sentence_ids: dict[str, list[str]] = field(default_factory=dict)

    @property
    def tasks(self) -> set[str]:
        return set(self.models)

    @property
    def labels(self) -> dict[str, list[str]]:
        """The classes each trained task can predict."""
        return {t: list(m.classes) for t, m in self.models.items()}

    def predict_proba(self, texts: Sequence[str], topics: Sequence[str | None] | None = None
                      ) -> tuple[np.ndarray | None, np.ndarray | None, list[str | None]]:
        """(topic probs, stance probs, topics the stance was conditioned on); None for untrained tasks."""
        texts = list(texts)
        n = len(texts)
        if topics is not None and len(topics) != n:
            raise ValueError(f"{len(topics)} topics for {n} texts")
        given = list(topics) if topics is not None else [None] * n
        tp = self.models["topic"].proba(texts) if "topic" in self.models else None
        cond: list[str | None] = list(given)
        if tp is not None:
            classes = self.models["topic"].classes
            best = tp.argmax(axis=1)
            cond = [g if g else classes[b] for g, b in zip(given, best, strict=True)]
        sp_ = self.models["stance"].proba(texts, cond) if "stance" in self.models else None
        return tp, sp_, cond

    def predict(self, texts: Sequence[str], topics: Sequence[str | None] | None = None) -> list[Prediction]:
        """Suggestions for `texts`; stance uses topics[i] when given, else the predicted topic."""
        texts = list(texts)
        if not texts:
            return []
        tp, sp_, cond = self.predict_proba(texts, topics)
        out: list[Prediction] = []
        tclasses = self.models["topic"].classes if tp is not None else []
        sclasses = self.models["stance"].classes if sp_ is not None else []
        unc = joint_uncertainty(tp, sp_)
        for i in range(len(texts)):
            topic = stance = None
            t_prob = s_prob = None
            t_probs: dict[str, float] = {}
            s_probs: dict[str, float] = {}
            if tp is not None:
                j = int(tp[i].argmax())
                topic, t_prob = tclasses[j], float(tp[i, j])
                t_probs = {c: float(p) for c, p in zip(tclasses, tp[i], strict=True)}
            if sp_ is not None:
                j = int(sp_[i].argmax())
                stance, s_prob = sclasses[j], float(sp_[i, j])
                s_probs = {c: float(p) for c, p in zip(sclasses, sp_[i], strict=True)}
            out.append(Prediction(topic, t_prob, stance, s_prob, t_probs, s_probs,
                                  float(unc[i]) if len(unc) else 0.0, cond[i]))
        return out
