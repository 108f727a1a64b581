"""Model selection and evaluation for one task: grouped cross-validation over a small grid, temperature
calibration on out-of-fold scores, and the final fit on all gold labels."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GroupKFold, StratifiedGroupKFold, StratifiedKFold
from sklearn.svm import LinearSVC

from .data import TaskData
from .features import FEATURE_SETS, TextFeatures, embedding_note
from .forking import can_fork, fork_pool
from .metrics import (
    brier_score,
    classification_report,
    expected_calibration_error,
    fit_temperature,
    label_order,
    softmax,
)
from .model import UNSEEN_SCORE, TaskModel, decision_scores


@dataclass(frozen=True)
class TrainConfig:
    """Training settings; part of a model's identity (same labels + same config = same model)."""

    cv_folds: int = 5
    # From this many sentences, 2 folds: the scores are stable there and each fold costs a fit on its training
    # half (2 folds cost one full-size fit per setting, 3 folds two).
    few_folds_from: int = 1_000
    few_folds: int = 2
    # Grid order is the tie-break order: on equal CV macro-F1 the earlier setting wins.
    c_values: tuple[float, ...] = (0.3, 1.0)
    # From this many sentences, selection is staged: the family's members are compared at the first C value,
    # then the other C values are tried for the best member only (below it, every member x C is tried).
    staged_from: int = 1_000
    class_weights: tuple[str | None, ...] = ("balanced",)
    # The family (train.features.FEATURE_SETS); "embedding" and "both" are left out, with a one-line note, when
    # the optional embedding package is not installed.
    feature_sets: tuple[str, ...] = ("tfidf", "both", "embedding")
    # Stance only: one pooled model conditioned on the topic, or one model per topic (train.features.TOPIC_MODES).
    topic_modes: tuple[str, ...] = ("pooled", "per_topic")
    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] | None = (2, 5)
    # From this many texts, n-grams seen in one text only are dropped (keeps models and fits small).
    min_df_from: int = 2_000
    min_examples: int = 10
    seed: int = 0
    # Stopping tolerance of liblinear's dual solver (sklearn's default is 1e-4, liblinear's own 0.1): at 1e-2 the
    # fits take about half the iterations and the predictions on held-out data are the same. From staged_from
    # sentences, large_tol: on AG News (5.7k) it halves the fits again for the same CV and held-out macro-F1
    # (docs/training.md, Benchmarks); below, fits are cheap and 1e-2 keeps small-data choices as they were.
    tol: float = 1e-2
    large_tol: float = 5e-2
    n_jobs: int = 2
    # Below this many sentences (and feature non-zeros), fits run in-process: worker start-up would cost more
    # than it saves.
    parallel_from: int = 2_000
    parallel_nnz_from: int = 1_000_000
    # Self-training (semi-supervised), for tasks not conditioned on a topic, below self_train_until gold labels
    # and with at least self_train_min unlabelled corpus sentences: the CV winner is compared by the same CV with
    # its twin refitted on the gold labels plus pseudo-labels (`self_train`): of a seeded sample of at most
    # self_train_sample unlabelled sentences, the self_train_share the model is surest of, in equal numbers per
    # predicted class, each weighted self_train_weight. Chosen on AG News and BBC News learning curves
    # (docs/training.md): +0.04 macro-F1 at 100 AG News labels, +0.01 at 500, none from about 1,000.
    self_training: bool = True
    self_train_until: int = 1_000
    self_train_min: int = 100
    self_train_sample: int = 5_000
    self_train_share: float = 0.4
    self_train_weight: float = 0.3

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def identity(self) -> dict[str, Any]:
        """The settings that change the model (not how fast it is computed)."""
        d = self.as_dict()
        for k in ("n_jobs", "parallel_from", "parallel_nnz_from"):
            d.pop(k)
        return d


