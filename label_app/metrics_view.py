"""The current model's metrics and learning curve as tidy frames for the Dashboard.

The files are read through label_app.artifacts, the one definition `python -m train` writes them by.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from train.report import self_training_text

from . import artifacts
from .artifacts import LearningCurve, Metrics
from .project import Project


def model_dir(project: Project, model_id: str) -> Path:
    """`models/<model_id>/` of the project."""
    return artifacts.model_folder(project, model_id)


def load_metrics(project: Project, model_id: str) -> Metrics | None:
    """models/<id>/metrics.json; None when missing, ArtifactError when it has another shape."""
    return artifacts.read_metrics(model_dir(project, model_id) / artifacts.METRICS_FILE)


def load_curve(project: Project, model_id: str) -> LearningCurve | None:
    """models/<id>/learning_curve.json (`python -m train curve`); None when not computed yet."""
    return artifacts.read_learning_curve(model_dir(project, model_id) / artifacts.CURVE_FILE)


def per_class_frame(metrics: Metrics) -> pd.DataFrame:
    """task, label, metric (precision/recall/f1), value: the cross-validated per-class scores."""
    rows = [(task, label, m, float(scores[m]))  # type: ignore[literal-required]
            for task, block in metrics["tasks"].items() if block["trained"]
            for label, scores in block["per_class"].items() for m in ("precision", "recall", "f1")]
    return pd.DataFrame(rows, columns=["task", "label", "metric", "value"])


def macro_f1(metrics: Metrics, task: str) -> float | None:
    """The task's cross-validated macro-F1, or None when the task was not trained."""
    block = metrics["tasks"].get(task)
    return float(block["macro_f1"]) if block and block["trained"] else None


def model_choice(metrics: Metrics, task: str) -> list[str]:
    """Lines for people on how the task's model was chosen, from metrics.json: "Chosen: <family member>" and
    "Self-training: ..." (tried on how many unlabelled sentences and whether it won, or why it was not tried);
    a line is left out when the metrics predate what it reports; a task that was not trained gives the
    reason it was skipped."""
    block = metrics["tasks"].get(task)
    if not block:
        return []
    if not block["trained"]:
        return [f"Not trained: {block['skipped']}"] if block.get("skipped") else []
    lines = []
    if block.get("chosen_features"):
        lines.append(f"Chosen: {block['chosen_features']}")
    if (st := self_training_text(block)) is not None:  # the words of the training report and model card
        lines.append(f"Self-training: {st}")
    return lines


def confusion_frame(metrics: Metrics, task: str) -> pd.DataFrame:
    """true, predicted, count for one task (rows gold, columns predicted in metrics.json)."""
    block = metrics["tasks"].get(task)
    if not block or not block["trained"]:
        return pd.DataFrame(columns=["true", "predicted", "count"])
    labels, matrix = block["confusion"]["labels"], block["confusion"]["matrix"]
    rows = [(labels[i], labels[j], int(n)) for i, row in enumerate(matrix) for j, n in enumerate(row)]
    return pd.DataFrame(rows, columns=["true", "predicted", "count"])


def learning_curve_frame(curve: LearningCurve) -> pd.DataFrame:
    """task, n_train, macro_f1, ... one row per point (artifacts.CURVE_COLUMNS)."""
    return artifacts.curve_frame(curve)
