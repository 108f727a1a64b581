"""The label store: the only module that opens the label CSV files.

`labels/labels.csv` is an append-only log, one physical line per label action. Each line ends with a
CRC32 of its fields, so a row torn by a killed writer is always detected on read (and reported with its
file and line, never silently dropped). Writers hold an exclusive lock (portalocker) and write the whole
batch with one write() followed by fsync, so concurrent processes neither lose nor interleave rows.

Versions (`labels/versions/vNNNN.csv`) are immutable snapshots of the current labels, recorded with their
sha256 in `labels/versions/manifest.json`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import stat
import threading
import uuid
import warnings
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import portalocker

from .errors import (
    BadLabelFile,
    InvalidName,
    LabelAppError,
    SchemaMismatch,
    StoreWriteError,
    UnknownLabel,
    VersionNotFound,
    VersionTampered,
)
from .project import Project
from .schema import Schema

LOG_COLUMNS = [
    "row_id", "sentence_id", "article_id", "text", "topic", "stance", "annotator", "timestamp",
    "source", "model_version", "seconds", "action", "crc",
]
VERSION_COLUMNS = [
    "sentence_id", "article_id", "annotator", "text", "topic", "stance", "source", "model_version",
    "timestamp", "seconds", "row_id",
]
EXPORT_COLUMNS = ["sentence_id", "article_id", "annotator", "text", "topic", "stance", "source", "timestamp"]
IMPORT_REQUIRED = ["text", "topic", "stance"]
IMPORT_OPTIONAL = ["sentence_id", "article_id", "annotator"]

SOURCES = ("manual", "suggestion-accepted", "suggestion-corrected", "import", "adjudicated")
# label: topic and/or stance set; skip: passed over; not-sentence: boilerplate mark; clear: label withdrawn
ACTIONS = ("label", "skip", "not-sentence", "clear")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
_HEADER_LINE = ",".join(LOG_COLUMNS) + "\n"


class TornRowWarning(UserWarning):
    """A label-log line that fails its checksum (a writer was killed mid-row); it is set aside."""


def validate_annotator(name: str) -> str:
    """Return `name` if it is a valid annotator name, else raise InvalidName."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise InvalidName(
            f"invalid annotator name {name!r}: use 1-40 letters, digits, '.', '_' or '-', starting with a "
            "letter or digit"
        )
    return name


