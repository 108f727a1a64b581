"""Pre-labeling: stream articles or sentence files through a trained model into a resumable CSV.

One output file per model (default `prelabels/<model id>.csv`). Inputs are cut into chunks of whole
articles (or runs of sentence-file rows); each chunk is segmented and predicted in a worker process
(joblib, or a Dask cluster) and appended to the output as one write followed by fsync, after which a
sidecar `<output>.state.json` records the committed size. A killed run therefore leaves a valid CSV plus
at most one torn chunk, which the next run cuts off before it resumes.

Input rules: with no inputs (or seeds/ named), the corpus ingestion wrote is pre-labeled: seeds/ is
ingested first (incremental) and its articles' sentences and sentence ids are read from the corpus cache,
so pre-labels carry exactly the ids the app shows. A `.csv`/`.jsonl` file named directly is a *sentence
file* (one sentence per row: `text`, optional `id` and `topic`; read by `label_app.tables.iter_rows`, text
normalised by `label_app.textnorm`); files found inside another folder are *articles*, read and segmented
exactly as ingestion reads them (`FastSegmenter`), with content-derived article ids.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import math
import os
import sys
import tempfile
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from label_app.corpus import (
    ARTICLE_EXTS,
    KIND_SENTENCE,
    SUPPORTED_EXTS,
    FastSegmenter,
    IngestReport,
    article_id_for,
    get_nlp,
    ingest,
    iter_corpus_records,
    own_sentence_ids,
    read_article_file,
    segment_articles,
    spacy_model_name,
    walk_files,
)
from label_app.errors import BadInput, LabelAppError
from label_app.files import append_durable, sha256_file, write_atomic
from label_app.pipes import add_project_option, error_boundary
from label_app.project import Project
from label_app.schema import Schema, load_schema
from label_app.store import guard_cell, text_sentence_id, unguard_cell
from label_app.tables import iter_rows
from label_app.textnorm import normalise_text

from .active import joint_uncertainty

COLUMNS = [
    "sentence_id", "article_id", "id", "text", "topic", "topic_prob", "stance", "stance_prob", "uncertainty",
    "model_id",
]
_HEADER = (",".join(COLUMNS) + "\n").encode()
STATE_FORMAT = 1
DEFAULT_CHUNK_CHARS = 400_000
# Bigger tables are streamed row by row instead of being read whole (memory stays flat).
_STREAM_TABLE_BYTES = 8 << 20
_PREDICT_BATCH = 4096


class NoModel(LabelAppError):
    """There is no trained model to pre-label with."""


class PrelabelOutputError(LabelAppError):
    """The output file cannot be used (another model's, foreign columns)."""


@dataclass
class PrelabelReport:
    """What one pre-labeling run did."""

    model_id: str
    out: Path
    sentences: int = 0
    articles: int = 0
    skipped_done: int = 0
    resumed_from_bytes: int = 0
    dropped_torn_bytes: int = 0
    seconds: float = 0.0
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        rate = self.sentences / self.seconds if self.seconds > 0 else 0.0
        lines = [
            f"model {self.model_id}: {self.sentences} sentences pre-labeled from {self.articles} articles "
            f"in {self.seconds:.1f} s ({rate:,.0f} sentences/s) -> {self.out}"
        ]
        if self.skipped_done:
            lines.append(f"  {self.skipped_done} articles or rows already pre-labeled by this model: skipped")
        if self.resumed_from_bytes:
            lines.append(f"  resumed an earlier, interrupted run ({self.dropped_torn_bytes} bytes of a torn chunk "
                         "dropped)" if self.dropped_torn_bytes else "  added to the output of an earlier run")
        lines += [f"  skipped: {name}: {why}" for name, why in self.skipped]
        return "\n".join(lines)


# ---------------------------------------------------------------- inputs


@dataclass(frozen=True)
class _Source:
    """One input file: articles (`.txt`/`.md`, or a table found in a folder) or a sentence file."""

    path: Path
    display: str
    kind: str  # "corpus" (seeds/, as ingested) | "articles" | "sentences"
    size: int


def _display(path: Path, project: Project) -> str:
    try:
        return path.resolve().relative_to(project.root).as_posix()
    except ValueError:
        return str(path)


def resolve_inputs(project: Project, inputs: Sequence[str | os.PathLike[str]] | None,
                   report: IngestReport | None = None) -> list[_Source]:
    """The input files in processing order; folders are walked like `ingest` walks seeds/."""
    report = report if report is not None else IngestReport()
    sources: list[_Source] = []
    if not inputs:
        if not project.seeds_dir.is_dir():
            raise BadInput(f"{project.seeds_dir}: no seeds/ folder to pre-label (name input files instead)")
        inputs = [project.seeds_dir]
    seeds = project.seeds_dir.resolve()
    for raw in inputs:
        p = Path(raw)
        if not p.exists():
            raise BadInput(f"{raw}: no such file or folder")
        if p.is_dir() and p.resolve() == seeds:
            # seeds/ is what ingestion already read and segmented: pre-label its corpus, not the files again
            done = ingest(project)
            report.skipped.extend(done.skipped)
            size = project.corpus_path.stat().st_size if project.corpus_path.exists() else 0
            sources.append(_Source(project.corpus_path, "seeds/ (corpus)", "corpus", size))
        elif p.is_dir():
            for f in walk_files(p, report.skipped):
                if f.suffix.lower() not in SUPPORTED_EXTS:
                    report.skipped.append((_display(f, project), f"unsupported file type {f.suffix or '(none)'!r}"))
                    continue
                sources.append(_Source(f, _display(f, project), "articles", f.stat().st_size))
        elif p.suffix.lower() in ARTICLE_EXTS:
            sources.append(_Source(p, _display(p, project), "articles", p.stat().st_size))
        elif p.suffix.lower() in SUPPORTED_EXTS:
            sources.append(_Source(p, _display(p, project), "sentences", p.stat().st_size))
        else:
            raise BadInput(f"{raw}: unsupported file type {p.suffix.lower() or '(none)'!r} "
                           "(articles: .txt, .md or a folder; sentences: .csv, .jsonl)")
    return sources


def _iter_table_rows(path: Path, display: str) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) of a .csv/.jsonl file, streamed by the one table reader (`label_app.tables`:
    same encodings, header check and size limits as every reader); needs a `text` column. Raises BadInput."""
    yield from iter_rows(path, path.suffix.lower()[1:], display, required=["text"])


def check_sentence_file(src: _Source, schema: Schema) -> tuple[str, int]:
    """Validate a sentence file in one streaming pass (before any work); returns (sha256, rows)."""
    topics = set(schema.topic.names)
    rows = 0
    for n, row in _iter_table_rows(src.path, src.display):
        rows += 1
        topic = row.get("topic", "").strip()
        if topic and topic not in topics:
            raise BadInput(f"{src.display}: line {n}: unknown topic {topic!r} (known: {', '.join(schema.topic.names)})")
    return sha256_file(src.path), rows


# A unit of work sent to a worker: ("a", article_id, given_id, text) or ("s", sentence_id, given_id, text, topic).
Unit = tuple


def _iter_articles(src: _Source) -> Iterator[tuple[str, str, int]]:
    """(text, given_id, approximate bytes) of each article in an article source."""
    if src.path.suffix.lower() in ARTICLE_EXTS or src.size <= _STREAM_TABLE_BYTES:
        arts, _enc = read_article_file(src.path, src.display)
        weight = max(1, src.size // max(1, len(arts)))
        for a in arts:
            yield a.text, a.given_id, weight
        return
    # Big article tables: the same rows read_article_file would give (rows with empty text are skipped).
    for _n, row in _iter_table_rows(src.path, src.display):
        body = row.get("text", "")
        if normalise_text(body):
            yield body, row.get("id", ""), len(body) + 8


def project_of_corpus(corpus_path: Path) -> Project:
    """The project whose corpus cache is at `corpus_path` (.cache/corpus.jsonl under the project root)."""
    return Project(corpus_path.parent.parent)


# ---------------------------------------------------------------- the worker side

_WORKER_MODELS: dict[str, Any] = {}
_WORKER_SEGMENTERS: dict[str, FastSegmenter] = {}


def _model_from(ref: Any) -> Any:
    """The model itself, or (in a worker) the model loaded once from a joblib file path."""
    if isinstance(ref, str):
        model = _WORKER_MODELS.get(ref)
        if model is None:
            import joblib

            model = joblib.load(ref)
            _WORKER_MODELS.clear()
            _WORKER_MODELS[ref] = model
        return model
    return ref


class _SharedTransform:
    """Stands in for equal fitted vectorizers of several tasks, so each batch is transformed once, not per task."""

    def __init__(self, vec: Any) -> None:
        self.vec = vec
        self._in: Any = None
        self._out: Any = None

    def transform(self, texts: Any) -> Any:
        # TrainedModel.predict passes the same list object to every task; holding it keeps its id unique.
        if texts is not self._in:
            self._out, self._in = self.vec.transform(texts), texts
        return self._out

    def __getattr__(self, name: str) -> Any:
        return getattr(self.vec, name)


def _same_vectorizer(a: Any, b: Any) -> bool:
    import numpy as np

    try:
        return (type(a) is type(b) and a.get_params() == b.get_params() and a.vocabulary_ == b.vocabulary_
                and np.array_equal(a.idf_, b.idf_))
    except (AttributeError, TypeError, ValueError):
        return False


_PREPARED: dict[int, tuple[Any, Any]] = {}


def _prepared(model: Any) -> Any:
    """A shallow copy of `model` whose tasks share text vectorizers that are equal (the usual case, since
    topic and stance are fitted on the same sentences); predictions are unchanged, the caller's model too."""
    hit = _PREPARED.get(id(model))
    if hit is not None and hit[0] is model:
        return hit[1]
    out = model
    tasks = getattr(model, "models", None)
    if isinstance(tasks, dict) and len(tasks) > 1:
        try:
            out = copy.copy(model)
            out.models = {t: copy.copy(tm) for t, tm in tasks.items()}
            for tm in out.models.values():
                tm.features = copy.copy(tm.features)
            feats = [tm.features for tm in out.models.values()]
            for name in ("word", "char"):
                first = getattr(feats[0], name, None)
                if first is not None and all(_same_vectorizer(first, getattr(f, name, None)) for f in feats[1:]):
                    shared = _SharedTransform(first)
                    for f in feats:
                        setattr(f, name, shared)
        except (AttributeError, TypeError):
            out = model
    _PREPARED.clear()
    _PREPARED[id(model)] = (model, out)
    return out


