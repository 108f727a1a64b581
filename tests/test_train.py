"""The training loop end to end on small real label stores (real CSV files through label_app.store)."""

from __future__ import annotations

import json
import os
import pickle
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

import train
from label_app import store
from label_app.project import Project
from label_app.schema import load_schema
from train import registry
from train.__main__ import main
from train.data import gold_labels
from train.fitting import TrainConfig, make_folds
from train.metrics import brier_score, classification_report, expected_calibration_error

REPO = Path(__file__).resolve().parents[1]

TOPIC_WORDS = {
    "trade": ["exports", "tariffs", "markets", "investment", "imports"],
    "security": ["attacks", "militias", "troops", "strikes", "bombings"],
    "diplomacy": ["talks", "visit", "ministers", "summit", "envoy"],
}
FILLER = ["officials", "said", "on", "monday", "that", "the", "numbers", "in", "baghdad", "and", "tehran"]


def stance_for(topic: str, direction: str) -> str:
    # Topic-dependent polarity: rising exports are good for the ties, rising attacks are bad.
    if direction == "flat" or topic == "diplomacy":
        return "neutral"
    good = {"trade": "rise", "security": "fall"}[topic]
    return "favor" if direction == good else "against"


def fixture_rows(n_articles: int = 8, per_article: int = 9, seed: int = 0) -> list[store.LabelRow]:
    rng = random.Random(seed)
    rows = []
    topics = list(TOPIC_WORDS)
    for a in range(n_articles):
        for s in range(per_article):
            topic = topics[(a + s) % 3]
            direction = ["rise", "fall", "flat"][(a * 2 + s) % 3]
            words = [rng.choice(FILLER) for _ in range(3)] + [rng.choice(TOPIC_WORDS[topic])]
            if direction != "flat":
                words.append({"rise": "rise sharply", "fall": "fall sharply"}[direction])
            words += [rng.choice(FILLER) for _ in range(2)]
            rows.append(store.LabelRow(sentence_id=f"art{a:02d}-{s:04d}", article_id=f"art{a:02d}",
                                       text=" ".join(words).capitalize() + ".", annotator="ann1", topic=topic,
                                       stance=stance_for(topic, direction), source="manual"))
    return rows


def new_project(tmp_path: Path, rows: list[store.LabelRow], name: str = "proj") -> Project:
    root = tmp_path / name
    (root / "labels").mkdir(parents=True)
    shutil.copy(REPO / "labels" / "schema.toml", root / "labels" / "schema.toml")
    project = Project.at(root)
    if rows:
        store.append_rows(project, load_schema(project.schema_path), rows)
        store.create_version(project, note="test")
    return project


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, train.TrainResult]:
    project = new_project(tmp_path_factory.mktemp("loop"), fixture_rows())
    return project, train.train_project(project, progress=False)


# ---------------------------------------------------------------- gold labels: adjudication, majority, ties

def test_gold_rules_adjudicated_majority_tie_and_single_task(tmp_path: Path) -> None:
    R = store.LabelRow
    rows = [
        # s1: majority trade (2 of 3)
        R("s1", "one", "a", topic="trade", stance="favor", article_id="x"),
        R("s1", "one", "b", topic="trade", stance="against", article_id="x"),
        R("s1", "one", "c", topic="energy", article_id="x"),
        # s2: a 1-1 topic tie, but adjudicated stance beats the two neutral votes
        R("s2", "two", "a", topic="trade", stance="neutral", article_id="x"),
        R("s2", "two", "b", topic="security", stance="neutral", article_id="x"),
        R("s2", "two", "boss", stance="favor", source="adjudicated", article_id="x"),
        # s3: stance only, no article (its own group)
        R("s3", "three", "a", stance="against"),
    ]
    project = new_project(tmp_path, rows)
    schema = load_schema(project.schema_path)
    gold = gold_labels(store.load_version(project, 1), schema)
    topic, stance = gold["topic"], gold["stance"]
    assert dict(zip(topic.sentence_ids, topic.labels, strict=True)) == {"s1": "trade"}
    assert topic.tie_ids == ["s2"] and topic.ties == 1
    # s1 stance: favor vs against is a tie; s2 adjudicated; s3 stance-only
    assert dict(zip(stance.sentence_ids, stance.labels, strict=True)) == {"s2": "favor", "s3": "against"}
    assert stance.tie_ids == ["s1"]
    assert dict(zip(stance.sentence_ids, stance.groups, strict=True)) == {"s2": "x", "s3": "s3"}
    assert "s3" not in topic.sentence_ids


# ---------------------------------------------------------------- the whole loop

