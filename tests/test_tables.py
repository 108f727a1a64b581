"""The one table reader (label_app.tables) and the one text normalisation (label_app.textnorm)."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from label_app import tables
from label_app.errors import BadInput, BadLabelFile
from label_app.tables import (
    MAX_CELL_CHARS,
    RowProblem,
    check_header,
    decode_bytes,
    encoding_note,
    iter_rows,
)
from label_app.textnorm import is_blank, normalise_article, normalise_text

# ---------------------------------------------------------------- textnorm


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Iraq and Iran signed a deal. ", "Iraq and Iran signed a deal."),  # trailing space (issue case 4)
        ("Iraq and\u00a0Iran signed a deal.", "Iraq and Iran signed a deal."),  # NBSP (issue case 4)
        ("Iraq and\u202fIran\u3000met.", "Iraq and Iran met."),  # narrow NBSP, ideographic space
        ("Iraq  and \t Iran", "Iraq and Iran"),  # runs of spaces and tabs
        ("\ufeffTehran", "Tehran"),  # BOM
        ("Teh\u200bran", "Tehran"),  # zero-width space
        ("co\u00adoperation", "cooperation"),  # soft hyphen
        ("Cafe\u0301", "Caf\u00e9"),  # NFC
        ("a\r\nb\rc", "a\nb\nc"),  # CRLF / CR
        ("a\u2028b", "a\nb"),  # Unicode line separator
        ("  a  \n\n  b  \n", "a\n\nb"),  # lines trimmed, outer blank lines dropped
        ("\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645", "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"),
        ("\u201cQuoted\u201d \u2013 kept", "\u201cQuoted\u201d \u2013 kept"),  # quotes, dashes as written
        ("", ""),
    ],
)
def test_normalise_text(raw: str, expected: str) -> None:
    assert normalise_text(raw) == expected
    assert normalise_text(expected) == expected  # idempotent


def test_normalise_article_collapses_blank_runs() -> None:
    assert normalise_article("Title\n\n\n\nBody one.\n \nBody two.") == "Title\n\nBody one.\n\nBody two."
    assert normalise_article("a\n\nb") == normalise_article("a\r\n\r\n\r\n\r\nb")


# ---------------------------------------------------------------- decoding


def test_decode_utf8_with_and_without_bom() -> None:
    assert decode_bytes("Tehran – Baghdad".encode(), "a.csv") == ("Tehran – Baghdad", "utf-8")
    assert decode_bytes(b"\xef\xbb\xbftext", "a.csv") == ("text", "utf-8")


def test_decode_utf16_with_bom() -> None:
    assert decode_bytes("text,topic\n".encode("utf-16"), "a.csv") == ("text,topic\n", "utf-16")


def test_decode_cp1252_accepted_with_note() -> None:
    text, enc = decode_bytes("caf\u00e9 \u201cquoted\u201d".encode("cp1252"), "labels.csv")
    assert (text, enc) == ("caf\u00e9 \u201cquoted\u201d", "cp1252")
    assert encoding_note("labels.csv", enc) == (
        "labels.csv: not UTF-8, read as Windows-1252 (cp1252); save it as UTF-8 if accented letters look wrong")
    assert encoding_note("labels.csv", "utf-8") is None


def test_decode_binary_refused() -> None:
    with pytest.raises(BadInput, match=r"^junk.txt: binary file, not text \(contains NUL bytes\)$"):
        decode_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "junk.txt")
    with pytest.raises(BadInput, match=r"^junk.txt: binary file, not text \(control characters\)$"):
        decode_bytes(bytes(range(1, 32)) * 20, "junk.txt")


# ---------------------------------------------------------------- header


def test_header_padded_names_stripped() -> None:  # issue case 7: `text, topic, stance`
    assert check_header(["text", " topic", " stance "], "labels.csv") == ["text", "topic", "stance"]


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["text", "topic", "stance", "topic"], "labels.csv: duplicate column 'topic' (columns 2 and 4)"),
        (["id", "text", "title", "text"], "labels.csv: duplicate column 'text' (columns 2 and 4)"),
        (["text", "topic ", " topic"], "labels.csv: duplicate column 'topic' (columns 2 and 3)"),
        (["text", "", "stance"], "labels.csv: blank column name (column 2)"),
        (["text", "  ", "stance"], "labels.csv: blank column name (column 2)"),
    ],
)
def test_header_refused(names: list[str], message: str) -> None:
    with pytest.raises(BadInput) as err:
        check_header(names, "labels.csv")
    assert str(err.value) == message


def test_header_error_class_chosen_by_caller() -> None:
    with pytest.raises(BadLabelFile):
        check_header(["a", "a"], "x.csv", error=BadLabelFile)


# ---------------------------------------------------------------- rows


def test_csv_rows_numbered_by_start_line() -> None:
    text = 'text, topic\n"two\nlines",a\n\nplain,b\n'
    assert list(iter_rows(text, "csv", "t.csv")) == [
        (2, {"text": "two\nlines", "topic": "a"}),
        (5, {"text": "plain", "topic": "b"}),
    ]


def test_csv_duplicate_header_through_iter_rows() -> None:  # issue case 7, both forms
    for text, col in (("text,topic,stance,topic\nx,a,b,c\n", "topic"), ("id,text,title,text\n1,x,t,y\n", "text")):
        with pytest.raises(BadInput) as err:
            list(iter_rows(text, "csv", "labels.csv"))
        assert str(err.value) == f"labels.csv: duplicate column '{col}' (columns 2 and 4)"


def test_csv_required_columns_and_short_long_rows() -> None:
    with pytest.raises(BadInput, match=r"^t.csv: missing column\(s\) text \(found: body\)$"):
        list(iter_rows("body\nx\n", "csv", "t.csv", required=["text"]))
    assert list(iter_rows("text,topic\nx\n", "csv", "t.csv")) == [(2, {"text": "x", "topic": ""})]
    with pytest.raises(BadInput, match=r"^t.csv: line 3: 3 cells but the header has 2 columns$"):
        list(iter_rows("text,topic\nx,a\ny,b,c\n", "csv", "t.csv"))


def test_csv_empty_and_broken() -> None:
    with pytest.raises(BadInput, match=r"^t.csv: empty table \(no header line\)$"):
        list(iter_rows("", "csv", "t.csv"))
    with pytest.raises(BadInput, match=r"^t.csv: line 2: broken CSV"):
        list(iter_rows('text\n"unterminated\n', "csv", "t.csv"))


def test_csv_cell_up_to_the_article_limit() -> None:  # issue case 6: a 141,149-character cell
    big = ("Iran and Iraq agreed on trade. " * 4600)[:141_149]
    rows = list(iter_rows(f'id,text\n1,"{big}"\n2,short\n', "csv", "articles.csv"))
    assert [(n, len(r["text"])) for n, r in rows] == [(2, 141_149), (3, 5)]


def test_cell_over_the_limit_refused_with_row() -> None:
    """Without a `skipped` list a bad row is raised, naming file, line, column, size and limit."""
    big = "x" * (MAX_CELL_CHARS + 1)
    limit = "characters; the limit is 20,971,520 per cell"
    with pytest.raises(BadInput) as err:
        list(iter_rows(json.dumps({"text": big}) + "\n", "jsonl", "a.jsonl"))
    assert str(err.value) == f"a.jsonl: line 1: column 'text' holds 20,971,521 {limit}"
    with pytest.raises(BadInput) as err:  # was: "broken CSV: field larger than field limit (20971520)"
        list(iter_rows(f"text\n{big}\n", "csv", "a.csv"))
    assert str(err.value) == f"a.csv: line 2: column 'text' holds 20,971,521 {limit}"


def test_a_real_cell_over_the_limit_skips_only_its_row(tmp_path: Path) -> None:
    """Issue case: one cell over MAX_CELL_CHARS (20 MiB, the real limit, no patching) in a file on disk; the
    csv module alone stops there with "field larger than field limit" and cannot go on. Only that row is
    left out, named by file, line, column and size; the rows after it are read, line numbers intact."""
    big = "Iran and Iraq. " * (MAX_CELL_CHARS // 15 + 1)  # 20,971,530 characters
    path = tmp_path / "articles.csv"
    path.write_text(f'id,text\n1,"{big}\nsecond line"\n2,"Kept, and\nquoted."\n3,{big.strip()}x\n4,last\n',
                    "utf-8")
    skipped: list[RowProblem] = []
    rows = list(iter_rows(path, "csv", "articles.csv", skipped=skipped))
    assert rows == [(4, {"id": "2", "text": "Kept, and\nquoted."}), (7, {"id": "4", "text": "last"})]
    assert [str(p) for p in skipped] == [
        "articles.csv: line 2: column 'text' holds 20,971,542 characters; the limit is 20,971,520 per cell",
        "articles.csv: line 6: column 'text' holds 20,971,530 characters; the limit is 20,971,520 per cell",
    ]
    assert skipped[0] == RowProblem("articles.csv", 2, "text", skipped[0].message)
    jpath = tmp_path / "articles.jsonl"
    jpath.write_text(json.dumps({"id": 1, "text": big}) + "\n" + json.dumps({"id": 2, "text": "kept"}) + "\n")
    skipped = []
    assert list(iter_rows(jpath, "jsonl", "articles.jsonl", skipped=skipped)) == [(2, {"id": "2", "text": "kept"})]
    assert [str(p) for p in skipped] == [
        "articles.jsonl: line 1: column 'text' holds 20,971,530 characters; the limit is 20,971,520 per cell"]


def test_bad_rows_are_skipped_from_every_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The limit is read at call time; every kind of source (path, bytes, text, stream) skips the same rows:
    an oversized quoted cell over several lines, an oversized unquoted cell, an oversized second column, a
    row with more cells than the header."""
    monkeypatch.setattr(tables, "MAX_CELL_CHARS", 20)
    text = ('id,text,title\n1,ok,t\n2,"' + "q" * 15 + '\n""quoted"" more",t\n3,' + "u" * 21 + ',t\n'
            '4,"fine,\nstill fine",' + "t" * 25 + '\n5,a,b,c\n6,"last ""one""",t\n')
    expected_rows = [(2, {"id": "1", "text": "ok", "title": "t"}),
                     (9, {"id": "6", "text": 'last "one"', "title": "t"})]
    expected_skips = [
        "t.csv: line 3: column 'text' holds 29 characters; the limit is 20 per cell",
        "t.csv: line 5: column 'text' holds 21 characters; the limit is 20 per cell",
        "t.csv: line 6: column 'title' holds 25 characters; the limit is 20 per cell",
        "t.csv: line 8: 4 cells but the header has 3 columns",
    ]
    path = tmp_path / "t.csv"
    path.write_text(text, "utf-8")
    for source in (path, path.read_bytes(), text, io.StringIO(text, newline="")):
        skipped: list[RowProblem] = []
        assert list(iter_rows(source, "csv", "t.csv", skipped=skipped)) == expected_rows, source
        assert [str(p) for p in skipped] == expected_skips
    assert [p.column for p in skipped] == ["text", "text", "title", ""]


