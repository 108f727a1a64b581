"""The label store: the only package that opens the label CSV files. One job per module:

* `log`: the append-only log `labels/labels.csv` (row codec with CRC32, the cross-process lock, appends);
* `reading`: reading the log and the current labels (latest row per sentence and annotator);
* `versions`: immutable, sha256-checked snapshots in `labels/versions/`, and diffs between them;
* `importer`: label files in (CSV/JSONL), problems returned as data;
* `exporter`: raw (every column) and gold (training-ready) exports in CSV, JSONL and spaCy DocBin;
* `migration`: schema changes (orphaned label names, renames).

Everything public is re-exported here, so `from label_app.store import X` and `store.X` keep working.
"""

from __future__ import annotations

import os  # noqa: F401 - tests patch store.os.write to simulate a full disk

from ..errors import (  # noqa: F401 - re-exported for callers that used store.<Error>
    BadLabelFile,
    InvalidName,
    LabelAppError,
    SchemaMismatch,
    StoreWriteError,
    UnknownLabel,
    VersionNotFound,
    VersionTampered,
)
from .exporter import (
    EXPORT_COLUMNS,
    EXPORT_MARK,
    EXPORT_MARK_COLUMN,
    FORMATS,
    GOLD_COLUMNS,
    RAW_COLUMNS,
    Export,
    default_export_name,
    export_csv_text,
    export_jsonl_text,
    export_rows,
    export_spacy_bytes,
    gold_csv_text,
    gold_jsonl_text,
    gold_rows,
    gold_summary,
    guard_cell,
    guarded_csv_text,
    make_export,
    unguard_cell,
    write_export,
)
from .importer import (
    IMPORT_OPTIONAL,
    IMPORT_REQUIRED,
    CorpusSentence,
    ImportProblem,
    ImportReport,
    corpus_sentence_index,
    import_labels,
    text_sentence_id,
)
from .log import (
    ACTIONS,
    LOG_COLUMNS,
    SOURCES,
    VERSION_COLUMNS,
    LabelRow,
    append_label,
    append_rows,
    check_row,
    decode_line,
    encode_row,
    now_iso,
    store_lock,
    validate_annotator,
)
from .migration import check_fits_schema, migrate_labels, orphaned_labels, parse_renames
from .reading import LogRead, TornRow, TornRowWarning, current_labels, latest_rows, read_log
from .versions import (
    VersionDiff,
    create_version,
    diff_labels,
    get_version_record,
    labels_for,
    latest_version,
    load_version,
    read_manifest,
    resolve_version,
    verify_version,
    version_path,
)

__all__ = [
    "ACTIONS", "EXPORT_COLUMNS", "EXPORT_MARK", "EXPORT_MARK_COLUMN", "FORMATS", "GOLD_COLUMNS", "IMPORT_OPTIONAL",
    "IMPORT_REQUIRED", "LOG_COLUMNS", "RAW_COLUMNS", "SOURCES", "VERSION_COLUMNS", "CorpusSentence", "Export", "ImportProblem",
    "ImportReport", "LabelRow", "LogRead", "TornRow", "TornRowWarning", "VersionDiff", "append_label",
    "append_rows", "check_fits_schema", "check_row", "corpus_sentence_index", "create_version", "current_labels", "decode_line",
    "default_export_name", "diff_labels", "encode_row", "export_csv_text", "export_jsonl_text", "export_rows",
    "export_spacy_bytes", "get_version_record", "gold_csv_text", "gold_jsonl_text", "gold_rows", "gold_summary", "guard_cell",
    "guarded_csv_text", "import_labels", "labels_for", "latest_rows", "latest_version", "load_version",
    "make_export", "migrate_labels", "now_iso", "orphaned_labels", "parse_renames", "read_log", "read_manifest",
    "resolve_version", "store_lock", "text_sentence_id", "unguard_cell", "validate_annotator", "verify_version",
    "version_path", "write_export",
]