def _fmt_prob(p: Any) -> str:
    if p is None:
        return ""
    p = float(p)
    return "" if math.isnan(p) else f"{p:.6f}"


def _predict(model: Any, texts: list[str], topics: list[str | None]) -> list[Any]:
    out: list[Any] = []
    given = any(topics)
    for i in range(0, len(texts), _PREDICT_BATCH):
        out.extend(model.predict(texts[i:i + _PREDICT_BATCH], topics[i:i + _PREDICT_BATCH] if given else None))
    return out


def _as_row(p: Any, topic: str | None) -> dict[str, Any]:
    """Prediction fields of one output row; a given topic is known, not predicted (probability 1)."""
    if not topic:
        return {"topic": p.topic, "topic_prob": p.topic_prob, "stance": p.stance, "stance_prob": p.stance_prob,
                "uncertainty": p.uncertainty}
    # Only the stance is uncertain then: the uncertainty of that one task.
    unc = float(joint_uncertainty([list(p.stance_probs.values())])[0]) if p.stance_prob is not None else 0.0
    return {"topic": topic, "topic_prob": 1.0, "stance": p.stance, "stance_prob": p.stance_prob,
            "uncertainty": unc}


def _segment(texts: list[str], spacy_name: str | None, fast: bool) -> list[list[Any]]:
    if spacy_name:
        return segment_articles(texts, get_nlp(spacy_name))
    if fast:
        seg = _WORKER_SEGMENTERS.get("fast")
        if seg is None:
            seg = _WORKER_SEGMENTERS["fast"] = FastSegmenter()
        return seg.segment(texts)
    return segment_articles(texts)


