"""train.active: uncertainty measures, k-means batch selection, and the benchmark's criterion and queue."""

from __future__ import annotations

import numpy as np
import pytest

from label_app.errors import LabelAppError
from train.active import QUEUE_STRATEGY, joint_uncertainty, margin_of, uncertainty_order


def _near_duplicates() -> tuple[list[str], list[str], list[float]]:
    """12 copies of one sentence (more uncertain) and 10 distinct ones: a batch of 10 should not be copies."""
    dup = "Iran and Iraq signed a memorandum to raise annual trade to 20 billion dollars."
    distinct = [
        "Militia leaders met in Baghdad to discuss security along the border.",
        "Pilgrims travelled to Karbala for Arbaeen.",
        "Electricity imports from Iran fell during the summer heat wave.",
        "Washington extended the sanctions waiver for another 120 days.",
        "Students from Basra enrolled at universities in Mashhad.",
        "The two central banks agreed on a payment channel in local currencies.",
        "A railway from Shalamcheh to Basra is planned.",
        "Parliament debated the withdrawal of foreign troops.",
        "Oil prices rose after the pipeline attack.",
        "The foreign ministers spoke by phone on Sunday.",
    ]
    ids = [f"d{i}" for i in range(12)] + [f"x{i}" for i in range(10)]
    return ids, [dup] * 12 + distinct, [0.9] * 12 + [0.7] * 10


@pytest.mark.parametrize("selection", ["greedy", "kmeans"])
def test_batches_stay_diverse(selection: str) -> None:
    ids, texts, unc = _near_duplicates()
    order = uncertainty_order(ids, texts, unc, batch_size=10, selection=selection)
    assert sorted(order) == sorted(ids)
    assert order[0] == "d0"  # the most uncertain sentence still comes first
    assert sum(1 for s in order[:10] if s.startswith("d")) <= 2
    assert uncertainty_order(ids, texts, unc, batch_size=10, selection=selection, limit=3)[:1] == ["d0"]
    # plain uncertainty order, ties in input order
    assert uncertainty_order(ids, texts, unc, batch_size=10, diversity=0, selection=selection) == ids


def test_uncertainty_order_nan_last_limit_and_errors() -> None:
    ids = ["a", "b", "c", "d", "e"]
    texts = ["one thing", "other matter", "third item", "fourth", "fifth here"]
    unc = [0.2, None, float("nan"), 0.9, 0.5]
    order = uncertainty_order(ids, texts, unc, batch_size=2)
    assert order[:3] == ["d", "e", "a"] and set(order[3:]) == {"b", "c"}
    assert uncertainty_order(ids, texts, unc, batch_size=2, limit=2)[:2] == ["d", "e"]
    assert uncertainty_order([], [], []) == []
    with pytest.raises(LabelAppError, match="2 ids, 1 texts"):
        uncertainty_order(["a", "b"], ["x"], [0.1, 0.2])
    with pytest.raises(LabelAppError, match="batch_size"):
        uncertainty_order(ids, texts, unc, batch_size=0)
    with pytest.raises(LabelAppError, match="selection"):
        uncertainty_order(ids, texts, unc, selection="bogus")


def test_bench_criterion_needs_the_target_to_hold(al_bench) -> None:  # noqa: ANN001
    labels_to_target = al_bench.labels_to_target
    curve = [(50, 0.5), (100, 0.9), (150, 0.8), (200, 0.91), (250, 0.92)]
    assert labels_to_target(curve, 0.9) == (200, 100)  # touched at 100, held from 200
    assert labels_to_target(curve, 0.95) == (None, None)
    assert labels_to_target([(50, 0.95)], 0.9) == (50, 50)


def test_joint_uncertainty_is_one_minus_the_product_of_margins() -> None:
    topic = np.array([[0.7, 0.2, 0.1], [0.5, 0.5, 0.0]])
    stance = np.array([[0.9, 0.1], [1.0, 0.0]])
    assert joint_uncertainty(topic, stance) == pytest.approx([1 - 0.5 * 0.8, 1.0])
    assert joint_uncertainty(topic, None) == pytest.approx(1.0 - margin_of(topic))
    assert joint_uncertainty(None, None).shape == (0,)


def test_bench_takes_what_the_apps_queue_serves(al_bench) -> None:  # noqa: ANN001
    """The benchmark's 'uncertainty' strategy is the app's Queue in the app's configuration."""
    dup = "Iran and Iraq signed a memorandum to raise annual trade to 20 billion dollars."
    texts = [dup] * 60 + [f"Story number {i} about topic {i % 7} in city {i}." for i in range(140)]
    unc = np.concatenate([np.full(60, 0.95), np.linspace(0.9, 0.1, 140)])
    labeled = [60, 61, 62]
    picks = al_bench.queue_picks(texts, labeled, unc, 50, 1)
    assert len(picks) == len(set(picks)) == 50 and not set(picks) & set(labeled)
    assert picks[0] == 0  # the most uncertain sentence leads its batch
    assert sum(1 for p in picks if p < 60) <= 2  # one cluster of duplicates, not sixty copies in a row
    assert QUEUE_STRATEGY["batch_size"] == 50 and QUEUE_STRATEGY["selection"] == "kmeans"
