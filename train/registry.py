"""The model registry: models/<model id>/ folders, their sha256 manifest, and the current-model pointer.

A joblib file is code: unpickling it runs whatever it says. So a model is loaded only after its manifest (written
by our own training) has been found, every file's sha256 matches it, the schema fingerprint matches the project's
and the scikit-learn version is compatible. Anything else in models/ is refused before it is unpickled.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import joblib
import sklearn

from label_app.artifacts import METRICS_FILE, POINTER_FILE
from label_app.errors import LabelAppError
from label_app.files import sha256_file, write_atomic
from label_app.project import Project
from label_app.schema import Schema

from .features import EmbeddingUnavailable
from .model import TrainedModel

# the files that cross to the app are named once, in label_app.artifacts
MODEL_FILE = "model.joblib"
CARD_FILE = "model_card.md"
MANIFEST_FILE = "manifest.json"
# 2: models of the feature family (train.features.TextFeatures with feature_set / topic_mode).
FORMAT = 2
MODEL_ID_RE = re.compile(r"^m(\d{4,})-v(\d{4,})-([0-9a-f]{8})$")


class ModelRefused(LabelAppError):
    """A saved model cannot be used (tampered, foreign, other schema, other scikit-learn); the message says what to do."""


class ModelNotFound(LabelAppError):
    """No model with that id, or no model trained yet."""


def model_dir(project: Project, model_id: str) -> Path:
    """The folder of a model id (the id is checked, so it cannot point outside models/)."""
    if not isinstance(model_id, str) or not MODEL_ID_RE.match(model_id):
        raise ModelNotFound(f"not a model id: {model_id!r} (ids look like m0001-v0001-0123abcd; "
                            "see `python -m train models`)")
    return project.models_dir / model_id


def _json_bytes(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8")


def _next_seq(project: Project) -> int:
    seqs = [int(m.group(1)) for p in project.models_dir.glob("m*") if (m := MODEL_ID_RE.match(p.name))]
    return max(seqs, default=0) + 1


def _sklearn_minor(version: str) -> tuple[str, ...]:
    return tuple(version.split(".")[:2])


def save_model(project: Project, model: TrainedModel, metrics: dict[str, Any], card: str, digest: str,
               make_current: bool = True) -> Path:
    """Save a trained model under a new id `mNNNN-vNNNN-<digest[:8]>`; returns its folder.

    The folder is reserved with mkdir (atomic, so concurrent trainings never share one), the manifest is written
    last (a folder without one is an interrupted save and is never loaded), then the pointer is moved.
    """
    project.models_dir.mkdir(parents=True, exist_ok=True)
    while True:
        model_id = f"m{_next_seq(project):04d}-v{model.labels_version:04d}-{digest[:8]}"
        folder = project.models_dir / model_id
        try:
            folder.mkdir()
            break
        except FileExistsError:
            continue
    try:
        model.model_id = model_id
        metrics = {"model_id": model_id, **metrics}
        joblib.dump(model, folder / MODEL_FILE, compress=3)
        (folder / METRICS_FILE).write_bytes(_json_bytes(metrics))
        (folder / CARD_FILE).write_text(card.replace("{model_id}", model_id), encoding="utf-8")
        manifest = {
            "format": FORMAT,
            "model_id": model_id,
            "labels_version": model.labels_version,
            "labels_sha256": model.labels_sha256,
            "schema_fingerprint": model.schema_fingerprint,
            "sklearn_version": model.sklearn_version,
            "tasks": sorted(model.tasks),
            "created": metrics.get("created", ""),
            "files": {name: sha256_file(folder / name) for name in (MODEL_FILE, METRICS_FILE, CARD_FILE)},
        }
        write_atomic(folder / MANIFEST_FILE, _json_bytes(manifest))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    if make_current:
        set_current(project, model_id)
    return folder


def set_current(project: Project, model_id: str) -> None:
    """Point models/current.json at `model_id` (which must have a manifest)."""
    folder = model_dir(project, model_id)
    if not (folder / MANIFEST_FILE).is_file():
        raise ModelNotFound(f"{folder}: no such model (see `python -m train models`)")
    write_atomic(project.models_dir / POINTER_FILE, _json_bytes({"model_id": model_id}))


def current_model_id(project: Project) -> str | None:
    """The id named by models/current.json, or None if no model has been trained."""
    path = project.models_dir / POINTER_FILE
    try:
        data = json.loads(path.read_text("utf-8"))
        model_id = data["model_id"]
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        raise ModelRefused(f"{path}: unreadable model pointer; delete it and retrain with `python -m train`") from None
    model_dir(project, model_id)
    return model_id


def read_manifest(project: Project, model_id: str) -> dict[str, Any]:
    """A model's manifest, or ModelRefused if the folder was not written by our training."""
    folder = model_dir(project, model_id)
    if not folder.is_dir():
        raise ModelNotFound(f"{folder}: no such model (see `python -m train models`)")
    path = folder / MANIFEST_FILE
    try:
        manifest = json.loads(path.read_text("utf-8"))
        files = manifest["files"]
        if not isinstance(files, dict) or MODEL_FILE not in files:
            raise KeyError(MODEL_FILE)
    except FileNotFoundError:
        raise ModelRefused(f"{folder}: not a model saved by `python -m train` (no {MANIFEST_FILE}); refusing to "
                           f"load it: delete the folder and retrain with `python -m train`") from None
    except (OSError, ValueError, KeyError, TypeError):
        raise ModelRefused(f"{path}: unreadable model manifest; delete {folder} and retrain with "
                           "`python -m train`") from None
    return manifest