def now_iso() -> str:
    """The current UTC time, ISO 8601 with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ---------------------------------------------------------------- one log line per row

def _escape(cell: str) -> str:
    # The log keeps one physical line per row, so a torn row can never swallow the rows after it.
    return cell.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")


_UNESCAPE_RE = re.compile(r"\\(.)", re.S)


def _unescape(cell: str) -> str:
    return _UNESCAPE_RE.sub(lambda m: {"n": "\n", "r": "\r"}.get(m.group(1), m.group(1)), cell)


def _crc(cells: Sequence[str]) -> str:
    return f"{zlib.crc32(chr(31).join(cells).encode('utf-8')):08x}"


def encode_row(row: dict[str, Any]) -> str:
    """One log line (with checksum and trailing newline) for a row dict."""
    cells = ["" if row.get(c) is None else str(row.get(c)) for c in LOG_COLUMNS[:-1]]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow([_escape(c) for c in cells] + [_crc(cells)])
    return buf.getvalue()


def decode_line(line: str) -> dict[str, str] | None:
    """The row dict of one log line, or None if it is torn (wrong field count or checksum)."""
    try:
        fields = next(csv.reader([line], strict=True))
    except (csv.Error, StopIteration):
        return None
    if len(fields) != len(LOG_COLUMNS):
        return None
    cells = [_unescape(f) for f in fields[:-1]]
    if _crc(cells) != fields[-1]:
        return None
    return dict(zip(LOG_COLUMNS[:-1], cells, strict=True))


# ---------------------------------------------------------------- locking and appending

def _lock_path(project: Project) -> Path:
    return project.labels_dir / ".labels.lock"


# Lock nesting depth per thread (flock is not re-entrant; Streamlit serves sessions from threads, and each
# thread must take the lock on its own file handle so threads of one process also exclude each other).
_held = threading.local()


@contextmanager
def store_lock(project: Project, exclusive: bool = True) -> Iterator[None]:
    """Hold the store's cross-process lock (exclusive for writers, shared for readers); re-entrant."""
    path = str(_lock_path(project))
    depths: dict[str, int] = _held.__dict__.setdefault("depths", {})
    if depths.get(path):
        depths[path] += 1
        try:
            yield
        finally:
            depths[path] -= 1
        return
    project.labels_dir.mkdir(parents=True, exist_ok=True)
    # A blocking flock: the kernel queues waiters, where a polling lock starves some of 32 writers for
    # seconds. flock is released when its holder dies, so a killed writer never leaves the store locked.
    flags = portalocker.LOCK_EX if exclusive else portalocker.LOCK_SH
    try:
        handle = open(path, "a")  # noqa: SIM115 - closed in the finally below
    except OSError as exc:
        if not exclusive:
            handle = None  # read-only project folder: nobody can be writing there
        else:
            raise StoreWriteError(f"{path}: label NOT saved: cannot lock the label store: "
                                  f"{exc.strerror or exc}") from None
    if handle is not None:
        try:
            portalocker.lock(handle, flags)
        except (portalocker.exceptions.LockException, OSError) as exc:
            handle.close()
            raise StoreWriteError(f"{path}: could not lock the label store: {exc}") from None
    depths[path] = 1
    try:
        yield
    finally:
        depths.pop(path, None)
        if handle is not None:
            portalocker.unlock(handle)
            handle.close()


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _append_bytes(path: Path, data: bytes) -> None:
    """Append `data` to `path` (header first if new), fsync; on failure the file is left as it was."""
    created = not path.exists()
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        prefix = b""
        if size == 0:
            prefix = _HEADER_LINE.encode()
        elif os.pread(fd, 1, size - 1) != b"\n":
            prefix = b"\n"  # a killed writer left a torn last line: keep it on a line of its own
        payload = memoryview(prefix + data)
        try:
            while payload:
                n = os.write(fd, payload)
                payload = payload[n:]
            os.fsync(fd)
        except OSError:
            try:
                os.ftruncate(fd, size)
                os.fsync(fd)
            except OSError:
                pass
            raise
    finally:
        os.close(fd)
    if created:
        _fsync_dir(path.parent)


@dataclass
class LabelRow:
    """One label action, as appended to the log."""

    sentence_id: str
    text: str
    annotator: str
    topic: str = ""
    stance: str = ""
    article_id: str = ""
    source: str = "manual"
    model_version: str = ""
    seconds: float | None = None
    action: str = "label"
    timestamp: str = ""
    row_id: str = ""

    def as_dict(self) -> dict[str, Any]:
        secs = "" if self.seconds is None else f"{float(self.seconds):.3f}"
        return {
            "row_id": self.row_id or uuid.uuid4().hex,
            "sentence_id": self.sentence_id,
            "article_id": self.article_id,
            "text": self.text,
            "topic": self.topic,
            "stance": self.stance,
            "annotator": self.annotator,
            "timestamp": self.timestamp or now_iso(),
            "source": self.source,
            "model_version": self.model_version,
            "seconds": secs,
            "action": self.action,
        }


def check_row(row: LabelRow, schema: Schema) -> LabelRow:
    """Validate a row against the schema and the store's rules; returns it with canonical label cells."""
    validate_annotator(row.annotator)
    if row.source not in SOURCES:
        raise LabelAppError(f"unknown source {row.source!r} (known: {', '.join(SOURCES)})")
    if row.action not in ACTIONS:
        raise LabelAppError(f"unknown action {row.action!r} (known: {', '.join(ACTIONS)})")
    if not row.sentence_id:
        raise LabelAppError("a label needs a sentence id")
    row.topic = schema.topic.normalise(row.topic)
    row.stance = schema.stance.normalise(row.stance)
    if row.action == "label" and not (row.topic or row.stance):
        raise LabelAppError("a label needs a topic or a stance")
    if row.action != "label" and (row.topic or row.stance):
        raise LabelAppError(f"action {row.action!r} carries no topic or stance")
    if row.seconds is not None and not (row.seconds >= 0):
        raise LabelAppError(f"seconds must be >= 0, got {row.seconds!r}")
    return row