def run_chunk(model_ref: Any, chunk: list[Unit], spacy_name: str | None = None,
              fast: bool = True) -> tuple[bytes, int, list[str]]:
    """Segment and predict one chunk; returns (CSV rows as bytes, sentence count, article ids with no sentence)."""
    model = _prepared(_model_from(model_ref))
    model_id = str(model.model_id)
    arts = [u for u in chunk if u[0] == "a"]
    segmented = iter(_segment([u[3] for u in arts], spacy_name, fast)) if arts else iter(())
    rows: list[list[str]] = []
    texts: list[str] = []
    topics: list[str | None] = []
    empty: list[str] = []
    for u in chunk:
        if u[0] == "c":  # an article of the corpus: sentences and ids as ingestion wrote them
            _, aid, gid, sents = u
            for sid, text in sents:
                rows.append([sid, aid, gid, text])
                texts.append(text)
                topics.append(None)
            if not sents:
                empty.append(aid)
        elif u[0] == "a":
            _, aid, gid, _text = u
            n_before = len(rows)
            segs = next(segmented)
            for sid, seg in zip(own_sentence_ids(aid, [s.text for s in segs]), segs, strict=True):
                if seg.kind == KIND_SENTENCE:
                    rows.append([sid, aid, gid, seg.text])
                    texts.append(seg.text)
                    topics.append(None)
            if len(rows) == n_before:
                empty.append(aid)
        else:
            _, sid, gid, text, topic = u
            rows.append([sid, "", gid, text])
            texts.append(text)
            topics.append(topic or None)
    preds = _predict(model, texts, topics) if texts else []
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for row, topic, p in zip(rows, topics, preds, strict=True):
        r = _as_row(p, topic)
        cells = [r["topic"] or "", _fmt_prob(r["topic_prob"]), r["stance"] or "", _fmt_prob(r["stance_prob"]),
                 _fmt_prob(r["uncertainty"]), model_id]
        w.writerow([guard_cell(c) for c in row] + cells)
    return buf.getvalue().encode("utf-8"), len(rows), empty


