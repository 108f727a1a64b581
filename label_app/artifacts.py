"""The files `python -m train` writes into a model's folder and the app reads: one definition each.

`train` imports these shapes to write the files; the Dashboard and Review pages read them through the readers
here. So a key renamed on one side is renamed on the other, and a test that renders the pages from a real
`python -m train` run sees it. (This module belongs to the app's core: it imports nothing from `train`.)

Files, all in `models/<model id>/`:

* `metrics.json` (`Metrics`): written by `python -m train`; per task the cross-validated scores.
* `learning_curve.json` (`LearningCurve`): written by `python -m train curve`.
* `label_errors.csv` (columns `LABEL_ERROR_COLUMNS`): written by `python -m train errors`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NotRequired, TypedDict

import pandas as pd

from .errors import LabelAppError
from .files import write_atomic
from .project import Project

METRICS_FILE = "metrics.json"
CURVE_FILE = "learning_curve.json"
CURVE_CHART_FILE = "learning_curve.vl.json"
ERRORS_FILE = "label_errors.csv"
POINTER_FILE = "current.json"


class ArtifactError(LabelAppError):
    """A model file exists but is not what `python -m train` writes (names the file and what is wrong)."""


# ---------------------------------------------------------------- metrics.json

class ClassScores(TypedDict):
    precision: float
    recall: float
    f1: float
    support: int


class Confusion(TypedDict):
    labels: list[str]
    matrix: list[list[int]]  # rows: gold label, columns: predicted label, in `labels` order


class TaskMetrics(TypedDict):
    """One task in metrics.json; a skipped task has `trained` False, `skipped` and the counts only."""

    trained: bool
    n_sentences: int
    n_ties: int
    class_counts: dict[str, int]
    skipped: NotRequired[str]
    macro_f1: NotRequired[float]
    accuracy: NotRequired[float]
    per_class: NotRequired[dict[str, ClassScores]]
    confusion: NotRequired[Confusion]
    calibration: NotRequired[dict[str, float]]


class Metrics(TypedDict):
    """metrics.json (cross-validated, folds grouped by article); more keys (config, versions) may follow."""

    model_id: str
    labels_version: int
    labels_rows: int
    created: str  # UTC ISO 8601
    tasks: dict[str, TaskMetrics]


# ---------------------------------------------------------------- learning_curve.json

class CurvePoint(TypedDict):
    fraction: float  # share of each fold's training part used (0-1]
    n_train: float  # mean number of training labels over the folds
    macro_f1: float  # pooled out-of-fold macro-F1
    accuracy: float


class CurveTask(TypedDict):
    """One task of a learning curve; a task that could not be run has only `skipped`."""

    points: NotRequired[list[CurvePoint]]
    folds: NotRequired[int]
    grouped_by: NotRequired[str]
    n_sentences: NotRequired[int]
    params: NotRequired[dict[str, Any]]
    skipped: NotRequired[str]


class LearningCurve(TypedDict):
    model_id: str
    labels_version: int
    fractions: list[float]
    metric: str
    tasks: dict[str, CurveTask]


CURVE_COLUMNS = ["task", "fraction", "n_train", "macro_f1", "accuracy"]

# ---------------------------------------------------------------- label_errors.csv

LABEL_ERROR_COLUMNS = ["rank", "task", "sentence_id", "article_id", "text", "gold", "predicted", "p_predicted",
                       "p_gold", "margin", "votes", "labels_version", "model_id"]


# ---------------------------------------------------------------- paths and readers

def model_folder(project: Project, model_id: str) -> Path:
    """`models/<model_id>/` (the id is not checked here: callers pass ids read from the registry)."""
    return project.models_dir / model_id


def current_model_id(project: Project) -> str | None:
    """The id in models/current.json, or None when there is none or it is unreadable (the pages then show no
    model figures; loading a model goes through train's checked loader, never through this)."""
    try:
        data = json.loads((project.models_dir / POINTER_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    model_id = data.get("model_id") if isinstance(data, dict) else None
    return model_id if isinstance(model_id, str) and "/" not in model_id and model_id not in ("", ".", "..") \
        else None


def _read_json(path: Path) -> Any | None:
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ArtifactError(f"{path}: unreadable: {exc}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ArtifactError(f"{path}: not valid JSON ({exc}); rerun the `python -m train` command that "
                            "writes it") from None


def _require(path: Path, obj: Any, keys: tuple[str, ...], where: str = "") -> None:
    if not isinstance(obj, dict):
        raise ArtifactError(f"{path}: {where or 'top level'} is not an object")
    missing = [k for k in keys if k not in obj]
    if missing:
        raise ArtifactError(f"{path}: {where + ': ' if where else ''}missing {', '.join(missing)} (not written by "
                            "this version of `python -m train`; rerun it)")


def read_metrics(path: Path) -> Metrics | None:
    """metrics.json as written by `python -m train`; None if the file does not exist, ArtifactError naming the
    file and key if it has another shape."""
    data = _read_json(path)
    if data is None:
        return None
    _require(path, data, ("labels_version", "tasks"))
    for task, block in data["tasks"].items():
        _require(path, block, ("trained",), f"tasks.{task}")
        if block["trained"]:
            _require(path, block, ("macro_f1", "accuracy", "per_class", "confusion"), f"tasks.{task}")
    return data  # type: ignore[no-any-return]


def read_learning_curve(path: Path) -> LearningCurve | None:
    """learning_curve.json as written by `python -m train curve`; None if the file does not exist,
    ArtifactError naming the file and key if it has another shape."""
    data = _read_json(path)
    if data is None:
        return None
    _require(path, data, ("model_id", "labels_version", "tasks"))
    for task, block in data["tasks"].items():
        if not isinstance(block, dict) or "skipped" in block:
            continue
        _require(path, block, ("points",), f"tasks.{task}")
        for i, p in enumerate(block["points"]):
            _require(path, p, tuple(CurvePoint.__annotations__), f"tasks.{task}.points[{i}]")
    return data  # type: ignore[no-any-return]


def curve_frame(curve: LearningCurve) -> pd.DataFrame:
    """One row per task and point: columns CURVE_COLUMNS (skipped tasks have no rows)."""
    rows = [(task, float(p["fraction"]), float(p["n_train"]), float(p["macro_f1"]), float(p["accuracy"]))
            for task, block in curve["tasks"].items() for p in block.get("points", [])]
    return pd.DataFrame(rows, columns=CURVE_COLUMNS)


def write_json(path: Path, data: Metrics | LearningCurve) -> None:
    """Write a metrics or learning-curve file (UTF-8, indented), replacing it atomically."""
    write_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