def verify_files(project: Project, model_id: str) -> dict[str, Any]:
    """The manifest, after checking every listed file against its sha256 (nothing is unpickled)."""
    manifest = read_manifest(project, model_id)
    folder = model_dir(project, model_id)
    for name, expected in manifest["files"].items():
        path = folder / Path(name).name
        try:
            got = sha256_file(path)
        except FileNotFoundError:
            raise ModelRefused(f"{path}: file of model {model_id} is missing; delete {folder} and retrain with "
                               "`python -m train`") from None
        if got != expected:
            raise ModelRefused(
                f"{path}: does not match the sha256 recorded when it was trained ({got[:12]}... vs "
                f"{str(expected)[:12]}...); refusing to load a changed or foreign model file: delete {folder} "
                "and retrain with `python -m train`")
    return manifest


def load_model(project: Project, schema: Schema, model_id: str) -> TrainedModel:
    """Load a saved model after checking its sha256, schema fingerprint and scikit-learn version."""
    manifest = verify_files(project, model_id)
    if manifest.get("schema_fingerprint") != schema.fingerprint():
        raise ModelRefused(f"model {model_id} was trained for a different label schema (tasks or labels changed "
                           "since); retrain with `python -m train`")
    saved = str(manifest.get("sklearn_version", "?"))
    if _sklearn_minor(saved) != _sklearn_minor(sklearn.__version__):
        raise ModelRefused(f"model {model_id} was saved by scikit-learn {saved} and this is "
                           f"{sklearn.__version__}; retrain with `python -m train` (or install "
                           f"scikit-learn=={saved})")
    if manifest.get("format") != FORMAT:
        raise ModelRefused(f"model {model_id} has registry format {manifest.get('format')!r}, expected {FORMAT}; "
                           "retrain with `python -m train`")
    path = model_dir(project, model_id) / MODEL_FILE
    try:
        model = joblib.load(path)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means the same to the user
        raise ModelRefused(f"{path}: cannot load model ({type(exc).__name__}: {exc}); retrain with "
                           "`python -m train`") from None
    if not isinstance(model, TrainedModel) or model.model_id != model_id:
        raise ModelRefused(f"{path}: not a model saved by `python -m train`; retrain with `python -m train`")
    for task, tm in model.models.items():
        emb = getattr(tm.features, "embedding", None)
        if emb is not None:
            try:
                emb.check()
            except EmbeddingUnavailable as exc:
                raise ModelRefused(f"model {model_id} ({task}) uses embedding features, but {exc}; retrain with "
                                   "`python -m train`") from None
    return model


def load_current_model(project: Project, schema: Schema) -> TrainedModel | None:
    """The current model, or None when none has been trained; ModelRefused when it cannot be trusted."""
    model_id = current_model_id(project)
    if model_id is None:
        return None
    return load_model(project, schema, model_id)


def read_metrics(project: Project, model_id: str) -> dict[str, Any]:
    """A model's metrics.json (checked against the manifest first)."""
    verify_files(project, model_id)
    return json.loads((model_dir(project, model_id) / METRICS_FILE).read_text("utf-8"))


def list_models(project: Project) -> list[dict[str, Any]]:
    """Manifests of all complete models, oldest first, each with `current` set on the current one."""
    if not project.models_dir.is_dir():
        return []
    try:
        current = current_model_id(project)
    except LabelAppError:
        current = None
    out = []
    for p in sorted(project.models_dir.iterdir()):
        if MODEL_ID_RE.match(p.name) and (p / MANIFEST_FILE).is_file():
            try:
                m = read_manifest(project, p.name)
            except LabelAppError:
                continue
            out.append({**m, "current": p.name == current})
    return out


def artifact_path(project: Project, name: str, model_id: str | None = None) -> Path | None:
    """Path of a file in a model's folder (default: the current model), e.g. CURVE_FILE or ERRORS_FILE; None
    if there is no current model. The file itself may not exist yet."""
    model_id = model_id or current_model_id(project)
    if model_id is None:
        return None
    return model_dir(project, model_id) / name
