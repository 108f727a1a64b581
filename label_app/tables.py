"""One reader for every table the project reads: article tables, label import files, pre-label sentence files.

Every table goes through the same three steps, so the same file gets the same answer from every command:

* **Encoding** (`decode_bytes`, `open_text`): UTF-8 with or without a BOM; UTF-16 with a BOM; otherwise
  Windows-1252 (cp1252, or Latin-1 for the five bytes cp1252 leaves undefined) is accepted and the caller
  shows `encoding_note(...)` naming the file. A file with NUL bytes or many control characters is refused
  as binary.
* **Header** (`check_header`): column names are stripped of padding (`text, topic` is `text`, `topic`);
  a blank or duplicate name is refused with one line naming it, e.g.
  `labels.csv: duplicate column 'topic' (columns 2 and 4)`.
* **Rows** (`iter_rows`): streamed, each with the line number a person would count (the CSV line where the
  record starts; the JSONL line), as a dict of column name -> cell text. A bad row (a cell over the limit,
  more cells than the header, a JSONL line that is not an object) is a `RowProblem` naming file, line and
  column; callers that pass a `skipped` list get the other rows all the same.

Limits, the same for every reader: a table file may be up to `MAX_TABLE_BYTES` (1 GiB); one cell (for
example an article's text) may be up to `MAX_CELL_CHARS` characters, the same as the per-article file
limit `MAX_ARTICLE_BYTES` (20 MiB). Errors are `label_app.errors.BadInput` (or the `error` class a caller
passes) with the file and row in the message.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import re
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from .errors import BadInput, LabelAppError

MAX_ARTICLE_BYTES = 20 * 1024 * 1024
"""Largest article file (.txt/.md) ingestion reads: 20 MiB."""
MAX_TABLE_BYTES = 1024 * 1024 * 1024
"""Largest table file (.csv/.jsonl, many rows) any reader accepts: 1 GiB."""
MAX_CELL_CHARS = MAX_ARTICLE_BYTES
"""Largest cell of any table, in characters: an article's text in a table may be as large as an article file."""
TABLE_FORMATS = ("csv", "jsonl")

# csv's own default (131,072 characters) would refuse an article cell well under the documented limit; cells over
# MAX_CELL_CHARS are found before the csv module sees them (`_csv_records`)
if csv.field_size_limit() < 2 * MAX_CELL_CHARS:
    csv.field_size_limit(2 * MAX_CELL_CHARS)

_SNIFF = 65536
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


# control characters (Unicode Cc) other than tab, line feed, vertical tab, form feed and carriage return
_CONTROL_RE = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f]")


