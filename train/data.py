"""Gold labels for training: one label per sentence and task, from a version's per-annotator rows."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from label_app.schema import Schema

ADJUDICATED = "adjudicated"


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


def _gold(values: list[tuple[str, str, str, str]]) -> tuple[str | None, str]:
    """(gold label or None for a tie, vote text) from (annotator, value, source, timestamp) tuples.

    An adjudicated label wins outright (the latest one if several); otherwise the majority of annotators.
    """
    adjudicated = [v for v in values if v[2] == ADJUDICATED]
    if adjudicated:
        latest = max(adjudicated, key=lambda v: (v[3], v[0]))
        return latest[1], "adjudicated"
    counts = Counter(v[1] for v in values)
    ranked = counts.most_common()
    top = ranked[0][1]
    if sum(1 for _, c in ranked if c == top) > 1:
        return None, f"tie {'/'.join(str(c) for _, c in ranked)}"
    return ranked[0][0], f"{top}/{len(values)}"


def gold_labels(rows: list[dict[str, str]], schema: Schema) -> dict[str, TaskData]:
    """Gold labels per task: adjudicated wins, else the annotators' majority; ties are left out and counted.

    A sentence labelled for only one task counts only for that task. Groups are article ids (the sentence id
    when a row has no article), so cross-validation can keep an article's sentences on one side.
    """
    by_sentence: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in rows:
        by_sentence[r["sentence_id"]].append(r)
    out = {t.name: TaskData(t.name, multi_label=t.multi_label) for t in schema.tasks}
    for sid in sorted(by_sentence):
        srows = sorted(by_sentence[sid], key=lambda r: r.get("annotator", ""))
        text = srows[-1].get("text", "")
        group = next((r["article_id"] for r in srows if r.get("article_id")), "") or sid
        for task in schema.tasks:
            values = [(r.get("annotator", ""), r.get(task.name, "") or "", r.get("source", ""),
                       r.get("timestamp", "")) for r in srows]
            values = [v for v in values if v[1]]
            if not values:
                continue
            label, votes = _gold(values)
            data = out[task.name]
            if label is None:
                data.tie_ids.append(sid)
                continue
            data.sentence_ids.append(sid)
            data.groups.append(group)
            data.texts.append(text)
            data.labels.append(label)
            data.votes.append(votes)
    return out