def append_rows(project: Project, schema: Schema, rows: Iterable[LabelRow]) -> list[dict[str, Any]]:
    """Validate and append rows in one locked, fsynced write; they are on disk when this returns."""
    dicts = [check_row(r, schema).as_dict() for r in rows]
    if not dicts:
        return []
    data = "".join(encode_row(d) for d in dicts).encode("utf-8")
    try:
        with store_lock(project, exclusive=True):
            _append_bytes(project.log_path, data)
    except OSError as exc:
        raise StoreWriteError(f"{project.log_path}: label NOT saved: {exc.strerror or exc}") from None
    return dicts


def append_label(project: Project, schema: Schema, row: LabelRow) -> dict[str, Any]:
    """Append one label action (see append_rows)."""
    return append_rows(project, schema, [row])[0]


# ---------------------------------------------------------------- reading

@dataclass
class TornRow:
    """A log line that failed its checksum, set aside on read."""

    file: str
    line: int
    text: str

    def message(self) -> str:
        return f"{self.file}: line {self.line}: torn or corrupt label row set aside: {self.text[:80]!r}"


@dataclass
class LogRead:
    """Rows read from the log (in append order), torn lines set aside, and where reading stopped."""

    rows: list[dict[str, str]] = field(default_factory=list)
    torn: list[TornRow] = field(default_factory=list)
    offset: int = 0
    line: int = 0


def read_log(project: Project, offset: int = 0, line: int = 0, warn: bool = True) -> LogRead:
    """Rows appended since byte `offset` (0: the whole log). Torn rows are reported, never fatal.

    Pass the returned offset/line back in to read only what was appended since (the app's index does).
    """
    path = project.log_path
    out = LogRead(offset=offset, line=line)
    try:
        with store_lock(project, exclusive=False):
            with open(path, "rb") as fh:
                if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                    # a device or pipe could feed bytes forever; the log must be a plain file
                    raise LabelAppError(f"{path}: not a regular file; refusing to read labels from it")
                fh.seek(max(0, offset - 1))
                data = fh.read()
    except FileNotFoundError:
        return out
    except OSError as exc:
        raise LabelAppError(f"{path}: cannot read labels: {exc.strerror or exc}") from None
    pos = 0
    lineno = line
    if offset > 0:
        # The previous read ended on a torn line (no newline) that was already reported: the rest of that
        # physical line belongs to it, so skip past its newline without counting a new line.
        pos = 1 if data[:1] == b"\n" else (data.find(b"\n") + 1 or len(data))
    while pos < len(data):
        end = data.find(b"\n", pos)
        last = end < 0
        raw = data[pos:] if last else data[pos:end]
        lineno += 1
        text = raw.decode("utf-8", errors="replace").rstrip("\r")
        if lineno == 1 and offset == 0:
            if text != _HEADER_LINE.rstrip("\n"):
                out.torn.append(TornRow(str(path), 1, f"unexpected header: {text[:60]}"))
        elif text:
            row = decode_line(text)
            if row is None:
                out.torn.append(TornRow(str(path), lineno, text))
            else:
                out.rows.append(row)
        pos = len(data) if last else end + 1
    out.offset = max(0, offset - 1) + len(data)
    out.line = lineno
    if warn:
        for t in out.torn:
            warnings.warn(t.message(), TornRowWarning, stacklevel=2)
    return out


def latest_rows(rows: Iterable[dict[str, str]]) -> dict[tuple[str, str], dict[str, str]]:
    """The latest row of each (sentence, annotator) pair, in log order."""
    latest: dict[tuple[str, str], dict[str, str]] = {}
    for r in rows:
        key = (r["sentence_id"], r["annotator"])
        latest.pop(key, None)  # re-insert so dict order follows the latest action
        latest[key] = r
    return latest