def test_bad_jsonl_lines_are_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tables, "MAX_CELL_CHARS", 10)
    lines = ['{"text": "one"}', "{broken", "[1, 2]", '{"text": "a", "TEXT": "b"}', '{"title": "no text"}',
             json.dumps({"text": "x" * 11}), '{"text": "last", "n": 2}']
    skipped: list[RowProblem] = []
    rows = list(iter_rows("\n".join(lines) + "\n", "jsonl", "t.jsonl", required=["text"], skipped=skipped))
    assert rows == [(1, {"text": "one"}), (7, {"text": "last", "n": "2"})]
    assert [str(p) for p in skipped] == [
        "t.jsonl: line 2: not valid JSON (Expecting property name enclosed in double quotes)",
        "t.jsonl: line 3: needs a JSON object per line, got an array",
        "t.jsonl: line 4: duplicate column 'text' (columns 1 and 2)",
        "t.jsonl: line 5: missing field(s) text",
        "t.jsonl: line 6: column 'text' holds 11 characters; the limit is 10 per cell",
    ]


def test_an_unclosed_quote_over_the_limit_is_a_broken_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tables, "MAX_CELL_CHARS", 10)
    with pytest.raises(BadInput) as err:
        list(iter_rows('text\nok\n"never closed\n' + "x" * 20 + "\n", "csv", "t.csv", skipped=[]))
    assert str(err.value) == "t.csv: line 3: broken CSV: the quoted cell that starts on this line is never closed"
    with pytest.raises(BadInput) as err:  # the header itself over the limit: there is no table to read
        list(iter_rows("x" * 11 + "\nok\n", "csv", "t.csv", skipped=[]))
    assert str(err.value) == "t.csv: line 1: the header's column 1 holds 11 characters; the limit is 10 per cell"


