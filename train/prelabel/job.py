"""The pre-labeling job: resolve the model and inputs, open (or resume) the output, run the chunks, commit each
one, and report progress through a callback (the CLI draws a tqdm bar, the app's background job writes its
status file)."""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from label_app.artifacts import (
    prelabel_path,
    prelabel_state_path,
)
from label_app.corpus import (
    IngestReport,
    spacy_model_name,
)
from label_app.errors import BadInput, LabelAppError
from label_app.files import append_durable, write_atomic
from label_app.project import Project
from label_app.schema import Schema, load_schema

from ..forking import can_fork
from ..registry import load_current_model, load_model
from .inputs import check_sentence_file, chunks, resolve_inputs
from .output import PrelabelReport, open_output
from .runners import run_chunk, run_dask, run_fork, run_joblib

DEFAULT_CHUNK_CHARS = 400_000


class NoModel(LabelAppError):
    """There is no trained model to pre-label with."""


@dataclass(frozen=True)
class PrelabelProgress:
    """How far a pre-labeling run is: input bytes read of the total, sentences written, seconds so far."""

    done_bytes: int
    total_bytes: int
    sentences: int
    seconds: float


ProgressCallback = Callable[[PrelabelProgress], None]


def _resolve_model(project: Project, schema: Schema, model: Any, model_id: str | None) -> Any:
    if model is not None:
        return model
    loaded = load_model(project, schema, model_id) if model_id else load_current_model(project, schema)
    if loaded is None:
        raise NoModel(f"{project.models_dir}: no trained model yet (run `python -m train` first)")
    return loaded


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
    on_progress: ProgressCallback | None = None,
) -> PrelabelReport:
    """Pre-label `inputs` (default: seeds/) with `model` (default: the current model, or `model_id`) into
    `out` (default prelabels/<model id>.csv; columns label_app.artifacts.PRELABEL_COLUMNS).

    Resumable and idempotent: what the output already holds for this model is skipped. `on_progress` is
    called as input is read and after each committed chunk (in this process, never from a worker). Raises
    BadInput (inputs, options), NoModel, PrelabelOutputError (an output of another model or foreign columns).
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
    state, done = open_output(out_path, mid, report, bool(sentence_meta))
    spacy_name = spacy_model_name(project)
    total = sum(s.size for s in sources)
    read = 0

    def tell() -> None:
        if on_progress is not None:
            on_progress(PrelabelProgress(read, total, report.sentences, time.perf_counter() - t0))

    def advance(n_bytes: int) -> None:
        nonlocal read
        read += n_bytes
        tell()

    work = chunks(sources, done, state, sentence_meta, chunk_chars, report, advance)
    tmpdir = None
    try:
        if backend == "dask":
            results = run_dask(model, work, spacy_name, fast, scheduler)
        else:
            from joblib import cpu_count

            jobs = cpu_count() if n_jobs < 0 else max(1, n_jobs)
            # Small inputs are not worth starting worker processes for.
            if jobs == 1 or total <= 2 * chunk_chars:
                results = ((run_chunk(model, c, spacy_name, fast), p) for c, p in work)
            elif can_fork():
                # Load the embedding and fill the per-process caches once, here, so every forked worker has them.
                model.predict_proba(["Warm up the model before the workers are forked."])
                results = run_fork(model, work, spacy_name, fast, jobs)
            else:
                tmpdir = tempfile.TemporaryDirectory(prefix="prelabel-")
                ref = os.path.join(tmpdir.name, "model.joblib")
                import joblib

                joblib.dump(model, ref)
                results = run_joblib(ref, work, spacy_name, fast, jobs)
        for (data, n_rows, empty), prog in results:
            if data:
                state.committed = append_durable(out_path, data)
            state.rows += n_rows
            state.sentence_sources.update(prog)
            state.empty_articles.extend(empty)
            write_atomic(prelabel_state_path(out_path), json.dumps(state.to_json()))
            report.sentences += n_rows
            report.seconds = time.perf_counter() - t0
            tell()
    finally:
        if tmpdir is not None:
            tmpdir.cleanup()
    report.seconds = time.perf_counter() - t0
    return report

