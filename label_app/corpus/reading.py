"""Reading article files: .txt/.md (one article each) and .csv/.jsonl tables (one article per row).

Every file goes through the one encoding policy and table reader of `label_app.tables`, so a file that
ingestion reads is read the same way by an upload check or by pre-labeling. Folders are walked in a fixed
order, skipping hidden files and symlinks that leave the folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import BadInput
from ..tables import MAX_ARTICLE_BYTES, MAX_TABLE_BYTES, RowProblem, decode_bytes, iter_rows
from ..textnorm import is_blank, normalise_text
from .lines import KIND_HEADING, KIND_SENTENCE, classify_line, split_lines

ARTICLE_EXTS = frozenset({".txt", ".md"})
TABLE_EXTS = frozenset({".csv", ".jsonl"})
SUPPORTED_EXTS = ARTICLE_EXTS | TABLE_EXTS
TITLE_MAX_CHARS = 200
_FALLBACK_TITLE_CHARS = 80
_TITLE_LOOK_CHARS = 8000  # the title is found in the article's start; the rest is not read for it


@dataclass
class RawArticle:
    """One article as read from a file, before segmentation.

    `source` names where it came from inside seeds/ (`folder/file.txt`, or `table.csv#<row id>` for a
    table row; the row id is the table's `id` cell, else the row's line number); `file` is the file's name.
    """

    text: str
    title: str
    source: str
    given_id: str = ""
    file: str = ""


def unsupported_reason(name: str) -> str:
    """The one-line reason a file type is not read (for skip reports and upload refusals)."""
    ext = Path(name).suffix.lower()
    return f"unsupported file type {ext or '(none)'!r} (use .txt, .md, .csv, .jsonl)"


def title_from(text: str, fallback: str) -> str:
    """An article's title: its first heading line (markdown '#' dropped) before its first sentence line,
    else its first sentence shortened to 80 characters, else `fallback`; at most 200 characters."""
    first_sentence = ""
    for line in split_lines(text[:_TITLE_LOOK_CHARS])[:12]:
        kind = classify_line(line)
        if kind == KIND_HEADING:
            return line.lstrip("#").strip()[:TITLE_MAX_CHARS] or fallback
        if kind == KIND_SENTENCE:
            first_sentence = line
            break
    if first_sentence:
        short = first_sentence[:_FALLBACK_TITLE_CHARS]
        if len(first_sentence) > _FALLBACK_TITLE_CHARS:
            short = short.rsplit(" ", 1)[0] + "…"
        return short
    return fallback


def articles_from_bytes(data: bytes, name: str, display: str | None = None,
                        skipped: list[RowProblem] | None = None) -> tuple[list[RawArticle], str]:
    """The articles in one file's bytes; returns (articles, encoding).

    `name` is the file's name (its extension chooses the format), `display` its path inside seeds/ (the
    article sources and messages use it). A table row the reader refuses (a cell over `MAX_CELL_CHARS`, more
    cells than the header, a JSONL line that is not an object) is appended to `skipped` and the other rows
    are read; without `skipped` it is raised. Raises BadInput (unsupported type, too large, empty, binary,
    broken table, no rows with text) with a message starting `<display>: `.
    """
    display = display or name
    ext = Path(name).suffix.lower()
    if ext not in SUPPORTED_EXTS:
        raise BadInput(f"{display}: {unsupported_reason(name)}")
    limit = MAX_ARTICLE_BYTES if ext in ARTICLE_EXTS else MAX_TABLE_BYTES
    if len(data) > limit:
        raise BadInput(f"{display}: too large ({len(data) / 1e6:.1f} MB; the limit is {limit / 2 ** 20:.0f} MiB "
                       f"per {'article' if ext in ARTICLE_EXTS else 'table'} file)")
    if not data.strip():
        raise BadInput(f"{display}: empty file")
    text, enc = decode_bytes(data, display)
    stem = Path(name).stem
    if ext in ARTICLE_EXTS:
        if is_blank(text):
            raise BadInput(f"{display}: empty file")
        return [RawArticle(text, title_from(text, stem), display, "", Path(name).name)], enc
    arts: list[RawArticle] = []
    seen: set[str] = set()
    already = len(skipped) if skipped is not None else 0
    for n, row in iter_rows(text, ext[1:], display, required=["text"], skipped=skipped):
        body = row.get("text", "")
        if is_blank(body):
            continue
        given = row.get("id", "").strip()
        key = given if given and given not in seen else f"line{n}"
        seen.add(key)
        title = normalise_text(row.get("title", "")) or title_from(body, f"{stem} #{n}")
        arts.append(RawArticle(body, title[:TITLE_MAX_CHARS], f"{display}#{key}", given, Path(name).name))
    if not arts:
        left_out = skipped[already:] if skipped is not None else []
        why = f" (line {left_out[0].line}: {left_out[0].message})" if left_out else ""
        raise BadInput(f"{display}: no rows with text{why}")
    return arts, enc


def read_article_file(path: Path, display: str,
                      skipped: list[RowProblem] | None = None) -> tuple[list[RawArticle], str]:
    """Articles in one file; returns (articles, encoding). Bad table rows go to `skipped` as in
    `articles_from_bytes`. Raises BadInput naming `display`."""
    ext = path.suffix.lower()
    if ext not in SUPPORTED_EXTS:
        raise BadInput(f"{display}: {unsupported_reason(path.name)}")
    limit = MAX_ARTICLE_BYTES if ext in ARTICLE_EXTS else MAX_TABLE_BYTES
    try:
        size = path.stat().st_size
        if size > limit:
            raise BadInput(f"{display}: too large ({size / 1e6:.1f} MB; the limit is {limit / 2 ** 20:.0f} MiB "
                           f"per {'article' if ext in ARTICLE_EXTS else 'table'} file)")
        data = path.read_bytes()
    except OSError as exc:
        raise BadInput(f"{display}: cannot read: {exc.strerror or exc}") from None
    return articles_from_bytes(data, path.name, display, skipped)


def walk_files(folder: Path, skipped: list[tuple[str, str]]) -> Iterator[Path]:
    """Regular files under `folder` in a fixed order (sorted, depth first).

    Hidden files and folders are left out (hidden files reported in `skipped` as (relative path, reason),
    except our own `.tmp` writes); symlinks are followed only inside `folder`.
    """
    root = folder.resolve()
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for fn in sorted(filenames):
            p = Path(dirpath) / fn
            rel = p.relative_to(folder).as_posix()
            if fn.startswith("."):
                if not fn.endswith(".tmp"):
                    skipped.append((rel, "hidden file"))
                continue
            if p.is_symlink():
                try:
                    target = p.resolve(strict=True)
                except (OSError, RuntimeError):
                    skipped.append((rel, "broken symlink"))
                    continue
                if not target.is_relative_to(root):
                    skipped.append((rel, "symlink points outside the folder"))
                    continue
            if not p.is_file():
                skipped.append((rel, "not a regular file"))
                continue
            yield p


__all__ = [
    "ARTICLE_EXTS", "SUPPORTED_EXTS", "TABLE_EXTS", "RawArticle", "articles_from_bytes", "read_article_file",
    "title_from", "unsupported_reason", "walk_files",
]
