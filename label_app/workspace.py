"""Everything the pages need, as plain Python: corpus lookups, the label index, the queue, saving.

One Workspace per project lives for the app process (st.cache_resource) and is shared by all sessions;
it holds no per-session state. Every method is cheap per label action: dict lookups, an incremental log
read, a queue scan from a cursor. Tests and the benchmark use it without Streamlit.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from train.active import COLD_START, QUEUE_STRATEGY

from . import store
from .artifacts import read_prelabels
from .claims import SharedClaims
from .corpus import KIND_SENTENCE, load_corpus
from .errors import LabelAppError
from .index import DONE_ACTIONS, LabelIndex
from .project import Project
from .queue import Queue
from .schema import Schema, load_schema
from .settings import Settings, load_settings
from .suggest import Suggestion, for_topic, predict

CONTEXT_LINES = 2
# 'most uncertain first' is diversified (train.active.QUEUE_STRATEGY) this many sentences at a time, so the
# cost of one stretch does not grow with the corpus
UNCERTAIN_STEP = 500
HISTORY = 20


@dataclass
class SentenceView:
    """One sentence with the context shown around it."""

    sentence_id: str
    article_id: str
    text: str
    title: str
    source: str
    ordinal: int  # 1-based among the article's sentences
    n_sentences: int
    before: list[str]
    after: list[str]

    @property
    def position_text(self) -> str:
        return f"sentence {self.ordinal} of {self.n_sentences}"


@dataclass
class Progress:
    """Counts for the Annotate page's progress line (sentences of the current corpus)."""

    mine: int  # the annotator's current labels
    labelled: int  # sentences labelled (or marked not-a-sentence) by anyone, the starter labels included
    total: int
    left: int = 0  # sentences the queue would still give this annotator in the chosen order
    by_people: int = 0  # sentences labelled by someone other than the starter annotator (STARTER_ANNOTATOR)

    @property
    def share(self) -> float:
        return self.labelled / self.total if self.total else 0.0

    @property
    def people_share(self) -> float:
        return self.by_people / self.total if self.total else 0.0


# the annotator name of the labels shipped with the project (labels/labels.csv): they are not people's progress
STARTER_ANNOTATOR = "seed"
# labels per hour is noise before this many seconds of work
RATE_AFTER_SECONDS = 180.0


def rate_per_hour(count: int, started: float, now: float) -> float:
    """Labels per hour over a session that started at `started` (seconds since the epoch)."""
    hours = max(now - started, 60.0) / 3600.0  # under a minute the rate would be noise
    return count / hours


def labels_per_hour(count: int, started: float | None, now: float, after: float = RATE_AFTER_SECONDS) -> float | None:
    """Labels per hour since `started` (epoch seconds, the session's first save), or None before `after`
    seconds have passed (two labels in the first minute are not a rate)."""
    if started is None or now - started < after:
        return None
    return count / ((now - started) / 3600.0)


def decide_source(action: str, topic: str, stance: str, suggestion: Suggestion | None,
                  shown: bool, accepted: bool = False) -> tuple[str, str]:
    """(source, model_version) for a saved action.

    `suggestion` is the model's own suggestion (its topic, and the stance given that topic); `shown` says it
    was visible; `accepted` says the annotator explicitly accepted it (Shift+Enter, or Enter on untouched
    pre-selected choices). model_version is set whenever a suggestion was shown, so a row records that:
    - suggestion-accepted: an explicit accept, and the label is the suggestion;
    - suggestion-corrected: a suggestion was shown and the label differs from it;
    - manual with a model_version: shown, but the annotator chose the same label themselves;
    - manual without one: no suggestion was shown.
    """
    if action != "label" or suggestion is None or not shown:
        return "manual", ""
    same = (topic or "") == (suggestion.topic or "") and (stance or "") == (suggestion.stance or "")
    if not same:
        return "suggestion-corrected", suggestion.model_id
    return ("suggestion-accepted" if accepted else "manual"), suggestion.model_id


