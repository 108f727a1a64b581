"""Model metrics and learning curve as tidy frames for the Dashboard (read defensively: shapes may vary)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from .project import Project
from .suggest import read_json

TASKS = ("topic", "stance")


def model_dir(project: Project, model_id: str) -> Path:
    return project.models_dir / model_id


def load_metrics(project: Project, model_id: str) -> dict[str, Any] | None:
    data = read_json(model_dir(project, model_id) / "metrics.json")
    return data if isinstance(data, dict) else None


def _task_block(metrics: dict[str, Any], task: str) -> dict[str, Any]:
    block = metrics.get(task)
    if isinstance(block, dict):
        return block
    tasks = metrics.get("tasks")
    if isinstance(tasks, dict) and isinstance(tasks.get(task), dict):
        return tasks[task]
    return {}


def per_class_frame(metrics: dict[str, Any]) -> pd.DataFrame:
    """task, label, metric (precision/recall/f1), value."""
    rows = []
    for task in TASKS:
        block = _task_block(metrics, task)
        per = block.get("per_class") or block.get("per_label") or block.get("classes") or {}
        if isinstance(per, list):
            per = {d.get("label", str(i)): d for i, d in enumerate(per) if isinstance(d, dict)}
        for label, scores in per.items() if isinstance(per, dict) else []:
            if not isinstance(scores, dict):
                continue
            for m in ("precision", "recall", "f1"):
                v = scores.get(m, scores.get(f"{m}-score"))
                if isinstance(v, int | float):
                    rows.append((task, str(label), m, float(v)))
    return pd.DataFrame(rows, columns=["task", "label", "metric", "value"])


def macro_f1(metrics: dict[str, Any], task: str) -> float | None:
    v = _task_block(metrics, task).get("macro_f1")
    return float(v) if isinstance(v, int | float) else None


def confusion_frame(metrics: dict[str, Any], task: str) -> pd.DataFrame:
    """true, predicted, count for one task."""
    block = _task_block(metrics, task)
    cm = block.get("confusion_matrix") or block.get("confusion")
    labels = block.get("labels")
    matrix = cm
    if isinstance(cm, dict):
        labels = cm.get("labels", labels)
        matrix = cm.get("matrix") or cm.get("counts") or cm.get("values")
    rows = []
    if isinstance(matrix, list) and isinstance(labels, list):
        for i, row in enumerate(matrix):
            for j, n in enumerate(row if isinstance(row, list) else []):
                if i < len(labels) and j < len(labels):
                    rows.append((str(labels[i]), str(labels[j]), int(n)))
    return pd.DataFrame(rows, columns=["true", "predicted", "count"])


def learning_curve_frame(data: Any) -> pd.DataFrame:
    """task, train_size, score from a learning-curve file ({task: [{n, score}...]} or a list of points)."""
    rows = []

    def points(task: str, pts: Any) -> None:
        for p in pts if isinstance(pts, list) else []:
            if not isinstance(p, dict):
                continue
            n = p.get("train_size", p.get("n", p.get("size")))
            s = p.get("macro_f1", p.get("score", p.get("f1")))
            if isinstance(n, int | float) and isinstance(s, int | float):
                rows.append((p.get("task", task), int(n), float(s)))

    if isinstance(data, dict):
        if "points" in data:
            points("", data["points"])
        for task in TASKS:
            block = data.get(task)
            points(task, block.get("points") if isinstance(block, dict) else block)
    else:
        points("", data)
    return pd.DataFrame(rows, columns=["task", "train_size", "score"])
