"""Gold labels for training: one label per sentence and task, from a version's per-annotator rows.

The resolution itself (adjudicated first, then majority; ties and conflicting duplicate texts left out and
counted; identical duplicate texts once) lives in `label_app.gold`, shared with the gold export; this module
only shapes it into the columns training uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from label_app.gold import ADJUDICATED, resolve_gold
from label_app.schema import Schema

__all__ = ["ADJUDICATED", "TaskData", "gold_labels"]


@dataclass
class TaskData:
    """The gold-labelled sentences of one task, in sentence-id order (so training is deterministic)."""

    task: str
    sentence_ids: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    votes: list[str] = field(default_factory=list)
    tie_ids: list[str] = field(default_factory=list)
    multi_label: bool = False

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def ties(self) -> int:
        return len(self.tie_ids)

    def subset(self, idx: list[int]) -> TaskData:
        """The rows at positions `idx` (ties are kept as they are)."""
        pick = lambda xs: [xs[i] for i in idx]  # noqa: E731
        return TaskData(self.task, pick(self.sentence_ids), pick(self.groups), pick(self.texts),
                        pick(self.labels), pick(self.votes), list(self.tie_ids), self.multi_label)


def gold_labels(rows: list[dict[str, str]], schema: Schema) -> dict[str, TaskData]:
    """Gold labels per task (see `label_app.gold.resolve_gold` for the rule); ties are in `tie_ids`.

    A sentence labelled for only one task counts only for that task. Groups are article ids (the sentence id
    when a row has no article), so cross-validation can keep an article's sentences on one side.
    """
    out: dict[str, TaskData] = {}
    for name, gold in resolve_gold(rows, schema).items():
        data = TaskData(name, tie_ids=list(gold.tie_ids), multi_label=gold.multi_label)
        for item in gold.items:
            data.sentence_ids.append(item.sentence_id)
            data.groups.append(item.article_id)
            data.texts.append(item.text)
            data.labels.append(item.label)
            data.votes.append(item.votes)
        out[name] = data
    return out