# ---------------------------------------------------------------- output and resume state


def prelabel_path(project: Project, model_id: str) -> Path:
    """Where pre-labels of a model are written by default."""
    return project.prelabels_dir / f"{model_id}.csv"


def state_path(out: Path) -> Path:
    return out.with_name(out.name + ".state.json")


def _complete_records(path: Path, limit: int | None = None) -> Iterator[tuple[int, bytes]]:
    """(end offset, record bytes) of each complete CSV record (quotes balanced, newline-terminated)."""
    with open(path, "rb") as fh:
        pos, pending, quotes = 0, b"", 0
        for line in fh:
            if limit is not None and pos + len(pending) + len(line) > limit:
                return
            pending += line
            quotes += line.count(b'"')
            if line.endswith(b"\n") and quotes % 2 == 0:
                pos += len(pending)
                yield pos, pending
                pending, quotes = b"", 0


@dataclass
class _State:
    model_id: str
    committed: int = 0
    rows: int = 0
    sentence_sources: dict[str, int] = field(default_factory=dict)
    empty_articles: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"format": STATE_FORMAT, "model_id": self.model_id, "committed_bytes": self.committed,
                "rows": self.rows, "sentence_sources": self.sentence_sources, "empty_articles": self.empty_articles}


def _open_output(out: Path, model_id: str, report: PrelabelReport, has_sentence_files: bool) -> tuple[_State, set[str]]:
    """Make `out` a valid output ending on a committed chunk; return the state and the articles done."""
    sp = state_path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    state: _State | None = None
    if sp.exists():
        try:
            raw = json.loads(sp.read_text("utf-8"))
            state = _State(raw["model_id"], int(raw["committed_bytes"]), int(raw["rows"]),
                           dict(raw.get("sentence_sources", {})), list(raw.get("empty_articles", [])))
        except (OSError, ValueError, KeyError, TypeError):
            raise PrelabelOutputError(f"{sp}: unreadable pre-label state file (delete it and the output to start over)") from None
        if state.model_id != model_id:
            raise PrelabelOutputError(f"{out}: written by model {state.model_id}, not {model_id} (use another --out)")
    size = out.stat().st_size if out.exists() else 0
    if size == 0:
        with open(out, "wb") as fh:
            fh.write(_HEADER)
            fh.flush()
            os.fsync(fh.fileno())
        state = _State(model_id, len(_HEADER))
        write_atomic(sp, json.dumps(state.to_json()))
        return state, set()
    with open(out, "rb") as fh:
        if fh.readline() != _HEADER:
            raise PrelabelOutputError(f"{out}: not a pre-label file (expected columns {', '.join(COLUMNS)})")
    done: set[str] = set()
    if state is not None and state.committed <= size:
        limit = state.committed
        rows = 0
        for _end, rec in _complete_records(out, limit):
            if rows:
                aid = rec.split(b",", 2)[1].decode()
                if aid:
                    done.add(aid)
            rows += 1
    else:
        if has_sentence_files and state is None:
            raise PrelabelOutputError(f"{out}: exists without its state file {sp.name}, so sentence-file progress "
                                      "is unknown (delete the output or use another --out)")
        # No (usable) state: keep complete records, and redo the last article since it may be cut short.
        limit, last_start, last_aid, rows = len(_HEADER), len(_HEADER), "", 0
        for end, rec in _complete_records(out):
            rows += 1
            if rows == 1:
                continue
            cells = next(csv.reader([rec.decode("utf-8", "replace")]))
            if len(cells) != len(COLUMNS) or cells[-1] != model_id:
                raise PrelabelOutputError(f"{out}: row {rows} is not a pre-label row of model {model_id}")
            if cells[1] != last_aid:
                if last_aid:
                    done.add(last_aid)
                last_aid, last_start = cells[1], limit
            limit = end
        if last_aid:
            limit = last_start
        state = _State(model_id, limit, 0, {} if state is None else state.sentence_sources,
                       [] if state is None else state.empty_articles)
        rows = 0
        for _ in _complete_records(out, limit):
            rows += 1
    state.rows = max(0, rows - 1)
    if size > state.committed:
        report.dropped_torn_bytes = size - state.committed
        with open(out, "r+b") as fh:
            fh.truncate(state.committed)
            fh.flush()
            os.fsync(fh.fileno())
    report.resumed_from_bytes = state.committed if state.rows else 0
    write_atomic(sp, json.dumps(state.to_json()))
    return state, done | set(state.empty_articles)




