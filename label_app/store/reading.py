"""Reading the label log and the current labels (the latest row per sentence and annotator)."""

from __future__ import annotations

import os
import stat
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..errors import LabelAppError
from ..names import canonical_name
from ..project import Project
from .log import _HEADER_LINE, decode_line, store_lock


class TornRowWarning(UserWarning):
    """A label-log line that fails its checksum (a writer was killed mid-row); it is set aside."""


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
                # Rows written before names were canonical ("Sara") are the same annotator as "sara".
                row["annotator"] = canonical_name(row["annotator"])
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
    """Current labels of the project from the label log (or from `rows` already read from it): the latest row
    per (sentence, annotator), where that row is a label; dicts with the log's columns."""
    if rows is None:
        rows = read_log(project).rows
    return [r for r in latest_rows(rows).values() if r["action"] == "label"]

