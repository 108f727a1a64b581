"""Model suggestions for the app: a thin bridge to `train` (nothing trained yet -> no suggestions)."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import train
from train import TrainedModel

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
    # the annotator's topic the stance was recomputed for ('' = conditioned on the model's own topic)
    stance_topic: str = ""

    def describe(self) -> str:
        parts = []
        if self.topic:
            parts.append(f"topic {self.topic} ({self.topic_prob:.0%})")
        if self.stance:
            given = f" given topic {self.stance_topic}" if self.stance_topic else ""
            parts.append(f"stance {self.stance} ({self.stance_prob:.0%}){given}")
        return " · ".join(parts)

    def choices(self) -> dict[str, list[str]]:
        """The selection that accepting it makes: the annotator's topic when the stance was recomputed for it."""
        topic = self.stance_topic or self.topic
        return {"topic": [topic] if topic else [], "stance": [self.stance] if self.stance else []}


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


def load_model(project: Project, schema: Schema) -> TrainedModel | None:
    """The current trained model (train.registry), or None when nothing is trained yet.

    A refused model (schema mismatch, tampered file) raises the LabelAppError from `train`.
    """
    return train.load_current_model(project, schema)


def to_suggestion(model_id: str, pred: Any) -> Suggestion:
    return Suggestion(model_id, pred.topic or "", float(pred.topic_prob or 0.0), pred.stance or "",
                      float(pred.stance_prob or 0.0), float(pred.uncertainty or 0.0))


def predict(model: Any, texts: list[str]) -> list[Suggestion]:
    """Suggestions for many texts (one model call)."""
    if not texts:
        return []
    return [to_suggestion(model.model_id, p) for p in model.predict(texts)]


def chosen_topic(selected: list[str]) -> str:
    """The topic to condition the stance on: the annotator's single chosen topic, else ''."""
    return selected[0] if len(selected) == 1 else ""


def for_topic(model: Any, text: str, topic: str, base: Suggestion) -> Suggestion:
    """`base` with its stance recomputed for `topic` (the annotator's choice); the topic part stays the model's.

    The stance model is conditioned on a topic, so once the annotator has said what the sentence is about, the
    stance suggestion should be the one for that topic, not for the model's guess.
    """
    if not topic or topic == base.topic or not base.stance:
        # base is already conditioned on the model's own topic, or there is no stance model
        return base
    pred = model.predict([text], topics=[topic])[0]
    if not pred.stance:
        return base
    return replace(base, stance=pred.stance, stance_prob=float(pred.stance_prob or 0.0), stance_topic=topic)


def follow_stance(selected: list[str], auto: list[str] | None, sug: Suggestion | None) -> tuple[list[str], list[str] | None]:
    """Pre-selected mode: (stance selection, what was auto-filled) after the suggestion changed.

    A stance the app filled in follows the recomputed suggestion; one the annotator chose is never replaced.
    """
    if sug is None or auto is None or selected != auto:
        return selected, auto
    new = [sug.stance] if sug.stance else []
    return new, new


def read_json(path: Path) -> Any | None:
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
