"""An incremental, in-memory index of the label log: who did what to which sentence, latest action first.

`refresh()` reads only the bytes appended since the last call (store.read_log with an offset), so a label
action costs work proportional to the rows it adds, never a reread of the whole log.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from . import store
from .project import Project

# latest actions that count as "this annotator is done with the sentence"
HANDLED_ACTIONS = frozenset({"label", "skip", "not-sentence"})
# latest actions that count towards the sentence being done for the project
DONE_ACTIONS = frozenset({"label", "not-sentence"})


@dataclass(slots=True)
class Entry:
    """The latest action of one annotator on one sentence (one log row, text kept for non-corpus rows)."""

    sentence_id: str
    annotator: str
    action: str
    topic: str
    stance: str
    source: str
    model_version: str
    timestamp: str
    article_id: str
    text: str

    @classmethod
    def from_row(cls, r: dict[str, str]) -> Entry:
        return cls(r["sentence_id"], r["annotator"], r["action"], r["topic"], r["stance"], r["source"],
                   r["model_version"], r["timestamp"], r["article_id"], r["text"])


# (sentence_id, annotator, previous entry or None, new entry)
Change = tuple[str, str, Entry | None, Entry]


class LabelIndex:
    """Latest entry per (sentence, annotator), kept current by reading the log incrementally."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.offset = 0
        self.line = 0
        self.by_sentence: dict[str, dict[str, Entry]] = {}
        # per annotator, their sentences ordered by their latest action (oldest first)
        self.by_annotator: dict[str, OrderedDict[str, Entry]] = {}
        self.label_counts: Counter[str] = Counter()
        self.done_sentences: Counter[str] = Counter()  # sentence -> annotators whose latest is DONE
        # (timestamp, annotator, action) of every row, for the dashboard's progress over time
        self.events: list[tuple[str, str, str]] = []
        self.torn: list[store.TornRow] = []
        self.rows_read = 0
        self._lock = threading.RLock()
        self._listeners: list[Callable[[list[Change]], None]] = []

    def subscribe(self, fn: Callable[[list[Change]], None]) -> None:
        """Call `fn` with the changes of every later refresh (the queue listens here)."""
        self._listeners.append(fn)

    def refresh(self) -> list[Change]:
        """Apply the rows appended since the last refresh; returns what changed."""
        with self._lock:
            got = store.read_log(self.project, self.offset, self.line, warn=False)
            self.offset, self.line = got.offset, got.line
            self.torn.extend(got.torn)
            changes = [self._apply(r) for r in got.rows]
            self.rows_read += len(got.rows)
        if changes:
            for fn in self._listeners:
                fn(changes)
        return changes

    def _apply(self, r: dict[str, str]) -> Change:
        e = Entry.from_row(r)
        sid, who = e.sentence_id, e.annotator
        per_sentence = self.by_sentence.setdefault(sid, {})
        old = per_sentence.get(who)
        per_sentence[who] = e
        mine = self.by_annotator.setdefault(who, OrderedDict())
        mine[sid] = e
        mine.move_to_end(sid)
        if old is not None and old.action == "label":
            self.label_counts[who] -= 1
        if e.action == "label":
            self.label_counts[who] += 1
        was_done = old is not None and old.action in DONE_ACTIONS
        if was_done != (e.action in DONE_ACTIONS):
            self.done_sentences[sid] += -1 if was_done else 1
            if self.done_sentences[sid] <= 0:
                del self.done_sentences[sid]
        self.events.append((e.timestamp, who, e.action))
        return (sid, who, old, e)

    # ------------------------------------------------------------ queries (cheap)

    def entry(self, sentence_id: str, annotator: str) -> Entry | None:
        return self.by_sentence.get(sentence_id, {}).get(annotator)

    def entries(self, sentence_id: str) -> list[Entry]:
        return list(self.by_sentence.get(sentence_id, {}).values())

    def recent(self, annotator: str, n: int = 20) -> list[str]:
        """The annotator's last `n` sentences (latest action first) that they labelled, skipped or marked."""
        out: list[str] = []
        for sid in reversed(self.by_annotator.get(annotator, {})):
            if self.by_annotator[annotator][sid].action in HANDLED_ACTIONS:
                out.append(sid)
                if len(out) >= n:
                    break
        return out

    def label_count(self, annotator: str) -> int:
        return self.label_counts.get(annotator, 0)

    def annotators(self) -> list[str]:
        return sorted(self.by_annotator)

    def label_entries(self) -> list[Entry]:
        """Every (sentence, annotator) whose latest action is a label."""
        return [e for per in self.by_sentence.values() for e in per.values() if e.action == "label"]