_CSV_PIECES = ["a", "b", ",", '"', '""', "\n", "\r", "\r\n", " ", "\u00e9", "x,y"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_CSV_PIECES), max_size=30))
def test_csv_rows_are_the_csv_modules(pieces: list[str]) -> None:
    """Any text (well-formed or not) under the cell limit gives exactly the csv module's records and line
    numbers, or the same error: the reader's own record splitting changes nothing but the oversized rows."""
    text = "h1,h2,h3\n" + "".join(pieces)

    def by_csv() -> list[tuple[int, list[str]]] | str:
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        out, end = [], 0
        try:
            for rec in reader:
                start, end = end + 1, reader.line_num
                if rec:
                    out.append((start, rec))
        except csv.Error as exc:
            return f"t.csv: line {end + 1}: broken CSV: {exc}"
        return [(n, rec + [""] * (3 - len(rec))) for n, rec in out[1:]]

    expected = by_csv()
    try:
        skipped: list[RowProblem] = []
        got: list[tuple[int, list[str]]] | str = [(n, list(r.values())) for n, r in
                                                  iter_rows(text, "csv", "t.csv", skipped=skipped)]
        if isinstance(expected, list):  # rows with more cells than the header are skipped, not returned
            expected = [(n, rec) for n, rec in expected if len(rec) <= 3]
            assert [p.line for p in skipped] == [n for n, rec in by_csv() if len(rec) > 3]
    except BadInput as exc:
        got = str(exc)
    assert got == expected


