"""Pre-labeling runners: the worker side (segment and predict one chunk into CSV bytes) and the two ways of
running chunks, joblib processes on this machine or a Dask cluster."""

from __future__ import annotations

import copy
import csv
import io
import math
from collections import deque
from collections.abc import Iterator
from typing import Any

from label_app.corpus import (
    KIND_SENTENCE,
    FastSegmenter,
    get_nlp,
    own_sentence_ids,
    segment_articles,
)
from label_app.errors import BadInput
from label_app.store import guard_cell

from ..active import joint_uncertainty
from ..forking import fork_pool
from .inputs import Unit

_PREDICT_BATCH = 4096

# ---------------------------------------------------------------- the worker side

_WORKER_MODELS: dict[str, Any] = {}
_WORKER_SEGMENTERS: dict[str, FastSegmenter] = {}


# Models handed to forked workers: set in the parent just before the fork, so each worker has them already.
_FORKED: dict[str, Any] = {}


def _model_from(ref: Any) -> Any:
    """The model itself, or (in a worker) the model inherited from the parent (run_fork) or loaded once from a
    joblib file path."""
    if isinstance(ref, str) and ref in _FORKED:
        return _FORKED[ref]
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


def _probs(p: Any) -> list[str]:
    """Probabilities as the output's cells: six decimals, NaN as empty."""
    return ["" if math.isnan(v) else f"{v:.6f}" for v in p.tolist()]


def _prediction_cells(model: Any, texts: list[str], topics: list[str | None]) -> list[list[str]]:
    """Per text, the cells topic, topic_prob, stance, stance_prob, uncertainty, model_id (PRELABEL_COLUMNS'
    prediction part), from the model's calibrated probabilities in batches (Prediction objects are not built).

    A given topic is known, not predicted: it is the topic (probability 1) and the stance is conditioned on it,
    so only the stance is uncertain (that task's margin uncertainty, 0 without a stance model)."""
    import numpy as np

    n = len(texts)
    given = [t or None for t in topics]
    any_given = any(given)
    model_id = str(model.model_id)
    t_lab: list[str] = [""] * n
    t_prob = np.full(n, np.nan)
    s_lab: list[str] = [""] * n
    s_prob = np.full(n, np.nan)
    unc = np.zeros(n)
    for i in range(0, n, _PREDICT_BATCH):
        batch = slice(i, min(n, i + _PREDICT_BATCH))
        tp, sp_, _ = model.predict_proba(texts[batch], given[batch] if any_given else None)
        if tp is not None:
            classes = model.models["topic"].classes
            best = tp.argmax(axis=1)
            t_lab[batch] = [classes[b] for b in best.tolist()]
            t_prob[batch] = tp[np.arange(len(best)), best]
        if sp_ is not None:
            classes = model.models["stance"].classes
            best = sp_.argmax(axis=1)
            s_lab[batch] = [classes[b] for b in best.tolist()]
            s_prob[batch] = sp_[np.arange(len(best)), best]
        joint = joint_uncertainty(tp, sp_)
        if len(joint):
            unc[batch] = joint
        if any_given:
            known = np.fromiter((bool(g) for g in given[batch]), dtype=bool, count=batch.stop - i)
            unc[batch][known] = joint_uncertainty(sp_)[known] if sp_ is not None else 0.0
    for k, g in enumerate(given):
        if g:
            t_lab[k], t_prob[k] = g, 1.0
    t_cells, s_cells, u_cells = _probs(t_prob), _probs(s_prob), _probs(unc)
    return [[t_lab[k] or "", t_cells[k], s_lab[k] or "", s_cells[k], u_cells[k], model_id] for k in range(n)]


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
    cells = _prediction_cells(model, texts, topics) if texts else []
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerows([guard_cell(c) for c in row] + pred for row, pred in zip(rows, cells, strict=True))
    return buf.getvalue().encode("utf-8"), len(rows), empty



def run_joblib(model_ref: Any, work: Iterator[tuple[list[Unit], dict[str, int]]], spacy_name: str | None,
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


def run_dask(model: Any, work: Iterator[tuple[list[Unit], dict[str, int]]], spacy_name: str | None,
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
        yield from _in_order(work, lambda c: client.submit(run_chunk, model_future, c, spacy_name, fast, pure=False),
                             lambda fut: fut.result(), 2 * workers)
    finally:
        if own:
            client.close()


def _in_order(work: Iterator[tuple[list[Unit], dict[str, int]]], submit: Any, result: Any, window: int
              ) -> Iterator[tuple[Any, dict[str, int]]]:
    """Submit each chunk (`submit(chunk)` gives a future), keeping at most `window` in flight, and yield
    (`result(future)`, progress) in submission order."""
    pending: deque[tuple[Any, dict[str, int]]] = deque()
    for chunk, progress in work:
        pending.append((submit(chunk), progress))
        if len(pending) >= window:
            fut, prog = pending.popleft()
            yield result(fut), prog
    while pending:
        fut, prog = pending.popleft()
        yield result(fut), prog


def run_fork(model: Any, work: Iterator[tuple[list[Unit], dict[str, int]]], spacy_name: str | None, fast: bool,
             n_jobs: int) -> Iterator[tuple[tuple[bytes, int, list[str]], dict[str, int]]]:
    """Run chunks in `n_jobs` processes forked from this one, results in submission order.

    A forked worker starts with this process's imports and its loaded model and embedding (the caller warms the
    model up first), where a fresh process spends seconds importing scikit-learn and loading them: on 10 MB
    that start-up was a third of the run. The workers run only run_chunk (NumPy, SciPy, the tokenizer with its
    parallelism off): see train.forking."""
    key = f"fork:{id(model)}"
    _FORKED.clear()
    _FORKED[key] = model
    try:
        with fork_pool(n_jobs) as pool:
            yield from _in_order(work, lambda c: pool.apply_async(run_chunk, (key, c, spacy_name, fast)),
                                 lambda fut: fut.get(), 2 * n_jobs)
    finally:
        _FORKED.clear()
