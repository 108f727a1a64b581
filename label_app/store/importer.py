"""Import of label files (CSV or JSONL): read, check every row, then append all rows or none.

Problems are data: a list of `ImportProblem` (row, column, value, message) that the CLI prints as lines and
the Data page shows as a table. One problem anywhere means nothing is imported.

* Columns: `text`, `topic`, `stance` are required (either label may be empty); `sentence_id`, `article_id`,
  `annotator`, `source`, `model_version`, `timestamp`, `seconds`, `action`, `row_id` are kept when present
  (our raw export has them all, so export -> import -> export gives back every column).
* Formula guard: a `'` that our CSV export put before a formula-like cell is removed only on rows whose
  `label_app_export` cell is `1` (our own exports), or in a CSV whose header is exactly that of our exports
  from before the mark (LEGACY_EXPORT_COLUMNS). Any other file is read exactly as it is.
* Texts are matched to corpus sentences through `textnorm.normalise_text`, so a trailing space or an NBSP
  does not hide a sentence; a matched row stores its corpus sentence's text and id. A row without a
  sentence id whose text is several corpus sentences (the same sentence in two articles, or twice in one) is
  added to every one of them (the gold rule counts identical texts as one item anyway), with one note naming
  the file, the row, the text and the articles; with an `article_id` that holds the text, only that article's.
* Two rows for the same sentence and annotator with different labels are a problem naming both rows;
  identical repeated rows count once. Rows identical to the label already current in the store (same
  labels and source) are not appended again; rows that change a current label are counted as relabels.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TextIO

from ..errors import LabelAppError
from ..names import canonical_name
from ..project import Project
from ..schema import TASKS, Schema
from ..tables import MAX_TABLE_BYTES, RowProblem, iter_rows
from ..textnorm import normalise_text
from .exporter import EXPORT_MARK, EXPORT_MARK_COLUMN, RAW_COLUMNS, unguard_cell
from .log import _NAME_RE, ACTIONS, SOURCES, LabelRow, append_rows, store_lock
from .reading import latest_rows, read_log

IMPORT_REQUIRED = ["text", "topic", "stance"]
IMPORT_OPTIONAL = [c for c in RAW_COLUMNS if c not in IMPORT_REQUIRED]
# The CSV export before the label_app_export mark: exactly these columns in this order, and guarded.
LEGACY_EXPORT_COLUMNS = ["sentence_id", "article_id", "annotator", "text", "topic", "stance", "source", "timestamp"]
_ROW_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def text_sentence_id(text: str) -> str:
    """Id for a labelled text that is not in the corpus (stable: derived from the text)."""
    return "t" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class CorpusSentence:
    """One corpus segment a label text can match: its ids, its article's source in seeds/ (`file.txt`,
    `table.csv#7`) and its text as stored in the corpus."""

    sentence_id: str
    article_id: str
    source: str
    text: str


def corpus_sentence_index(segments: Iterable[tuple[str, str, str, str]]) -> dict[str, list[CorpusSentence]]:
    """Normalised text -> every corpus segment with that text, in corpus order (for `import_labels`).

    `segments`: (text, sentence_id, article_id, source) of each corpus segment, e.g. the columns of
    `corpus.load_corpus`. A text in two articles, or twice in one, keeps all its occurrences.
    """
    index: dict[str, list[CorpusSentence]] = {}
    for text, sid, aid, source in segments:
        index.setdefault(normalise_text(text), []).append(CorpusSentence(sid, aid, source, text))
    return index


def _as_index(corpus_index: Mapping[str, Sequence[CorpusSentence] | tuple[str, str]] | None
              ) -> dict[str, list[CorpusSentence]]:
    index: dict[str, list[CorpusSentence]] = {}
    for text, value in (corpus_index or {}).items():
        # a (sentence_id, article_id) pair: the earlier, one-occurrence form of the index
        found = [CorpusSentence(value[0], value[1], "", text)] if isinstance(value, tuple) else list(value)
        index.setdefault(normalise_text(text), []).extend(found)
    return index


def _several_note(name: str, n: int, text: str, targets: Sequence[CorpusSentence]) -> str:
    """The note for a label text found in more than one corpus sentence, naming file, row, text and articles
    (by their source in seeds/), e.g. `labels.csv: row 2: the text 'Iraq pays for gas.' is in 2 articles
    (one.txt, batch.csv#7): the label was added to each`."""
    short = text if len(text) <= 60 else text[:59].rstrip() + "…"
    places: dict[str, int] = {}
    for t in targets:
        where = t.source or t.article_id
        places[where] = places.get(where, 0) + 1
    names = [w if k == 1 else f"{w} {k} times" for w, k in places.items()]
    if len(names) > 5:
        names = names[:5] + [f"{len(names) - 5} more"]
    if len(places) == 1:
        return (f"{name}: row {n}: the text {short!r} is {len(targets)} sentences of one article ({next(iter(places))}): "
                "the label was added to each")
    return (f"{name}: row {n}: the text {short!r} is in {len(places)} articles ({', '.join(names)}): the label "
            "was added to each")


@dataclass
class ImportProblem:
    """One reason a file was not imported. `row` is the file's line number (None: the whole file)."""

    row: int | None
    column: str
    value: str
    message: str

    def line(self) -> str:
        """One line for people, e.g. `row 3, topic 'weather': unknown topic label 'weather' (known: ...)`."""
        parts = [] if self.row is None else [f"row {self.row}"]
        if self.column:
            parts.append(f"{self.column} {self.value[:60]!r}" if self.value else self.column)
        return f"{', '.join(parts)}: {self.message}" if parts else self.message