def current_labels(project: Project, rows: Iterable[dict[str, str]] | None = None) -> list[dict[str, str]]:
    """Current labels: the latest row per (sentence, annotator), where that row is a label."""
    if rows is None:
        rows = read_log(project).rows
    return [r for r in latest_rows(rows).values() if r["action"] == "label"]


# ---------------------------------------------------------------- versions

def _snapshot_bytes(labels: list[dict[str, str]]) -> bytes:
    buf = io.StringIO()
    # QUOTE_ALL: a bare CR inside a field must be quoted too, or it would end the row on read
    w = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_ALL)
    w.writerow(VERSION_COLUMNS)
    for r in sorted(labels, key=lambda r: (r["sentence_id"], r["annotator"])):
        w.writerow([r.get(c, "") for c in VERSION_COLUMNS])
    return buf.getvalue().encode("utf-8")


def read_manifest(project: Project) -> list[dict[str, Any]]:
    """The manifest's version records, oldest first."""
    try:
        data = json.loads(project.manifest_path.read_text("utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        raise LabelAppError(f"{project.manifest_path}: broken manifest: {exc}") from None
    return list(data.get("versions", []))


def version_path(project: Project, number: int) -> Path:
    return project.versions_dir / f"v{number:04d}.csv"


def _write_manifest(project: Project, versions: list[dict[str, Any]]) -> None:
    tmp = project.manifest_path.with_name(f".manifest.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump({"versions": versions}, fh, indent=2)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, project.manifest_path)
    _fsync_dir(project.versions_dir)


def create_version(project: Project, note: str = "", only_if_changed: bool = False) -> tuple[dict[str, Any], bool]:
    """Snapshot the current labels as the next immutable version; returns (record, created).

    With `only_if_changed`, the latest version is returned instead when the labels are the same.
    """
    try:
        with store_lock(project, exclusive=True):
            project.versions_dir.mkdir(parents=True, exist_ok=True)
            versions = read_manifest(project)
            rows = read_log(project).rows
            labels = current_labels(project, rows)
            data = _snapshot_bytes(labels)
            digest = hashlib.sha256(data).hexdigest()
            if only_if_changed and versions and versions[-1]["sha256"] == digest:
                return versions[-1], False
            number = (versions[-1]["version"] + 1) if versions else 1
            path = version_path(project, number)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o444)
            try:
                os.link(tmp, path)  # fails if the version exists: nothing rewrites a version
            finally:
                os.unlink(tmp)
            record = {
                "version": number,
                "created": now_iso(),
                "rows": len(labels),
                "sha256": digest,
                "parent": versions[-1]["version"] if versions else None,
                "note": note,
                "file": path.name,
            }
            _write_manifest(project, versions + [record])
            return record, True
    except FileExistsError:
        raise StoreWriteError(f"{version_path(project, number)}: version file already exists; "
                              "not overwritten (check the manifest)") from None
    except OSError as exc:
        raise StoreWriteError(f"{project.versions_dir}: version NOT written: {exc.strerror or exc}") from None


def get_version_record(project: Project, number: int) -> dict[str, Any]:
    for rec in read_manifest(project):
        if rec["version"] == number:
            return rec
    known = ", ".join(str(r["version"]) for r in read_manifest(project)) or "none yet"
    raise VersionNotFound(f"label version {number} not found in {project.manifest_path} (versions: {known})")


def latest_version(project: Project) -> dict[str, Any] | None:
    versions = read_manifest(project)
    return versions[-1] if versions else None


def verify_version(project: Project, number: int) -> dict[str, Any]:
    """The version's record if its file matches its sha256; else raise VersionTampered."""
    rec = get_version_record(project, number)
    path = project.versions_dir / rec["file"]
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        raise VersionTampered(f"{path}: version {number} file is missing") from None
    if digest != rec["sha256"]:
        raise VersionTampered(
            f"{path}: version {number} has been modified (sha256 {digest[:12]}..., manifest says "
            f"{rec['sha256'][:12]}...); restore it from backup or git"
        )
    return rec


def load_version(project: Project, number: int) -> list[dict[str, str]]:
    """The label rows of a version (checked against its sha256 first)."""
    rec = verify_version(project, number)
    path = project.versions_dir / rec["file"]
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def resolve_version(project: Project, spec: str | int | None) -> int:
    """A version number from 'N', 'vN', 'latest' or None (latest)."""
    if spec is None or str(spec).lower() in ("", "latest"):
        rec = latest_version(project)
        if rec is None:
            raise VersionNotFound(f"{project.manifest_path}: no label versions yet (run `python -m label_app version`)")
        return int(rec["version"])
    text = str(spec).lower().lstrip("v")
    if not text.isdigit():
        raise VersionNotFound(f"not a version number: {spec!r}")
    return int(text)


def labels_for(project: Project, spec: str | int | None) -> list[dict[str, str]]:
    """Labels of a version, or of the live log when `spec` is 'current'."""
    if str(spec).lower() == "current":
        return current_labels(project)
    return load_version(project, resolve_version(project, spec))


@dataclass
class VersionDiff:
    added: list[dict[str, str]]
    removed: list[dict[str, str]]
    changed: list[tuple[dict[str, str], dict[str, str]]]


def diff_labels(a: list[dict[str, str]], b: list[dict[str, str]]) -> VersionDiff:
    """Labels added, removed and changed (topic or stance) from `a` to `b`, keyed by (sentence, annotator)."""
    ka = {(r["sentence_id"], r["annotator"]): r for r in a}
    kb = {(r["sentence_id"], r["annotator"]): r for r in b}
    added = [kb[k] for k in sorted(kb.keys() - ka.keys())]
    removed = [ka[k] for k in sorted(ka.keys() - kb.keys())]
    changed = [
        (ka[k], kb[k]) for k in sorted(ka.keys() & kb.keys())
        if (ka[k]["topic"], ka[k]["stance"]) != (kb[k]["topic"], kb[k]["stance"])
    ]
    return VersionDiff(added, removed, changed)


# ---------------------------------------------------------------- import and export

_FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def guard_cell(value: str) -> str:
    """Neutralise a cell a spreadsheet would run as a formula (prefix '), reversibly."""
    if value.startswith(_FORMULA_LEADS) or (value.startswith("'") and value[1:2] in _FORMULA_LEADS + ("'",)):
        return "'" + value
    return value


def unguard_cell(value: str) -> str:
    """Undo guard_cell."""
    if value.startswith("'") and value[1:2] in _FORMULA_LEADS + ("'",):
        return value[1:]
    return value


def text_sentence_id(text: str) -> str:
    """Id for a labelled text that is not in the corpus (stable: derived from the text)."""
    return "t" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


@dataclass
class ImportReport:
    rows: int
    annotators: list[str]
    matched_corpus: int
    ignored_columns: list[str]
    skipped_empty: int


def import_labels(
    project: Project,
    schema: Schema,
    path: Path,
    annotator: str | None = None,
    corpus_index: dict[str, tuple[str, str]] | None = None,
) -> ImportReport:
    """Import a label CSV; every label is checked first, and one bad row rejects the whole file.

    `corpus_index` maps sentence text -> (sentence_id, article_id) so imported texts find their sentence.
    """
    name = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BadLabelFile(f"{name}: cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadLabelFile(f"{name}: not UTF-8 text") from None
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
        header = [h.strip() for h in (reader.fieldnames or [])]
        reader.fieldnames = header
        records = list(reader)
    except csv.Error as exc:
        raise BadLabelFile(f"{name}: broken CSV: {exc}") from None
    missing = [c for c in IMPORT_REQUIRED if c not in header]
    if missing:
        raise BadLabelFile(f"{name}: missing column(s) {', '.join(missing)} (found: {', '.join(header) or 'none'})")
    known = set(IMPORT_REQUIRED + IMPORT_OPTIONAL + EXPORT_COLUMNS)
    ignored = [c for c in header if c not in known]
    default_annotator = validate_annotator(annotator) if annotator else "import"
    problems: list[str] = []
    rows: list[LabelRow] = []
    skipped_empty = 0
    matched = 0
    for n, rec in enumerate(records, start=2):
        if None in rec:
            problems.append(f"row {n}: more cells than columns")
            continue
        cell = {c: unguard_cell(rec.get(c) or "") for c in header}
        body, topic, stance = cell["text"], cell["topic"].strip(), cell["stance"].strip()
        for task, value in (("topic", topic), ("stance", stance)):
            bad = schema.task(task).unknown(value)
            if bad:
                problems.append(f"row {n}: unknown {task} {bad[0]!r}")
            elif len(schema.task(task).split(value)) > 1 and not schema.task(task).multi_label:
                problems.append(f"row {n}: {task} takes one label, got {value!r}")
        if not body.strip():
            problems.append(f"row {n}: empty text")
            continue
        if not topic and not stance:
            skipped_empty += 1
            continue
        who = cell.get("annotator", "").strip() or default_annotator
        if not _NAME_RE.match(who):
            problems.append(f"row {n}: invalid annotator {who!r}")
            continue
        sid, aid = cell.get("sentence_id", "").strip(), cell.get("article_id", "").strip()
        if not sid and corpus_index and body in corpus_index:
            sid, aid = corpus_index[body]
        if sid and corpus_index is not None and body in corpus_index:
            matched += 1
        rows.append(LabelRow(sentence_id=sid or text_sentence_id(body), article_id=aid, text=body,
                             topic=topic, stance=stance, annotator=who, source="import"))
    if problems:
        shown = "; ".join(problems[:20]) + (f"; ... {len(problems) - 20} more" if len(problems) > 20 else "")
        exc_type = UnknownLabel if any("unknown" in p for p in problems) else BadLabelFile
        raise exc_type(f"{name}: nothing imported, {len(problems)} bad row(s): {shown}")
    append_rows(project, schema, rows)
    return ImportReport(len(rows), sorted({r.annotator for r in rows}), matched, ignored, skipped_empty)


def export_rows(labels: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{c: r.get(c, "") for c in EXPORT_COLUMNS} for r in sorted(
        labels, key=lambda r: (r["sentence_id"], r["annotator"]))]


def export_csv_text(labels: list[dict[str, str]]) -> str:
    """CSV export with the import's column names; formula-like cells are neutralised."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=EXPORT_COLUMNS, lineterminator="\n", quoting=csv.QUOTE_ALL)
    w.writeheader()
    for r in export_rows(labels):
        w.writerow({k: guard_cell(v) for k, v in r.items()})
    return buf.getvalue()


def export_jsonl_text(labels: list[dict[str, str]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in export_rows(labels))


def export_spacy_bytes(labels: list[dict[str, str]], schema: Schema, task: str = "topic") -> bytes:
    """A spaCy DocBin: one Doc per label, `doc.cats` over the task's labels (1.0 / 0.0)."""
    import spacy
    from spacy.tokens import DocBin

    nlp = spacy.blank("en")
    t = schema.task(task)
    db = DocBin(store_user_data=True)
    for r in export_rows(labels):
        doc = nlp.make_doc(r["text"])
        chosen = set(t.split(r[task]))
        doc.cats = {name: 1.0 if name in chosen else 0.0 for name in t.names}
        doc.user_data.update({k: v for k, v in r.items() if k != "text"})
        db.add(doc)
    return db.to_bytes()


def write_export(project: Project, schema: Schema, version: int, fmt: str, out: Path | None,
                 task: str = "topic") -> Path:
    """Write a version's labels as csv, jsonl or spacy; returns the file written."""
    labels = load_version(project, version)
    if fmt not in ("csv", "jsonl", "spacy"):
        raise LabelAppError(f"unknown export format {fmt!r} (use csv, jsonl or spacy)")
    ext = {"csv": "csv", "jsonl": "jsonl", "spacy": "spacy"}[fmt]
    out = out or project.root / "exports" / f"labels-v{version:04d}.{ext}"
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        out.write_text(export_csv_text(labels), encoding="utf-8", newline="")
    elif fmt == "jsonl":
        out.write_text(export_jsonl_text(labels), encoding="utf-8")
    else:
        out.write_bytes(export_spacy_bytes(labels, schema, task))
    return out


# ---------------------------------------------------------------- schema changes

def orphaned_labels(labels: Iterable[dict[str, str]], schema: Schema) -> dict[tuple[str, str], int]:
    """(task, label name) -> count, for label names in `labels` that the schema no longer has."""
    out: dict[tuple[str, str], int] = {}
    for r in labels:
        for task in schema.tasks:
            for name in task.unknown(r.get(task.name, "")):
                out[(task.name, name)] = out.get((task.name, name), 0) + 1
    return out


def check_fits_schema(project: Project, schema: Schema, labels: list[dict[str, str]] | None = None,
                      what: str = "current labels") -> None:
    """Raise SchemaMismatch, listing them, when labels use names the schema no longer has."""
    orphans = orphaned_labels(current_labels(project) if labels is None else labels, schema)
    if not orphans:
        return
    listed = ", ".join(f"{t} {n!r} ({c})" for (t, n), c in sorted(orphans.items()))
    example = " ".join(f"--rename {t}:{n}=NEW" for (t, n) in sorted(orphans)[:2])
    raise SchemaMismatch(
        f"{project.schema_path}: {sum(orphans.values())} {what} use labels the schema no longer has: {listed}. "
        f"Put them back in the schema, or map them: python -m label_app migrate-schema {example}"
    )


def parse_renames(specs: Iterable[str], schema: Schema) -> dict[tuple[str, str], str]:
    """Parse 'OLD=NEW' or 'TASK:OLD=NEW' specs into {(task, old): new}; NEW must be in the schema."""
    out: dict[tuple[str, str], str] = {}
    for spec in specs:
        left, eq, new = spec.partition("=")
        task_name, colon, old = left.partition(":")
        if not colon:
            task_name, old = "", left
        old, new = old.strip(), new.strip()
        if not eq or not old or not new:
            raise SchemaMismatch(f"--rename {spec!r}: use OLD=NEW or TASK:OLD=NEW")
        tasks = [schema.task(task_name)] if task_name else [t for t in schema.tasks if new in t.names]
        if not tasks or new not in tasks[0].names:
            where = f"{task_name} " if task_name else ""
            raise SchemaMismatch(f"--rename {spec!r}: {new!r} is not a {where}label in {schema.source}")
        for t in tasks:
            out[(t.name, old)] = new
    return out


def migrate_labels(project: Project, schema: Schema, renames: dict[tuple[str, str], str]) -> int:
    """Relabel current labels that use renamed names (appended rows, same annotator and source).

    Refuses (SchemaMismatch, nothing written) when labels would still be orphaned afterwards.
    """
    with store_lock(project, exclusive=True):
        labels = current_labels(project)
        rows: list[LabelRow] = []
        for r in labels:
            cells = {}
            for task in schema.tasks:
                parts = task.split(r.get(task.name, ""))
                cells[task.name] = "|".join(renames.get((task.name, p), p) for p in parts)
            if any(cells[t.name] != (r.get(t.name) or "") for t in schema.tasks):
                rows.append(LabelRow(
                    sentence_id=r["sentence_id"], text=r["text"], annotator=r["annotator"],
                    topic=cells["topic"], stance=cells["stance"], article_id=r["article_id"],
                    source=r["source"], model_version=r["model_version"]))
        after = [dict(r, **{t.name: "|".join(renames.get((t.name, p), p) for p in t.split(r.get(t.name, "")))
                            for t in schema.tasks}) for r in labels]
        check_fits_schema(project, schema, after, "current labels (after the renames)")
        append_rows(project, schema, rows)
        return len(rows)
