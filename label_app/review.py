"""What the Review and Dashboard pages compute, as plain functions: the review queue (annotator
disagreements and likely label errors from `python -m train errors`), adjudication, agreement tables.

A sentence leaves the review queue once a reviewer's adjudicated label is newer than every annotator's
current label on it (a later relabel by an annotator brings a disagreement back).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from . import artifacts, store
from .agreement import PairAgreement, TaskAgreement
from .errors import LabelAppError
from .gold import ADJUDICATED, resolve_votes
from .index import Entry
from .project import Project
from .schema import Schema

LABEL_COLUMNS = ["annotator", "topic", "stance", "source", "timestamp"]


# the latest action of one annotator on one sentence, as the label index keeps it
LabelEntry = Entry


# ---------------------------------------------------------------- likely label errors (train's CSV)

@dataclass(frozen=True)
class LabelError:
    """One row of `python -m train errors`' CSV: a gold label a confident out-of-fold prediction disputes."""

    rank: int
    task: str
    sentence_id: str
    article_id: str
    text: str
    gold: str
    predicted: str
    p_predicted: float
    p_gold: float
    votes: str
    model_id: str

    def describe(self) -> str:
        """One line naming its source: an out-of-fold prediction (a model that never saw this sentence)."""
        return (f"likely {self.task} error (rank {self.rank}): labelled {self.gold} ({self.votes}); out-of-fold "
                f"prediction {self.predicted} ({self.p_predicted:.0%})")


def _num(value: str, kind: type, default: Any) -> Any:
    try:
        return kind(value)
    except (TypeError, ValueError):
        return default


def parse_errors(text: str) -> list[LabelError]:
    """Rows of a label-errors CSV (cells guarded against spreadsheet formulas are unguarded); by rank."""
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None:
        return []
    missing = [c for c in artifacts.LABEL_ERROR_COLUMNS if c not in reader.fieldnames]
    if missing:
        raise artifacts.ArtifactError(f"label-errors CSV: missing columns {', '.join(missing)} (not written by "
                                      "this version of `python -m train errors`; rerun it)")
    out = []
    for r in reader:
        cell = {k: store.unguard_cell(v or "") for k, v in r.items() if k is not None}
        if not cell["sentence_id"] or not cell["task"]:
            continue
        out.append(LabelError(_num(cell.get("rank", ""), int, len(out) + 1), cell["task"], cell["sentence_id"],
                              cell.get("article_id", ""), cell.get("text", ""), cell["gold"], cell["predicted"],
                              _num(cell.get("p_predicted", ""), float, 0.0), _num(cell.get("p_gold", ""), float, 0.0),
                              cell.get("votes", ""), cell.get("model_id", "")))
    return sorted(out, key=lambda e: e.rank)


def errors_path(project: Project) -> Path | None:
    """The current model's label-errors CSV (it may not exist yet), or None without a model."""
    model_id = artifacts.current_model_id(project)
    return None if model_id is None else artifacts.model_folder(project, model_id) / artifacts.ERRORS_FILE


def read_errors(path: Path | None) -> list[LabelError]:
    """The errors in a CSV written by `python -m train errors`; none when there is no such file."""
    if path is None:
        return []
    try:
        return parse_errors(path.read_text("utf-8"))
    except artifacts.ArtifactError as exc:
        raise artifacts.ArtifactError(f"{path}: {str(exc).removeprefix('label-errors CSV: ')}") from None
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelAppError(f"{path}: unreadable label-errors file: {exc}") from None


# ---------------------------------------------------------------- the review queue

def labelled_entries(entries: Iterable[LabelEntry]) -> list[LabelEntry]:
    """The entries of one sentence whose latest action is a label (not a skip or a removal)."""
    return [e for e in entries if e.action == "label"]


def is_reviewed(entries: Iterable[LabelEntry]) -> bool:
    """Whether an adjudicated label is at least as new as every annotator's current label on the sentence
    (timestamps have millisecond resolution; a reviewer decides after seeing the labels)."""
    labels = labelled_entries(entries)
    final = [e.timestamp for e in labels if e.source == ADJUDICATED]
    if not final:
        return False
    return max(final) >= max((e.timestamp for e in labels if e.source != ADJUDICATED), default="")


def disagreeing_tasks(entries: Iterable[LabelEntry], tasks: Sequence[str]) -> list[str]:
    """Tasks on which the annotators' current labels differ (empty cells and adjudications left out)."""
    labels = [e for e in labelled_entries(entries) if e.source != ADJUDICATED]
    return [t for t in tasks if len({getattr(e, t) for e in labels if getattr(e, t)}) > 1]


def final_label(entries: Iterable[LabelEntry], task: str) -> tuple[str, str]:
    """The label training takes as gold for one task of a sentence, and why: the latest adjudicated value
    ("adjudicated by NAME"), else the annotators' majority ("3/4 annotators"); ("", "tie 1/1") or ("", "") when
    there is none (the rule of train.data.gold_labels, applied to the current labels)."""
    labels = [e for e in labelled_entries(entries) if getattr(e, task)]
    if not labels:
        return "", ""
    value, votes = resolve_votes([(e.annotator, getattr(e, task), e.source, e.timestamp) for e in labels])
    if value is None:
        return "", votes
    if votes == ADJUDICATED:
        who = max((e for e in labels if e.source == ADJUDICATED), key=lambda e: (e.timestamp, e.annotator))
        return value, f"adjudicated by {who.annotator}"
    return value, f"{votes} annotators"