def test_jsonl_rows() -> None:
    text = '{"text": "a", " topic": null, "n": 3}\n\n{"text": "b", "topic": "x", "n": 1.5, "tags": ["p"]}\n'
    assert list(iter_rows(text, "jsonl", "t.jsonl")) == [
        (1, {"text": "a", "topic": "", "n": "3"}),
        (3, {"text": "b", "topic": "x", "n": "1.5", "tags": '["p"]'}),
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"text": "a", "topic": "x", "topic": "y"}', "t.jsonl: line 1: duplicate column 'topic' (columns 2 and 3)"),
        ('["a"]', "t.jsonl: line 1: needs a JSON object per line, got an array"),
        ("{bad", "t.jsonl: line 1: not valid JSON (Expecting property name enclosed in double quotes)"),
        ('{"body": "a"}', "t.jsonl: line 1: missing field(s) text"),
    ],
)
def test_jsonl_refused(line: str, message: str) -> None:
    with pytest.raises(BadInput) as err:
        list(iter_rows(line + "\n", "jsonl", "t.jsonl", required=["text"]))
    assert str(err.value) == message


def test_sources_bytes_path_stream_agree(tmp_path: Path) -> None:
    text = "text,topic\ncaf\u00e9,a\n"
    path = tmp_path / "labels.csv"
    path.write_bytes(text.encode("cp1252"))
    notes: list[str] = []
    expected = [(2, {"text": "caf\u00e9", "topic": "a"})]
    assert list(iter_rows(path, "csv", "labels.csv", notes=notes)) == expected
    assert list(iter_rows(path.read_bytes(), "csv", "labels.csv", notes=notes)) == expected
    assert list(iter_rows(io.StringIO(text, newline=""), "csv", "labels.csv")) == expected
    assert notes == [encoding_note("labels.csv", "cp1252")] * 2
    (tmp_path / "u.csv").write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert list(iter_rows(tmp_path / "u.csv", "csv", "u.csv")) == expected


def test_binary_path_refused(tmp_path: Path) -> None:
    (tmp_path / "junk.csv").write_bytes(b"text\n\x00\x01\x02")
    with pytest.raises(BadLabelFile, match=r"^junk.csv: binary file, not text \(contains NUL bytes\)$"):
        list(iter_rows(tmp_path / "junk.csv", "csv", "junk.csv", error=BadLabelFile))


def test_unknown_format() -> None:
    with pytest.raises(BadInput, match=r"^t.xlsx: unknown table format 'xlsx' \(use csv or jsonl\)$"):
        list(iter_rows("", "xlsx", "t.xlsx"))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab .\t\r\n\u00a0\u200b\u00e9\u0301")), max_size=40))