class ConstantClassifier:
    """Stands in for a fold whose training part has a single class."""

    def __init__(self, label: str) -> None:
        self.classes_ = np.array([label])

    def decision_function(self, X: sp.spmatrix) -> np.ndarray:
        return np.ones((X.shape[0], 1))


class SkipTask(Exception):
    """A task cannot be trained on these labels; the message says why."""


@dataclass
class TaskFit:
    """A fitted task model with its cross-validated evaluation."""

    model: TaskModel
    metrics: dict[str, Any]
    oof_probs: np.ndarray
    y_idx: np.ndarray
    folds: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)


def trainable_reason(data: TaskData, config: TrainConfig) -> str | None:
    """Why a task cannot be trained (None if it can)."""
    if data.multi_label:
        return "multi-label tasks are not trained yet (set multi_label = false in schema.toml to train it)"
    if len(data) == 0:
        return "no gold labels" + (f" ({data.ties} sentences are ties)" if data.ties else "")
    classes = sorted(set(data.labels))
    if len(classes) < 2:
        return f"only one class ({classes[0]!r}) among {len(data)} gold labels; at least two classes are needed"
    if len(data) < config.min_examples:
        return (f"only {len(data)} gold labels; at least {config.min_examples} are needed to cross-validate "
                f"(label more sentences)")
    return None


def n_folds(n: int, config: TrainConfig) -> int:
    return config.few_folds if n >= config.few_folds_from else config.cv_folds


def make_folds(y: Sequence[str], groups: Sequence[str], n_splits: int, seed: int
               ) -> tuple[list[tuple[np.ndarray, np.ndarray]], str]:
    """Folds that keep each group (article) on one side, stratified by label; and what they group by.

    With fewer than two articles, folds fall back to sentences (reported, since scores are then optimistic).
    """
    y = np.asarray(y)
    groups_arr = np.asarray(groups)
    grouped_by = "article"
    if len(set(groups_arr.tolist())) < 2:
        groups_arr = np.arange(len(y)).astype(str)
        grouped_by = "sentence (all labels come from one article)"
    k = max(2, min(n_splits, len(set(groups_arr.tolist()))))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "least populated class has only N members"
        try:
            if len(set(groups_arr.tolist())) == len(y):
                # One sentence per group: plain stratified folds (the same kind of split, without the
                # group-balancing search, which costs seconds at thousands of groups).
                splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
            else:
                splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
            folds = [(tr, va) for tr, va in splitter.split(np.zeros(len(y)), y, groups_arr)]
        except ValueError:
            folds = [(tr, va) for tr, va in GroupKFold(n_splits=k).split(np.zeros(len(y)), y, groups_arr)]
    folds = [(tr, va) for tr, va in folds if len(tr) and len(va)]
    return folds, grouped_by


def available_feature_sets(config: TrainConfig) -> tuple[list[str], str | None]:
    """The configured feature sets that can be used here, and the note when the embedding is unavailable."""
    wanted = [fs for fs in config.feature_sets if fs in FEATURE_SETS]
    if not any(fs in ("embedding", "both") for fs in wanted):
        return wanted, None
    note = embedding_note()
    if note is None:
        return wanted, None
    return [fs for fs in wanted if fs == "tfidf"] or ["tfidf"], note


def variant_key(setting: dict[str, Any]) -> tuple[str, str | None]:
    """The (feature set, topic mode) a setting's features are; older settings without them are TF-IDF."""
    return setting.get("features", "tfidf"), setting.get("topic_mode")


def settings_grid(config: TrainConfig, conditional: bool, feature_sets: Sequence[str] | None = None
                  ) -> list[dict[str, Any]]:
    """The family's members and hyperparameter settings tried, in tie-break order."""
    out = []
    for fs in (feature_sets if feature_sets is not None else config.feature_sets):
        for mode in (config.topic_modes if conditional else (None,)):
            for cw in config.class_weights:
                for c in config.c_values:
                    s: dict[str, Any] = {"classifier": "LinearSVC", "C": c, "class_weight": cw, "features": fs}
                    if conditional:
                        s["topic_mode"] = mode
                    out.append(s)
    return out