@dataclass
class ImportReport:
    """What an import did (or, with `problems`, why it did nothing).

    rows: labels appended; relabelled: of those, how many replace a different current label of the same
    sentence and annotator; unchanged: rows equal to the current label, not appended again; duplicates:
    repeated identical rows within the file, counted once; skipped_empty: rows without topic or stance;
    matched_corpus: corpus sentences the rows' labels went to (a text in several articles counts each);
    our_export: rows marked as our export (formula guard reversed); notes: e.g. the file's encoding when it was not UTF-8.
    """

    name: str
    rows: int = 0
    annotators: list[str] = field(default_factory=list)
    matched_corpus: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    skipped_empty: int = 0
    relabelled: int = 0
    unchanged: int = 0
    duplicates: int = 0
    our_export: int = 0
    notes: list[str] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem_lines(self) -> list[str]:
        return [p.line() for p in self.problems]

    def summary(self) -> str:
        """One line: what was imported, or that nothing was."""
        if self.problems:
            n = len(self.problems)
            return f"{self.name}: nothing imported, {n} problem{'s' if n != 1 else ''}"
        return "; ".join([self.headline()] + self.details())

    def headline(self) -> str:
        """`imported N labels from NAME (annotators: ...; M matched corpus sentences)`."""
        return f"imported {self.labels_text()} from {self.name} ({self.counts_text()})"

    def labels_text(self) -> str:
        """`N label(s)`: how many labels were appended."""
        return f"{self.rows} label{'' if self.rows == 1 else 's'}"

    def counts_text(self) -> str:
        """`annotators: ...; M matched corpus sentence(s)` (the CLI's headline and the Data page share it)."""
        m = self.matched_corpus
        return (f"annotators: {', '.join(self.annotators) or '-'}; "
                f"{m} matched corpus sentence{'' if m == 1 else 's'}")

    def details(self) -> list[str]:
        """What else happened, one short phrase each (relabels, rows not added again, skipped, ignored)."""
        parts = []
        if self.relabelled:
            parts.append(f"{self.relabelled} relabel earlier labels")
        if self.unchanged:
            parts.append(f"{self.unchanged} already current, not added again")
        if self.duplicates:
            parts.append(f"{self.duplicates} repeated rows counted once")
        if self.skipped_empty:
            parts.append(f"{self.skipped_empty} rows without topic or stance skipped")
        if self.ignored_columns:
            parts.append(f"ignored columns: {', '.join(self.ignored_columns)}")
        return parts


