"""What the Data page does, as plain functions: versions, diffs, exports, uploads of articles and labels."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import store
from .corpus import (
    ARTICLE_EXTS,
    KIND_SENTENCE,
    MAX_ARTICLE_BYTES,
    IngestReport,
    NearDuplicate,
    check_upload,
    ingest,
    iter_corpus_records,
    near_duplicates,
    replace_in_seeds,
    row_skipped_note,
    safe_filename,
    save_into_seeds,
    segment_text,
)
from .errors import BadInput, LabelAppError
from .project import Project
from .schema import Schema
from .tables import RowProblem

MAX_LABEL_FILE_BYTES = 20 * 1024 * 1024
DIFF_COLUMNS = ["change", "sentence_id", "annotator", "before", "after", "text"]


def versions_table(project: Project) -> pd.DataFrame:
    """One row per label version with its count, note and integrity check."""
    rows = []
    for rec in store.read_manifest(project):
        try:
            store.verify_version(project, rec["version"])
            state = "ok"
        except LabelAppError as exc:
            state = f"TAMPERED: {exc}"
        rows.append({"version": rec["version"], "created": rec["created"], "labels": rec["rows"],
                     "note": rec.get("note", ""), "check": state})
    return pd.DataFrame(rows, columns=["version", "created", "labels", "note", "check"])


def _pair(r: dict[str, str]) -> str:
    return f"{r['topic'] or '-'} / {r['stance'] or '-'}"


def diff_table(a: list[dict[str, str]], b: list[dict[str, str]]) -> tuple[str, pd.DataFrame]:
    """A one-line summary and a table of labels added, changed and removed from `a` to `b`."""
    d = store.diff_labels(a, b)
    rows = [("added", r["sentence_id"], r["annotator"], "", _pair(r), r["text"]) for r in d.added]
    rows += [("changed", n["sentence_id"], n["annotator"], _pair(o), _pair(n), n["text"]) for o, n in d.changed]
    rows += [("removed", r["sentence_id"], r["annotator"], _pair(r), "", r["text"]) for r in d.removed]
    summary = f"{len(d.added)} added, {len(d.changed)} changed, {len(d.removed)} removed"
    return summary, pd.DataFrame(rows, columns=DIFF_COLUMNS)


def corpus_index(corpus: pd.DataFrame) -> dict[str, list[store.CorpusSentence]]:
    """Normalised text -> every corpus sentence with it (`store.corpus_sentence_index`), from a corpus frame
    (`corpus.load_corpus`: text, sentence_id, article_id, source). The one index of label imports, for the
    CLI and the Data page alike."""
    return store.corpus_sentence_index(zip(corpus["text"], corpus["sentence_id"], corpus["article_id"],
                                           corpus["source"], strict=True))


def import_upload(project: Project, schema: Schema, name: str, data: bytes, annotator: str | None,
                  corpus: pd.DataFrame) -> store.ImportReport:
    """Import an uploaded label file (CSV or JSONL) with the CLI's checks; problems name the uploaded file.

    `corpus`: the corpus frame its texts are matched to (`corpus_index`). Returns the ImportReport (nothing
    written when `report.problems`); raises LabelAppError for a file over the size limit.
    """
    clean = safe_filename(name or "labels.csv")
    if len(data) > MAX_LABEL_FILE_BYTES:
        raise LabelAppError(f"{clean}: file too large ({len(data) / 1e6:.1f} MB; the limit is "
                            f"{MAX_LABEL_FILE_BYTES // (1024 * 1024)} MB)")
    return store.import_labels(project, schema, data, annotator=annotator or None,
                               corpus_index=corpus_index(corpus), name=clean)


@dataclass
class UploadCheck:
    """What adding one uploaded file would do: refused (with the reason), or accepted with its articles and
    the existing articles it may be a new version of (same file name, or mostly the same sentences)."""

    name: str  # the sanitised file name it would get in seeds/
    reason: str = ""  # why it is refused ('' when accepted)
    articles: int = 0
    duplicates: list[NearDuplicate] = field(default_factory=list)
    # rows of an accepted table that ingestion will leave out, one line each (`line 3: column 'text' holds ...`)
    notes: list[str] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        return bool(self.reason)


def check_uploads(project: Project, files: list[tuple[str, bytes]],
                  max_bytes: int = MAX_ARTICLE_BYTES) -> list[UploadCheck]:
    """Check uploaded (name, bytes) pairs the way ingestion reads files, before anything is saved.

    A file ingestion would skip (unsupported type, larger than `max_bytes` for .txt/.md, empty, binary,
    broken table, no rows with text) is refused with ingestion's reason; the rows of an accepted table that
    ingestion will leave out are listed in `notes` with ingestion's words; an accepted single-article file is
    compared with the corpus (`corpus.near_duplicates`).
    """
    corpus = None
    out = []
    for name, data in files:
        clean = safe_filename(name or "article.txt")
        check = UploadCheck(clean)
        if Path(clean).suffix.lower() in ARTICLE_EXTS and len(data) > max_bytes:
            check.reason = f"too large ({len(data) / 1e6:.1f} MB; the limit is {max_bytes / 2 ** 20:.0f} MiB)"
            out.append(check)
            continue
        left_out: list[RowProblem] = []
        try:
            arts, _enc = check_upload(clean, data, left_out)
        except BadInput as exc:
            check.reason = str(exc).split(": ", 1)[-1]
            out.append(check)
            continue
        check.articles = len(arts)
        check.notes = [row_skipped_note(p) for p in left_out]
        if corpus is None:
            corpus = list(iter_corpus_records(project))
        sentences = [s.text for s in segment_text(arts[0].text) if s.kind == KIND_SENTENCE] if len(arts) == 1 else []
        check.duplicates = near_duplicates(clean, sentences, corpus)
        out.append(check)
    return out


@dataclass
class UploadResult:
    saved: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    report: IngestReport | None = None


def upload_articles(project: Project, files: list[tuple[str, bytes]], max_bytes: int = MAX_ARTICLE_BYTES,
                    replace: dict[str, str] | None = None, skip: set[str] | None = None) -> UploadResult:
    """Save uploaded article files into seeds/, then ingest; refused files are listed in `rejected`.

    Files are checked first (`check_uploads`). `replace` maps a sanitised upload name to the source (path in
    seeds/) of the existing article it replaces: that file is overwritten, so the article keeps its id and
    the labels of its unchanged sentences. Names in `skip` are left out. Other files are saved under a
    non-clobbering name (an identical file already there is reused).
    """
    out = UploadResult()
    replace = replace or {}
    skip = skip or set()
    for (_name, data), check in zip(files, check_uploads(project, files, max_bytes), strict=True):
        if check.refused:
            out.rejected.append((check.name, check.reason))
        elif check.name in skip:
            continue
        elif check.name in replace:
            out.replaced.append(replace_in_seeds(project, replace[check.name].split("#", 1)[0], data)
                                .relative_to(project.seeds_dir.resolve()).as_posix())
        else:
            out.saved.append(save_into_seeds(project, check.name, data).name)
    if out.saved or out.replaced:
        out.report = ingest(project)
    return out
