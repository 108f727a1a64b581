"""Pre-labeling inputs: which files, in what order, validated before any work, and cut into chunks of whole
articles (or runs of sentence-file rows) that skip what the output already holds."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from label_app.corpus import (
    ARTICLE_EXTS,
    KIND_SENTENCE,
    SUPPORTED_EXTS,
    IngestReport,
    article_id_for,
    ingest,
    iter_corpus_records,
    read_article_file,
    row_skipped_note,
    walk_files,
)
from label_app.errors import BadInput
from label_app.files import sha256_file
from label_app.project import Project
from label_app.schema import Schema
from label_app.store import text_sentence_id
from label_app.tables import RowProblem, iter_rows
from label_app.textnorm import is_blank, normalise_text

from .output import PrelabelReport, State

# Bigger tables are streamed row by row instead of being read whole (memory stays flat).
_STREAM_TABLE_BYTES = 8 << 20

@dataclass(frozen=True)
class Source:
    """One input file: articles (`.txt`/`.md`, or a table found in a folder) or a sentence file."""

    path: Path
    display: str
    kind: str  # "corpus" (seeds/, as ingested) | "articles" | "sentences"
    size: int


def _display(path: Path, project: Project) -> str:
    try:
        return path.resolve().relative_to(project.root).as_posix()
    except ValueError:
        return str(path)


def resolve_inputs(project: Project, inputs: Sequence[str | os.PathLike[str]] | None,
                   report: IngestReport | None = None) -> list[Source]:
    """The input files in processing order; folders are walked like `ingest` walks seeds/."""
    report = report if report is not None else IngestReport()
    sources: list[Source] = []
    if not inputs:
        if not project.seeds_dir.is_dir():
            raise BadInput(f"{project.seeds_dir}: no seeds/ folder to pre-label (name input files instead)")
        inputs = [project.seeds_dir]
    seeds = project.seeds_dir.resolve()
    for raw in inputs:
        p = Path(raw)
        if not p.exists():
            raise BadInput(f"{raw}: no such file or folder")
        if p.is_dir() and p.resolve() == seeds:
            # seeds/ is what ingestion already read and segmented: pre-label its corpus, not the files again
            done = ingest(project)
            report.skipped.extend(done.skipped)
            size = project.corpus_path.stat().st_size if project.corpus_path.exists() else 0
            sources.append(Source(project.corpus_path, "seeds/ (corpus)", "corpus", size))
        elif p.is_dir():
            for f in walk_files(p, report.skipped):
                if f.suffix.lower() not in SUPPORTED_EXTS:
                    report.skipped.append((_display(f, project), f"unsupported file type {f.suffix or '(none)'!r}"))
                    continue
                sources.append(Source(f, _display(f, project), "articles", f.stat().st_size))
        elif p.suffix.lower() in ARTICLE_EXTS:
            sources.append(Source(p, _display(p, project), "articles", p.stat().st_size))
        elif p.suffix.lower() in SUPPORTED_EXTS:
            sources.append(Source(p, _display(p, project), "sentences", p.stat().st_size))
        else:
            raise BadInput(f"{raw}: unsupported file type {p.suffix.lower() or '(none)'!r} "
                           "(articles: .txt, .md or a folder; sentences: .csv, .jsonl)")
    return sources


def _iter_table_rows(path: Path, display: str,
                     skipped: list[RowProblem] | None = None) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) of a .csv/.jsonl file, streamed by the one table reader (`label_app.tables`:
    same encodings, header check and size limits as every reader); needs a `text` column. Rows the reader
    refuses (a cell over the limit...) go to `skipped`, the others are read. Raises BadInput."""
    yield from iter_rows(path, path.suffix.lower()[1:], display, required=["text"], skipped=skipped)


def check_sentence_file(src: Source, schema: Schema) -> tuple[str, int]:
    """Validate a sentence file in one streaming pass (before any work); returns (sha256, rows)."""
    topics = set(schema.topic.names)
    rows = 0
    for n, row in _iter_table_rows(src.path, src.display, []):  # rows left out are reported by `chunks`
        rows += 1
        topic = row.get("topic", "").strip()
        if topic and topic not in topics:
            raise BadInput(f"{src.display}: line {n}: unknown topic {topic!r} (known: {', '.join(schema.topic.names)})")
    return sha256_file(src.path), rows