def test_whole_loop_trains_saves_and_predicts(trained: tuple[Project, train.TrainResult]) -> None:
    project, result = trained
    assert result.tasks == {"topic", "stance"} and not result.skipped
    folder = project.models_dir / result.model_id
    assert registry.MODEL_ID_RE.match(result.model_id)
    assert result.model_id.startswith("m0001-v0001-")
    for name in ("model.joblib", "metrics.json", "model_card.md", "manifest.json"):
        assert (folder / name).is_file()
    assert json.loads((project.models_dir / "current.json").read_text())["model_id"] == result.model_id
    metrics = json.loads((folder / "metrics.json").read_text())
    for task in ("topic", "stance"):
        m = metrics["tasks"][task]
        for key in ("per_class", "macro_f1", "accuracy", "confusion", "class_counts", "calibration", "chosen",
                    "n_ties", "grid"):
            assert key in m, (task, key)
        assert m["cv"]["grouped_by"] == "article"
        assert m["macro_f1"] > 0.6, (task, m["macro_f1"])  # the fixture is learnable
    card = (folder / "model_card.md").read_text()
    assert result.model_id in card and "label version 1" in card

    schema = load_schema(project.schema_path)
    model = train.load_current_model(project, schema)
    assert model is not None and model.model_id == result.model_id and model.tasks == {"topic", "stance"}
    assert model.labels_version == 1
    preds = model.predict(["Officials said exports rise sharply in baghdad.", "Attacks rise sharply in tehran."])
    assert [p.topic for p in preds] == ["trade", "security"]
    for p in preds:
        assert abs(sum(p.topic_probs.values()) - 1) < 1e-9 and abs(sum(p.stance_probs.values()) - 1) < 1e-9
        assert 0.0 <= p.uncertainty <= 1.0
        # joint margin uncertainty: 1 - (topic margin) * (stance margin)
        t1, t2 = sorted(p.topic_probs.values(), reverse=True)[:2]
        s1, s2 = sorted(p.stance_probs.values(), reverse=True)[:2]
        assert p.uncertainty == pytest.approx(1 - (t1 - t2) * (s1 - s2))
    assert model.predict([]) == []


def test_stance_is_conditioned_on_the_given_topic(tmp_path: Path) -> None:
    project = new_project(tmp_path, fixture_rows(n_articles=10))
    result = train.train_project(project, progress=False, config=TrainConfig(topic_modes=("pooled",)))
    model = train.load_model(project, load_schema(project.schema_path), result.model_id)
    text = "The numbers rise sharply."  # no topic word: only the topic tells the polarity
    on_trade, on_security = model.predict([text, text], topics=["trade", "security"])
    assert on_trade.stance_topic == "trade" and on_security.stance_topic == "security"
    assert on_trade.stance == "favor" and on_security.stance == "against"
    # without a given topic, the stance follows the predicted topic
    free = model.predict(["Exports rise sharply."])[0]
    assert free.stance_topic == free.topic == "trade"


def test_training_is_deterministic(tmp_path: Path) -> None:
    rows = fixture_rows(seed=3)
    a = new_project(tmp_path, rows, "a")
    b = new_project(tmp_path, [], "b")
    # same labels in another project (new row ids and timestamps, same version content otherwise)
    shutil.copytree(a.labels_dir, b.labels_dir, dirs_exist_ok=True)
    ra = train.train_project(a, progress=False)
    rb = train.train_project(b, progress=False)
    rb2 = train.train_project(b, progress=False)
    assert ra.model_id == rb.model_id
    assert rb2.model_id.split("-", 1)[1] == rb.model_id.split("-", 1)[1]  # same data + settings, next number

    def strip(m: dict) -> dict:
        return {t: {k: v for k, v in d.items() if k != "seconds"} for t, d in m["tasks"].items()}

    assert strip(ra.metrics) == strip(rb.metrics) == strip(rb2.metrics)
    texts = [r.text for r in rows[:20]] + ["Something else entirely."]
    schema = load_schema(a.schema_path)
    pa = train.load_model(a, schema, ra.model_id).predict_proba(texts)
    pb = train.load_model(b, schema, rb2.model_id).predict_proba(texts)
    np.testing.assert_array_equal(pa[0], pb[0])
    np.testing.assert_array_equal(pa[1], pb[1])