def _looks_binary(sample: str) -> bool:
    return len(_CONTROL_RE.findall(sample)) > max(2, len(sample) // 200)


def decode_bytes(data: bytes, name: str) -> tuple[str, str]:
    """Decode a whole file's bytes by the one encoding policy; returns (text, encoding).

    encoding is "utf-8" (BOM optional, the BOM is dropped), "utf-16" (BOM required), "cp1252" or "latin-1".
    For anything but "utf-8"/"utf-16" the caller shows `encoding_note(name, encoding)`.
    Raises BadInput `"<name>: binary file, not text (...)"` for binary data.
    """
    if data.startswith(_UTF16_BOMS):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise BadInput(f"{name}: broken UTF-16 text (starts with a UTF-16 byte-order mark)") from None
    if b"\x00" in data:
        raise BadInput(f"{name}: binary file, not text (contains NUL bytes)")
    try:
        text, enc = data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        try:
            text, enc = data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            text, enc = data.decode("latin-1"), "latin-1"
    if _looks_binary(text[:_SNIFF]):
        raise BadInput(f"{name}: binary file, not text (control characters)")
    return text, enc


def encoding_note(name: str, encoding: str) -> str | None:
    """The note shown when a file was not UTF-8 (None when it was): one line naming the file and encoding."""
    if encoding in ("utf-8", "utf-16"):
        return None
    label = "Windows-1252 (cp1252)" if encoding == "cp1252" else "Latin-1"
    return f"{name}: not UTF-8, read as {label}; save it as UTF-8 if accented letters look wrong"


def _sniff_file_encoding(path: Path, display: str) -> str:
    """The encoding `decode_bytes` would choose for a file, found without holding the file in memory."""
    with open(path, "rb") as fh:
        head = fh.read(_SNIFF)
        if head.startswith(_UTF16_BOMS):
            return "utf-16"
        decoder = codecs.getincrementaldecoder("utf-8")()
        chunk = head
        utf8 = True
        first = True
        while chunk:
            if b"\x00" in chunk:
                raise BadInput(f"{display}: binary file, not text (contains NUL bytes)")
            if utf8:
                try:
                    text = decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False
                    # As decode_bytes reads it: cp1252 where it can be (its 0x80-0x9F are quotes, dashes, the
                    # euro sign; read as Latin-1 they would count as control characters), else Latin-1.
                    try:
                        text = chunk.decode("cp1252")
                    except UnicodeDecodeError:
                        text = chunk.decode("latin-1")
                if first and _looks_binary(text):
                    raise BadInput(f"{display}: binary file, not text (control characters)")
            first = False
            chunk = fh.read(1 << 20)
        if utf8:
            try:
                decoder.decode(b"", final=True)
                return "utf-8-sig"
            except UnicodeDecodeError:
                pass
    with open(path, "rb") as fh:
        try:
            for block in iter(lambda: fh.read(1 << 20), b""):
                block.decode("cp1252")  # cp1252 is a single-byte code: blocks decode independently
            return "cp1252"
        except UnicodeDecodeError:
            return "latin-1"


def open_text(path: str | os.PathLike[str], display: str | None = None) -> tuple[TextIO, str]:
    """Open a table file for streaming by the one encoding policy; returns (text stream, encoding).

    The stream is opened with newline="" (what the csv module needs). Raises BadInput when the file is
    missing, larger than MAX_TABLE_BYTES or binary.
    """
    p = Path(path)
    display = display or str(p)
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise BadInput(f"{display}: cannot read: {exc.strerror or exc}") from None
    if size > MAX_TABLE_BYTES:
        raise BadInput(f"{display}: too large ({size / 1e6:.0f} MB; the limit is "
                       f"{MAX_TABLE_BYTES // 1024 ** 3} GiB per table file)")
    enc = _sniff_file_encoding(p, display)
    fh = open(p, encoding=enc, newline="")  # noqa: SIM115 - returned to the caller, who closes it
    return fh, "utf-8" if enc == "utf-8-sig" else enc


def check_header(names: Sequence[str], display: str, error: type[LabelAppError] = BadInput) -> list[str]:
    """Column names stripped of padding and lower-cased (a spreadsheet's `Text,Topic,Stance` is `text,topic,
    stance`); refuses blank or duplicate names (after both).

    `display` names the file in the message, e.g. `labels.csv: duplicate column 'topic' (columns 2 and 4)`
    or `labels.csv: blank column name (column 3)`. Columns are counted from 1. Raises `error` (BadInput).
    """
    out: list[str] = []
    first: dict[str, int] = {}
    for i, raw in enumerate(names, start=1):
        name = (raw or "").strip().lstrip("\ufeff").strip().lower()
        if not name:
            raise error(f"{display}: blank column name (column {i})")
        if name in first:
            raise error(f"{display}: duplicate column {name!r} (columns {first[name]} and {i})")
        first[name] = i
        out.append(name)
    return out


def _missing(header: Sequence[str], required: Sequence[str], display: str, error: type[LabelAppError]) -> None:
    missing = [c for c in required if c not in header]
    if missing:
        raise error(f"{display}: missing column(s) {', '.join(missing)} (found: {', '.join(header) or 'none'})")


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    return json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class RowProblem:
    """One row a table reader left out, and why: `file` (as the caller named it), `line` (where the row starts,
    as a person counts), `column` (the column at fault, "" for the whole row) and a one-line `message` without
    the file and line, e.g. `column 'text' holds 21,000,001 characters; the limit is 20,971,520 per cell`."""

    file: str
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: line {self.line}: {self.message}"


def _row_problem(problem: RowProblem, skipped: list[RowProblem] | None, error: type[LabelAppError]) -> None:
    """Report a bad row: kept in `skipped` (the reader goes on with the next row) or, without a list, raised."""
    if skipped is None:
        raise error(str(problem))
    skipped.append(problem)


def _oversized(row: dict[str, str], limit: int) -> tuple[str, int] | None:
    for k, v in row.items():
        if len(v) > limit:
            return k, len(v)
    return None


def _too_large(column: str, size: int, limit: int) -> str:
    return f"column {column!r} holds {size:,} characters; the limit is {limit:,} per cell"


_CELL_END = re.compile(r"[,\r\n]")


class _RecordScan:
    """Follows one CSV record of the csv module's default dialect (`,` between cells, `"` around a cell, `""`
    for a quote inside one) over its physical lines, without keeping them: whether the record has ended and
    the length of each cell so far. It finds the end of a record whose cell is over the limit, which the csv
    module cannot do (it stops with "field larger than field limit" mid-record and loses its place)."""

    __slots__ = ("at_start", "cells", "done", "quoted")

    def __init__(self) -> None:
        self.cells = [0]
        self.quoted = False
        self.at_start = True
        self.done = False

    def feed(self, line: str) -> None:
        cells = self.cells
        i, n = 0, len(line)
        while i < n:
            if self.quoted:
                j = line.find('"', i)
                if j < 0:  # the line break belongs to the quoted cell
                    cells[-1] += n - i
                    return
                cells[-1] += j - i
                if line.startswith('"', j + 1):
                    cells[-1] += 1
                    i = j + 2
                else:
                    self.quoted = False
                    i = j + 1
                continue
            if self.at_start and line[i] == '"':
                self.quoted, self.at_start = True, False
                i += 1
                continue
            self.at_start = False
            m = _CELL_END.search(line, i)
            j = n if m is None else m.start()
            cells[-1] += j - i
            if m is None:
                break
            if line[j] == ",":
                cells.append(0)
                self.at_start = True
                i = j + 1
                continue
            self.done = True  # a line break outside quotes ends the record
            return
        if not self.quoted:
            self.done = True  # the file's last line, without a line break


class _Records:
    """The physical lines of a CSV text, for one csv.reader, with each record's first line number in `starts`
    (the record the reader returns next is `starts[0]`). A record with a cell over `limit` is read to its end
    (`_RecordScan`) but never given to the csv module: it goes to `oversized` as (start line, cell sizes). So
    one huge cell neither stops the file nor fills the memory, and every other record is parsed exactly as
    the csv module parses it."""

    def __init__(self, lines: TextIO, limit: int, display: str, error: type[LabelAppError]) -> None:
        self.lines, self.limit, self.display, self.error = lines, limit, display, error
        self.starts: deque[int] = deque()
        self.oversized: list[tuple[int, list[int]]] = []
        self.line = 0  # the last line read

    def __iter__(self) -> Iterator[str]:
        limit, starts = self.limit, self.starts
        it = iter(self.lines)
        n = 0
        for line in it:
            n += 1
            if '"' not in line and len(line) <= limit:
                starts.append(n)  # no quoting: the line is the whole record and no cell can be over the limit
                yield line
                continue
            start = n
            scan = _RecordScan()
            kept: list[str] | None = []
            total = 0
            while True:
                if scan.quoted and '"' not in line:
                    scan.cells[-1] += len(line)  # a whole line inside a quoted cell
                else:
                    scan.feed(line)
                total += len(line)
                if kept is not None:
                    if total > limit and max(scan.cells) > limit:  # no cell is longer than its record
                        kept = None  # the record is over the limit: keep counting, stop holding it
                    else:
                        kept.append(line)
                if scan.done:
                    break
                nxt = next(it, None)
                if nxt is None:
                    break
                line = nxt
                n += 1
            self.line = n
            if kept is None:
                if not scan.done:
                    raise self.error(f"{self.display}: line {start}: broken CSV: the quoted cell that starts on this "
                                     "line is never closed")
                self.oversized.append((start, scan.cells))
                continue
            starts.append(start)
            yield from kept
        self.line = n


def _csv_rows(lines: TextIO, display: str, required: Sequence[str], error: type[LabelAppError],
              skipped: list[RowProblem] | None) -> Iterator[tuple[int, dict[str, str]]]:
    limit = MAX_CELL_CHARS  # read at call time
    if csv.field_size_limit() < 2 * limit:
        # Records reach the csv module only when every cell is within `limit` (`_Records` counts them); the
        # margin covers any difference in counting, so its own "field larger than field limit" never fires.
        csv.field_size_limit(2 * limit)
    records = _Records(lines, limit, display, error)
    reader = csv.reader(records, strict=True)
    header: list[str] | None = None

    def left_out() -> None:  # the records over the limit met before the one the reader returns next
        for start, sizes in records.oversized:
            col = next(i for i, size in enumerate(sizes) if size > limit)
            if header is None:
                raise error(f"{display}: line {start}: the header's column {col + 1} holds {sizes[col]:,} "
                            f"characters; the limit is {limit:,} per cell")
            name = header[col] if col < len(header) else f"column {col + 1}"
            _row_problem(RowProblem(display, start, name, _too_large(name, sizes[col], limit)), skipped, error)
        records.oversized.clear()

    while True:
        try:
            rec = next(reader, None)
        except csv.Error as exc:
            raise error(f"{display}: line {records.starts[0] if records.starts else records.line + 1}: broken "
                        f"CSV: {exc}") from None
        left_out()
        if rec is None:
            break
        start = records.starts.popleft()
        if not rec or (len(rec) == 1 and not rec[0].strip() and header is None):
            continue
        if header is None:
            header = check_header(rec, display, error)
            _missing(header, required, display, error)
            continue
        if len(rec) > len(header):
            _row_problem(RowProblem(display, start, "", f"{len(rec)} cells but the header has {len(header)} "
                                                        "columns"), skipped, error)
            continue
        row = dict(zip(header, rec, strict=False))
        for name in header[len(rec):]:
            row[name] = ""
        if (big := _oversized(row, limit)) is not None:
            _row_problem(RowProblem(display, start, big[0], _too_large(*big, limit)), skipped, error)
            continue
        yield start, row
    if header is None:
        raise error(f"{display}: empty table (no header line)")


class _Pairs(list):
    """A JSON object as its (key, value) pairs, so duplicate keys are seen instead of silently merged."""


def _jsonl_rows(lines: TextIO, display: str, required: Sequence[str], error: type[LabelAppError],
                skipped: list[RowProblem] | None) -> Iterator[tuple[int, dict[str, str]]]:
    limit = MAX_CELL_CHARS  # read at call time
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if n == 1:
            line = line.lstrip("\ufeff")

        def bad(message: str, column: str = "", n: int = n) -> None:
            _row_problem(RowProblem(display, n, column, message), skipped, error)

        try:
            pairs = json.loads(line, object_pairs_hook=_Pairs)
        except ValueError as exc:
            bad(f"not valid JSON ({exc.msg})")
            continue
        if not isinstance(pairs, _Pairs):
            kind = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "true or false"}.get(
                type(pairs), "null")
            bad(f"needs a JSON object per line, got {kind}")
            continue
        try:
            names = check_header([k for k, _ in pairs], f"{display}: line {n}", error)
        except LabelAppError as exc:
            bad(str(exc).removeprefix(f"{display}: line {n}: "))
            continue
        row = {k: _cell_text(v) for k, (_, v) in zip(names, pairs, strict=True)}
        missing = [c for c in required if c not in row]
        if missing:
            bad(f"missing field(s) {', '.join(missing)}")
            continue
        if (big := _oversized(row, limit)) is not None:
            bad(_too_large(*big, limit), big[0])
            continue
        yield n, row


