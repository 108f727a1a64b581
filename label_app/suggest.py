"""Model suggestions for the app: a thin, guarded bridge to `train` (absent or untrained -> no suggestions)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .project import Project
from .schema import Schema


@dataclass(frozen=True)
class Suggestion:
    """The current model's guess for one sentence."""

    model_id: str
    topic: str
    topic_prob: float
    stance: str
    stance_prob: float
    uncertainty: float

    def describe(self) -> str:
        parts = []
        if self.topic:
            parts.append(f"topic {self.topic} ({self.topic_prob:.0%})")
        if self.stance:
            parts.append(f"stance {self.stance} ({self.stance_prob:.0%})")
        return " · ".join(parts)


def model_stamp(project: Project) -> str:
    """Changes whenever a model is trained or the current one is switched (cheap: a few stat calls)."""
    root = project.models_dir
    try:
        parts = [str(root.stat().st_mtime_ns)]
    except FileNotFoundError:
        return "none"
    for p in sorted(root.iterdir()):
        if p.is_file():
            st = p.stat()
            parts.append(f"{p.name}:{st.st_mtime_ns}:{st.st_size}")
    return "|".join(parts)


def load_model(project: Project, schema: Schema) -> Any | None:
    """The current trained model, or None when `train` is missing or nothing is trained yet.

    A refused model (schema mismatch, tampered file) raises the LabelAppError from `train`.
    """
    try:
        import train
    except ImportError:
        return None
    loader = getattr(train, "load_current_model", None)
    if loader is None:
        try:
            from train.registry import load_current_model as loader
        except ImportError:
            return None
    return loader(project, schema)


def to_suggestion(model_id: str, pred: Any) -> Suggestion:
    return Suggestion(model_id, pred.topic or "", float(pred.topic_prob or 0.0), pred.stance or "",
                      float(pred.stance_prob or 0.0), float(pred.uncertainty or 0.0))


def predict(model: Any, texts: list[str]) -> list[Suggestion]:
    """Suggestions for many texts (one model call)."""
    if not texts:
        return []
    return [to_suggestion(model.model_id, p) for p in model.predict(texts)]


def read_json(path: Path) -> Any | None:
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
