"""Self-training: pseudo-labels from the corpus's unlabelled sentences, tried by CV against the plain winner.

Pure functions first (pseudo_labels, self_train), then fit_task's selection, then the project level (which
sentences count as unlabelled, and that they are part of a model's identity), then the outcome on real public
data (AG News, when ../shared/data is beside the repository).
"""

from __future__ import annotations

import csv
import shutil
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import make_project
from sklearn.metrics import f1_score
from test_train import fixture_rows

import train
from label_app import store
from label_app.corpus import ingest, iter_corpus_records
from label_app.schema import load_schema
from train import registry
from train.data import TaskData
from train.fitting import TrainConfig, fit_classifiers, fit_task, pseudo_labels, self_train
from train.report import training_report
from train.training import NOT_INGESTED, CorpusChanged, find_label_errors, learning_curve, unlabelled_sample

REPO = Path(__file__).resolve().parents[1]
AG_NEWS = REPO.parent / "shared" / "data" / "ag_news_test" / "data.csv"
TFIDF_ONLY = TrainConfig(feature_sets=("tfidf",), self_train_min=5)


def test_pseudo_labels_take_the_surest_share_in_equal_numbers_per_class() -> None:
    scores = np.array([[3, 0], [2, 0], [1, 0], [0.5, 0], [0, 4], [0, 0.1], [0, 1], [0, 2], [0, 3], [5, 0]], float)
    idx, labels = pseudo_labels(scores, ["a", "b"], share=0.4)  # 0.4 * 10 / 2 = 2 per class
    assert idx.tolist() == [0, 4, 8, 9] and labels.tolist() == ["a", "b", "b", "a"]
    # margin, not the top score: row 1 (2 - 1.9) is less sure than row 2 (1 - 0)
    idx, labels = pseudo_labels(np.array([[2, 1.9, 0], [1, 0, 0], [0, 0, 3], [0, 0, 1]], float), ["a", "b", "c"], 0.75)
    assert idx.tolist() == [1, 2] and labels.tolist() == ["a", "c"]  # 1 per class; "b" is never predicted
    assert pseudo_labels(np.zeros((0, 2)), ["a", "b"], 0.4)[0].tolist() == []


def _words_matrix(rows: list[list[int]], d: int = 6) -> sp.csr_matrix:
    m = np.zeros((len(rows), d))
    for i, r in enumerate(rows):
        m[i, r] = 1.0
    return sp.csr_matrix(m)


def test_self_train_refits_on_gold_plus_weighted_pseudo_labels() -> None:
    config = TrainConfig(self_train_share=0.5, self_train_weight=0.3)
    setting = {"classifier": "LinearSVC", "C": 1.0, "class_weight": "balanced", "self_training": True}
    X = _words_matrix([[0], [0, 4], [1], [1, 5], [2], [2, 4]])
    y = np.array(["a", "a", "b", "b", "c", "c"])
    U = _words_matrix([[0, 3], [1, 3], [2, 3], [0, 5], [1, 4], [2, 5], [3]])
    got = self_train(setting, X, y, U, config)
    plain = {k: v for k, v in setting.items() if k != "self_training"}
    base = fit_classifiers(X, y, [plain], config, parallel=False)[0]
    idx, pseudo = pseudo_labels(base.decision_function(U), ["a", "b", "c"], 0.5)
    assert len(idx) == 3  # int(0.5 * 7 / 3) = 1 per class
    w = np.r_[np.ones(6), np.full(3, 0.3)]
    want = fit_classifiers(sp.vstack([X, U[idx]]), np.r_[y, pseudo.astype(str)], [plain], config, False, w)[0]
    assert np.allclose(got.coef_, want.coef_) and not np.allclose(got.coef_, base.coef_)
    unweighted = fit_classifiers(sp.vstack([X, U[idx]]), np.r_[y, pseudo.astype(str)], [plain], config, False)[0]
    assert not np.allclose(want.coef_, unweighted.coef_)  # the weights reach liblinear
    # nothing unlabelled: the plain fit
    assert np.allclose(self_train(setting, X, y, U[:0], config).coef_, base.coef_)