def make_classifier(setting: dict[str, Any], seed: int, tol: float = 1e-4) -> LinearSVC:
    return LinearSVC(C=setting["C"], class_weight=setting["class_weight"], random_state=seed, tol=tol)


class LinearOvR:
    """One-vs-rest linear classifier assembled from binary fits (the same problems liblinear's multi-class
    LinearSVC solves one after the other, here fitted independently so they can run in parallel)."""

    def __init__(self, classes: Sequence[str], coef: np.ndarray, intercept: np.ndarray) -> None:
        self.classes_ = np.asarray(classes)
        self.coef_ = coef
        self.intercept_ = intercept

    def decision_function(self, X: sp.spmatrix) -> np.ndarray:
        scores = np.asarray(X @ self.coef_.T) + self.intercept_
        return scores[:, 0] if len(self.classes_) == 2 else scores


def _units(setting: dict[str, Any], y: np.ndarray) -> list[tuple[dict[str, Any], str | None, float]]:
    """The binary problems of one multi-class fit: (setting, positive class, its C weight); one problem with
    positive class None when y has two classes. As in liblinear, class weights scale the positives' C."""
    seen = np.unique(y)
    if len(seen) < 2:
        return []
    if len(seen) == 2:
        return [(setting, None, 1.0)]
    counts = {c: int((y == c).sum()) for c in seen}
    out = []
    for c in seen:
        w = len(y) / (len(seen) * counts[c]) if setting["class_weight"] == "balanced" else 1.0
        out.append((setting, str(c), w))
    return out