def agreed_value(entries: Iterable[LabelEntry], task: str) -> str:
    """The value every annotator who labelled the task gave (to pre-select), else ''."""
    values = {getattr(e, task) for e in labelled_entries(entries) if e.source != ADJUDICATED and getattr(e, task)}
    return values.pop() if len(values) == 1 else ""


@dataclass
class ReviewItem:
    """A sentence for the reviewer, with why it is here."""

    sentence_id: str
    article_id: str
    text: str
    disagree: list[str] = field(default_factory=list)
    errors: list[LabelError] = field(default_factory=list)

    def reasons(self) -> list[str]:
        out = [f"annotators disagree on {t}" for t in self.disagree]
        return out + [e.describe() for e in self.errors]


def review_queue(by_sentence: Mapping[str, Mapping[str, LabelEntry]], tasks: Sequence[str],
                 errors: Sequence[LabelError] = (), order: Sequence[str] = ()) -> list[ReviewItem]:
    """Sentences to review: disagreements (in `order`, the corpus order, then the rest by id), then likely
    label errors by rank; each sentence once, reviewed ones left out."""
    rank = {sid: i for i, sid in enumerate(order)}
    items: dict[str, ReviewItem] = {}
    for sid in sorted(by_sentence, key=lambda s: (rank.get(s, len(rank)), s)):
        entries = list(by_sentence[sid].values())
        disagree = disagreeing_tasks(entries, tasks)
        if disagree and not is_reviewed(entries):
            first = labelled_entries(entries)[0]
            items[sid] = ReviewItem(sid, first.article_id, first.text, disagree)
    for err in sorted(errors, key=lambda e: e.rank):
        entries = list(by_sentence.get(err.sentence_id, {}).values())
        if not labelled_entries(entries) or is_reviewed(entries):
            continue  # cleared since, or already decided
        item = items.get(err.sentence_id)
        if item is None:
            item = items[err.sentence_id] = ReviewItem(err.sentence_id, err.article_id, err.text)
        item.errors.append(err)
    return list(items.values())


def labels_table(entries: Iterable[LabelEntry]) -> pd.DataFrame:
    """Every annotator's current label on a sentence (adjudications included), oldest first."""
    rows = [(e.annotator, e.topic, e.stance, e.source, e.timestamp)
            for e in sorted(labelled_entries(entries), key=lambda e: e.timestamp)]
    return pd.DataFrame(rows, columns=LABEL_COLUMNS)


def adjudicate(project: Project, schema: Schema, reviewer: str, sentence_id: str, article_id: str, text: str,
               topic: str, stance: str) -> dict[str, Any]:
    """Record the reviewer's final label (source `adjudicated`); on disk when this returns."""
    if not (topic or stance):
        raise LabelAppError("choose the final topic or stance first")
    row = store.LabelRow(sentence_id=sentence_id, text=text, annotator=reviewer, topic=topic, stance=stance,
                         article_id=article_id, source=ADJUDICATED, action="label")
    return store.append_label(project, schema, row)


# ---------------------------------------------------------------- agreement tables for the Dashboard

def entries_as_rows(entries: Iterable[LabelEntry]) -> list[dict[str, str]]:
    """Current labels as the row dicts agreement_report reads."""
    return [{"sentence_id": e.sentence_id, "annotator": e.annotator, "source": e.source, "topic": e.topic,
             "stance": e.stance} for e in labelled_entries(entries)]


# A kappa over a handful of shared sentences is noise (one sentence gives 0.000 or 1.000): the Dashboard hides
# pairs that share fewer sentences than this unless the lead lowers it.
MIN_PAIR_OVERLAP = 10


def split_pairs(ta: TaskAgreement, min_overlap: int = MIN_PAIR_OVERLAP) -> tuple[list[PairAgreement],
                                                                                 list[PairAgreement]]:
    """(pairs that share at least `min_overlap` sentences, pairs that share fewer)."""
    return [p for p in ta.pairs if p.n >= min_overlap], [p for p in ta.pairs if p.n < min_overlap]


def pairs_frame(ta: TaskAgreement, pairs: Sequence[PairAgreement] | None = None) -> pd.DataFrame:
    """Cohen's kappa per annotator pair (all of the task's pairs, or those given)."""
    rows = [(p.a, p.b, p.n, p.kappa, p.percent) for p in (ta.pairs if pairs is None else pairs)]
    return pd.DataFrame(rows, columns=["annotator A", "annotator B", "sentences", "Cohen's kappa", "identical"])


def per_label_frame(ta: TaskAgreement) -> pd.DataFrame:
    """Specific agreement per label (labels nobody used twice are left out)."""
    rows = [(lab, v) for lab, v in ta.per_label.items() if v is not None]
    return pd.DataFrame(rows, columns=["label", "agreement"])


def confusion_table(pair: PairAgreement, labels: Sequence[str] = ()) -> pd.DataFrame:
    """Annotator A's labels (rows) against annotator B's (columns) on the sentences both labelled."""
    seen = set(pair.confusion) | {q for row in pair.confusion.values() for q in row}
    names = [lab for lab in labels if lab in seen] + sorted(seen - set(labels))
    data = [[pair.confusion.get(a, {}).get(b, 0) for b in names] for a in names]
    df = pd.DataFrame(data, index=pd.Index(names, name=f"{pair.a} \\ {pair.b}"), columns=names)
    return df