def _task(n_per_class: int = 6) -> tuple[TaskData, list[str]]:
    words = {"trade": ["exports", "tariffs", "imports", "customs"], "energy": ["oil", "gas", "pipeline", "barrels"],
             "security": ["border", "troops", "militia", "attack"]}
    texts, labels = [], []
    for k in range(n_per_class):
        for label, ws in words.items():
            texts.append(f"Officials said {ws[k % 4]} and {ws[(k + 1) % 4]} were discussed on day {k}.")
            labels.append(label)
    ids = [f"a{i // 3:02d}-{i:04d}" for i in range(len(texts))]
    unlabelled = [f"The ministry said {ws[j]} matter for day {k}." for k in range(8) for ws in words.values()
                  for j in range(4)]
    return TaskData("topic", ids, [i.split("-")[0] for i in ids], texts, labels, ["1/1"] * len(texts)), unlabelled


def test_fit_task_tries_the_winners_self_trained_twin_by_the_same_folds() -> None:
    data, unlabelled = _task()
    fit = fit_task(data, ["trade", "energy", "security"], TFIDF_ONLY, unlabelled=unlabelled)
    m = fit.metrics
    assert {k: m["self_training"][k] for k in ("tried", "chosen", "unlabelled_sentences")} == {
        "tried": True, "chosen": m["chosen"].get("self_training", False), "unlabelled_sentences": len(unlabelled)}
    plain_rows, twin = m["grid"][:-1], m["grid"][-1]
    winner = max(plain_rows, key=lambda r: r["macro_f1"])  # earlier wins ties: max keeps the first
    assert twin["params"] == {**winner["params"], "self_training": True}
    assert m["chosen"] == (twin["params"] if twin["macro_f1"] > winner["macro_f1"] else winner["params"])
    assert [f.get("self_training", False) for f in m["family"]] == [False, True]
    assert fit.model.params == m["chosen"]
    assert m["self_training"]["reason"] is None
    assert m["self_training"]["cv_plain"] == winner["macro_f1"] and m["self_training"]["cv_self_trained"] == twin["macro_f1"]
    # not tried: too few unlabelled sentences, a topic-conditioned task, from self_train_until labels, or off
    for config, topics, unl, reason in (
            (TFIDF_ONLY, None, unlabelled[:4], "4 unlabelled corpus sentences (at least 5 needed)"),
            (TFIDF_ONLY, ["trade"] * len(data), unlabelled,
             "the task is conditioned on the topic (only tasks that are not are self-trained)"),
            (TrainConfig(feature_sets=("tfidf",), self_train_min=5, self_train_until=18), None, unlabelled,
             "18 gold labels (it is tried below 18)"),
            (TrainConfig(feature_sets=("tfidf",), self_training=False), None, unlabelled,
             "off in the training settings")):
        m = fit_task(data, ["trade", "energy", "security"], config, topics=topics, unlabelled=unl).metrics
        assert not m["self_training"]["tried"] and all("self_training" not in g["params"] for g in m["grid"])
        assert m["self_training"]["reason"] == reason


def test_a_self_trained_setting_is_refitted_self_trained_when_given_back() -> None:
    data, unlabelled = _task()
    setting = {"classifier": "LinearSVC", "C": 0.3, "class_weight": "balanced", "features": "tfidf",
               "self_training": True}
    fit = fit_task(data, ["trade", "energy", "security"], TFIDF_ONLY, settings=[setting], unlabelled=unlabelled)
    assert fit.model.params == setting and fit.metrics["self_training"]["chosen"]
    plain = fit_task(data, ["trade", "energy", "security"], TFIDF_ONLY, settings=[setting])
    assert "self_training" not in plain.model.params and not plain.metrics["self_training"]["tried"]