# ---------------------------------------------------------------- the job


def _resolve_model(project: Project, schema: Schema, model: Any, model_id: str | None) -> Any:
    if model is not None:
        return model
    import train

    loaded = train.load_model(project, schema, model_id) if model_id else train.load_current_model(project, schema)
    if loaded is None:
        raise NoModel(f"{project.models_dir}: no trained model yet (run `python -m train` first)")
    return loaded


def _chunks(sources: list[_Source], done: set[str], state: _State, sentence_meta: dict[Path, tuple[str, int]],
            chunk_chars: int, report: PrelabelReport, bar: Any) -> Iterator[tuple[list[Unit], dict[str, int]]]:
    """Chunks of whole units, skipping what is done; each with the sentence-file progress it completes."""
    chunk: list[Unit] = []
    size = 0
    progress: dict[str, int] = {}
    for src in sources:
        if src.kind == "corpus":
            for rec in iter_corpus_records(project_of_corpus(src.path)):
                aid = rec["article_id"]
                weight = sum(len(t) for t, _ in rec["segments"]) + 1
                bar.update(weight)
                if aid in done:
                    report.skipped_done += 1
                    continue
                done.add(aid)
                report.articles += 1
                sents = [(sid, t) for (t, k), sid in zip(rec["segments"], rec["sentence_ids"], strict=True)
                         if k == KIND_SENTENCE]
                chunk.append(("c", aid, rec.get("given_id", ""), sents))
                size += weight
                if size >= chunk_chars:
                    yield chunk, progress
                    chunk, size, progress = [], 0, {}
            continue
        if src.kind == "articles":
            try:
                articles = list(_iter_articles(src)) if src.size <= _STREAM_TABLE_BYTES else _iter_articles(src)
                for text, gid, weight in articles:
                    aid = article_id_for(text)
                    if aid in done:
                        report.skipped_done += 1
                        bar.update(weight)
                        continue
                    done.add(aid)
                    report.articles += 1
                    chunk.append(("a", aid, gid, text))
                    size += len(text)
                    bar.update(weight)
                    if size >= chunk_chars:
                        yield chunk, progress
                        chunk, size, progress = [], 0, {}
            except BadInput as exc:
                report.skipped.append((src.display, str(exc).split(": ", 1)[-1]))
            continue
        sha, _nrows = sentence_meta[src.path]
        start = state.sentence_sources.get(sha, 0)
        row_no = 0
        for _n, row in _iter_table_rows(src.path, src.display):
            row_no += 1
            text = normalise_text(row.get("text", ""))
            weight = len(text) + 8
            if row_no <= start:
                report.skipped_done += 1
                bar.update(weight)
                continue
            progress[sha] = row_no
            bar.update(weight)
            if not text.strip():
                continue
            chunk.append(("s", text_sentence_id(text), row.get("id", ""), text, row.get("topic", "").strip()))
            size += len(text)
            if size >= chunk_chars:
                yield chunk, progress
                chunk, size, progress = [], 0, {}
    if chunk or progress:
        yield chunk, progress


