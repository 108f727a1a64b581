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
  record starts; the JSONL line), as a dict of column name -> cell text.

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
from collections.abc import Iterator, Sequence
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

# csv's own default (131,072 characters) would refuse an article cell well under the documented limit
if csv.field_size_limit() < MAX_CELL_CHARS:
    csv.field_size_limit(MAX_CELL_CHARS)

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


def _check_cells(row: dict[str, str], where: str, error: type[LabelAppError]) -> None:
    for k, v in row.items():
        if len(v) > MAX_CELL_CHARS:
            raise error(f"{where}: column {k!r} holds {len(v):,} characters; the limit is "
                        f"{MAX_CELL_CHARS:,} per cell")


def _csv_rows(lines: TextIO, display: str, required: Sequence[str],
              error: type[LabelAppError]) -> Iterator[tuple[int, dict[str, str]]]:
    reader = csv.reader(lines, strict=True)
    end = 0  # physical line where the previous record ended
    header: list[str] | None = None
    try:
        for rec in reader:
            start, end = end + 1, reader.line_num
            if not rec or (len(rec) == 1 and not rec[0].strip() and header is None):
                continue
            if header is None:
                header = check_header(rec, display, error)
                _missing(header, required, display, error)
                continue
            if not rec:
                continue
            if len(rec) > len(header):
                raise error(f"{display}: line {start}: {len(rec)} cells but the header has {len(header)} columns")
            row = dict(zip(header, rec, strict=False))
            for name in header[len(rec):]:
                row[name] = ""
            _check_cells(row, f"{display}: line {start}", error)
            yield start, row
    except csv.Error as exc:
        raise error(f"{display}: line {end + 1}: broken CSV: {exc}") from None
    if header is None:
        raise error(f"{display}: empty table (no header line)")


class _Pairs(list):
    """A JSON object as its (key, value) pairs, so duplicate keys are seen instead of silently merged."""


def _jsonl_rows(lines: TextIO, display: str, required: Sequence[str],
                error: type[LabelAppError]) -> Iterator[tuple[int, dict[str, str]]]:
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{display}: line {n}"
        if n == 1:
            line = line.lstrip("\ufeff")
        try:
            pairs = json.loads(line, object_pairs_hook=_Pairs)
        except ValueError as exc:
            raise error(f"{where}: not valid JSON ({exc.msg})") from None
        if not isinstance(pairs, _Pairs):
            kind = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "true or false"}.get(
                type(pairs), "null")
            raise error(f"{where}: needs a JSON object per line, got {kind}")
        names = check_header([k for k, _ in pairs], where, error)
        row = {k: _cell_text(v) for k, (_, v) in zip(names, pairs, strict=True)}
        missing = [c for c in required if c not in row]
        if missing:
            raise error(f"{where}: missing field(s) {', '.join(missing)}")
        _check_cells(row, where, error)
        yield n, row


def iter_rows(
    source: str | bytes | os.PathLike[str] | TextIO,
    fmt: str,
    display: str,
    required: Sequence[str] = (),
    error: type[LabelAppError] = BadInput,
    notes: list[str] | None = None,
) -> Iterator[tuple[int, dict[str, str]]]:
    """Stream the rows of a .csv or .jsonl table as (line number, {column: cell text}).

    `source` is the table's text (str), its raw bytes (decoded by `decode_bytes`), a path (opened by
    `open_text`, streamed) or an open text stream (for CSV opened with newline=""). `fmt` is "csv" or
    "jsonl"; `display` names the file in messages. Line numbers are what a person counts: for CSV the
    physical line where the record starts (a quoted cell may span lines), for JSONL the line. Column names
    pass `check_header`; `required` columns must be present (CSV: in the header; JSONL: in every object).
    Cells are the text as written (None/null -> "", JSON numbers as written by json.dumps); a row with more
    cells than the header is refused, a shorter one is padded with "". Cells above MAX_CELL_CHARS are
    refused. A non-UTF-8 encoding adds `encoding_note(...)` to `notes` when given. Raises `error`.
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
        yield from rows(io.StringIO(text, newline=""), display, required, error)
    elif isinstance(source, str):
        yield from rows(io.StringIO(source, newline=""), display, required, error)
    elif isinstance(source, os.PathLike):
        try:
            fh, enc = open_text(source, display)
        except BadInput as exc:
            raise error(str(exc)) from None
        if notes is not None and (note := encoding_note(display, enc)):
            notes.append(note)
        with fh:
            yield from rows(fh, display, required, error)
    else:
        yield from rows(source, display, required, error)


__all__ = [
    "MAX_ARTICLE_BYTES", "MAX_CELL_CHARS", "MAX_TABLE_BYTES", "TABLE_FORMATS", "check_header", "decode_bytes",
    "encoding_note", "iter_rows", "open_text",
]
