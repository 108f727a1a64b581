"""Gold exports are training sets: one row/Doc per sentence, resolved exactly as training resolves it, and a spaCy
DocBin that passes spaCy's own `debug data` check; conflicting duplicate texts are ties for training and export."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from conftest import make_project, run_cli
from spacy.tokens import Doc, DocBin

from label_app import store
from label_app.gold import resolve_gold
from label_app.project import Project
from label_app.schema import Schema, load_schema
from label_app.store import LabelRow
from train.data import gold_labels


def _label(project: Project, schema: Schema, sid: str, text: str, who: str, topic: str = "", stance: str = "",
           source: str = "manual") -> None:
    store.append_label(project, schema, LabelRow(sid, text, who, topic=topic, stance=stance, article_id="a1",
                                                 source=source))


def team_labels(project: Project, schema: Schema) -> None:
    """Three annotators and a reviewer: majorities, a tie, an adjudication, texts labelled for one task only,
    the same sentence text under two ids with conflicting topics, and an identical duplicate."""
    _label(project, schema, "s1", "Trade rose.", "ann", "trade", "favor")
    _label(project, schema, "s1", "Trade rose.", "bob", "trade", "neutral")
    _label(project, schema, "s1", "Trade rose.", "cem", "energy", "favor")
    _label(project, schema, "s2", "Gas flows again.", "ann", "energy")
    _label(project, schema, "s2", "Gas flows again.", "bob", "trade")  # topic tie 1/1, no stance at all
    _label(project, schema, "s3", "Troops left.", "ann", "security", "against")
    _label(project, schema, "s3", "Troops left.", "bob", "diplomacy", "neutral")
    _label(project, schema, "s3", "Troops left.", "rev", "security", "against", source="adjudicated")
    _label(project, schema, "s4", "Talks resume.", "ann", stance="favor")  # no topic: left out of topic
    _label(project, schema, "s5", "Iraq imports power.", "ann", "energy")
    _label(project, schema, "s6", "Iraq  imports power. ", "bob", "trade")  # same text (normalised), other gold
    _label(project, schema, "s7", "Pilgrims travel.", "ann", "society")
    _label(project, schema, "s8", "Pilgrims\u00a0travel.", "bob", "society")  # identical duplicate: counted once


def test_gold_resolution_rule(project, schema):
    team_labels(project, schema)
    gold = resolve_gold(store.current_labels(project), schema)
    topic = gold["topic"]
    assert [(i.sentence_id, i.label, i.votes, i.annotators) for i in topic.items] == [
        ("s1", "trade", "2/3", 3), ("s3", "security", "adjudicated", 3), ("s7", "society", "1/1", 1)]
    assert topic.tie_ids == ["s2", "s5", "s6"] and topic.conflict_ids == ["s5", "s6"]
    assert topic.items[-1].duplicate_ids == ["s8"] and topic.duplicate_ids == ["s8"]
    stance = gold["stance"]
    assert [(i.sentence_id, i.label, i.votes) for i in stance.items] == [
        ("s1", "favor", "2/3"), ("s3", "against", "adjudicated"), ("s4", "favor", "1/1")]
    assert stance.tie_ids == []


def test_training_counts_conflicting_duplicates_as_ties(project, schema):
    """Training used to report "0 ties left out" while the same text carried two different gold labels."""
    _label(project, schema, "s5", "Iraq imports power.", "ann", "energy")
    _label(project, schema, "s6", "Iraq imports power.", "bob", "trade")
    _label(project, schema, "s7", "Pilgrims travel.", "ann", "society")
    _label(project, schema, "s8", "Pilgrims travel.", "bob", "society")
    data = gold_labels(store.current_labels(project), schema)["topic"]
    assert data.ties == 2 and data.tie_ids == ["s5", "s6"]
    assert data.sentence_ids == ["s7"] and data.labels == ["society"] and len(data) == 1


def _docs(path: Path) -> list[Doc]:
    return list(DocBin().from_disk(path).get_docs(spacy.blank("en").vocab))


def test_gold_exports_match_training(project, schema, tmp_path):
    team_labels(project, schema)
    store.create_version(project)
    training = gold_labels(store.load_version(project, 1), schema)
    for task in ("topic", "stance"):
        out = store.write_export(project, schema, 1, "spacy", None, task=task)
        assert out == project.root / "exports" / f"labels-v0001-{task}.spacy"
        docs = _docs(out)
        assert [d.user_data["sentence_id"] for d in docs] == training[task].sentence_ids
        assert [max(d.cats, key=d.cats.get) for d in docs] == training[task].labels
        assert [d.user_data["votes"] for d in docs] == training[task].votes
        assert all(sorted(d.cats.values())[-2:] == [0.0, 1.0] for d in docs)  # exactly one category per doc
        assert len({d.text for d in docs}) == len(docs)
        rows = [json.loads(x) for x in store.make_export(store.load_version(project, 1), schema, 1, "jsonl", task,
                                                         gold=True).data.decode().splitlines()]
        assert [(r["sentence_id"], r["label"], r["votes"]) for r in rows] == list(zip(
            training[task].sentence_ids, training[task].labels, training[task].votes, strict=True))
    # the two tasks no longer overwrite each other, and the raw export stays available
    res = run_cli("export", "--format", "spacy", "--raw", "--project", str(project.root))
    assert res.returncode == 0, res.stderr
    raw = _docs(project.root / "exports" / "labels-v0001-topic-raw.spacy")
    assert len(raw) == 12  # every annotator's topic label; the stance-only row s4 is left out
    assert all(1.0 in d.cats.values() for d in raw)


def test_gold_export_summary_counts_ties(project, schema):
    team_labels(project, schema)
    store.create_version(project)
    res = run_cli("export", "--format", "spacy", "--project", str(project.root))
    assert res.returncode == 0, res.stderr
    path = project.root / "exports" / "labels-v0001-topic.spacy"
    assert res.stdout == (f"exported version 1 as spacy to {path}: 3 topic gold labels (3 ties left out, of which 2 "
                          "duplicate texts with conflicting labels; 1 identical duplicate texts counted once)\n")


def _debug_data(tmp_path: Path, component: str, docbin: Path) -> str:
    """spaCy's own data check (`python -m spacy debug data`) with a minimal config for `component`."""
    from spacy.cli.init_config import init_config

    cfg = tmp_path / f"{component}.cfg"
    init_config(lang="en", pipeline=[component], optimize="efficiency", gpu=False, silent=True).to_disk(cfg)
    res = subprocess.run([sys.executable, "-m", "spacy", "debug", "data", str(cfg), "--paths.train", str(docbin),
                          "--paths.dev", str(docbin), "--no-format"], capture_output=True, text=True, timeout=300)
    out = res.stdout + res.stderr
    assert "Text Classification" in out, out
    return out[out.index("Text Classification"):]


