"""What the Data page does, as plain functions: versions, diffs, exports, uploads of articles and labels."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import store
from .corpus import SUPPORTED_EXTS, IngestReport, ingest, safe_filename, save_into_seeds
from .errors import LabelAppError
from .project import Project
from .schema import Schema

MAX_ARTICLE_BYTES = 20 * 1024 * 1024
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


def import_upload(project: Project, schema: Schema, name: str, data: bytes, annotator: str | None,
                  corpus_index: dict[str, tuple[str, str]]) -> store.ImportReport:
    """Import an uploaded label file (CSV or JSONL) with the CLI's checks; problems name the uploaded file.

    Returns the ImportReport (nothing written when `report.problems`); raises LabelAppError for a file over
    the size limit.
    """
    clean = safe_filename(name or "labels.csv")
    if len(data) > MAX_LABEL_FILE_BYTES:
        raise LabelAppError(f"{clean}: file too large ({len(data) / 1e6:.1f} MB; the limit is "
                            f"{MAX_LABEL_FILE_BYTES // (1024 * 1024)} MB)")
    return store.import_labels(project, schema, data, annotator=annotator or None, corpus_index=corpus_index,
                               name=clean)


@dataclass
class UploadResult:
    saved: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    report: IngestReport | None = None


def upload_articles(project: Project, files: list[tuple[str, bytes]],
                    max_bytes: int = MAX_ARTICLE_BYTES) -> UploadResult:
    """Save uploaded article files into seeds/ (sanitised names, size and type checked), then ingest."""
    out = UploadResult()
    for name, data in files:
        clean = safe_filename(name)
        ext = Path(clean).suffix.lower()
        if ext not in SUPPORTED_EXTS:
            out.rejected.append((clean, f"unsupported file type {ext or '(none)'!r} (use .txt, .md, .csv, .jsonl)"))
        elif len(data) > max_bytes:
            out.rejected.append((clean, f"too large ({len(data) / 1e6:.1f} MB; the limit is "
                                        f"{max_bytes / 1e6:.0f} MB)"))
        elif not data.strip():
            out.rejected.append((clean, "empty file"))
        else:
            out.saved.append(save_into_seeds(project, clean, data).name)
    if out.saved:
        out.report = ingest(project)
    return out
