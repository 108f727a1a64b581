"""Gold labels: one label per sentence and task, resolved from per-annotator label rows.

The one resolution rule, shared by training (`train.data`), the gold export and anything else that needs "the"
label of a sentence:

1. An adjudicated row (source `adjudicated`) wins outright; the latest one (by timestamp) if several.
2. Otherwise the annotators' majority. A tie (two or more values with the top count) is left out and counted.
3. Sentences whose texts are the same after `textnorm.normalise_text` are one item: if their resolved labels
   differ, every one of them is a tie (left out and counted: a classifier would be trained on both answers for
   the same input); if they agree, the text counts once (the sentence with the smallest id is kept, the others
   are listed in `duplicate_ids`).

A sentence without any label for a task does not count for that task.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from .schema import Schema
from .textnorm import normalise_text

ADJUDICATED = "adjudicated"


@dataclass
class GoldItem:
    """The gold label of one sentence for one task.

    `votes` is "adjudicated" or "<votes for the label>/<annotators>" (e.g. "2/3"); `annotators` the number of
    annotators who labelled the sentence for this task; `duplicate_ids` the other sentences with the same
    (normalised) text and the same gold label, counted once here.
    """

    sentence_id: str
    article_id: str
    text: str
    label: str
    votes: str
    annotators: int
    duplicate_ids: list[str] = field(default_factory=list)


@dataclass
class GoldTask:
    """The gold labels of one task, in sentence-id order, with what was left out.

    `tie_ids`: sentences left out because their votes tie, or because a sentence with the same normalised text
    has a different gold label (those are also in `conflict_ids`). `duplicate_ids`: sentences merged into
    an item with the same text and label (not ties, not training rows of their own).
    """

    task: str
    multi_label: bool = False
    items: list[GoldItem] = field(default_factory=list)
    tie_ids: list[str] = field(default_factory=list)
    conflict_ids: list[str] = field(default_factory=list)

    @property
    def ties(self) -> int:
        return len(self.tie_ids)

    @property
    def duplicate_ids(self) -> list[str]:
        return [d for item in self.items for d in item.duplicate_ids]


def resolve_votes(values: list[tuple[str, str, str, str]]) -> tuple[str | None, str]:
    """(gold label or None for a tie, vote text) from (annotator, value, source, timestamp) tuples.

    `values` must be non-empty and carry non-empty values. An adjudicated label wins outright (the latest one by
    timestamp, then annotator name); otherwise the majority of annotators; a tie gives None and "tie 1/1".
    """
    adjudicated = [v for v in values if v[2] == ADJUDICATED]
    if adjudicated:
        latest = max(adjudicated, key=lambda v: (v[3], v[0]))
        return latest[1], "adjudicated"
    ranked = Counter(v[1] for v in values).most_common()
    top = ranked[0][1]
    if sum(1 for _, c in ranked if c == top) > 1:
        return None, f"tie {'/'.join(str(c) for _, c in ranked)}"
    return ranked[0][0], f"{top}/{len(values)}"


def resolve_gold(rows: Iterable[dict[str, str]], schema: Schema) -> dict[str, GoldTask]:
    """Gold labels per task name ("topic", "stance") from current label rows (one per sentence and annotator,
    as in a version or `store.current_labels`); see the module docstring for the rule.

    Rows need `sentence_id`, `text`, `annotator`, `source`, `timestamp` and the task columns; `article_id` is
    kept (the sentence id stands in when it is empty). Items come in sentence-id order, so results are
    deterministic.
    """
    by_sentence: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in rows:
        by_sentence[r["sentence_id"]].append(r)
    out = {t.name: GoldTask(t.name, t.multi_label) for t in schema.tasks}
    for task in schema.tasks:
        resolved: list[GoldItem] = []
        gold = out[task.name]
        for sid in sorted(by_sentence):
            srows = sorted(by_sentence[sid], key=lambda r: r.get("annotator", ""))
            values = [(r.get("annotator", ""), r.get(task.name, "") or "", r.get("source", ""),
                       r.get("timestamp", "")) for r in srows]
            values = [v for v in values if v[1]]
            if not values:
                continue
            label, votes = resolve_votes(values)
            if label is None:
                gold.tie_ids.append(sid)
                continue
            article = next((r["article_id"] for r in srows if r.get("article_id")), "") or sid
            resolved.append(GoldItem(sid, article, srows[-1].get("text", ""), label, votes, len(values)))
        by_text: dict[str, list[GoldItem]] = defaultdict(list)
        for item in resolved:
            by_text[normalise_text(item.text)].append(item)
        for item in resolved:
            same = by_text[normalise_text(item.text)]
            if len({i.label for i in same}) > 1:
                gold.tie_ids.append(item.sentence_id)
                gold.conflict_ids.append(item.sentence_id)
            elif item is same[0]:
                item.duplicate_ids = [i.sentence_id for i in same[1:]]
                gold.items.append(item)
        gold.tie_ids.sort()
    return out