def _textcat_problems(section: str) -> list[str]:
    # spaCy's generic "Low number of examples" count check is not about the export; everything else counts
    return [line for line in section.splitlines()
            if ("mutually-exclusive" in line or "invalid" in line.lower() or "missing" in line.lower())]


def test_spacy_debug_data_passes_for_textcat(project, schema, tmp_path):
    team_labels(project, schema)
    store.create_version(project)
    out = store.write_export(project, schema, 1, "spacy", tmp_path / "gold.spacy", task="topic")
    section = _debug_data(tmp_path, "textcat", out)
    assert "Text Classification (Exclusive Classes)" in section
    assert _textcat_problems(section) == [], section
    # the check can fail: a Doc whose categories are all 0.0 (what the old export wrote) is reported
    bad = DocBin()
    for doc in _docs(out):
        bad.add(doc)
    doc = spacy.blank("en").make_doc("Talks resume.")
    doc.cats = {n: 0.0 for n in schema.topic.names}
    bad.add(doc)
    bad.to_disk(tmp_path / "bad.spacy")
    assert any("mutually-exclusive" in x for x in _textcat_problems(_debug_data(tmp_path, "textcat",
                                                                                  tmp_path / "bad.spacy")))


def test_spacy_debug_data_passes_for_textcat_multilabel(tmp_path):
    project = make_project(tmp_path / "multi", seeds=False)
    text = project.schema_path.read_text("utf-8").replace("multi_label = false", "multi_label = true", 1)
    project.schema_path.write_text(text, encoding="utf-8")
    schema = load_schema(project.schema_path)
    assert schema.topic.multi_label
    _label(project, schema, "s1", "Trade and gas deals.", "ann", "trade|energy")
    _label(project, schema, "s1", "Trade and gas deals.", "bob", "trade|energy")
    _label(project, schema, "s2", "Troops left.", "ann", "security")
    _label(project, schema, "s3", "Talks on power.", "ann", "diplomacy|energy")
    store.create_version(project)
    out = store.write_export(project, schema, 1, "spacy", tmp_path / "gold.spacy", task="topic")
    docs = _docs(out)
    assert [sorted(k for k, v in d.cats.items() if v == 1.0) for d in docs] == [
        ["energy", "trade"], ["security"], ["diplomacy", "energy"]]
    section = _debug_data(tmp_path, "textcat_multilabel", out)
    assert "Text Classification (Multilabel)" in section
    assert _textcat_problems(section) == [], section


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_gold_table_exports_name_the_task(project, schema, fmt):
    team_labels(project, schema)
    store.create_version(project)
    res = run_cli("export", "--gold", "--format", fmt, "--task", "stance", "--project", str(project.root))
    assert res.returncode == 0, res.stderr
    assert (project.root / "exports" / f"labels-v0001-stance.{fmt}").exists()


def test_training_report_counts_conflicting_duplicates(tmp_path):
    """`python -m train` said "0 ties left out" while the same text had two different gold labels."""
    from test_train import fixture_rows, new_project

    import train
    from train.report import training_report

    rows = fixture_rows()
    twin = rows[0]
    rows.append(LabelRow("extra-0001", twin.text + " ", "ann2", topic="diplomacy", stance=twin.stance,
                         article_id="extra"))
    project = new_project(tmp_path, rows)
    result = train.train_project(project, progress=False)
    assert result.metrics["tasks"]["topic"]["n_ties"] == 2
    assert result.metrics["tasks"]["stance"]["n_ties"] == 0  # same stance: counted once, not a tie
    assert "2 ties left out" in training_report(result.metrics, result.version_created)