def _fit_unit(X: sp.spmatrix, y: np.ndarray, unit: tuple[dict[str, Any], str | None, float], seed: int,
              tol: float, sample_weight: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    setting, pos, w = unit
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if pos is None:
            clf = make_classifier(setting, seed, tol).fit(X, y, sample_weight=sample_weight)
        else:
            clf = LinearSVC(C=setting["C"], class_weight={1: w, 0: 1.0}, random_state=seed, tol=tol)
            clf.fit(X, (y == pos).astype(np.int64), sample_weight=sample_weight)
    return clf.coef_[0].copy(), float(clf.intercept_[0])


def _fit_units(X: sp.spmatrix, y: np.ndarray, units: list[tuple[dict[str, Any], str | None, float]], seed: int,
               tol: float, sample_weight: np.ndarray | None = None) -> list[tuple[np.ndarray, float]]:
    return [_fit_unit(X, y, u, seed, tol, sample_weight) for u in units]


def _assemble(setting: dict[str, Any], y: np.ndarray, fitted: list[tuple[np.ndarray, float]]) -> Any:
    seen = np.unique(y)
    if len(seen) < 2:
        return ConstantClassifier(str(y[0]))
    coef = np.vstack([c for c, _ in fitted])
    intercept = np.array([b for _, b in fitted])
    return LinearOvR([str(c) for c in seen], coef, intercept)


def _chunks(items: list[Any], k: int) -> list[list[Any]]:
    k = max(1, min(k, len(items)))
    return [items[i::k] for i in range(k)]


def _parallel(config: TrainConfig, n: int, nnz: int) -> bool:
    return config.n_jobs > 1 and (n >= config.parallel_from or nnz >= config.parallel_nnz_from)


# The jobs of the current forked _run, inherited by its workers (they get indexes, not pickled matrices).
_FORK_JOBS: list[tuple[Any, ...]] = []


def _fit_forked(i: int) -> list[tuple[np.ndarray, float]]:
    return _fit_units(*_FORK_JOBS[i])


def _run(jobs: list[tuple[Any, ...]], parallel: bool, n_jobs: int) -> list[Any]:
    """Run (X, y, units, seed, tol) jobs, in order; in worker processes when `parallel` (not threads:
    liblinear's random generator is process-global, and sharing it between threads would make results
    depend on timing). Each job's result depends on its arguments only, so results do not depend on
    which worker ran what. Workers are forked where the OS can (train.forking: they inherit the matrices),
    else loky's."""
    if parallel and len(jobs) > 1:
        if can_fork():
            _FORK_JOBS[:] = jobs
            try:
                with fork_pool(min(n_jobs, len(jobs))) as pool:
                    return pool.map(_fit_forked, range(len(jobs)), chunksize=1)
            finally:
                _FORK_JOBS.clear()
        return Parallel(n_jobs=min(n_jobs, len(jobs)), backend="loky", max_nbytes=None)(
            delayed(_fit_units)(*j) for j in jobs)
    return [_fit_units(*j) for j in jobs]


def _noop() -> None:
    return None


def _start_workers(config: TrainConfig, n: int) -> threading.Thread | None:
    """Start loky's worker processes in the background (they take a second or more to start and import
    scikit-learn), so that this overlaps the feature computation instead of delaying the first fits. The
    workers are loky's reusable ones, which the later `_run` calls (same arguments) pick up. Not needed where
    workers are forked (they start at once)."""
    if not (config.n_jobs > 1 and n >= config.parallel_from) or can_fork():
        return None

    def start() -> None:
        try:
            Parallel(n_jobs=config.n_jobs, backend="loky", max_nbytes=None)(
                delayed(_noop)() for _ in range(config.n_jobs))
        except Exception:  # noqa: BLE001 - only a head start: the real call reports any failure
            pass

    thread = threading.Thread(target=start, name="start-workers", daemon=True)
    thread.start()
    return thread


def fit_classifiers(X: sp.spmatrix, y: np.ndarray, settings: list[dict[str, Any]], config: TrainConfig,
                    parallel: bool | None = None, sample_weight: np.ndarray | None = None) -> list[Any]:
    """One classifier per setting on (X, y) (rows weighted by `sample_weight`, shape (n,), default 1): the
    binary problems are spread over config.n_jobs workers."""
    units = [u for s in settings for u in _units(s, y)]
    if parallel is None:
        parallel = _parallel(config, len(y), X.nnz)
    chunks = _chunks(list(range(len(units))), config.n_jobs if parallel else 1)
    results = _run([(X, y, [units[i] for i in ch], config.seed, config.tol, sample_weight) for ch in chunks],
                   parallel, config.n_jobs)
    fitted: list[Any] = [None] * len(units)
    for ch, res in zip(chunks, results, strict=True):
        for i, r in zip(ch, res, strict=True):
            fitted[i] = r
    out, k = [], 0
    for s in settings:
        m = len(_units(s, y))
        out.append(_assemble(s, y, fitted[k:k + m]))
        k += m
    return out


def fit_classifier(setting: dict[str, Any], X: sp.spmatrix, y: np.ndarray, seed: int,
                   config: TrainConfig | None = None) -> Any:
    config = config or TrainConfig(seed=seed)
    return fit_classifiers(X, y, [setting], config, parallel=False)[0]


def plain_setting(setting: dict[str, Any]) -> dict[str, Any]:
    """The setting without its self-training flag (the supervised member it refits)."""
    return {k: v for k, v in setting.items() if k != "self_training"}


def pseudo_labels(scores: np.ndarray, classes: Sequence[str], share: float) -> tuple[np.ndarray, np.ndarray]:
    """Self-training's pseudo-labels from decision scores (n, len(classes)) of unlabelled sentences: the
    `share` of them the model is surest of (largest margin between its two best classes), in equal numbers
    per predicted class (at most share * n / len(classes) each, fewer when a class is predicted less often).
    Returns (row indices in ascending order, their predicted classes)."""
    if not len(scores) or len(classes) < 2:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=object)
    pred = scores.argmax(axis=1)
    top = np.sort(scores, axis=1)[:, -2:]
    margin = top[:, 1] - top[:, 0]
    k = int(share * len(scores) / len(classes))
    picks = [c[np.argsort(-margin[c], kind="stable")][:k] for c in (np.flatnonzero(pred == j)
                                                                   for j in range(len(classes)))]
    idx = np.sort(np.concatenate(picks)).astype(np.int64)
    return idx, np.asarray(classes, dtype=object)[pred[idx]]


