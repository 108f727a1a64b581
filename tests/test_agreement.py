"""Agreement figures match the reference implementations (krippendorff, scikit-learn) on the same data."""

from __future__ import annotations

import json
import random

import krippendorff
import numpy as np
import pytest
from conftest import run_cli
from sklearn.metrics import cohen_kappa_score

from label_app import store
from label_app.agreement import agreement_report, cohen_kappa, krippendorff_alpha_nominal, task_agreement
from label_app.store import LabelRow

LABELS = ["trade", "energy", "security", "diplomacy"]


def _random_labels(seed: int, n_units: int = 60, annotators: int = 4, agree: float = 0.6):
    rng = random.Random(seed)
    rows = []
    for u in range(n_units):
        truth = rng.choice(LABELS)
        for a in range(annotators):
            if rng.random() < 0.3:
                continue  # not every annotator sees every sentence
            value = truth if rng.random() < agree else rng.choice(LABELS)
            rows.append({"sentence_id": f"s{u}", "annotator": f"ann{a}", "topic": value, "stance": "",
                         "source": "manual"})
    return rows


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_alpha_and_kappa_match_references(seed):
    rows = _random_labels(seed)
    ta = task_agreement(rows, "topic", LABELS)
    annotators = sorted({r["annotator"] for r in rows})
    units = sorted({r["sentence_id"] for r in rows})
    code = {lab: i for i, lab in enumerate(LABELS)}
    matrix = np.full((len(annotators), len(units)), np.nan)
    for r in rows:
        matrix[annotators.index(r["annotator"]), units.index(r["sentence_id"])] = code[r["topic"]]
    ref = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
    assert ta.alpha == pytest.approx(ref, abs=1e-9)
    by = {(r["sentence_id"], r["annotator"]): r["topic"] for r in rows}
    assert ta.pairs
    for p in ta.pairs:
        shared = [u for u in units if (u, p.a) in by and (u, p.b) in by]
        a = [by[(u, p.a)] for u in shared]
        b = [by[(u, p.b)] for u in shared]
        assert p.n == len(shared)
        assert p.kappa == pytest.approx(cohen_kappa_score(a, b), abs=1e-9)
        assert sum(sum(row.values()) for row in p.confusion.values()) == len(shared)


def test_edge_cases():
    assert krippendorff_alpha_nominal({"s1": {"a": "x"}}) is None  # nothing pairable
    assert krippendorff_alpha_nominal({"s1": {"a": "x", "b": "x"}, "s2": {"a": "x", "b": "x"}}) is None
    assert cohen_kappa([], []) is None
    assert cohen_kappa(["x", "y"], ["x", "y"]) == 1.0


def test_per_label_agreement_and_adjudications_left_out():
    rows = [
        {"sentence_id": "s1", "annotator": "a", "topic": "trade", "source": "manual"},
        {"sentence_id": "s1", "annotator": "b", "topic": "trade", "source": "manual"},
        {"sentence_id": "s2", "annotator": "a", "topic": "trade", "source": "manual"},
        {"sentence_id": "s2", "annotator": "b", "topic": "energy", "source": "manual"},
        {"sentence_id": "s2", "annotator": "lead", "topic": "energy", "source": "adjudicated"},
    ]
    ta = task_agreement(rows, "topic", ["trade", "energy"])
    assert ta.annotators == ["a", "b"]
    assert ta.per_label == {"trade": pytest.approx(2 / 3), "energy": 0.0}


def test_cli_text_and_json(project, schema):
    for who, topics in (("ann", ["trade", "energy", "trade"]), ("bob", ["trade", "security", "trade"])):
        for i, t in enumerate(topics):
            store.append_label(project, schema, LabelRow(f"s{i}", f"text {i}", who, topic=t, stance="favor"))
    res = run_cli("agreement", "--project", str(project.root))
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[:3] == ["task    annotators  sentences  by 2+  alpha",
                         "topic            2          3      3  0.444",
                         "stance           2          3      3    n/a"]
    assert "topic   ann / bob  3  0.400        67%" in lines
    res = run_cli("agreement", "--json", "--project", str(project.root))
    data = json.loads(res.stdout)
    assert data["stance"]["alpha"] is None and data["topic"]["pairs"][0]["n"] == 3
    labels = store.current_labels(project)
    assert agreement_report(labels, schema)["topic"].alpha == pytest.approx(
        krippendorff.alpha(reliability_data=[[0, 1, 0], [0, 2, 0]], level_of_measurement="nominal"))