def article_title(title: str, source: str, first_line: str = "", limit: int = 90) -> str:
    """The title to show for an article: its heading line; when the corpus only has the file name (no heading
    line), the start of the article's first line, cut at a word within `limit` characters."""
    from pathlib import PurePosixPath

    title = (title or "").strip()
    stem = PurePosixPath((source or "").split("#", 1)[0]).stem
    if title and title != stem and title != source:
        return title
    line = " ".join((first_line or "").split())
    if not line:
        return title or stem
    if len(line) <= limit:
        return line
    cut = line[:limit].rsplit(" ", 1)[0]
    return (cut or line[:limit]) + "…"


class Workspace:
    """A project's corpus, label index and queue, kept current incrementally."""

    def __init__(self, project: Project, schema: Schema, corpus: pd.DataFrame, settings: Settings) -> None:
        self.project = project
        self.schema = schema
        self.settings = settings
        self.index = LabelIndex(project)
        self._lock = threading.RLock()
        self._suggestions: OrderedDict[tuple[str, str, str], Suggestion | None] = OrderedDict()
        self.predictions: dict[str, pd.DataFrame] = {}
        self._prelabels: dict[str, pd.DataFrame | None] = {}  # stored pre-labels of the current model only
        self.settings_stamp = self._settings_stamp()
        self._set_corpus(corpus)
        self.index.subscribe(self._on_changes)
        self.index.refresh()

    @classmethod
    def open(cls, root: str | os.PathLike[str], refresh: bool = True) -> Workspace:
        """Load schema, settings and corpus (ingesting new seeds when `refresh`) and index the labels."""
        project = Project.at(root)
        schema = load_schema(project.schema_path)
        store.check_fits_schema(project, schema)  # a schema change must not orphan labels silently
        settings, _problems = load_settings(project)
        corpus = load_corpus(project, refresh=refresh)
        return cls(project, schema, corpus, settings)

    # ------------------------------------------------------------ corpus

    def _set_corpus(self, df: pd.DataFrame) -> None:
        self.corpus = df
        self.corpus_stamp = self._corpus_stamp()
        self.seg_text: list[str] = df["text"].tolist()
        self.seg_kind: list[str] = df["kind"].tolist()
        self.seg_article: list[str] = df["article_id"].tolist()
        self.row_of: dict[str, int] = {sid: i for i, sid in enumerate(df["sentence_id"].tolist())}
        if not hasattr(self, "_people_done"):
            self._people_done: dict[str, int] = {}
        self._people_n = sum(1 for sid in self._people_done if sid in self.row_of)
        starts: dict[str, int] = {}
        ends: dict[str, int] = {}
        for i, aid in enumerate(self.seg_article):
            starts.setdefault(aid, i)
            ends[aid] = i + 1
        self.article_span = {a: (starts[a], ends[a]) for a in starts}
        self.titles = dict(zip(df["article_id"], df["title"], strict=True))
        self.sources = dict(zip(df["article_id"], df["source"], strict=True))
        sent = df[df["kind"] == KIND_SENTENCE]
        self.sentence_ids: list[str] = sent["sentence_id"].tolist()
        self.ordinal = dict(zip(self.sentence_ids, (sent.groupby("article_id").cumcount() + 1).tolist(), strict=True))
        self.n_sent = sent.groupby("article_id").size().to_dict()
        # claims in the project's SQLite file: every server process of the project sees the same ones
        lease = self.settings.lease_minutes * 60
        self.queue = Queue(self.sentence_ids, overlap=self.settings.overlap, lease_seconds=lease,
                           overlap_share=self.settings.overlap_share, background=True,
                           claims=SharedClaims.for_project(self.project, lease), sync=self.index.refresh)
        self.predictions.clear()
        # replay what is already indexed into the fresh queue
        replay = [(sid, who, None, e) for sid, per in self.index.by_sentence.items() for who, e in per.items()]
        if replay:
            self.queue.apply(replay)

    def _corpus_stamp(self) -> int:
        try:
            return self.project.corpus_path.stat().st_mtime_ns
        except FileNotFoundError:
            return 0

    def _settings_stamp(self) -> tuple[int, int]:
        try:
            st = self.project.settings_path.stat()
        except FileNotFoundError:
            return (0, 0)
        return (st.st_mtime_ns, st.st_size)

    def reload_corpus(self, ingest: bool = True) -> None:
        """Re-read the corpus (after an upload or an ingest from the CLI); rebuilds the queue."""
        with self._lock:
            self._set_corpus(load_corpus(self.project, refresh=ingest))

    def apply_settings(self, settings: Settings) -> None:
        with self._lock:
            routing = ("overlap", "overlap_share", "lease_minutes")
            rebuild = any(getattr(settings, k) != getattr(self.settings, k) for k in routing)
            self.settings = settings
            if rebuild:
                self._set_corpus(self.corpus)

    def _on_changes(self, changes: list) -> None:
        if hasattr(self, "queue"):
            self.queue.apply(changes)
        self._count_people(changes)

    def _count_people(self, changes: list) -> None:
        # per sentence, how many annotators other than the starter have a done action as their latest
        for sid, who, old, new in changes:
            if who == STARTER_ANNOTATOR:
                continue
            delta = int(new.action in DONE_ACTIONS) - int(old is not None and old.action in DONE_ACTIONS)
            if not delta:
                continue
            before = self._people_done.get(sid, 0)
            after = before + delta
            if after > 0:
                self._people_done[sid] = after
            else:
                self._people_done.pop(sid, None)
            if sid in self.row_of and (before > 0) != (after > 0):
                self._people_n += 1 if after > 0 else -1

    def sync(self) -> None:
        """Pick up rows other processes appended, a corpus re-ingested elsewhere, and settings another server
        process saved (overlap, lease: every process must route alike); two stat calls when nothing changed."""
        with self._lock:
            if self._corpus_stamp() != self.corpus_stamp:
                self.reload_corpus(ingest=False)
            stamp = self._settings_stamp()
            if stamp != self.settings_stamp:
                self.settings_stamp = stamp
                self.apply_settings(load_settings(self.project)[0])
            self.index.refresh()

    # ------------------------------------------------------------ sentences

    def has(self, sentence_id: str) -> bool:
        return sentence_id in self.row_of

    def view(self, sentence_id: str) -> SentenceView:
        """The sentence with its article title, neighbours and position."""
        i = self.row_of[sentence_id]
        aid = self.seg_article[i]
        lo, hi = self.article_span[aid]
        before = self.seg_text[max(lo, i - CONTEXT_LINES):i]
        after = self.seg_text[i + 1:min(hi, i + 1 + CONTEXT_LINES)]
        return SentenceView(sentence_id, aid, self.seg_text[i], self.titles.get(aid, ""), self.sources.get(aid, ""),
                            self.ordinal.get(sentence_id, 0), self.n_sent.get(aid, 0), before, after)

    def next_for(self, annotator: str, order: str | None = None, now: float | None = None) -> str | None:
        with self._lock:
            return self.queue.next_for(annotator, order or self.settings.queue_order, now)

    def history(self, annotator: str, n: int = HISTORY) -> list[str]:
        """The annotator's last `n` sentences of this corpus, latest first."""
        return [s for s in self.index.recent(annotator, n + 5) if s in self.row_of][:n]

    def progress(self, annotator: str, order: str | None = None) -> Progress:
        """The annotator's and the project's progress; `left` is for the queue `order` (default: the setting)."""
        order = order or self.settings.queue_order
        return Progress(self.index.label_count(annotator), self.queue.labelled_count(), len(self.queue),
                        left=self.left_for(annotator, order), by_people=self.labelled_by_people())

    def left_for(self, annotator: str, order: str) -> int:
        """How many sentences the queue would still give `annotator` in `order` (O(corpus) numpy, no Python loop).

        Without overlap (or in article order) that is every sentence they have not handled; with an overlap,
        the sentences they have not handled that still need an annotator."""
        return self.queue.remaining_for(annotator, order)

    def labelled_by_people(self) -> int:
        """Corpus sentences labelled (or marked not-a-sentence) by anyone but STARTER_ANNOTATOR (kept current
        from the index's changes, O(1) here)."""
        return self._people_n

    # ------------------------------------------------------------ saving

    def save(self, annotator: str, sentence_id: str, action: str = "label", topic: str = "", stance: str = "",
             suggestion: Suggestion | None = None, shown: bool = False, seconds: float | None = None,
             accepted: bool = False) -> dict[str, Any]:
        """Append one action to the store (on disk when this returns) and update the index and queue.

        `suggestion`/`shown`/`accepted` decide the row's source (see decide_source).
        Raises LabelAppError subclasses (the label is then NOT saved): claims.ClaimLost when the sentence
        went to other annotators while it was open and has the annotators it needs.
        """
        store.validate_annotator(annotator)
        if sentence_id not in self.row_of:
            raise LabelAppError(f"sentence {sentence_id!r} is not in the corpus")
        i = self.row_of[sentence_id]
        source, model_version = decide_source(action, topic, stance, suggestion, shown, accepted)
        row = store.LabelRow(sentence_id=sentence_id, text=self.seg_text[i], annotator=annotator, topic=topic,
                             stance=stance, article_id=self.seg_article[i], source=source,
                             model_version=model_version, seconds=seconds, action=action)
        mine = self.index.entry(sentence_id, annotator)
        counts = action in DONE_ACTIONS and (mine is None or mine.action not in DONE_ACTIONS)
        with self._lock:  # checked against every process's claims (ClaimLost), held while written
            self.queue.confirm(annotator, sentence_id, counts)
        written = store.append_label(self.project, self.schema, row)
        with self._lock:
            self.index.refresh()
        return written

    # ------------------------------------------------------------ suggestions

    def suggestion(self, model: Any | None, sentence_id: str, topic: str = "") -> Suggestion | None:
        """The model's suggestion for one sentence: its stored pre-label when there is one, else predicted on
        demand (a new upload); with `topic`, the annotator's choice, the stance is recomputed for that topic.
        Memoised per model id, so a new model is never answered from an old one's cache."""
        if model is None or sentence_id not in self.row_of:
            return None
        key = (model.model_id, sentence_id, topic)
        with self._lock:
            if key in self._suggestions:
                self._suggestions.move_to_end(key)
                return self._suggestions[key]
        text = self.seg_text[self.row_of[sentence_id]]
        if topic:
            base = self.suggestion(model, sentence_id)
            sug = for_topic(model, text, topic, base) if base is not None else None
        else:
            sug = self._known_suggestion(model.model_id, sentence_id) or predict(model, [text])[0]
        with self._lock:
            self._suggestions[key] = sug
            while len(self._suggestions) > 2000:
                self._suggestions.popitem(last=False)
        return sug

    def stance_by_topic(self, model: Any | None, sentence_id: str) -> dict[str, tuple[str, float]]:
        """The stance suggestion for each topic the annotator may choose: {'' (the model's own topic) or topic
        name: (stance, probability)}; one model call for all topics, memoised per model id. Empty without a
        stance model. The Annotate card uses it to mark the stance for the chosen topic with no round trip."""
        base = self.suggestion(model, sentence_id)
        if base is None or not base.stance:
            return {}
        key = (model.model_id, sentence_id, "\x00by-topic")
        with self._lock:
            hit = self._suggestions.get(key)
        if hit is not None:
            return hit  # type: ignore[return-value]
        out: dict[str, tuple[str, float]] = {"": (base.stance, float(base.stance_prob))}
        others = [t for t in self.schema.topic.names if t != base.topic]
        text = self.seg_text[self.row_of[sentence_id]]
        if others:
            preds = model.predict([text] * len(others), topics=others)
            for t, p in zip(others, preds, strict=True):
                if p.stance:
                    out[t] = (p.stance, float(p.stance_prob or 0.0))
        if base.topic:
            out[base.topic] = out[""]
        with self._lock:
            self._suggestions[key] = out  # type: ignore[assignment]
        return out

    def _known_suggestion(self, model_id: str, sentence_id: str) -> Suggestion | None:
        """From the model's predictions for the queue or its pre-label file, without predicting."""
        with self._lock:
            frame = self.predictions.get(model_id)
        if frame is None or sentence_id not in frame.index:
            frame = self.stored_prelabels(model_id)
        if frame is None or sentence_id not in frame.index:
            return None
        return _row_suggestion(model_id, frame.loc[sentence_id])

    def stored_prelabels(self, model_id: str) -> pd.DataFrame | None:
        """The model's pre-label file (`python -m train prelabel`), read once per model id."""
        with self._lock:
            if model_id not in self._prelabels:
                # one entry: a new model id replaces the old model's pre-labels
                self._prelabels = {model_id: _stored_prelabels(self.project, model_id)}
            return self._prelabels[model_id]

    def ensure_predictions(self, model: Any, batch: int = 4096) -> pd.DataFrame:
        """Predictions for every queue sentence (once per model), and the 'uncertain' queue order."""
        with self._lock:
            frame = self.predictions.get(model.model_id)
            if frame is not None:
                return frame
            cols = ["topic", "topic_prob", "stance", "stance_prob", "uncertainty"]
            stored = self.stored_prelabels(model.model_id)
            if stored is not None and len(stored):
                frame = stored.reindex(self.sentence_ids)[cols]
            else:
                frame = pd.DataFrame(index=pd.Index(self.sentence_ids), columns=cols, dtype=object)
            missing = [s for s, u in zip(self.sentence_ids, frame["uncertainty"], strict=True) if pd.isna(u)]
            texts = [self.seg_text[self.row_of[s]] for s in missing]
            sugs: list[Suggestion] = []
            for k in range(0, len(texts), batch):
                sugs.extend(predict(model, texts[k:k + batch]))
            if sugs:
                frame.loc[missing, cols] = [[s.topic, s.topic_prob, s.stance, s.stance_prob, s.uncertainty]
                                            for s in sugs]
            frame = frame.astype({"topic_prob": float, "stance_prob": float, "uncertainty": float})
            frame.index.name = "sentence_id"
            self.predictions = {model.model_id: frame}
            texts = [self.seg_text[self.row_of[s]] for s in self.sentence_ids]
            self.queue.set_uncertainty(model.model_id, frame["uncertainty"].to_numpy(), texts,
                                       step=UNCERTAIN_STEP, **QUEUE_STRATEGY)
            return frame

    def ensure_representative(self) -> list[str]:
        """Without a model: 'most uncertain first' starts with a representative batch of open sentences
        (Queue.set_representative with train.active.COLD_START), computed once per corpus; returns its ids.
        A model's ensure_predictions replaces that order. Runs without the workspace's lock (the queue keeps
        itself consistent), so annotators are served while the clusters are computed."""
        queue = self.queue
        if "uncertain" not in queue.perm:
            texts = [self.seg_text[self.row_of[s]] for s in queue.ids]
            queue.set_representative(texts, **COLD_START)
        return list(queue.representative)

    def has_uncertain_order(self) -> bool:
        """Whether 'most uncertain first' has its own order yet (a model's, or the representative start)."""
        return "uncertain" in self.queue.perm

    def has_predictions(self, model_id: str) -> bool:
        """Whether ensure_predictions already ran for this model (the page shows a spinner otherwise)."""
        return model_id in self.predictions

    # ------------------------------------------------------------ browse and dashboard data

    def browse_frame(self, predictions: pd.DataFrame | None = None) -> pd.DataFrame:
        """Every sentence, one row per current label (or one empty row when it has none)."""
        rows = []
        for sid in self.sentence_ids:
            entries = self.index.by_sentence.get(sid)
            i = self.row_of[sid]
            base = (sid, self.seg_article[i], self.titles.get(self.seg_article[i], ""), self.ordinal[sid],
                    self.seg_text[i])
            if entries:
                for e in entries.values():
                    rows.append(base + (e.topic, e.stance, e.annotator, e.action, e.source, e.timestamp))
            else:
                rows.append(base + ("", "", "", "", "", ""))
        df = pd.DataFrame(rows, columns=["sentence_id", "article_id", "title", "sentence", "text", "topic", "stance",
                                         "annotator", "action", "source", "timestamp"])
        if predictions is not None and len(predictions):
            p = predictions.reindex(df["sentence_id"])
            df["suggested_topic"] = p["topic"].to_numpy()
            df["suggested_stance"] = p["stance"].to_numpy()
            df["confidence"] = np.minimum(p["topic_prob"].to_numpy(), p["stance_prob"].to_numpy())
        return df