def test_unlabelled_sample_is_the_corpus_sentences_no_label_names(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    ingest(project)
    corpus = [(t, sid) for rec in iter_corpus_records(project)
              for (t, kind), sid in zip(rec["segments"], rec["sentence_ids"], strict=True) if kind == "sentence"]
    (t0, sid0), (t1, _sid1) = corpus[0], corpus[1]
    rows = [{"sentence_id": sid0, "text": "anything"}, {"sentence_id": "elsewhere-0001", "text": t1}]
    got = unlabelled_sample(project, rows, TrainConfig())
    distinct = list(dict.fromkeys(t for t, _ in corpus))
    assert got == [t for t in distinct if t not in (t0, t1)]  # by id and by text, each text once, corpus order
    small = unlabelled_sample(project, rows, TrainConfig(self_train_sample=10))
    assert len(small) == 10 and small == [t for t in got if t in set(small)]  # a sample, in corpus order
    assert small == unlabelled_sample(project, rows, TrainConfig(self_train_sample=10))  # seeded
    assert unlabelled_sample(project, rows, TrainConfig(self_training=False)) == []


def _project_with_unlabelled_corpus(root: Path) -> store.Project:
    """Labels for 4 articles of fixture_rows, and a corpus of 12 other articles from the same generator,
    unlabelled: the situation self-training is for."""
    project = make_project(root, seeds=False)
    extra = fixture_rows(n_articles=12, seed=10)
    for a in range(12):
        (project.root / "seeds" / f"u{a:02d}.txt").write_text(
            " ".join(r.text for r in extra[a * 9:(a + 1) * 9]) + "\n", "utf-8")
    ingest(project)
    store.append_rows(project, load_schema(project.schema_path), fixture_rows(n_articles=4))
    return project


SMALL = TrainConfig(feature_sets=("tfidf",), self_train_min=10)


def test_a_project_with_an_unlabelled_corpus_trains_self_trained_and_its_curve_says_so(tmp_path: Path) -> None:
    project = _project_with_unlabelled_corpus(tmp_path / "p")
    result = train.train_project(project, progress=False, config=SMALL)
    topic = result.metrics["tasks"]["topic"]
    st = topic["self_training"]
    assert (st["tried"], st["chosen"], st["unlabelled_sentences"], st["reason"]) == (True, True, 108, None)
    assert topic["chosen"]["self_training"] and topic["macro_f1"] > max(g["macro_f1"] for g in topic["grid"][:-1])
    assert not result.metrics["tasks"]["stance"]["self_training"]["tried"]  # conditioned on the topic
    assert "self-trained on unlabelled corpus sentences" in topic["chosen_features"]
    card = (result.model_dir / registry.CARD_FILE).read_text("utf-8")
    assert "| tfidf + self-training |" in card
    # the curve refits the model self-trained: at all labels it is the model's own CV score, by the same folds
    curve = learning_curve(project, progress=False)
    assert curve["tasks"]["topic"]["points"][-1]["macro_f1"] == pytest.approx(topic["macro_f1"])
    # likely label errors come from the self-trained model's out-of-fold predictions
    assert find_label_errors(project, progress=False)["tasks"]["topic"]["checked"] == topic["n_sentences"]
    # the report says what self-training did, for each task
    report = training_report(result.metrics)
    assert (f"  self-training: tried on 108 unlabelled corpus sentences, chosen (CV macro-F1 "
            f"{st['cv_self_trained']:.3f} against {st['cv_plain']:.3f} without)") in report
    assert ("  self-training: not tried: the task is conditioned on the topic (only tasks that are not are "
            "self-trained)") in report
    assert f"Self-training: tried on 108 unlabelled corpus sentences, chosen (CV macro-F1 {st['cv_self_trained']:.3f}" in card
    # once the corpus changes, the model's curve and label errors would not be its own: refused, with the way out
    (project.root / "seeds" / "late.txt").write_text("Iraq bought more Iranian gas this winter.\n", "utf-8")
    ingest(project)
    want = (f"model {result.model_id}'s topic model was self-trained on 108 unlabelled corpus sentences, and the "
            "unlabelled sentences are different now (the corpus was re-ingested since, or labels of another version "
            "are used); retrain with `python -m train`, then run this again")
    for run in (learning_curve, find_label_errors):
        with pytest.raises(CorpusChanged) as err:
            run(project, progress=False)
        assert str(err.value) == want


def test_training_without_an_ingested_corpus_says_self_training_had_nothing_to_learn_from(tmp_path: Path) -> None:
    project = _project_with_unlabelled_corpus(tmp_path / "p")
    shutil.rmtree(project.cache_dir)  # a fresh clone of a project: .cache/ is not in git
    result = train.train_project(project, progress=False, config=SMALL)
    topic = result.metrics["tasks"]["topic"]
    assert topic["self_training"]["reason"] == NOT_INGESTED and not topic["self_training"]["tried"]
    report = training_report(result.metrics)
    assert f"  self-training: not tried: {NOT_INGESTED}" in report and report.count("not ingested") == 1
    # where it would not be tried anyway, the real reason stays
    many = train.train_project(project, progress=False, config=replace(SMALL, self_train_until=30))
    n = many.metrics["tasks"]["topic"]["n_sentences"]
    assert many.metrics["tasks"]["topic"]["self_training"]["reason"] == f"{n} gold labels (it is tried below 30)"


def test_the_unlabelled_sentences_are_part_of_the_models_identity(tmp_path: Path) -> None:
    project = _project_with_unlabelled_corpus(tmp_path / "p")
    first = train.train_project(project, progress=False, config=SMALL)
    assert train.train_project(project, progress=False, config=SMALL).reused
    (project.root / "seeds" / "more.txt").write_text(
        "Iraq and Iran signed a new customs deal on Monday. Officials said trucks will cross faster.\n", "utf-8")
    ingest(project)
    again = train.train_project(project, progress=False, config=SMALL)
    assert not again.reused and again.model_id != first.model_id  # same labels, a different corpus
    # where no task can self-train (here: from 30 gold labels on), the corpus is not an input
    many = replace(SMALL, self_train_until=30)
    third = train.train_project(project, progress=False, config=many)
    (project.root / "seeds" / "more2.txt").write_text("Baghdad hosted talks on water rights on Tuesday.\n", "utf-8")
    ingest(project)
    assert train.train_project(project, progress=False, config=many).model_id == third.model_id


@pytest.mark.slow
@pytest.mark.skipif(not AG_NEWS.is_file(), reason=f"{AG_NEWS} not found (public data beside the repository)")
def test_self_training_beats_the_plain_model_on_ag_news_with_100_labels() -> None:
    limit = csv.field_size_limit(sys.maxsize)  # process-wide: given back below, label_app.tables relies on it
    try:
        with open(AG_NEWS, encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
    finally:
        csv.field_size_limit(limit)
    texts, y = [r["text"].replace("\\", " ") for r in rows], np.array([r["label"] for r in rows])
    perm = np.random.default_rng(0).permutation(len(texts))
    test, labelled, rest = perm[:1500], perm[1500:1600], perm[1600:6600]
    ids = [str(i) for i in labelled]
    data = TaskData("topic", ids, ids, [texts[i] for i in labelled], y[labelled].tolist(), ["1/1"] * 100)
    names = sorted(set(y.tolist()))
    scores = {}
    for name, unl in (("plain", None), ("self", [texts[i] for i in rest])):
        fit = fit_task(data, names, TrainConfig(), unlabelled=unl)
        pred = np.array(fit.model.classes)[fit.model.proba([texts[i] for i in test]).argmax(axis=1)]
        scores[name] = f1_score(y[test], pred, average="macro")
        assert fit.metrics["self_training"]["chosen"] == (name == "self")
    assert scores["self"] >= scores["plain"] + 0.02, scores