# A unit of work sent to a worker: ("a", article_id, given_id, text) or ("s", sentence_id, given_id, text, topic).
Unit = tuple


def _iter_articles(src: Source, skipped: list[RowProblem]) -> Iterator[tuple[str, str, int]]:
    """(text, given_id, approximate bytes) of each article in an article source; table rows left out go to
    `skipped`."""
    if src.path.suffix.lower() in ARTICLE_EXTS or src.size <= _STREAM_TABLE_BYTES:
        arts, _enc = read_article_file(src.path, src.display, skipped)
        weight = max(1, src.size // max(1, len(arts)))
        for a in arts:
            yield a.text, a.given_id, weight
        return
    # Big article tables: the same rows read_article_file would give (rows with empty text are skipped).
    for _n, row in _iter_table_rows(src.path, src.display, skipped):
        body = row.get("text", "")
        if not is_blank(body):
            yield body, row.get("id", ""), len(body) + 8


def project_of_corpus(corpus_path: Path) -> Project:
    """The project whose corpus cache is at `corpus_path` (.cache/corpus.jsonl under the project root)."""
    return Project(corpus_path.parent.parent)



def chunks(sources: list[Source], done: set[str], state: State, sentence_meta: dict[Path, tuple[str, int]],
            chunk_chars: int, report: PrelabelReport, advance: Callable[[int], None]
           ) -> Iterator[tuple[list[Unit], dict[str, int]]]:
    """Chunks of whole units, skipping what is done; each with the sentence-file progress it completes.
    `advance(n)` is told of every n bytes of input read (done or not)."""
    chunk: list[Unit] = []
    size = 0
    progress: dict[str, int] = {}
    for src in sources:
        if src.kind == "corpus":
            for rec in iter_corpus_records(project_of_corpus(src.path)):
                aid = rec["article_id"]
                weight = sum(len(t) for t, _ in rec["segments"]) + 1
                advance(weight)
                if aid in done:
                    report.skipped_done += 1
                    continue
                done.add(aid)
                report.articles += 1
                sents = [(sid, t) for (t, k), sid in zip(rec["segments"], rec["sentence_ids"], strict=True)
                         if k == KIND_SENTENCE]
                chunk.append(("c", aid, rec.get("given_id", ""), sents))
                size += weight
                if size >= chunk_chars:
                    yield chunk, progress
                    chunk, size, progress = [], 0, {}
            continue
        left_out: list[RowProblem] = []
        if src.kind == "articles":
            try:
                articles = (list(_iter_articles(src, left_out)) if src.size <= _STREAM_TABLE_BYTES
                            else _iter_articles(src, left_out))
                for text, gid, weight in articles:
                    aid = article_id_for(text)
                    if aid in done:
                        report.skipped_done += 1
                        advance(weight)
                        continue
                    done.add(aid)
                    report.articles += 1
                    chunk.append(("a", aid, gid, text))
                    size += len(text)
                    advance(weight)
                    if size >= chunk_chars:
                        yield chunk, progress
                        chunk, size, progress = [], 0, {}
            except BadInput as exc:
                report.skipped.append((src.display, str(exc).split(": ", 1)[-1]))
            report.skipped += [(src.display, row_skipped_note(p)) for p in left_out]
            continue
        sha, _nrows = sentence_meta[src.path]
        start = state.sentence_sources.get(sha, 0)
        row_no = 0
        for _n, row in _iter_table_rows(src.path, src.display, left_out):
            row_no += 1
            text = normalise_text(row.get("text", ""))
            weight = len(text) + 8
            if row_no <= start:
                report.skipped_done += 1
                advance(weight)
                continue
            progress[sha] = row_no
            advance(weight)
            if not text.strip():
                continue
            chunk.append(("s", text_sentence_id(text), row.get("id", ""), text, row.get("topic", "").strip()))
            size += len(text)
            if size >= chunk_chars:
                yield chunk, progress
                chunk, size, progress = [], 0, {}
        report.skipped += [(src.display, row_skipped_note(p)) for p in left_out]
    if chunk or progress:
        yield chunk, progress
