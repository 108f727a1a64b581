"""Training loop: features, cross-validated model selection, evaluation, registry and pre-labeling."""

from label_app.artifacts import CURVE_CHART_FILE, CURVE_FILE, ERRORS_FILE

from .data import TaskData, gold_labels
from .fitting import TrainConfig
from .model import Prediction, TrainedModel
from .registry import (
    ModelNotFound,
    ModelRefused,
    artifact_path,
    current_model_id,
    list_models,
    load_current_model,
    load_model,
    read_metrics,
)
from .training import (
    NothingToTrain,
    TrainResult,
    evaluate_model,
    find_label_errors,
    learning_curve,
    train_project,
)

__all__ = [
    "CURVE_CHART_FILE", "CURVE_FILE", "ERRORS_FILE", "ModelNotFound", "ModelRefused", "NothingToTrain",
    "Prediction", "TaskData", "TrainConfig", "TrainResult", "TrainedModel", "artifact_path", "current_model_id",
    "evaluate_model", "find_label_errors", "gold_labels", "learning_curve", "list_models", "load_current_model",
    "load_model", "read_metrics", "train_project",
]
