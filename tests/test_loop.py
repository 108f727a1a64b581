"""The whole loop through the real command lines: ingest, label, train, pre-label, suggestions back."""

from __future__ import annotations

import csv
import json

from conftest import REPO, run_cli

from label_app import store
from label_app.corpus import load_corpus
from label_app.schema import load_schema
from label_app.store import LabelRow


def test_ingest_label_train_prelabel(project, tmp_path):
    # ingest the seeds
    res = run_cli("ingest", "--project", str(project.root))
    assert res.returncode == 0 and res.stdout.startswith("5 articles (5 new), 81 sentences")
    # label: the shipped starter labels through export/import, plus two labels as the app writes them
    seed_csv = tmp_path / "seed.csv"
    assert run_cli("export", "--version", "1", "--out", str(seed_csv), "--project", str(REPO)).returncode == 0
    res = run_cli("import-labels", str(seed_csv), "--project", str(project.root))
    assert res.returncode == 0 and res.stdout.startswith("imported 84 labels"), res.stderr
    schema = load_schema(project.schema_path)
    corpus = load_corpus(project)
    first = corpus[corpus["kind"] == "sentence"].iloc[0]
    store.append_label(project, schema, LabelRow(first.sentence_id, first.text, "sara", topic="diplomacy",
                                                 stance="favor", article_id=first.article_id, seconds=3.0))
    # train: a new label version is created first, then a model is saved and made current
    res = run_cli("--project", str(project.root), "--quiet", module="train")
    assert res.returncode == 0, res.stderr
    manifest = store.read_manifest(project)
    assert [v["version"] for v in manifest] == [1] and manifest[0]["rows"] == 85
    model_id = json.loads((project.models_dir / "current.json").read_text("utf-8"))["model_id"]
    assert model_id.startswith("m0001-v0001-")
    # an incoming article is pre-labeled; the articles already seen are too on the first run
    (project.seeds_dir / "incoming.txt").write_text(
        "Iran and Iraq signed a new gas export deal on Monday.\n\nThe deal doubles electricity imports.\n", "utf-8")
    res = run_cli("prelabel", "--project", str(project.root), "--jobs", "1", module="train")
    assert res.returncode == 0, res.stderr
    out = project.prelabels_dir / f"{model_id}.csv"
    with open(out, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["sentence_id", "article_id", "id", "text", "topic", "topic_prob", "stance",
                             "stance_prob", "uncertainty", "model_id"]
    corpus = load_corpus(project)
    sentences = corpus[corpus["kind"] == "sentence"]
    assert sorted(r["sentence_id"] for r in rows) == sorted(sentences["sentence_id"])
    new = [r for r in rows if r["text"] == "The deal doubles electricity imports."]
    assert len(new) == 1 and new[0]["topic"] in schema.topic.names and new[0]["stance"] in schema.stance.names
    assert 0.0 <= float(new[0]["topic_prob"]) <= 1.0 and 0.0 <= float(new[0]["uncertainty"]) <= 1.0
    assert all(r["model_id"] == model_id for r in rows)
    # a second run has nothing left to do for this model
    res = run_cli("prelabel", "--project", str(project.root), "--jobs", "1", module="train")
    assert res.returncode == 0
    with open(out, encoding="utf-8", newline="") as fh:
        assert len(list(csv.DictReader(fh))) == len(rows)
