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

import io
import json
import os
from pathlib import Path
from typing import Any, NotRequired, TypedDict

import pandas as pd

from .errors import LabelAppError
from .files import write_atomic
from .project import Project
from .store import unguard_cell

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


class SelfTraining(TypedDict):
    """What self-training did for one task (metrics written before it existed lack the block; older blocks lack
    `reason` and the CV figures)."""

    tried: bool
    chosen: bool
    unlabelled_sentences: int
    reason: NotRequired[str | None]  # why it was not tried (None when it was)
    cv_plain: NotRequired[float]  # the selection score (macro-F1 or F_avg) without and with self-training
    cv_self_trained: NotRequired[float]


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
    chosen_features: NotRequired[str]  # the chosen family member, readable ("TF-IDF + wordllama embedding, ...")
    self_training: NotRequired[SelfTraining]
    cv: NotRequired[dict[str, Any]]  # folds, grouping and the selection measure ("... F_avg ..." or macro-F1)


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


# ---------------------------------------------------------------- prelabels/<model id>.csv

# Written by train.prelabel (one row per sentence, text cells guarded against spreadsheet formulas), read by
# the app's workspace (stored suggestions and the uncertain queue) through read_prelabels.
PRELABEL_COLUMNS = [
    "sentence_id", "article_id", "id", "text", "topic", "topic_prob", "stance", "stance_prob", "uncertainty",
    "model_id",
]
PRELABEL_HEADER = (",".join(PRELABEL_COLUMNS) + "\n").encode()
# columns that carry text a spreadsheet could take for a formula (guarded when written, unguarded when read)
PRELABEL_TEXT_COLUMNS = ("sentence_id", "article_id", "id", "text")
PRELABEL_PROB_COLUMNS = ("topic_prob", "stance_prob", "uncertainty")


class PrelabelRow(TypedDict):
    """One row of a pre-label file as read back (probabilities are floats, NaN where the task has none)."""

    sentence_id: str
    article_id: str  # "" for a row of a sentence file
    id: str  # the input's own id, if it had one
    text: str
    topic: str
    topic_prob: float
    stance: str
    stance_prob: float
    uncertainty: float  # in [0, 1]
    model_id: str


class PrelabelOutputError(ArtifactError):
    """A pre-label file cannot be used (another model's, foreign columns)."""


def prelabel_path(project: Project, model_id: str) -> Path:
    """Where pre-labels of a model are written by default: prelabels/<model id>.csv in the project."""
    return project.prelabels_dir / f"{model_id}.csv"


def prelabel_state_path(out: Path) -> Path:
    """The resume state beside a pre-label file (<output>.state.json: committed bytes, rows, progress)."""
    return out.with_name(out.name + ".state.json")


def read_prelabels(project: Project, model_id: str, path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Stored pre-labels of a model as a DataFrame of PrelabelRow columns, indexed by sentence_id (the last
    row per sentence wins); empty if there are none.

    Only committed rows are read (a torn chunk of a running or killed job is ignored). Raises
    PrelabelOutputError when the file does not start with PRELABEL_COLUMNS.
    """
    out = Path(path) if path is not None else prelabel_path(project, model_id)
    empty = pd.DataFrame(columns=PRELABEL_COLUMNS).set_index("sentence_id", drop=False)
    if not out.exists():
        return empty
    limit = None
    sp = prelabel_state_path(out)
    if sp.exists():
        try:
            limit = int(json.loads(sp.read_text("utf-8"))["committed_bytes"])
        except (OSError, ValueError, KeyError, TypeError):
            limit = None
    with open(out, "rb") as fh:
        data = fh.read(limit) if limit is not None else fh.read()
    if limit is None and not data.endswith(b"\n"):
        data = data[: data.rfind(b"\n") + 1]
    if not data.startswith(PRELABEL_HEADER):
        raise PrelabelOutputError(f"{out}: not a pre-label file (expected columns {', '.join(PRELABEL_COLUMNS)})")
    df = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, on_bad_lines="skip")
    if df.empty:
        return empty
    for col in PRELABEL_TEXT_COLUMNS:
        df[col] = df[col].map(unguard_cell)
    for col in PRELABEL_PROB_COLUMNS:
        df[col] = pd.to_numeric(df[col], errors="coerce")
    return df.drop_duplicates("sentence_id", keep="last").set_index("sentence_id", drop=False)