def test_normalise_text_properties(raw: str) -> None:
    out = normalise_text(raw)
    assert normalise_text(out) == out
    assert "  " not in out and "\t" not in out and "\r" not in out and "\u00a0" not in out and "\u200b" not in out
    assert all(line == line.strip() for line in out.split("\n"))
    assert out == out.strip("\n")
    assert "".join(out.split()) == "".join(unicodedata.normalize("NFC", raw.replace("\u200b", "")).split())


def _normalise_by_the_definition(text: str) -> str:
    """The module docstring's steps, one after the other over the whole text (the reference normalise_text's
    shortcuts must agree with)."""
    import re

    controls = [*range(0x00, 0x09), *range(0x0E, 0x1C), *range(0x7F, 0x85), *range(0x86, 0xA0)]
    text = text.translate(dict.fromkeys([*map(ord, "\u200b\u2060\ufeff\u180e\u00ad"), *controls], None))
    text = unicodedata.normalize("NFC", text)
    text = re.sub(r"\r\n|[\r\x0b\x0c\x85\u2028\u2029]", "\n", text)
    spaces = "\t\x1c\x1d\x1e\x1f" + "".join(ch for ch in map(chr, range(0x80, 0x3001))
                                             if unicodedata.category(ch) == "Zs")
    text = re.sub(" {2,}", " ", re.sub("[" + re.escape(spaces) + "]", " ", text))
    return "\n".join(line.strip() for line in text.split("\n")).strip("\n")


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("aZ. \t\r\n\x0b\x0c\x1c\x1f\x85\u2028\u2029\u00a0\u202f\u3000"
                                             "\u200b\u2060\ufeff\u180e\u00ad\u200c\u00e9e\u0301\u212b"
                                             "\x00\x01\x08\x0e\x1b\x7f\x81\x84\x86\x9f")),
               max_size=30))
def test_normalise_text_equals_its_definition(raw: str) -> None:
    assert normalise_text(raw) == _normalise_by_the_definition(raw)
    assert is_blank(raw) == (normalise_text(raw) == "")


@pytest.mark.parametrize("raw", ["", " ", "\u200b\n\u00a0\t", "\u00ad", "x", " \u200b é", "\u3000\u2028"])
def test_is_blank_is_normalised_to_nothing(raw: str) -> None:
    assert is_blank(raw) == (normalise_text(raw) == "")


def test_cp1252_table_dense_in_quotes_reads_the_same_from_path_and_bytes(tmp_path: Path) -> None:
    """A short cp1252 label file full of curly quotes, dashes and euro signs (bytes 0x80-0x9F) is text, read
    the same way whether it comes as a path (streamed) or as bytes; it was refused as binary from a path."""
    text = "text,topic,stance\n\u201cOil\u201d \u2013 \u20ac5 \u2018rise\u2019 \u2026,trade,favor\n"
    path = tmp_path / "labels.csv"
    path.write_bytes(text.encode("cp1252"))
    expected = [(2, {"text": "\u201cOil\u201d \u2013 \u20ac5 \u2018rise\u2019 \u2026", "topic": "trade",
                     "stance": "favor"})]
    notes: list[str] = []
    assert list(iter_rows(path, "csv", "labels.csv", notes=notes)) == expected
    assert list(iter_rows(path.read_bytes(), "csv", "labels.csv", notes=notes)) == expected
    assert notes == [encoding_note("labels.csv", "cp1252")] * 2


def test_column_names_are_not_case_sensitive() -> None:
    """A spreadsheet's 'Text,Topic,Stance' is read as text, topic, stance; 'text' and 'Text' are one name twice."""
    rows = list(iter_rows("Text,Topic, Stance \nOil rose.,trade,favor\n", "csv", "labels.csv"))
    assert rows == [(2, {"text": "Oil rose.", "topic": "trade", "stance": "favor"})]
    assert list(iter_rows('{"TEXT": "Oil rose.", "Topic": "trade"}\n', "jsonl", "labels.jsonl")) == [
        (1, {"text": "Oil rose.", "topic": "trade"})]
    with pytest.raises(BadInput, match=r"^labels.csv: duplicate column 'text' \(columns 1 and 2\)$"):
        list(iter_rows("text,Text\na,b\n", "csv", "labels.csv"))