def self_train(setting: dict[str, Any], X: sp.spmatrix, y: np.ndarray, U: sp.spmatrix, config: TrainConfig
               ) -> Any:
    """Self-training: fit the plain `setting` on the gold labels (X (n, d), y (n,)), pseudo-label unlabelled
    sentences U (m, d) with it (`pseudo_labels`, config.self_train_share), and refit on both, each pseudo-label
    weighted config.self_train_weight. Returns the refitted classifier (the plain one when U gives nothing)."""
    plain = plain_setting(setting)
    base = fit_classifiers(X, y, [plain], config, parallel=False)[0]
    classes = [str(c) for c in base.classes_]
    idx, pseudo = pseudo_labels(decision_scores(base, U, classes), classes, config.self_train_share)
    if not len(idx):
        return base
    Xa = sp.vstack([X, U[idx]], format="csr")
    ya = np.concatenate([np.asarray(y, dtype=object), pseudo]).astype(str)
    weights = np.concatenate([np.ones(len(y)), np.full(len(idx), config.self_train_weight)])
    return fit_classifiers(Xa, ya, [plain], config, parallel=False, sample_weight=weights)[0]


def cross_val_scores(variants: dict[tuple[str, str | None], sp.csr_matrix], y: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]],
                     settings: list[dict[str, Any]], classes: list[str], config: TrainConfig,
                     progress: Any | None = None) -> list[np.ndarray]:
    """Out-of-fold decision scores (n, classes) for each setting.

    Every (fold, setting, class) binary problem is a unit of work; each fold's units are split into
    config.n_jobs jobs, so the workers stay busy to the end (3 folds on 2 workers would leave one idle).
    """
    n = len(y)
    oof = [np.zeros((n, len(classes))) for _ in settings]
    X_any = next(iter(variants.values()))
    parallel = _parallel(config, n, X_any.nnz)
    jobs, index = [], []
    for f, (tr, _va) in enumerate(folds):
        for key, X in variants.items():
            units = [((f, si, j), u) for si, s in enumerate(settings) if variant_key(s) == key
                     for j, u in enumerate(_units(s, y[tr]))]
            if not units:
                continue
            Xtr = X[tr]
            for ch in _chunks(units, config.n_jobs if parallel else 1):
                jobs.append((Xtr, y[tr], [u for _, u in ch], config.seed, config.tol))
                index.append([key for key, _ in ch])
    results = _run(jobs, parallel, config.n_jobs)
    fitted = {key: r for keys, res in zip(index, results, strict=True) for key, r in zip(keys, res, strict=True)}
    for f, (tr, va) in enumerate(folds):
        for si, s in enumerate(settings):
            X = variants[variant_key(s)]
            m = len(_units(s, y[tr]))
            clf = _assemble(s, y[tr], [fitted[(f, si, j)] for j in range(m)])
            oof[si][va] = decision_scores(clf, X[va], classes)
        if progress is not None:
            progress.update(1)
    return oof