@dataclass
class BrowseFilter:
    article: str = ""
    topics: tuple[str, ...] = ()
    stances: tuple[str, ...] = ()
    annotators: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    confidence: tuple[float, float] | None = None
    search: str = ""
    unlabelled_only: bool = False


def filter_browse(df: pd.DataFrame, f: BrowseFilter) -> pd.DataFrame:
    """Rows of a browse frame that match every filter (text search is plain, case-insensitive)."""
    mask = pd.Series(True, index=df.index)
    if f.article:
        mask &= df["article_id"] == f.article
    for col, wanted in (("topic", f.topics), ("stance", f.stances), ("annotator", f.annotators),
                        ("source", f.sources)):
        if wanted:
            mask &= df[col].isin(list(wanted))
    if f.unlabelled_only:
        mask &= df["action"] == ""
    if f.confidence is not None and "confidence" in df:
        lo, hi = f.confidence
        mask &= df["confidence"].between(lo, hi)
    if f.search.strip():
        mask &= df["text"].str.contains(f.search.strip(), case=False, regex=False)
    return df[mask]


def label_counts(entries: list, schema: Schema) -> pd.DataFrame:
    """Current labels per task and label name (every schema label listed, zeros included)."""
    rows = []
    for task in schema.tasks:
        counts = dict.fromkeys(task.names, 0)
        for e in entries:
            for name in task.split(getattr(e, task.name)):
                if name in counts:
                    counts[name] += 1
        rows += [(task.name, name, n) for name, n in counts.items()]
    return pd.DataFrame(rows, columns=["task", "label", "count"])