def _run_joblib(model_ref: Any, work: Iterator[tuple[list[Unit], dict[str, int]]], spacy_name: str | None,
                fast: bool, n_jobs: int) -> Iterator[tuple[tuple[bytes, int, list[str]], dict[str, int]]]:
    from joblib import Parallel, delayed

    # Progress travels beside the chunk: joblib's ordered generator returns results in submission order.
    pending: deque[dict[str, int]] = deque()

    def tasks() -> Iterator[Any]:
        for chunk, progress in work:
            pending.append(progress)
            yield delayed(run_chunk)(model_ref, chunk, spacy_name, fast)

    parallel = Parallel(n_jobs=n_jobs, return_as="generator", pre_dispatch="2*n_jobs", batch_size=1)
    for result in parallel(tasks()):
        yield result, pending.popleft()


def _run_dask(model: Any, work: Iterator[tuple[list[Unit], dict[str, int]]], spacy_name: str | None,
              fast: bool, scheduler: Any) -> Iterator[tuple[tuple[bytes, int, list[str]], dict[str, int]]]:
    try:
        from distributed import Client
    except ImportError:
        raise BadInput("--backend dask needs dask.distributed: pip install 'label-app[dask]'") from None
    own = not isinstance(scheduler, Client)
    try:
        client = Client(scheduler) if own else scheduler
    except (OSError, TimeoutError, ValueError) as exc:
        raise BadInput(f"dask scheduler {scheduler!r}: cannot connect: {exc}") from None
    try:
        workers = max(1, sum(client.nthreads().values()))
        # The model goes to every worker once instead of with every chunk.
        model_future = client.scatter(model, broadcast=True)
        window: deque[tuple[Any, dict[str, int]]] = deque()
        for chunk, progress in work:
            window.append((client.submit(run_chunk, model_future, chunk, spacy_name, fast, pure=False), progress))
            if len(window) >= 2 * workers:
                fut, prog = window.popleft()
                yield fut.result(), prog
        while window:
            fut, prog = window.popleft()
            yield fut.result(), prog
    finally:
        if own:
            client.close()


