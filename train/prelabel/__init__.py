"""Pre-labeling: stream articles or sentence files through a trained model into a resumable CSV.

One output file per model (default `prelabels/<model id>.csv`, columns `label_app.artifacts.PRELABEL_COLUMNS`).
Inputs are cut into chunks of whole articles (or runs of sentence-file rows); each chunk is segmented and
predicted in a worker process (joblib, or a Dask cluster) and appended to the output as one write followed by
fsync, after which a sidecar `<output>.state.json` records the committed size. A killed run therefore leaves a
valid CSV plus at most one torn chunk, which the next run cuts off before it resumes.

Input rules: with no inputs (or seeds/ named), the corpus ingestion wrote is pre-labeled: seeds/ is
ingested first (incremental) and its articles' sentences and sentence ids are read from the corpus cache,
so pre-labels carry exactly the ids the app shows. A `.csv`/`.jsonl` file named directly is a *sentence
file* (one sentence per row: `text`, optional `id` and `topic`; read by `label_app.tables.iter_rows`, text
normalised by `label_app.textnorm`); files found inside another folder are *articles*, read and segmented
exactly as ingestion reads them (`FastSegmenter`), with content-derived article ids.

One module per job: `inputs` (which files, validation, chunks), `output` (the resumable CSV and its state),
`runners` (the worker side, joblib and Dask), `job` (the run, with progress through a callback). Reading the
file back is `label_app.artifacts.read_prelabels` (the app reads it; re-exported here).
"""

from label_app.artifacts import PrelabelOutputError, prelabel_path, read_prelabels

from .inputs import Source, check_sentence_file, project_of_corpus, resolve_inputs
from .job import DEFAULT_CHUNK_CHARS, NoModel, PrelabelProgress, ProgressCallback, prelabel
from .output import COLUMNS, PrelabelReport, state_path
from .runners import run_chunk

__all__ = [
    "COLUMNS", "DEFAULT_CHUNK_CHARS", "NoModel", "PrelabelOutputError", "PrelabelProgress", "PrelabelReport",
    "ProgressCallback", "Source", "check_sentence_file", "prelabel", "prelabel_path", "project_of_corpus",
    "read_prelabels", "resolve_inputs", "run_chunk", "state_path",
]