def progress_over_time(events: list[tuple[str, str, str]]) -> pd.DataFrame:
    """Cumulative label actions per annotator over time (one point per action)."""
    df = pd.DataFrame([e for e in events if e[2] == "label"], columns=["timestamp", "annotator", "action"])
    if df.empty:
        return pd.DataFrame(columns=["time", "annotator", "labels"])
    df["time"] = pd.to_datetime(df["timestamp"], utc=True, errors="coerce")
    df = df.dropna(subset=["time"]).sort_values("time")
    df["labels"] = df.groupby("annotator").cumcount() + 1
    return df[["time", "annotator", "labels"]]


def annotate_keys_help(schema: Schema, accept: bool = True, back: bool = False) -> str:
    """One line listing the shortcuts that work on the card right now, as shown on the Annotate page.

    `accept`: a suggestion is shown that Shift+Enter accepts; `back`: the card is a sentence the annotator
    went back to (→ then returns without saving)."""
    def keys(task: str) -> str:
        return " ".join(f"{lab.key}={lab.name}" for lab in schema.task(task).labels if lab.key)
    parts = [f"Topic: {keys('topic')}.", f"Stance: {keys('stance')}.", "Enter: save & next."]
    if accept:
        parts.append("Shift+Enter: accept suggestion & next.")
    parts.append("→: forward (no change)." if back else "→: skip.")
    parts += ["←: back.", "Delete: not a sentence.", "Esc: clear choices.", "?: guidelines."]
    return " ".join(parts)


__all__ = ["BrowseFilter", "Progress", "SentenceView", "Workspace", "article_title", "decide_source", "filter_browse",
           "label_counts", "labels_per_hour", "progress_over_time", "rate_per_hour"]


def _row_suggestion(model_id: str, r: pd.Series) -> Suggestion | None:
    """A stored prediction row as a Suggestion (None when the row has no prediction)."""
    if pd.isna(r["uncertainty"]):
        return None

    def name(v: Any) -> str:
        return v if isinstance(v, str) else ""

    def prob(v: Any) -> float:
        return 0.0 if pd.isna(v) else float(v)

    return Suggestion(model_id, name(r["topic"]), prob(r["topic_prob"]), name(r["stance"]), prob(r["stance_prob"]),
                      float(r["uncertainty"]))


def _stored_prelabels(project: Project, model_id: str) -> pd.DataFrame | None:
    """Pre-labels written by `train` for this model (a later part fills them), or None."""
    try:
        return read_prelabels(project, model_id)
    except LabelAppError:
        return None