def prelabel(
    project: Project,
    inputs: Sequence[str | os.PathLike[str]] | None = None,
    *,
    model: Any = None,
    model_id: str | None = None,
    out: str | os.PathLike[str] | None = None,
    n_jobs: int = -1,
    backend: str = "joblib",
    scheduler: Any = None,
    chunk_chars: int = DEFAULT_CHUNK_CHARS,
    segmenter: str = "fast",
    progress: bool = True,
) -> PrelabelReport:
    """Pre-label `inputs` (default: seeds/) with `model` (default: the current model, or `model_id`).

    Resumable and idempotent: what the output already holds for this model is skipped.
    """
    t0 = time.perf_counter()
    if backend not in ("joblib", "dask"):
        raise BadInput(f"unknown backend {backend!r} (use joblib or dask)")
    if segmenter not in ("fast", "exact", "spacy"):
        raise BadInput(f"unknown segmenter {segmenter!r} (use fast or exact)")
    fast = segmenter == "fast"
    if backend == "dask" and scheduler is None:
        raise BadInput("--backend dask needs --scheduler ADDRESS (e.g. tcp://10.0.0.5:8786)")
    schema = load_schema(project.schema_path)
    model = _resolve_model(project, schema, model, model_id)
    mid = str(model.model_id)
    out_path = Path(out) if out is not None else prelabel_path(project, mid)
    report = PrelabelReport(mid, out_path)
    ingest_report = IngestReport()
    sources = resolve_inputs(project, inputs, ingest_report)
    report.skipped.extend(ingest_report.skipped)
    sentence_meta = {s.path: check_sentence_file(s, schema) for s in sources if s.kind == "sentences"}
    state, done = _open_output(out_path, mid, report, bool(sentence_meta))
    spacy_name = spacy_model_name(project)
    total = sum(s.size for s in sources)

    from tqdm import tqdm

    bar = tqdm(total=total, unit="B", unit_scale=True, desc="pre-label", file=sys.stderr, disable=not progress,
               dynamic_ncols=True, mininterval=0.5)
    work = _chunks(sources, done, state, sentence_meta, chunk_chars, report, bar)
    tmpdir = None
    try:
        if backend == "dask":
            results = _run_dask(model, work, spacy_name, fast, scheduler)
        else:
            from joblib import cpu_count

            jobs = cpu_count() if n_jobs < 0 else max(1, n_jobs)
            # Small inputs are not worth starting worker processes for (~2 s each to load spaCy and the model).
            if jobs == 1 or total <= 2 * chunk_chars:
                results = ((run_chunk(model, c, spacy_name, fast), p) for c, p in work)
            else:
                tmpdir = tempfile.TemporaryDirectory(prefix="prelabel-")
                ref = os.path.join(tmpdir.name, "model.joblib")
                import joblib

                joblib.dump(model, ref)
                results = _run_joblib(ref, work, spacy_name, fast, jobs)
        for (data, n_rows, empty), prog in results:
            if data:
                state.committed = append_durable(out_path, data)
            state.rows += n_rows
            state.sentence_sources.update(prog)
            state.empty_articles.extend(empty)
            write_atomic(state_path(out_path), json.dumps(state.to_json()))
            report.sentences += n_rows
            report.seconds = time.perf_counter() - t0
            bar.set_postfix_str(f"{report.sentences:,} sentences, {report.sentences / max(report.seconds, 1e-9):,.0f}/s",
                                refresh=False)
    finally:
        bar.close()
        if tmpdir is not None:
            tmpdir.cleanup()
    report.seconds = time.perf_counter() - t0
    return report


# ---------------------------------------------------------------- reading back, on-demand suggestions


