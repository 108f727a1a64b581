"""The training loop: train on a label version, evaluate a saved model, learning curve, likely label errors."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import platform
import sys
import time
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import scipy
import sklearn

from label_app import artifacts, store
from label_app.corpus import iter_corpus_records
from label_app.errors import LabelAppError
from label_app.project import Project
from label_app.schema import Schema, load_schema
from label_app.textnorm import normalise_text

from . import registry
from .data import TaskData, gold_labels
from .features import load_embedder
from .fitting import (
    SkipTask,
    TrainConfig,
    available_feature_sets,
    feature_variants,
    fit_classifier,
    fit_task,
    make_features,
    make_folds,
    n_folds,
    sample_unlabelled,
    self_train,
    self_training_applies,
    trainable_reason,
    variant_key,
)
from .metrics import brier_score, classification_report, expected_calibration_error, label_order
from .model import TrainedModel, decision_scores
from .report import model_card

CURVE_FRACTIONS = (0.1, 0.25, 0.5, 0.75, 1.0)
ERROR_COLUMNS = artifacts.LABEL_ERROR_COLUMNS


class NothingToTrain(LabelAppError):
    """No task has enough gold labels to train."""


@dataclass
class TrainResult:
    """What train_project did: the saved model (None if nothing could be trained) and its metrics."""

    model_id: str | None
    model_dir: Path | None
    labels_version: int
    version_created: bool
    metrics: dict[str, Any]
    skipped: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    reused: bool = False  # an existing model had the same inputs (labels, schema, settings): nothing trained

    @property
    def tasks(self) -> set[str]:
        return {t for t, m in self.metrics.get("tasks", {}).items() if m.get("trained")}


def _bar(progress: bool, desc: str) -> Any:
    from tqdm.auto import tqdm

    # Not on a log file or pipe: a bar redrawn with carriage returns would fill it with half-lines
    return tqdm(total=None, desc=desc, disable=not progress or not sys.stderr.isatty(), unit="step", leave=False)


@contextmanager
def _task_bar(progress: bool, task: str):  # noqa: ANN202
    bar = _bar(progress, f"{task}: features")

    class _P:
        def reset(self, total: int) -> None:
            bar.set_description(f"{task}: cross-validation")
            bar.reset(total=total)

        def update(self, n: int) -> None:
            bar.update(n)

    try:
        yield _P()
    finally:
        bar.close()


def library_versions() -> dict[str, str]:
    return {"python": platform.python_version(), "scikit-learn": sklearn.__version__, "numpy": np.__version__,
            "scipy": scipy.__version__, "joblib": joblib.__version__}


TRAIN_VERSION_NOTE = "created by `python -m train`: labels changed since the last version"


def resolve_labels(project: Project, labels_version: int | str | None, create: bool,
                   note: str = TRAIN_VERSION_NOTE) -> tuple[int, bool]:
    """The label version to use; with `create` and no explicit version, snapshot changed labels first (with
    `note` as the version's note)."""
    if labels_version is not None:
        return store.resolve_version(project, labels_version), False
    if not create:
        return store.resolve_version(project, None), False
    if store.latest_version(project) is None and not project.log_path.exists():
        raise NothingToTrain(f"{project.labels_dir}: no labels yet; label some sentences (or import labels) first")
    rec, created = store.create_version(project, note=note, only_if_changed=True)
    return int(rec["version"]), created


def stance_topics(gold: dict[str, TaskData], model: TrainedModel | None) -> list[str | None]:
    """The topic each stance sentence is conditioned on: its gold topic, else the topic model's prediction."""
    stance = gold["stance"]
    known = dict(zip(gold["topic"].sentence_ids, gold["topic"].labels, strict=True))
    topics: list[str | None] = [known.get(sid) for sid in stance.sentence_ids]
    missing = [i for i, t in enumerate(topics) if t is None]
    if missing and model is not None and "topic" in model.models:
        tm = model.models["topic"]
        probs = tm.proba([stance.texts[i] for i in missing])
        for i, j in zip(missing, probs.argmax(axis=1), strict=True):
            topics[i] = tm.classes[j]
    return topics


def _embedding_identity(config: TrainConfig) -> str | None:
    """The embedding weights' sha256 when the family uses them (installing or upgrading the package changes
    the model), else None."""
    feature_sets, note = available_feature_sets(config)
    if note is not None or not any(fs in ("embedding", "both") for fs in feature_sets):
        return None
    return load_embedder()[1]["sha256"]


def unlabelled_sample(project: Project, rows: Sequence[dict[str, str]], config: TrainConfig) -> list[str]:
    """Self-training's unlabelled sentences: the corpus cache's sentences (kind "sentence"; the corpus as last
    ingested, training does not ingest) whose sentence id and text appear in no row of `rows` (the label
    version), each distinct text once, in corpus order; a seeded sample (config.seed) of at most
    config.self_train_sample of them. Empty when config.self_training is off or nothing is ingested."""
    if not config.self_training:
        return []
    ids = {r.get("sentence_id", "") for r in rows}
    seen = {normalise_text(r.get("text", "")) for r in rows}
    texts: list[str] = []
    for rec in iter_corpus_records(project):
        for (text, kind), sid in zip(rec["segments"], rec["sentence_ids"], strict=True):
            if kind != "sentence" or sid in ids:
                continue
            key = normalise_text(text)
            if key and key not in seen:
                seen.add(key)
                texts.append(text)
    return sample_unlabelled(texts, config)


NOT_INGESTED = ("the corpus is not ingested, so there are no unlabelled sentences to learn from (run "
                "`python -m label_app ingest`, or start the app, then train again)")


def _not_ingested(project: Project) -> bool:
    """seeds/ holds files but there is no corpus cache (a fresh clone of a project: .cache/ is not in git)."""
    return (not project.corpus_path.exists() and project.seeds_dir.is_dir()
            and any(p.is_file() for p in project.seeds_dir.rglob("*")))


class CorpusChanged(LabelAppError):
    """A self-trained model's unlabelled corpus sentences are no longer the corpus's."""


def check_same_unlabelled(project: Project, model_id: str, task: str, params: dict[str, Any],
                          unlabelled: Sequence[str]) -> None:
    """Raise CorpusChanged unless `unlabelled` are the sentences the model's `task` was self-trained on (by the
    sha256 its metrics.json records); nothing to check for a model that is not self-trained."""
    if not params.get("self_training"):
        return
    st = registry.read_metrics(project, model_id)["tasks"][task].get("self_training", {})
    if st.get("unlabelled_sha256") != _texts_sha(unlabelled):
        raise CorpusChanged(
            f"model {model_id}'s {task} model was self-trained on {st.get('unlabelled_sentences', 0):,} unlabelled "
            "corpus sentences, and the unlabelled sentences are different now (the corpus was re-ingested since, or "
            "labels of another version are used); retrain with `python -m train`, then run this again")


def _unlabelled_for(project: Project, model: TrainedModel, rows: Sequence[dict[str, str]], config: TrainConfig
                    ) -> list[str]:
    """The unlabelled sentences a refit of `model` needs: none unless one of its tasks was self-trained."""
    if not any(tm.params.get("self_training") for tm in model.models.values()):
        return []
    return unlabelled_sample(project, rows, config)


def _texts_sha(texts: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()


def _digest(labels_sha: str, schema: Schema, config: TrainConfig, unlabelled_sha: str = "") -> str:
    ident = {"labels": labels_sha, "schema": schema.fingerprint(), "config": config.identity(),
             "sklearn": sklearn.__version__, "embedding": _embedding_identity(config)}
    if unlabelled_sha:  # self-training's sentences are an input too (older digests stay as they were)
        ident["unlabelled"] = unlabelled_sha
    return hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()


def _same_inputs(project: Project, number: int, digest: str, config: TrainConfig) -> str | None:
    """A saved, intact model trained on exactly these inputs (label version and content, schema, settings,
    scikit-learn), or None. Training is deterministic, so retraining would give the same model."""
    for m in reversed(registry.list_models(project)):
        model_id = m["model_id"]
        if not model_id.endswith(f"-v{number:04d}-{digest[:8]}"):
            continue
        try:
            metrics = registry.read_metrics(project, model_id)  # checks every file against the manifest
        except LabelAppError:
            continue  # changed or incomplete: train a fresh one
        if json.dumps(metrics.get("config"), sort_keys=True, default=str) == \
                json.dumps(config.identity(), sort_keys=True, default=str):
            return str(model_id)
    return None


def train_project(project: Project, labels_version: int | str | None = None, progress: bool = True,
                  config: TrainConfig | None = None, reuse: bool = True,
                  version_note: str = TRAIN_VERSION_NOTE) -> TrainResult:
    """Train on a label version (default: the latest, snapshotting changed labels first), evaluate by grouped CV,
    save the model under models/<id>/ and make it current. Raises NothingToTrain if no task can be trained.

    With `reuse` (the default), a saved model whose inputs hash the same (label version and content, schema,
    settings, scikit-learn) is made current instead of training a copy of it; `reused` is then True.
    `version_note` is the note of a version created from changed labels (who started the training, and how)."""
    config = config or TrainConfig()
    started = time.perf_counter()
    schema = load_schema(project.schema_path)
    number, created = resolve_labels(project, labels_version, create=True, note=version_note)
    rec = store.get_version_record(project, number)
    rows = store.load_version(project, number)
    store.check_fits_schema(project, schema, rows, f"labels of version {number}")
    gold = gold_labels(rows, schema)
    # The corpus is an input only where a task can self-train (fit_task: not conditioned on a topic, fewer
    # gold labels than self_train_until): elsewhere new articles leave the model as it is, and it is reused.
    may_self_train = any(len(gold[t.name]) < config.self_train_until for t in schema.tasks if t.name != "stance")
    unlabelled = unlabelled_sample(project, rows, config) if may_self_train else []
    digest = _digest(rec["sha256"], schema, config, _texts_sha(unlabelled) if unlabelled else "")
    same = _same_inputs(project, number, digest, config) if reuse else None
    if same is not None:
        registry.set_current(project, same)
        metrics = registry.read_metrics(project, same)
        return TrainResult(same, registry.model_dir(project, same), number, created, metrics,
                           {t: m["skipped"] for t, m in metrics["tasks"].items() if not m.get("trained")},
                           time.perf_counter() - started, reused=True)
    model = TrainedModel("", number, rec["sha256"], schema.fingerprint(), sklearn.__version__, {},
                         config.as_dict(), {})
    tasks: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    for task in schema.tasks:
        data = gold[task.name]
        topics = stance_topics(gold, model) if task.name == "stance" else None
        task_started = time.perf_counter()
        try:
            with _task_bar(progress, task.name) as bar:
                fit = fit_task(data, task.names, config, topics=topics, progress=bar, unlabelled=unlabelled)
        except SkipTask as exc:
            skipped[task.name] = str(exc)
            tasks[task.name] = {"trained": False, "skipped": str(exc), "n_sentences": len(data),
                                "n_ties": data.ties, "class_counts": {n: data.labels.count(n) for n in task.names}}
            continue
        model.models[task.name] = fit.model
        model.train_sentence_ids[task.name] = list(data.sentence_ids)
        tasks[task.name] = fit.metrics
        st = fit.metrics["self_training"]
        if st["tried"]:
            st["unlabelled_sha256"] = _texts_sha(unlabelled)  # what `train curve` and `errors` check against
        elif (not unlabelled and self_training_applies(config, len(data), topics is not None, config.self_train_min)
              and _not_ingested(project)):  # it would have been tried, had the corpus been ingested
            st["reason"] = NOT_INGESTED  # said once, on the task's self-training line
        tasks[task.name]["seconds"] = round(time.perf_counter() - task_started, 3)
        if task.name == "stance":
            tasks[task.name]["conditioned_on"] = ("gold topic when known, else the topic model's prediction; "
                                                  "at prediction time the given topic, else the predicted one")
    metrics = {
        "labels_version": number,
        "labels_sha256": rec["sha256"],
        "labels_rows": len(rows),
        "schema_fingerprint": schema.fingerprint(),
        "created": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "config": config.identity(),
        "library_versions": library_versions(),
        "tasks": tasks,
    }
    if not model.models:
        raise NothingToTrain("nothing trained: " + "; ".join(f"{t}: {r}" for t, r in skipped.items()))
    metrics["training_seconds"] = round(time.perf_counter() - started, 3)
    folder = registry.save_model(project, model, metrics, model_card(metrics), digest)
    metrics["model_id"] = folder.name
    return TrainResult(folder.name, folder, number, created, metrics, skipped, time.perf_counter() - started)


# ---------------------------------------------------------------- evaluate a saved model

def _model_for(project: Project, schema: Schema, model_id: str | None) -> TrainedModel:
    if model_id is None:
        model = registry.load_current_model(project, schema)
        if model is None:
            raise registry.ModelNotFound("no trained model yet; run `python -m train` first")
        return model
    return registry.load_model(project, schema, model_id)


def evaluate_model(project: Project, model_id: str | None = None, labels_version: int | str | None = None
                   ) -> dict[str, Any]:
    """Score a saved model on a version's gold labels (default: the latest version). Stance is conditioned on
    the gold topic when known, else on the predicted one. Sentences the model was trained on are counted."""
    schema = load_schema(project.schema_path)
    model = _model_for(project, schema, model_id)
    number, _ = resolve_labels(project, labels_version, create=False)
    gold = gold_labels(store.load_version(project, number), schema)
    out: dict[str, Any] = {"model_id": model.model_id, "labels_version": number, "tasks": {}}
    topics = stance_topics(gold, model)
    for task in schema.tasks:
        data = gold[task.name]
        if task.name not in model.models:
            out["tasks"][task.name] = {"evaluated": False, "reason": "the model has no such task"}
            continue
        if not len(data):
            out["tasks"][task.name] = {"evaluated": False, "reason": "no gold labels in this version"}
            continue
        tm = model.models[task.name]
        probs = tm.proba(data.texts, topics if task.name == "stance" else None)
        pred = [tm.classes[i] for i in probs.argmax(axis=1)]
        rep = classification_report(data.labels, pred, task.names)
        keep = [i for i, v in enumerate(data.labels) if v in tm.classes]
        y_idx = np.array([tm.classes.index(data.labels[i]) for i in keep], dtype=int)
        seen = set(model.train_sentence_ids.get(task.name, []))
        rep.update({"evaluated": True, "n_ties": data.ties,
                    "calibration": {"ece": expected_calibration_error(probs[keep], y_idx),
                                    "brier": brier_score(probs[keep], y_idx), "ece_bins": 10},
                    "in_training_data": sum(1 for s in data.sentence_ids if s in seen)})
        out["tasks"][task.name] = rep
    return out


# ---------------------------------------------------------------- learning curve

def _subsample(y: np.ndarray, idx: np.ndarray, fraction: float, rng: np.random.RandomState) -> np.ndarray:
    """A stratified `fraction` of `idx` (at least one per class present)."""
    if fraction >= 1.0:
        return idx
    keep = []
    for c in sorted(set(y[idx].tolist())):
        members = idx[y[idx] == c]
        k = max(1, int(round(fraction * len(members))))
        keep.append(rng.permutation(members)[:k])
    return np.sort(np.concatenate(keep))


def learning_curve(project: Project, labels_version: int | str | None = None, model_id: str | None = None,
                   fractions: Sequence[float] = CURVE_FRACTIONS, progress: bool = True) -> dict[str, Any]:
    """Cross-validated macro-F1 when training on fractions of the labels, per task, with the model's chosen
    hyperparameters. Writes learning_curve.json and a Vega-Lite chart (learning_curve.vl.json) into the model's
    folder; returns the data (with `path` and `chart_path`)."""
    schema = load_schema(project.schema_path)
    model = _model_for(project, schema, model_id)
    config = TrainConfig(**model.config)
    number, _ = resolve_labels(project, labels_version if labels_version is not None else model.labels_version,
                               create=False)
    rows = store.load_version(project, number)
    gold = gold_labels(rows, schema)
    unlabelled = _unlabelled_for(project, model, rows, config)
    result: dict[str, Any] = {"model_id": model.model_id, "labels_version": number, "fractions": list(fractions),
                              "metric": "macro_f1, pooled out-of-fold, folds grouped by article", "tasks": {}}
    for task in schema.tasks:
        data = gold[task.name]
        reason = trainable_reason(data, config) if task.name in model.models else "not trained in this model"
        if reason:
            result["tasks"][task.name] = {"skipped": reason}
            continue
        tm = model.models[task.name]
        topics = stance_topics(gold, model) if task.name == "stance" else None
        use_topic = tm.uses_topic
        feats = make_features(config, len(data))
        check_same_unlabelled(project, model.model_id, task.name, tm.params, unlabelled)
        X = feature_variants(feats, data.texts, topics if use_topic else None, [tm.params])[variant_key(tm.params)]
        # A self-trained model's curve is self-trained too, on the same unlabelled sentences as it was
        U = (feats.view(*variant_key(tm.params)).transform(unlabelled)
             if tm.params.get("self_training") and unlabelled else None)
        y = np.asarray(data.labels)
        classes = list(tm.classes) + sorted(set(data.labels) - set(tm.classes))
        folds, grouped_by = make_folds(y, data.groups, n_folds(len(y), config), config.seed)
        points = []
        bar = _bar(progress, f"{task.name}: learning curve")
        bar.reset(total=len(fractions) * len(folds))
        for fraction in fractions:
            rng = np.random.RandomState(config.seed)
            scores = np.zeros((len(y), len(classes)))
            sizes = []
            for tr, va in folds:
                sub = _subsample(y, tr, fraction, rng)
                sizes.append(len(sub))
                clf = (self_train(tm.params, X[sub], y[sub], U, config) if U is not None
                       else fit_classifier(tm.params, X[sub], y[sub], config.seed, config))
                scores[va] = decision_scores(clf, X[va], classes)
                bar.update(1)
            pred = [classes[i] for i in scores.argmax(axis=1)]
            rep = classification_report(y.tolist(), pred, label_order(y.tolist(), pred, task.names))
            points.append({"fraction": fraction, "n_train": round(float(np.mean(sizes)), 1),
                           "macro_f1": rep["macro_f1"], "accuracy": rep["accuracy"]})
        bar.close()
        result["tasks"][task.name] = {"points": points, "folds": len(folds), "grouped_by": grouped_by,
                                      "n_sentences": len(y), "params": tm.params}
    folder = registry.model_dir(project, model.model_id)
    path = folder / artifacts.CURVE_FILE
    chart_path = folder / artifacts.CURVE_CHART_FILE
    artifacts.write_json(path, artifacts.LearningCurve(**result))
    chart_path.write_text(curve_chart(result).to_json() + "\n", encoding="utf-8")
    result["path"], result["chart_path"] = str(path), str(chart_path)
    return result


def curve_chart(result: dict[str, Any]) -> Any:
    """An Altair line chart of macro-F1 against the share of labels used, one line per task."""
    import altair as alt
    import pandas as pd

    rows = [{"task": t, "percent of labels": 100 * p["fraction"], "labels used": p["n_train"],
             "macro-F1": p["macro_f1"], "accuracy": p["accuracy"]}
            for t, v in result["tasks"].items() for p in v.get("points", [])]
    df = pd.DataFrame(rows, columns=["task", "percent of labels", "labels used", "macro-F1", "accuracy"])
    return (alt.Chart(df, title=f"Learning curve, labels v{result['labels_version']} ({result['model_id']})")
            .mark_line(point=True)
            .encode(x=alt.X("percent of labels:Q", scale=alt.Scale(domain=[0, 100])),
                    y=alt.Y("macro-F1:Q", scale=alt.Scale(domain=[0, 1])),
                    color="task:N", tooltip=["task", "percent of labels", "labels used", "macro-F1", "accuracy"])
            .properties(width=480, height=300))


# ---------------------------------------------------------------- likely label errors

def find_label_errors(project: Project, labels_version: int | str | None = None, model_id: str | None = None,
                      min_confidence: float = 0.5, progress: bool = True) -> dict[str, Any]:
    """Sentences whose gold label disagrees with a confident out-of-fold prediction, ranked by how much more
    probable the prediction is than the gold label. Writes label_errors.csv into the model's folder."""
    schema = load_schema(project.schema_path)
    model = _model_for(project, schema, model_id)
    config = TrainConfig(**model.config)
    number, _ = resolve_labels(project, labels_version if labels_version is not None else model.labels_version,
                               create=False)
    rows = store.load_version(project, number)
    gold = gold_labels(rows, schema)
    unlabelled = _unlabelled_for(project, model, rows, config)
    found: list[dict[str, Any]] = []
    checked: dict[str, Any] = {}
    for task in schema.tasks:
        data = gold[task.name]
        if task.name not in model.models:
            checked[task.name] = {"skipped": "not trained in this model"}
            continue
        tm = model.models[task.name]
        topics = stance_topics(gold, model) if task.name == "stance" and tm.uses_topic else None
        check_same_unlabelled(project, model.model_id, task.name, tm.params, unlabelled)
        try:
            with _task_bar(progress, task.name) as bar:
                fit = fit_task(data, task.names, config, topics=topics, progress=bar, settings=[tm.params],
                               final_fit=False, unlabelled=unlabelled)
        except SkipTask as exc:
            checked[task.name] = {"skipped": str(exc)}
            continue
        classes = fit.model.classes
        probs = fit.oof_probs
        n_found = 0
        for i in range(len(data)):
            j = int(probs[i].argmax())
            p_pred, p_gold = float(probs[i, j]), float(probs[i, fit.y_idx[i]])
            if j != fit.y_idx[i] and p_pred >= min_confidence:
                n_found += 1
                found.append({"task": task.name, "sentence_id": data.sentence_ids[i],
                              "article_id": data.groups[i], "text": data.texts[i], "gold": data.labels[i],
                              "predicted": classes[j], "p_predicted": round(p_pred, 4), "p_gold": round(p_gold, 4),
                              "margin": round(p_pred - p_gold, 4), "votes": data.votes[i],
                              "labels_version": number, "model_id": model.model_id})
        checked[task.name] = {"checked": len(data), "flagged": n_found}
    found.sort(key=lambda r: (-r["margin"], r["task"], r["sentence_id"]))
    for rank, r in enumerate(found, start=1):
        r["rank"] = rank
    path = registry.model_dir(project, model.model_id) / artifacts.ERRORS_FILE
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=ERROR_COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in found:
        w.writerow({k: store.guard_cell(v) if isinstance(v, str) else v for k, v in r.items()})
    path.write_text(buf.getvalue(), encoding="utf-8", newline="")
    return {"model_id": model.model_id, "labels_version": number, "min_confidence": min_confidence,
            "tasks": checked, "errors": found, "path": str(path)}