def _records(source: str | bytes | os.PathLike[str] | TextIO, fmt: str, name: str,
             notes: list[str], skipped: list[RowProblem]) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows by the one table reader (tables.iter_rows). A UTF-8 CSV whose header has our export mark is read
    as UTF-8 without the binary-file sniff: our export of a text full of control characters is still ours."""
    if fmt == "csv" and isinstance(source, bytes | os.PathLike):
        head = source[:65536] if isinstance(source, bytes) else _head(Path(source))
        if EXPORT_MARK_COLUMN.encode() in head.split(b"\n", 1)[0]:
            data = source if isinstance(source, bytes) else _read(Path(source), name)
            try:
                source = data.decode("utf-8-sig")
            except UnicodeDecodeError:
                source = data
    return iter_rows(source, fmt, name, required=IMPORT_REQUIRED, notes=notes, skipped=skipped)


def _head(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(65536)
    except OSError:
        return b""  # iter_rows reports the unreadable file


def _read(path: Path, name: str) -> bytes:
    if path.stat().st_size > MAX_TABLE_BYTES:
        raise LabelAppError(f"{name}: too large (the limit is {MAX_TABLE_BYTES // 1024 ** 3} GiB per table file)")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise LabelAppError(f"{name}: cannot read: {exc.strerror or exc}") from None


def _parse_timestamp(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _check_record(n: int, cell: dict[str, str], schema: Schema, default_annotator: str,
                  problems: list[ImportProblem]) -> LabelRow | None:
    """The LabelRow of one record (sentence id still unresolved), or None after adding its problems."""
    before = len(problems)

    def bad(column: str, value: str, message: str) -> None:
        problems.append(ImportProblem(n, column, value, message))

    body = cell.get("text", "")
    if not body.strip():
        bad("text", "", "empty text")
    action = cell.get("action", "").strip() or "label"
    if action not in ACTIONS:
        bad("action", action, f"unknown action (known: {', '.join(ACTIONS)})")
    labels: dict[str, str] = {}
    for task in schema.tasks:
        value = cell.get(task.name, "").strip()
        try:
            labels[task.name] = task.normalise(value)
        except LabelAppError as exc:
            bad(task.name, value, str(exc))
    if action != "label" and action in ACTIONS and any(labels.values()):
        bad("action", action, f"action {action!r} carries no topic or stance")
    who = canonical_name(cell.get("annotator", "")) or default_annotator
    if not _NAME_RE.match(who):
        bad("annotator", who, "invalid annotator name (1-40 letters, digits, '.', '_' or '-')")
    source = cell.get("source", "").strip() or "import"
    if source not in SOURCES:
        bad("source", source, f"not a label source (known: {', '.join(SOURCES)}); rename the column if it "
            "means something else")
    stamp = cell.get("timestamp", "").strip()
    if stamp and not _parse_timestamp(stamp):
        bad("timestamp", stamp, "not an ISO 8601 time (like 2025-01-31T09:15:00.000Z)")
    secs_text = cell.get("seconds", "").strip()
    seconds: float | None = None
    if secs_text:
        try:
            seconds = float(secs_text)
        except ValueError:
            seconds = -1.0
        if not (math.isfinite(seconds) and seconds >= 0):
            bad("seconds", secs_text, "not a number of seconds >= 0")
    if len(problems) > before:
        return None
    return LabelRow(sentence_id=cell.get("sentence_id", "").strip(), text=body, annotator=who,
                    topic=labels["topic"], stance=labels["stance"], article_id=cell.get("article_id", "").strip(),
                    source=source, model_version=cell.get("model_version", "").strip(), seconds=seconds,
                    action=action, timestamp=stamp, row_id=cell.get("row_id", "").strip())


def _format_of(name: str, fmt: str | None) -> str:
    if fmt:
        return fmt
    return "jsonl" if name.lower().endswith((".jsonl", ".ndjson")) else "csv"


def import_labels(
    project: Project,
    schema: Schema,
    source: str | bytes | os.PathLike[str] | TextIO,
    annotator: str | None = None,
    corpus_index: Mapping[str, Sequence[CorpusSentence] | tuple[str, str]] | None = None,
    *,
    name: str | None = None,
    fmt: str | None = None,
) -> ImportReport:
    """Import a label file: check every row, then append all of them (one locked write) or none.

    `source`: a path, the file's bytes, its text (str) or an open text stream; `name` names it in messages
    (default: the path); `fmt` "csv" or "jsonl" (default: from the name's extension, else csv).
    `annotator`: for rows without one (default "import"). `corpus_index`: sentence text -> its corpus
    sentences (`corpus_sentence_index`; a (sentence_id, article_id) pair is read as one sentence; keys are
    normalised here). A row without a sentence id is added to every corpus sentence with its text (only
    those of its `article_id` when that article has it), with a note when there are several. Returns an
    ImportReport; when `report.problems` is not empty nothing was written. Raises StoreWriteError only when
    the store cannot be written.
    """
    if isinstance(source, os.PathLike):
        name = name or str(source)
    name = name or "labels"
    report = ImportReport(name)
    try:
        default_annotator = canonical_name(annotator or "") or "import"
        if not _NAME_RE.match(default_annotator):
            report.problems.append(ImportProblem(None, "annotator", default_annotator, "invalid annotator name"))
            return report
        index = _as_index(corpus_index)
        header: list[str] = []
        parsed: list[tuple[int, LabelRow]] = []
        file_format = _format_of(name, fmt)
        legacy: bool | None = None
        bad_rows: list[RowProblem] = []  # rows the table reader refused; the reader goes on, so all are named
        shared: list[str] = []  # notes on texts found in several sentences: given when the import is done
        for n, rec in _records(source, file_format, name, report.notes, bad_rows):
            for c in rec:
                if c not in header:
                    header.append(c)
            if legacy is None:
                legacy = file_format == "csv" and list(rec) == LEGACY_EXPORT_COLUMNS
            if legacy or rec.get(EXPORT_MARK_COLUMN, "").strip() == EXPORT_MARK:
                report.our_export += 1
                rec = {k: unguard_cell(v) for k, v in rec.items()}
            row = _check_record(n, rec, schema, default_annotator, report.problems)
            if row is None:
                continue
            if row.action == "label" and not (row.topic or row.stance):
                report.skipped_empty += 1
                continue
            key = normalise_text(row.text)
            found = index.get(key, [])
            if row.sentence_id or not found:
                report.matched_corpus += bool(found)
                for hit in found:
                    if hit.sentence_id == row.sentence_id:
                        row.text = hit.text  # the label belongs to that sentence: store its text
                row.sentence_id = row.sentence_id or text_sentence_id(key)
                parsed.append((n, row))
                continue
            targets = [h for h in found if h.article_id == row.article_id] or found
            report.matched_corpus += len(targets)  # the label goes to each of them
            if len(targets) > 1:
                shared.append(_several_note(name, n, targets[0].text, targets))
            for hit in targets:
                parsed.append((n, replace(row, sentence_id=hit.sentence_id, text=hit.text,
                                          article_id=row.article_id if len(targets) == 1 and row.article_id
                                          else hit.article_id)))
    except LabelAppError as exc:  # unreadable file, broken CSV, missing or duplicate columns
        report.problems.append(ImportProblem(None, "", "", str(exc).removeprefix(f"{name}: ")))
        return report
    report.problems += [ImportProblem(p.line, p.column, "", p.message.removeprefix(f"column {p.column!r} holds "))
                        for p in bad_rows]
    known = set(RAW_COLUMNS) | {EXPORT_MARK_COLUMN}
    report.ignored_columns = [c for c in header if c not in known]
    rows = _within_file(parsed, report)
    if report.problems:
        report.problems.sort(key=lambda p: -1 if p.row is None else p.row)  # in file order
        return report
    report.notes += shared
    with store_lock(project, exclusive=True):
        log = read_log(project).rows
        current = latest_rows(log)
        used_ids = {r["row_id"] for r in log}
        todo: list[LabelRow] = []
        for row in rows:
            cur = current.get((row.sentence_id, row.annotator))
            if cur is not None and (cur["action"], cur["topic"], cur["stance"], cur["source"]) == (
                    row.action, row.topic, row.stance, row.source):
                report.unchanged += 1
                continue
            if cur is not None and cur["action"] == "label":
                report.relabelled += 1
            if not _ROW_ID_RE.match(row.row_id) or row.row_id in used_ids:
                row.row_id = ""  # a fresh id is drawn on append
            used_ids.add(row.row_id)
            todo.append(row)
        written = append_rows(project, schema, todo)
    report.rows = len(written)
    report.annotators = sorted({r["annotator"] for r in written})
    return report


def _within_file(parsed: list[tuple[int, LabelRow]], report: ImportReport) -> list[LabelRow]:
    """Rows with repeats of the same (sentence, annotator) removed; conflicting repeats become problems."""
    first: dict[tuple[str, str], tuple[int, LabelRow]] = {}
    out: list[LabelRow] = []
    repeated: set[int] = set()  # file rows (a row added to several sentences is counted once)
    named: set[int] = set()
    for n, row in parsed:
        key = (row.sentence_id, row.annotator)
        if key not in first:
            first[key] = (n, row)
            out.append(row)
            continue
        m, earlier = first[key]
        if m == n:
            continue  # one row whose text was found twice at the same id (cannot happen with a sound corpus)
        if (earlier.action, earlier.topic, earlier.stance) == (row.action, row.topic, row.stance):
            if n not in repeated:
                repeated.add(n)
                report.duplicates += 1
            continue
        if n in named:
            continue
        named.add(n)
        for task in TASKS:
            if getattr(earlier, task) != getattr(row, task):
                report.problems.append(ImportProblem(
                    n, task, getattr(row, task) or "(none)",
                    f"conflicts with row {m} (same sentence, annotator {row.annotator!r}, {task} "
                    f"{getattr(earlier, task) or '(none)'!r}): keep one of the two rows"))
                break
        else:
            report.problems.append(ImportProblem(n, "action", row.action,
                                                 f"conflicts with row {m} (same sentence, annotator "
                                                 f"{row.annotator!r}, action {earlier.action!r})"))
    return out


__all__ = ["IMPORT_OPTIONAL", "IMPORT_REQUIRED", "CorpusSentence", "ImportProblem", "ImportReport",
           "corpus_sentence_index", "import_labels", "text_sentence_id"]
