"""Project settings for the app (labels/settings.json): suggestion mode, queue order, overlap, leases.

The file may hold keys owned by other parts (e.g. `spacy_model` for ingestion); saving keeps them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import Any

from .errors import LabelAppError
from .files import write_atomic
from .project import Project

# preselect: the suggestion fills the choices; hint: shown beside them; hidden: never shown (no anchoring bias)
SUGGESTION_MODES = ("preselect", "hint", "hidden")
SUGGESTION_MODE_TEXT = {
    "preselect": "pre-selected (the suggestion fills the choices; Enter accepts it)",
    "hint": "shown as a hint (choices start empty; Shift+Enter accepts the suggestion)",
    "hidden": "hidden (annotators never see model suggestions)",
}
QUEUE_ORDERS = ("article", "unlabelled", "uncertain")
QUEUE_ORDER_TEXT = {
    "article": "article order (every sentence this annotator has not handled yet)",
    "unlabelled": "unlabelled first (sentences that still need an annotator, then, without overlap, the rest)",
    "uncertain": "most uncertain first (by the current model; without one, representative sentences first)",
}


@dataclass
class Settings:
    """What the lead engineer chooses for the whole project."""

    suggestion_mode: str = "hint"
    queue_order: str = "unlabelled"
    # how many distinct annotators label each sentence of the overlapped share; 1 = no overlap
    overlap: int = 1
    # the share of sentences (0-1, picked by a hash of the sentence id) that get `overlap` annotators
    overlap_share: float = 1.0
    # how long a sentence shown to one annotator is kept from the others
    lease_minutes: float = 15.0


def _check(s: Settings) -> list[str]:
    problems = []
    if s.suggestion_mode not in SUGGESTION_MODES:
        problems.append(f"suggestion_mode {s.suggestion_mode!r} (use {', '.join(SUGGESTION_MODES)})")
    if s.queue_order not in QUEUE_ORDERS:
        problems.append(f"queue_order {s.queue_order!r} (use {', '.join(QUEUE_ORDERS)})")
    if not isinstance(s.overlap, int) or isinstance(s.overlap, bool) or not 1 <= s.overlap <= 20:
        problems.append(f"overlap {s.overlap!r} (use a whole number from 1 to 20)")
    if (not isinstance(s.overlap_share, int | float) or isinstance(s.overlap_share, bool)
            or not 0.0 <= s.overlap_share <= 1.0):
        problems.append(f"overlap_share {s.overlap_share!r} (use a share from 0 to 1)")
    if not isinstance(s.lease_minutes, int | float) or not 0 < s.lease_minutes <= 24 * 60:
        problems.append(f"lease_minutes {s.lease_minutes!r} (use a number of minutes above 0)")
    return problems


def _read_raw(project: Project) -> dict[str, Any]:
    try:
        raw = json.loads(project.settings_path.read_text("utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise LabelAppError(f"{project.settings_path}: unreadable settings: {exc}") from None
    if not isinstance(raw, dict):
        raise LabelAppError(f"{project.settings_path}: settings must be a JSON object")
    return raw


def load_settings(project: Project) -> tuple[Settings, list[str]]:
    """The project's settings, and one message per bad value (bad values fall back to the default)."""
    try:
        raw = _read_raw(project)
    except LabelAppError as exc:
        return Settings(), [str(exc)]
    default = Settings()
    out = Settings()
    problems = []
    for f in fields(Settings):
        if f.name not in raw:
            continue
        setattr(out, f.name, raw[f.name])
        bad = _check(out)
        if bad:
            problems.append(f"{project.settings_path}: {bad[0]}; using {getattr(default, f.name)!r}")
            setattr(out, f.name, getattr(default, f.name))
    return out, problems


def save_settings(project: Project, settings: Settings) -> None:
    """Validate and write the settings atomically, keeping keys this module does not own."""
    bad = _check(settings)
    if bad:
        raise LabelAppError(f"settings not saved: bad {bad[0]}")
    raw = _read_raw(project)
    raw.update(asdict(settings))
    path = project.settings_path
    try:
        write_atomic(path, json.dumps(raw, indent=2) + "\n")
    except OSError as exc:
        raise LabelAppError(f"{path}: settings NOT saved: {exc.strerror or exc}") from None