def test_labels_changed_creates_a_version_first(tmp_path: Path) -> None:
    project = new_project(tmp_path, fixture_rows())
    schema = load_schema(project.schema_path)
    first = train.train_project(project, progress=False)
    assert first.labels_version == 1 and not first.version_created
    store.append_label(project, schema, store.LabelRow("art00-0000", "Exports rise sharply.", "ann2",
                                                      topic="trade", stance="favor", article_id="art00"))
    second = train.train_project(project, progress=False)
    assert second.version_created and second.labels_version == 2
    assert second.model_id.startswith("m0002-v0002-")
    # an explicit older version trains on it without creating anything
    third = train.train_project(project, labels_version=1, progress=False)
    assert third.labels_version == 1 and store.latest_version(project)["version"] == 2


# ---------------------------------------------------------------- skip rules and too few labels

def test_task_with_one_class_is_skipped_and_the_other_trains(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rows = fixture_rows()
    for r in rows:
        r.stance = "neutral"
    project = new_project(tmp_path, rows)
    assert main(["--project", str(project.root)]) == 0
    out = capsys.readouterr().out
    assert "stance: SKIPPED: only one class ('neutral')" in out
    model = train.load_current_model(project, load_schema(project.schema_path))
    assert model.tasks == {"topic"}
    pred = model.predict(["Exports rise sharply."])[0]
    assert pred.topic == "trade" and pred.stance is None and pred.stance_probs == {}
    t1, t2 = sorted(pred.topic_probs.values(), reverse=True)[:2]
    assert pred.uncertainty == pytest.approx(1 - (t1 - t2))  # the topic's margin alone


def test_too_few_labels_nothing_trained(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    project = new_project(tmp_path, fixture_rows()[:4])
    with pytest.raises(train.NothingToTrain, match="at least 10 are needed"):
        train.train_project(project, progress=False)
    assert main(["--project", str(project.root), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: nothing trained: topic: only 4 gold labels") and err.count("\n") == 1
    assert train.load_current_model(project, load_schema(project.schema_path)) is None


def test_no_labels_at_all_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    project = new_project(tmp_path, [])
    assert main(["--project", str(project.root), "--quiet"]) == 1
    assert "no labels yet" in capsys.readouterr().err


def test_all_sentences_of_one_article_fall_back_to_sentence_folds(tmp_path: Path) -> None:
    rows = fixture_rows()
    for r in rows:
        r.article_id = "only"
    result = train.train_project(new_project(tmp_path, rows), progress=False)
    assert result.metrics["tasks"]["topic"]["cv"]["grouped_by"].startswith("sentence")


# ---------------------------------------------------------------- registry: refusing models

class _Boom:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204 - unpickling this creates the marker folder
        return (os.mkdir, (str(self.marker),))


def test_tampered_model_is_refused_before_unpickling(tmp_path: Path) -> None:
    project = new_project(tmp_path, fixture_rows())
    result = train.train_project(project, progress=False)
    schema = load_schema(project.schema_path)
    marker = tmp_path / "unpickled"
    (project.models_dir / result.model_id / "model.joblib").write_bytes(pickle.dumps(_Boom(marker)))
    with pytest.raises(train.ModelRefused, match="does not match the sha256"):
        train.load_current_model(project, schema)
    assert not marker.exists()
    assert main(["--project", str(project.root), "evaluate", "--model", result.model_id]) == 1

    # a foreign folder that looks like a model but was not written by our training
    foreign = project.models_dir / "m0042-v0001-deadbeef"
    foreign.mkdir()
    (foreign / "model.joblib").write_bytes(pickle.dumps(_Boom(marker)))
    with pytest.raises(train.ModelRefused, match="not a model saved by"):
        train.load_model(project, schema, foreign.name)
    (project.models_dir / "current.json").write_text(json.dumps({"model_id": foreign.name}))
    with pytest.raises(train.ModelRefused):
        train.load_current_model(project, schema)
    assert not marker.exists()
    with pytest.raises(train.ModelNotFound):
        train.load_model(project, schema, "../../etc")


def test_schema_mismatch_and_other_sklearn_are_refused(trained: tuple[Project, train.TrainResult],
                                                       tmp_path: Path) -> None:
    project, result = trained
    copy = Project.at(tmp_path / "copy")
    shutil.copytree(project.root, copy.root)
    text = copy.schema_path.read_text().replace('{ name = "other", key = "0"',
                                                '{ name = "culture", key = "9" },\n  { name = "other", key = "0"')
    copy.schema_path.write_text(text)
    with pytest.raises(train.ModelRefused, match="different label schema.*retrain"):
        train.load_current_model(copy, load_schema(copy.schema_path))

    manifest_path = copy.models_dir / result.model_id / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["sklearn_version"] = "0.24.2"
    manifest_path.write_text(json.dumps(manifest))
    shutil.copy(project.schema_path, copy.schema_path)
    with pytest.raises(train.ModelRefused, match=r"scikit-learn 0\.24\.2.*retrain"):
        train.load_current_model(copy, load_schema(copy.schema_path))


# ---------------------------------------------------------------- more commands

def test_curve_errors_evaluate_and_models_commands(trained: tuple[Project, train.TrainResult],
                                                   capsys: pytest.CaptureFixture) -> None:
    project, result = trained
    root = str(project.root)
    assert main(["--project", root, "curve", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "learning curve" in out
    curve = json.loads(train.artifact_path(project, train.CURVE_FILE).read_text())
    assert [p["fraction"] for p in curve["tasks"]["topic"]["points"]] == [0.1, 0.25, 0.5, 0.75, 1.0]
    sizes = [p["n_train"] for p in curve["tasks"]["topic"]["points"]]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]
    # the 100% point is the model's own cross-validated score
    assert curve["tasks"]["topic"]["points"][-1]["macro_f1"] == pytest.approx(
        result.metrics["tasks"]["topic"]["macro_f1"])
    chart = json.loads(train.artifact_path(project, train.CURVE_CHART_FILE).read_text())
    assert chart["$schema"].startswith("https://vega.github.io/schema/vega-lite/")

    assert main(["--project", root, "errors", "--quiet", "--min-confidence", "0.0"]) == 0
    capsys.readouterr()
    import csv
    with open(train.artifact_path(project, train.ERRORS_FILE), newline="") as fh:
        errs = list(csv.DictReader(fh))
    for r in errs:
        assert r["gold"] != r["predicted"] and float(r["p_predicted"]) >= float(r["p_gold"])
    assert [float(r["margin"]) for r in errs] == sorted((float(r["margin"]) for r in errs), reverse=True)

    assert main(["--project", root, "evaluate", "--model", result.model_id, "--labels-version", "1"]) == 0
    out = capsys.readouterr().out
    assert "were in the model's training data" in out
    assert main(["--project", root, "models"]) == 0
    assert f"* {result.model_id}" in capsys.readouterr().out
    assert main(["--project", root, "evaluate", "--model", "nope"]) == 1
    assert capsys.readouterr().err.startswith("error: not a model id")
    assert main(["--project", root, "evaluate", "--model", result.model_id, "--labels-version", "9"]) == 1
    assert "label version 9 not found" in capsys.readouterr().err


# ---------------------------------------------------------------- numbers against scikit-learn

def test_report_numbers_match_scikit_learn_on_a_known_case() -> None:
    names = ["trade", "energy", "security", "other"]
    y_true = ["trade", "trade", "trade", "energy", "energy", "security", "security", "security", "security"]
    y_pred = ["trade", "energy", "trade", "energy", "security", "security", "trade", "security", "other"]
    rep = classification_report(y_true, y_pred, names)
    labels = ["trade", "energy", "security", "other"]
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    for i, lab in enumerate(labels):
        assert rep["per_class"][lab] == pytest.approx(
            {"precision": p[i], "recall": r[i], "f1": f[i], "support": s[i]})
    assert rep["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    assert rep["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred)) == pytest.approx(5 / 9)
    assert rep["confusion"]["labels"] == labels
    assert rep["confusion"]["matrix"] == confusion_matrix(y_true, y_pred, labels=labels).tolist()
    assert rep["class_counts"] == {"trade": 3, "energy": 2, "security": 4, "other": 0}
    # hand check: security is predicted 3 times (2 right) and has 4 gold sentences
    assert rep["per_class"]["security"]["precision"] == pytest.approx(2 / 3)
    assert rep["per_class"]["security"]["recall"] == pytest.approx(2 / 4)
    assert rep["per_class"]["other"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}


def test_calibration_figures_on_a_known_case() -> None:
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    y = np.array([0, 1, 1, 0])
    # bins: 0.9 -> (0.8,0.9] correct; 0.8 -> (0.7,0.8] wrong; 0.7 -> (0.6,0.7] correct; 0.6 -> (0.5,0.6] correct
    expected = (abs(1 - 0.9) + abs(0 - 0.8) + abs(1 - 0.7) + abs(1 - 0.6)) / 4
    assert expected_calibration_error(probs, y) == pytest.approx(expected)
    brier = ((0.1 ** 2 + 0.1 ** 2) + (0.8 ** 2 + 0.8 ** 2) + (0.3 ** 2 + 0.3 ** 2) + (0.4 ** 2 + 0.4 ** 2)) / 4
    assert brier_score(probs, y) == pytest.approx(brier)


def test_trained_metrics_are_internally_consistent(trained: tuple[Project, train.TrainResult]) -> None:
    _, result = trained
    for m in result.metrics["tasks"].values():
        matrix = np.array(m["confusion"]["matrix"])
        labels = m["confusion"]["labels"]
        assert m["accuracy"] == pytest.approx(np.trace(matrix) / matrix.sum())
        for i, lab in enumerate(labels):
            assert m["per_class"][lab]["support"] == matrix[i].sum() == m["class_counts"][lab]
            if matrix[:, i].sum():
                assert m["per_class"][lab]["precision"] == pytest.approx(matrix[i, i] / matrix[:, i].sum())
        assert m["macro_f1"] == pytest.approx(np.mean([m["per_class"][lab]["f1"] for lab in labels]))
        assert max(g["macro_f1"] for g in m["grid"]) == pytest.approx(m["macro_f1"])
        assert 0.0 <= m["calibration"]["ece"] <= 1.0


def test_folds_never_split_an_article() -> None:
    rng = np.random.RandomState(0)
    groups = [f"a{i // 7}" for i in range(70)]
    y = rng.choice(["x", "y", "z"], size=70).tolist()
    folds, by = make_folds(y, groups, 5, seed=0)
    assert by == "article" and len(folds) == 5
    seen = np.concatenate([va for _, va in folds])
    assert sorted(seen.tolist()) == list(range(70))
    for tr, va in folds:
        assert not {groups[i] for i in tr} & {groups[i] for i in va}


@pytest.mark.parametrize("min_df", [1, 2])
def test_fast_vectorizers_equal_sklearn(min_df: int) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    from train.features import WORD_PATTERN, CharWbTfidf, WordTfidf

    rng = random.Random(min_df)
    vocab = FILLER + [w for ws in TOPIC_WORDS.values() for w in ws] + ["Ünïcode", "a", "I", "x-ray", "3.5%"]
    texts = [" ".join(rng.choice(vocab) for _ in range(rng.randint(0, 12))) + rng.choice([".", "", " !\n"])
             for _ in range(80)]
    new = ["exports rise sharply in tehran", "unseen wordsss here", "", "a a a I I"]
    pairs = [(WordTfidf((1, 2), min_df), TfidfVectorizer(ngram_range=(1, 2), token_pattern=WORD_PATTERN,
                                                          sublinear_tf=True, min_df=min_df)),
             (CharWbTfidf((2, 5), min_df), TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True,
                                                           min_df=min_df))]
    for fast, ref in pairs:
        X, R = fast.fit_transform(texts), ref.fit_transform(texts)
        assert fast.vocabulary_ == ref.vocabulary_
        assert np.array_equal(fast.idf_, ref.idf_)
        assert abs(X - R).max() < 1e-12
        again = pickle.loads(pickle.dumps(fast))
        assert abs(again.transform(new) - ref.transform(new)).max() < 1e-12
        assert abs(again.transform(texts) - R).max() < 1e-12


def test_topic_word_features_equal_sklearn_over_joined_documents() -> None:
    """The stance model's topic x word features (TopicWordTfidf, integer codes) equal sklearn's TfidfVectorizer
    over "topic<US>text" documents with TopicWordTokens: vocabulary, IDF and values, for known and unknown
    topics and words, before and after pickling."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from train.features import TopicWordTfidf, TopicWordTokens, _topic_docs

    rng = random.Random(3)
    vocab = FILLER + [w for ws in TOPIC_WORDS.values() for w in ws] + ["Ünïcode", "a", "I", "x-ray", "3.5%"]
    topics = ["trade", "security", None, "oil|gas"]
    texts = [" ".join(rng.choice(vocab) for _ in range(rng.randint(0, 12))) for _ in range(100)]
    tps = [rng.choice(topics) for _ in texts]
    ref = TfidfVectorizer(analyzer=TopicWordTokens(), sublinear_tf=True, min_df=1, dtype=np.float64)
    R = ref.fit_transform(_topic_docs(texts, tps))
    fast = TopicWordTfidf()
    X = fast.fit_transform(texts, tps)
    assert fast.vocabulary_ == ref.vocabulary_
    assert np.array_equal(fast.idf_, ref.idf_)
    assert abs(X - R).max() < 1e-12
    new = ["exports rise sharply unseen", "", "a a I", "tariffs markets"]
    new_topics = ["trade", "a topic never seen", None, "security"]
    again = pickle.loads(pickle.dumps(fast))
    assert abs(again.transform(new, new_topics) - ref.transform(_topic_docs(new, new_topics))).max() < 1e-12
    assert abs(again.transform(texts, tps) - R).max() < 1e-12