def calibrate(scores: np.ndarray, y_idx: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]]
              ) -> tuple[float, np.ndarray, dict[str, Any]]:
    """Temperature on all out-of-fold scores, plus honest calibration figures: each fold's probabilities use
    a temperature fitted on the other folds. Returns (temperature, cross-fitted probs, figures)."""
    # A sentence whose class its fold never saw has no usable score for it; fitting T to it would flatten
    # every probability, so such sentences are scored but not used to fit.
    usable = scores[np.arange(len(y_idx)), y_idx] > UNSEEN_SCORE
    probs = np.zeros_like(scores)
    for _, va in folds:
        fit_on = usable.copy()
        fit_on[va] = False
        t = fit_temperature(scores[fit_on], y_idx[fit_on]) if fit_on.any() else 1.0
        probs[va] = softmax(scores[va], t)
    raw = softmax(scores, 1.0)
    temperature = fit_temperature(scores[usable], y_idx[usable]) if usable.any() else 1.0
    figures = {
        "method": "temperature scaling of LinearSVC decision scores (softmax), fitted on out-of-fold scores",
        "temperature": temperature,
        "ece": expected_calibration_error(probs, y_idx),
        "brier": brier_score(probs, y_idx),
        "ece_uncalibrated": expected_calibration_error(raw, y_idx),
        "brier_uncalibrated": brier_score(raw, y_idx),
        "ece_bins": 10,
    }
    return temperature, probs, figures


def make_features(config: TrainConfig, n: int) -> TextFeatures:
    """An unfitted family of features (fit it with fit_parts, take members with view)."""
    return TextFeatures(config.word_ngrams, config.char_ngrams, min_df=2 if n >= config.min_df_from else 1)


def feature_variants(features: TextFeatures, texts: Sequence[str], topics: Sequence[str | None] | None,
                     grid: list[dict[str, Any]], workers: int = 1) -> dict[tuple[str, str | None], sp.csr_matrix]:
    """Fit the parts the grid's members need on `texts` (label-free) and return each member's matrix
    (`workers` > 1: the parts are computed side by side, see TextFeatures.fit_parts)."""
    keys = list(dict.fromkeys(variant_key(s) for s in grid))
    parts = features.fit_parts(texts, topics, [k[0] for k in keys], [k[1] for k in keys], workers=workers)
    return {k: features.assemble(parts, topics, k[0], k[1]) for k in keys}


