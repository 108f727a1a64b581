"""Scores: per-class precision/recall/F1, macro-F1, accuracy, confusion matrix; calibration (ECE, Brier)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

ECE_BINS = 10


def label_order(y_true: Sequence[str], y_pred: Sequence[str], names: Sequence[str]) -> list[str]:
    """Labels seen in gold or predictions, in schema order (the labels scikit-learn's macro average uses)."""
    seen = set(y_true) | set(y_pred)
    return [n for n in names if n in seen] + sorted(seen - set(names))


def classification_report(y_true: Sequence[str], y_pred: Sequence[str], names: Sequence[str]) -> dict[str, Any]:
    """Per-class precision/recall/F1/support, macro-F1, accuracy, confusion matrix (rows: gold) and counts."""
    labels = label_order(y_true, y_pred, names)
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    counts = Counter(y_true)
    return {
        "per_class": {
            lab: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
            for i, lab in enumerate(labels)
        },
        "macro_f1": float(np.mean(f)) if len(f) else 0.0,
        "accuracy": float(accuracy_score(y_true, y_pred)) if len(y_true) else 0.0,
        "confusion": {"labels": labels,
                      "matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist() if labels else []},
        "class_counts": {n: int(counts.get(n, 0)) for n in names},
        "n": len(y_true),
    }


def softmax(scores: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = scores / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def expected_calibration_error(probs: np.ndarray, y_idx: np.ndarray, bins: int = ECE_BINS) -> float:
    """Top-label ECE: |accuracy - confidence| per equal-width confidence bin, weighted by bin size."""
    if len(y_idx) == 0:
        return 0.0
    conf = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == y_idx).astype(float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        m = which == b
        if m.any():
            ece += m.mean() * abs(correct[m].mean() - conf[m].mean())
    return float(ece)


def brier_score(probs: np.ndarray, y_idx: np.ndarray) -> float:
    """Multi-class Brier score: mean over sentences of the squared distance to the one-hot gold label."""
    if len(y_idx) == 0:
        return 0.0
    onehot = np.zeros_like(probs)
    onehot[np.arange(len(y_idx)), y_idx] = 1.0
    return float(((probs - onehot) ** 2).sum(axis=1).mean())


def fit_temperature(scores: np.ndarray, y_idx: np.ndarray) -> float:
    """The temperature T minimising the log loss of softmax(scores / T) (argmax, so accuracy, is unchanged)."""
    if len(y_idx) == 0:
        return 1.0
    rows = np.arange(len(y_idx))

    def nll(log_t: float) -> float:
        p = softmax(scores, float(np.exp(log_t)))[rows, y_idx]
        return float(-np.log(np.clip(p, 1e-12, None)).mean())

    res = minimize_scalar(nll, bounds=(np.log(0.01), np.log(100.0)), method="bounded",
                          options={"xatol": 1e-4})
    return float(np.exp(res.x))
