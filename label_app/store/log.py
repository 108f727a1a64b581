"""The label log: one CSV line per label action, its codec (escaped cells + CRC32), the store lock and appends.

`labels/labels.csv` is an append-only log, one physical line per label action. Each line ends with a
CRC32 of its fields, so a row torn by a killed writer is always detected on read (and reported with its
file and line, never silently dropped). Writers hold an exclusive lock (portalocker) and write the whole
batch with one write() followed by fsync, so concurrent processes neither lose nor interleave rows.
"""

from __future__ import annotations

import csv
import io
import os
import re
import threading
import uuid
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import portalocker

from ..errors import InvalidName, LabelAppError, StoreWriteError
from ..files import fsync_dir
from ..gold import ADJUDICATED
from ..names import canonical_name
from ..project import Project
from ..schema import Schema

LOG_COLUMNS = [
    "row_id", "sentence_id", "article_id", "text", "topic", "stance", "annotator", "timestamp",
    "source", "model_version", "seconds", "action", "crc",
]
VERSION_COLUMNS = [
    "sentence_id", "article_id", "annotator", "text", "topic", "stance", "source", "model_version",
    "timestamp", "seconds", "row_id",
]

SOURCES = ("manual", "suggestion-accepted", "suggestion-corrected", "import", ADJUDICATED)
# label: topic and/or stance set; skip: passed over; not-sentence: boilerplate mark; clear: label withdrawn
ACTIONS = ("label", "skip", "not-sentence", "clear")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
_HEADER_LINE = ",".join(LOG_COLUMNS) + "\n"

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
        fsync_dir(path.parent)


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
    row.annotator = validate_annotator(canonical_name(row.annotator))
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