def iter_rows(
    source: str | bytes | os.PathLike[str] | TextIO,
    fmt: str,
    display: str,
    required: Sequence[str] = (),
    error: type[LabelAppError] = BadInput,
    notes: list[str] | None = None,
    skipped: list[RowProblem] | None = None,
) -> Iterator[tuple[int, dict[str, str]]]:
    """Stream the rows of a .csv or .jsonl table as (line number, {column: cell text}).

    `source` is the table's text (str), its raw bytes (decoded by `decode_bytes`), a path (opened by
    `open_text`, streamed) or an open text stream (for CSV opened with newline=""). `fmt` is "csv" or
    "jsonl"; `display` names the file in messages. Line numbers are what a person counts: for CSV the
    physical line where the record starts (a quoted cell may span lines), for JSONL the line. Column names
    pass `check_header`; `required` columns must be present (CSV: in the header; JSONL: in every object).
    Cells are the text as written (None/null -> "", JSON numbers as written by json.dumps); a row with more
    cells than the header is refused, a shorter one is padded with "". A row with a cell above MAX_CELL_CHARS
    (read at call time) is refused; so is, in JSONL, a line that is not a JSON object with the required fields
    and no duplicate key. A refused row is a `RowProblem` appended to `skipped` when it is given (the reader
    goes on with the next row, so one bad row never loses the others) and raised as `error` when it is not.
    A non-UTF-8 encoding adds `encoding_note(...)` to `notes` when given. Raises `error` for what spoils the
    whole file (unreadable, binary, too large, bad header, broken CSV quoting).
    """
    fmt = fmt.lower().lstrip(".")
    if fmt not in TABLE_FORMATS:
        raise error(f"{display}: unknown table format {fmt!r} (use csv or jsonl)")
    rows = _csv_rows if fmt == "csv" else _jsonl_rows
    if isinstance(source, bytes):
        if len(source) > MAX_TABLE_BYTES:
            raise error(f"{display}: too large ({len(source) / 1e6:.0f} MB; the limit is "
                        f"{MAX_TABLE_BYTES // 1024 ** 3} GiB per table file)")
        try:
            text, enc = decode_bytes(source, display)
        except BadInput as exc:
            raise error(str(exc)) from None
        if notes is not None and (note := encoding_note(display, enc)):
            notes.append(note)
        yield from rows(io.StringIO(text, newline=""), display, required, error, skipped)
    elif isinstance(source, str):
        yield from rows(io.StringIO(source, newline=""), display, required, error, skipped)
    elif isinstance(source, os.PathLike):
        try:
            fh, enc = open_text(source, display)
        except BadInput as exc:
            raise error(str(exc)) from None
        if notes is not None and (note := encoding_note(display, enc)):
            notes.append(note)
        with fh:
            yield from rows(fh, display, required, error, skipped)
    else:
        yield from rows(source, display, required, error, skipped)


__all__ = [
    "MAX_ARTICLE_BYTES", "MAX_CELL_CHARS", "MAX_TABLE_BYTES", "TABLE_FORMATS", "RowProblem", "check_header",
    "decode_bytes",
    "encoding_note", "iter_rows", "open_text",
]