def read_prelabels(project: Project, model_id: str, path: str | os.PathLike[str] | None = None) -> Any:
    """Stored pre-labels of a model as a DataFrame indexed by sentence_id (last row per sentence wins).

    Only committed rows are read (a torn chunk of a running or killed job is ignored). Empty if none.
    """
    import pandas as pd

    out = Path(path) if path is not None else prelabel_path(project, model_id)
    empty = pd.DataFrame(columns=COLUMNS).set_index("sentence_id", drop=False)
    if not out.exists():
        return empty
    limit = None
    sp = state_path(out)
    if sp.exists():
        try:
            limit = int(json.loads(sp.read_text("utf-8"))["committed_bytes"])
        except (OSError, ValueError, KeyError, TypeError):
            limit = None
    with open(out, "rb") as fh:
        data = fh.read(limit) if limit is not None else fh.read()
    if limit is None and not data.endswith(b"\n"):
        data = data[: data.rfind(b"\n") + 1]
    if not data.startswith(_HEADER):
        raise PrelabelOutputError(f"{out}: not a pre-label file (expected columns {', '.join(COLUMNS)})")
    df = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, on_bad_lines="skip")
    if df.empty:
        return empty
    for col in ("sentence_id", "article_id", "id", "text"):
        df[col] = df[col].map(unguard_cell)
    for col in ("topic_prob", "stance_prob", "uncertainty"):
        df[col] = pd.to_numeric(df[col], errors="coerce")
    df = df.drop_duplicates("sentence_id", keep="last").set_index("sentence_id", drop=False)
    return df


# ---------------------------------------------------------------- command line


def add_arguments(parser: Any) -> None:
    """Options of `python -m train prelabel` (added to the subparser by train/__main__.py)."""
    import argparse

    parser.add_argument("inputs", nargs="*", metavar="INPUT",
                        help="article files (.txt, .md) and folders (every supported file inside, tables "
                             "included, is read as articles), or sentence files (.csv/.jsonl named directly: "
                             "one sentence per row, column `text`, optional `id` and `topic`); default: seeds/, "
                             "only articles this model has not pre-labeled yet")
    add_project_option(parser)
    parser.add_argument("--model", default=None, metavar="ID",
                        help="model id to pre-label with (default: the current model)")
    parser.add_argument("--out", default=None, metavar="FILE",
                        help="output CSV (default: prelabels/<model id>.csv in the project); a run on an "
                             "existing output resumes it")
    parser.add_argument("--jobs", type=int, default=-1, metavar="N",
                        help="worker processes for the joblib backend (default -1: every core)")
    parser.add_argument("--backend", choices=("joblib", "dask"), default="joblib",
                        help="joblib: processes on this machine (default); dask: a Dask cluster (needs --scheduler)")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="Dask scheduler address for --backend dask, e.g. tcp://10.0.0.5:8786")
    parser.add_argument("--chunk-chars", type=int, default=DEFAULT_CHUNK_CHARS, metavar="N",
                        help=f"characters of input per chunk, the unit of work and of resume "
                             f"(default {DEFAULT_CHUNK_CHARS:,})")
    parser.add_argument("--segmenter", choices=("fast", "exact", "spacy"), default="fast",
                        help="for article folders other than seeds/: fast (default) gives ingestion's segments "
                             "with repeated lines looked up; exact runs label_app's segment_articles on every "
                             "line ('spacy' is the old name of exact)")
    parser.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS, help="no progress bar")


def cli_prelabel(args: Any) -> int:
    """Run `python -m train prelabel` from parsed arguments; user mistakes become one line and exit code 1."""
    project = Project.at(getattr(args, "project", "."))
    with error_boundary("interrupted: the output is valid; run the same command again to resume") as outcome:
        if args.chunk_chars < 1000:
            raise BadInput(f"--chunk-chars must be at least 1000, got {args.chunk_chars}")
        report = prelabel(project, args.inputs or None, model_id=args.model, out=args.out, n_jobs=args.jobs,
                          backend=args.backend, scheduler=args.scheduler, chunk_chars=args.chunk_chars,
                          segmenter=args.segmenter, progress=not getattr(args, "quiet", False))
        print(report.summary())
    return outcome.code


__all__ = [
    "COLUMNS", "NoModel", "PrelabelOutputError", "PrelabelReport", "add_arguments", "check_sentence_file", "cli_prelabel",
    "prelabel", "prelabel_path", "read_prelabels", "resolve_inputs", "run_chunk", "state_path",
]