def family_summary(tried: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The best CV score of each member of the family (feature set x topic mode), in grid order."""
    best: dict[tuple[str, str | None, bool], dict[str, Any]] = {}
    for t in tried:
        st = bool(t["params"].get("self_training"))
        key = (*variant_key(t["params"]), st)
        if key not in best or selection_score(t) > selection_score(best[key]):
            best[key] = {"features": key[0], "topic_mode": key[1], "C": t["params"]["C"],
                         **({"self_training": True} if st else {}),
                         "macro_f1": t["macro_f1"], **({"f_avg": t["f_avg"]} if "f_avg" in t else {})}
    return list(best.values())


def selection_score(row: dict[str, Any]) -> float:
    """What model selection maximises for a grid row: F_avg where the task has favor and against (the stance
    measure of SemEval-2016, which the stance task is judged by), else macro-F1."""
    return float(row["f_avg"]) if "f_avg" in row else float(row["macro_f1"])


def f_avg(report: dict[str, Any]) -> float | None:
    """Mean F1 of the favor and against classes (SemEval-2016 stance), when the task has both, else None."""
    per = report.get("per_class", {})
    if "favor" in per and "against" in per:
        return (per["favor"]["f1"] + per["against"]["f1"]) / 2
    return None


def sample_unlabelled(texts: Sequence[str], config: TrainConfig) -> list[str]:
    """A seeded sample (config.seed) of at most config.self_train_sample of `texts`, in their order."""
    if len(texts) <= config.self_train_sample:
        return list(texts)
    keep = np.sort(np.random.default_rng(config.seed).choice(len(texts), config.self_train_sample, replace=False))
    return [texts[i] for i in keep]


def self_training_reason(config: TrainConfig, n_labels: int, conditional: bool, n_unlabelled: int) -> str | None:
    """Why fit_task does not try the self-trained twin (see TrainConfig), or None when it does."""
    if not config.self_training:
        return "off in the training settings"
    if conditional:
        return "the task is conditioned on the topic (only tasks that are not are self-trained)"
    if n_labels >= config.self_train_until:
        return f"{n_labels:,} gold labels (it is tried below {config.self_train_until:,})"
    if n_unlabelled < config.self_train_min:
        return (f"{n_unlabelled:,} unlabelled corpus sentence{'' if n_unlabelled == 1 else 's'} "
                f"(at least {config.self_train_min:,} needed)")
    return None


def self_training_applies(config: TrainConfig, n_labels: int, conditional: bool, n_unlabelled: int) -> bool:
    """Whether fit_task tries the self-trained twin (config.self_training; see TrainConfig)."""
    return self_training_reason(config, n_labels, conditional, n_unlabelled) is None


def fit_task(data: TaskData, names: Sequence[str], config: TrainConfig, topics: Sequence[str | None] | None = None,
             progress: Any | None = None, settings: list[dict[str, Any]] | None = None,
             final_fit: bool = True, unlabelled: Sequence[str] | None = None) -> TaskFit:
    """Select hyperparameters by grouped CV, evaluate out of fold, calibrate, and fit on all gold labels.

    `topics` (stance only) are the topics each sentence is conditioned on. The vectorizers (vocabulary, IDF) are
    fitted once on all texts: they see no labels, so no label information crosses folds, and each fold then
    costs only a classifier fit. `unlabelled`: corpus sentences without a label (see
    `training.unlabelled_sample`); where `self_training_applies`, the CV winner's self-trained twin is scored
    by the same folds and chosen if it scores higher. Given `settings` with the self-training flag, that
    setting is self-trained when `unlabelled` allows, else fitted plain.
    """
    reason = trainable_reason(data, config)
    if reason:
        raise SkipTask(reason)
    conditional = topics is not None
    y = np.asarray(data.labels)
    classes = [c for c in names if c in set(data.labels)] + sorted(set(data.labels) - set(names))
    y_idx = np.array([classes.index(v) for v in y])
    feature_sets, note = available_feature_sets(config)
    st_asked = settings is not None and any(s.get("self_training") for s in settings)
    if settings is not None:
        settings = [plain_setting(s) for s in settings]
        grid = [s for s in settings if variant_key(s)[0] in feature_sets or variant_key(s)[0] == "tfidf"]
        if not grid:
            raise SkipTask(note or "no usable setting")
    else:
        grid = settings_grid(config, conditional, feature_sets)
    if not conditional:
        grid = [{k: v for k, v in s.items() if k != "topic_mode"} for s in grid]
    if len(y) >= config.staged_from:
        config = replace(config, tol=config.large_tol)
    starting = _start_workers(config, len(y))
    features = make_features(config, len(y))
    variants = feature_variants(features, data.texts, topics, grid,
                                workers=config.n_jobs if _parallel(config, len(y), 0) else 1)
    if starting is not None:
        starting.join()
    folds, grouped_by = make_folds(y, data.groups, n_folds(len(y), config), config.seed)
    c_first = grid[0]["C"]
    staged = (settings is None and len(y) >= config.staged_from
              and any(s["C"] != c_first for s in grid) and len({variant_key(s) for s in grid}) > 1)
    stages = ([[i for i, s in enumerate(grid) if s["C"] == c_first]] if staged else [list(range(len(grid)))])
    if progress is not None:
        progress.reset(total=len(folds) * (1 + int(staged)) + int(final_fit))
    oof: dict[int, np.ndarray] = {}
    rows: dict[int, dict[str, Any]] = {}

    def run_stage(idx: list[int]) -> None:
        scores_list = cross_val_scores(variants, y, folds, [grid[i] for i in idx], classes, config, progress)
        for i, scores in zip(idx, scores_list, strict=True):
            oof[i] = scores
            pred = [classes[k] for k in scores.argmax(axis=1)]
            rep = classification_report(y.tolist(), pred, label_order(y.tolist(), pred, names))
            row = {"params": grid[i], "macro_f1": rep["macro_f1"]}
            if (fa := f_avg(rep)) is not None:
                row["f_avg"] = fa
            rows[i] = row

    run_stage(stages[0])
    if staged:
        # The best member at the first C value (earlier wins ties), then its other C values.
        lead = max(stages[0], key=lambda i: (selection_score(rows[i]), -i))
        stages.append([i for i, s in enumerate(grid)
                       if variant_key(s) == variant_key(grid[lead]) and i not in rows])
        run_stage(stages[1])
    tried_idx = sorted(rows)  # grid order, the tie-break order
    tried = [rows[i] for i in tried_idx]
    best = tried_idx[max(range(len(tried)), key=lambda k: (selection_score(tried[k]), -k))]
    U = None
    why_not = (self_training_reason(config, len(y), conditional, len(unlabelled or ()))
               if settings is None or st_asked else "the given setting is not self-trained")
    plain_best = best
    if why_not is None:
        # The winner's self-trained twin, by the same folds (pseudo-labels come from unlabelled sentences only,
        # so no fold's held-out labels reach its training part); a tie keeps the plain member.
        U = features.view(*variant_key(grid[best])).transform(list(unlabelled or ()))
        twin = {**grid[best], "self_training": True}
        X = variants[variant_key(twin)]
        scores = np.zeros((len(y), len(classes)))
        for tr, va in folds:
            scores[va] = decision_scores(self_train(twin, X[tr], y[tr], U, config), X[va], classes)
        grid.append(twin)
        i = len(grid) - 1
        oof[i] = scores
        pred = [classes[k] for k in scores.argmax(axis=1)]
        rep = classification_report(y.tolist(), pred, label_order(y.tolist(), pred, names))
        rows[i] = {"params": twin, "macro_f1": rep["macro_f1"]}
        if (fa := f_avg(rep)) is not None:
            rows[i]["f_avg"] = fa
        tried.append(rows[i])
        if st_asked or selection_score(rows[i]) > selection_score(rows[best]):
            best = i
    chosen = grid[best]
    temperature, probs, calibration = calibrate(oof[best], y_idx, folds)
    pred = [classes[i] for i in oof[best].argmax(axis=1)]
    report = classification_report(y.tolist(), pred, list(names))
    key = variant_key(chosen)
    final_features = features.view(*key)
    if not final_fit:
        clf = None
    elif chosen.get("self_training"):
        clf = self_train(chosen, variants[key], y, U, config)
    else:
        clf = fit_classifiers(variants[key], y, [chosen], config)[0]
    if progress is not None and final_fit:
        progress.update(1)
    model = TaskModel(data.task, classes, final_features, clf, temperature, dict(chosen))
    metrics = {
        "trained": True,
        "n_sentences": len(y),
        "n_ties": data.ties,
        "n_features": int(variants[key].shape[1]),
        "cv": {"folds": len(folds), "grouped_by": grouped_by,
               "n_groups": len(set(data.groups)),
               "selection": "pooled out-of-fold F_avg (mean F1 of favor and against)" if "f_avg" in tried[0]
               else "pooled out-of-fold macro-F1",
               "staged": staged,
               **({"staged_note": f"members compared at C={c_first}; C tuned for the best member only"}
                  if staged else {})},
        "chosen": chosen,
        "chosen_features": final_features.describe() + (", self-trained on unlabelled corpus sentences"
                                                         if chosen.get("self_training") else ""),
        "family": family_summary(tried),
        "grid": tried,
        "embedding": final_features.embedding.info if final_features.embedding is not None else None,
        "self_training": {"tried": U is not None, "chosen": bool(chosen.get("self_training")),
                          "unlabelled_sentences": len(unlabelled or ()), "reason": why_not,
                          **({"cv_plain": selection_score(rows[plain_best]),
                              "cv_self_trained": selection_score(rows[len(grid) - 1])} if U is not None else {})},
        **({"notes": [note]} if note else {}),
        **report,
        "calibration": calibration,
    }
    return TaskFit(model, metrics, probs, y_idx, folds)
