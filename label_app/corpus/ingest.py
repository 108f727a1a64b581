"""Ingestion and the corpus cache: seeds/ -> segmented articles with ids -> `.cache/corpus.jsonl`.

`seeds/` is the corpus's single source of truth; the corpus cache is derived from it and rebuilt
incrementally (only new or changed files are read and segmented again). Ids are resolved again at every
ingest from the current labels (`ids.assign_ids`), so labels stay attached through edits and segmentation
changes, and labels that cannot stay attached are reported (`orphans`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import BadInput, DamagedCache, LabelAppError
from ..files import write_atomic
from ..orphans import Orphan, find_orphans, source_file, summarise
from ..project import Project
from ..tables import RowProblem, encoding_note
from ..wording import plural
from .ids import article_id_for, assign_ids, sentence_id_for, source_article_id
from .lines import KIND_SENTENCE
from .reading import SUPPORTED_EXTS, RawArticle, read_article_file, unsupported_reason, walk_files
from .seeds import copy_into_seeds, near_duplicates
from .segment import get_nlp, segment_articles, segmenter_name, spacy_model_name

CORPUS_FORMAT = 2
# per-item lists in the printed summary (files copied or skipped, notes, duplicates) show this many items, then
# "... and N more"; the report object keeps them all
SUMMARY_LIMIT = 10
# Version of the file readers' rules, kept with each skipped file in the ingest cache: a file an earlier reader
# skipped is read again (version 2: one bad table row no longer skips its whole file).
READER_VERSION = 2
CORPUS_COLUMNS = ["sentence_id", "article_id", "position", "n_in_article", "text", "kind", "title", "source",
                  "file"]


@dataclass
class IngestReport:
    """What one ingestion run found."""

    articles: int = 0
    sentences: int = 0
    non_sentences: int = 0
    new_articles: int = 0
    changed_articles: int = 0
    removed_articles: int = 0
    files: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)
    copied: list[str] = field(default_factory=list)
    # Inputs given by path that were not copied into seeds/: missing, or a file ingestion would skip.
    refused: list[tuple[str, str]] = field(default_factory=list)
    orphans: list[Orphan] = field(default_factory=list)
    attached_labels: int = 0
    # (source, source of the article kept): articles with the same normalised text as an earlier one
    duplicates: list[tuple[str, str]] = field(default_factory=list)

    def summary(self, limit: int = SUMMARY_LIMIT) -> str:
        """The report for people: the counts, then per kind (copied, not copied, notes, duplicates, skipped)
        at most `limit` lines and "... and N more", then the orphaned labels (`orphans.summarise`)."""
        counts = [f"{self.new_articles} new"]
        counts += [f"{self.changed_articles} changed"] if self.changed_articles else []
        counts += [f"{self.removed_articles} removed"] if self.removed_articles else []
        lines = [
            f"{self.articles} articles ({', '.join(counts)}), {self.sentences} sentences, "
            f"{self.non_sentences} non-sentence lines, from {self.files} files; "
            f"{len(self.skipped)} files skipped"
        ]
        lines += _capped([f"  copied into seeds/: {name}" for name in self.copied], limit, "file copied",
                         "files copied")
        lines += _capped([f"  not copied into seeds/: {name}: {why}" for name, why in self.refused], limit,
                         "file not copied", "files not copied")
        lines += _capped([f"  note: {name}: {why}" for name, why in self.notes], limit, "note")
        lines += _capped([f"  note: {name}: same text as {kept}: kept once" for name, kept in self.duplicates],
                         limit, "article with the same text as another, kept once",
                         "articles with the same text as another, each kept once")
        lines += _capped([f"  skipped: {name}: {why}" for name, why in self.skipped], limit, "file skipped",
                         "files skipped")
        lines += summarise(self.orphans)
        return "\n".join(lines)


def row_skipped_note(problem: RowProblem) -> str:
    """The note for a table row ingestion left out, without the file: `line 3: column 'text' holds 21,000,001
    characters; the limit is 20,971,520 per cell; row skipped, the file's other rows were read`."""
    return f"line {problem.line}: {problem.message}; row skipped, the file's other rows were read"


def _capped(lines: list[str], limit: int, singular: str, plural_form: str | None = None) -> list[str]:
    """At most `limit` of `lines`, then "  ... and N more <items>" for the rest."""
    if len(lines) <= limit:
        return lines
    more = plural(len(lines) - limit, f"more {singular}", f"more {plural_form}" if plural_form else None)
    return [*lines[:limit], f"  ... and {more}"]


def _load_file_index(path: Path) -> dict[str, Any]:
    """`.cache/ingest_files.json` (file -> signature and sources); {} when missing or damaged (every file in
    seeds/ is then read again), and entries of another shape are dropped."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if k.startswith("__") or k == "segmenter"
            or (isinstance(v, dict) and isinstance(v.get("sources"), list))}


def _current_labels(project: Project) -> list[dict[str, str]]:
    from .. import store

    try:
        return store.current_labels(project)
    except (LabelAppError, OSError):
        return []


def _copy_inputs(project: Project, paths: Iterable[str | Path], report: IngestReport) -> None:
    seeds = project.seeds_dir
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            report.refused.append((str(raw), "no such file or folder"))
            continue
        if p.resolve().is_relative_to(seeds.resolve()):
            continue
        skipped: list[tuple[str, str]] = []
        files = [p] if p.is_file() else list(walk_files(p, skipped))
        report.skipped += [(str(p / name), why) for name, why in skipped]
        corpus: list[dict[str, Any]] | None = None
        for f in files:
            if f.suffix.lower() not in SUPPORTED_EXTS:
                report.skipped.append((str(f), unsupported_reason(f.name)))
                continue
            # The Data page's upload check: a file ingestion would skip is refused here, not copied into
            # seeds/ (where it would be reported as skipped at every later ingest). Rows left out of a table
            # are noted by the ingest of seeds/ that follows.
            try:
                arts, _enc = read_article_file(f, f.name, [])  # checks the size before reading
            except BadInput as exc:
                report.refused.append((str(f), str(exc).split(": ", 1)[-1]))
                continue
            if corpus is None:
                try:
                    corpus = list(iter_corpus_records(project))
                except DamagedCache:  # rebuilt below; the near-duplicate check only misses the old articles
                    corpus = []
            sents = [seg.text for a in arts for seg in segment_articles([a.text])[0]]
            similar = near_duplicates(f.name, sents, corpus)
            name = copy_into_seeds(project, f).name
            report.copied.append(name)
            if similar and similar[0].source != name:
                report.notes.append((name, f"added as a new article, but it looks like a new version of "
                                           f"seeds/{similar[0].source} ({similar[0].reason}); to replace that "
                                           f"article and keep its labels, copy the file over it instead"))


def ingest(project: Project, paths: Iterable[str | Path] | None = None, nlp: Any | None = None) -> IngestReport:
    """Ingest seeds/ (plus `paths`, copied into seeds/ first) into the corpus cache; return a report.

    Files are read with `reading.read_article_file` (unreadable ones are reported as skipped, with the
    reason), new or changed files are segmented (`segment.segment_articles`; a project's `spacy_model` or
    `nlp` replaces pysbd), articles with the same normalised text are kept once, ids are resolved from the
    current labels (`ids.assign_ids`) and labels that no longer attach are reported in `report.orphans`.
    Writes `.cache/corpus.jsonl` and `.cache/ingest_files.json` atomically; a damaged corpus cache is rebuilt
    from seeds/ (one note names it).
    """
    report = IngestReport()
    seeds = project.seeds_dir
    seeds.mkdir(parents=True, exist_ok=True)
    _copy_inputs(project, paths or [], report)

    nlp_name = spacy_model_name(project) if nlp is None else getattr(nlp, "meta", {}).get("name", "custom")
    seg_name = segmenter_name(nlp_name)
    old_files = _load_file_index(project.ingest_cache_path)
    try:
        old_records = list(iter_corpus_records(project))
    except DamagedCache as exc:
        # a cache: rebuilt from seeds/ (every file read again); labels re-attach by text as at any ingest
        report.notes.append((exc.path, f"damaged{f' at line {exc.line}' if exc.line else ''} ({exc.why}); "
                                       "rebuilt from seeds/"))
        old_files, old_records = {}, []
    old_by_source = {r["source"]: r for r in old_records}
    article_files = {r["article_id"]: source_file(r["source"]) for r in old_records}
    if old_files.get("__format__") != CORPUS_FORMAT or old_files.get("segmenter") != seg_name:
        old_files, old_by_source = {}, {}
    new_files: dict[str, Any] = {"__format__": CORPUS_FORMAT, "segmenter": seg_name}
    ordered: list[dict[str, Any] | RawArticle] = []

    for path in walk_files(seeds, report.skipped):
        rel = path.relative_to(seeds).as_posix()
        if path.suffix.lower() not in SUPPORTED_EXTS:
            report.skipped.append((rel, unsupported_reason(path.name)))
            continue
        st = path.stat()
        sig = [st.st_size, st.st_mtime_ns]
        prev = old_files.get(rel)
        if prev and prev.get("skipped") and prev.get("reader") != READER_VERSION:
            prev = None  # skipped by an earlier reader, which refused whole files that are now read
        if prev and prev.get("sig") == sig and all(s in old_by_source for s in prev.get("sources", [])):
            new_files[rel] = prev
            if prev.get("skipped"):
                report.skipped.append((rel, prev["skipped"]))
            else:
                report.files += 1
            report.notes.extend((rel, why) for why in prev.get("row_notes", []))
            ordered.extend(old_by_source[s] for s in prev["sources"])
            continue
        left_out: list[RowProblem] = []
        try:
            arts, enc = read_article_file(path, rel, left_out)
        except BadInput as exc:
            reason = str(exc).split(": ", 1)[-1]
            report.skipped.append((rel, reason))
            new_files[rel] = {"sig": sig, "sources": [], "skipped": reason, "reader": READER_VERSION}
            continue
        if encoding_note(rel, enc):
            report.notes.append((rel, f"not UTF-8, read as {enc}"))
        report.files += 1
        new_files[rel] = {"sig": sig, "sources": [a.source for a in arts]}
        if left_out:  # kept with the file's signature: reported again while the file is unchanged
            new_files[rel]["row_notes"] = [row_skipped_note(p) for p in left_out]
            report.notes.extend((rel, why) for why in new_files[rel]["row_notes"])
        ordered.extend(arts)

    pending = [a for a in ordered if isinstance(a, RawArticle)]
    if pending:
        if nlp is None and nlp_name:
            nlp = get_nlp(nlp_name)
        segmented = iter(segment_articles([a.text for a in pending], nlp))
    records: list[dict[str, Any]] = []
    seen_content: dict[str, str] = {}
    for item in ordered:
        if isinstance(item, RawArticle):
            segs = next(segmented)
            rec = {"source": item.source, "file": item.file or Path(source_file(item.source)).name,
                   "title": item.title, "given_id": item.given_id, "content_id": article_id_for(item.text),
                   "segments": [[s.text, s.kind] for s in segs]}
        else:
            rec = dict(item)
        dup = seen_content.get(rec["content_id"])
        if dup is not None:
            report.duplicates.append((rec["source"], dup))
            continue
        seen_content[rec["content_id"]] = rec["source"]
        records.append(rec)
        prev_rec = old_by_source.get(rec["source"])
        if prev_rec is None:
            report.new_articles += 1
        elif prev_rec.get("content_id") != rec["content_id"]:
            report.changed_articles += 1
    report.removed_articles = sum(1 for s in old_by_source if s not in {r["source"] for r in records})

    labels = _current_labels(project)
    ids = assign_ids([(source_article_id(r["source"]), [t for t, _ in r["segments"]]) for r in records], labels)
    corpus_ids: set[str] = set()
    for rec, aid, sids in zip(records, ids.article_ids, ids.sentence_ids, strict=True):
        rec["article_id"] = aid
        rec["sentence_ids"] = sids
        corpus_ids.update(sids)
        article_files[aid] = source_file(rec["source"])
        report.articles += 1
        report.sentences += sum(1 for _, k in rec["segments"] if k == KIND_SENTENCE)
        report.non_sentences += sum(1 for _, k in rec["segments"] if k != KIND_SENTENCE)
    for old, now in ids.aliases.items():
        article_files.setdefault(old, article_files.get(now, ""))
    several = {t: [records[i]["source"] for i in where] for t, where in ids.ambiguous.items()}
    report.orphans = find_orphans(labels, corpus_ids, article_files, several)
    report.attached_labels = len(labels) - len(report.orphans)

    write_atomic(project.corpus_path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    write_atomic(project.ingest_cache_path, json.dumps(new_files))
    load_corpus_frame.cache_clear()
    return report


def _record_problem(rec: Any) -> str:
    """Why a parsed corpus line is not an article record ("" when it is one)."""
    if not isinstance(rec, dict):
        return "not a JSON object"
    segs = rec.get("segments")
    if not isinstance(rec.get("article_id"), str) or not isinstance(segs, list) or "title" not in rec:
        return "an article record needs article_id, title and segments"
    if not all(isinstance(s, list) and len(s) == 2 and all(isinstance(x, str) for x in s) for s in segs):
        return "segments must be [text, kind] pairs"
    sids = rec.get("sentence_ids")
    if sids is not None and (not isinstance(sids, list) or len(sids) != len(segs)):
        return "sentence_ids must match segments"
    return ""


def iter_corpus_records(project: Project) -> Iterator[dict[str, Any]]:
    """Article records of the corpus cache `.cache/corpus.jsonl` (empty if not ingested yet).

    Each: article_id, source (path in seeds/, `#row` for table rows), file, title, given_id, content_id,
    segments ([text, kind] in order) and sentence_ids (parallel to segments). Raises DamagedCache naming the
    file and line when a line is not such a record (a truncated or edited file); `ingest` rebuilds the file
    from seeds/, and `load_corpus` does so by itself.
    """
    path = project.corpus_path
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed by the with below
    except FileNotFoundError:
        return
    fix = f"it is rebuilt from seeds/ by `python -m label_app ingest --project {project.root}`"
    with fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)  # bytes: decoded as UTF-8 (UnicodeDecodeError is a ValueError)
            except ValueError as exc:
                why = (f"not JSON: {exc.msg}, column {exc.colno}" if isinstance(exc, json.JSONDecodeError)
                       else "not UTF-8")
                raise DamagedCache(path, n, why, fix) from None
            problem = _record_problem(rec)
            if problem:
                raise DamagedCache(path, n, problem, fix)
            rec.setdefault("source", "")
            rec.setdefault("file", source_file(rec["source"]))
            rec.setdefault("content_id", "")
            if "sentence_ids" not in rec:  # written without ids (older cache): position ids
                rec["sentence_ids"] = [sentence_id_for(rec["article_id"], i) for i in range(len(rec["segments"]))]
            yield rec


@lru_cache(maxsize=8)
def load_corpus_frame(corpus_path: str, mtime_ns: int) -> pd.DataFrame:
    """The corpus cache at `corpus_path` as a frame (cached per file modification time)."""
    rows = []
    for rec in iter_corpus_records(Project(Path(corpus_path).parent.parent)):
        n = len(rec["segments"])
        for i, ((text, kind), sid) in enumerate(zip(rec["segments"], rec["sentence_ids"], strict=True)):
            rows.append((sid, rec["article_id"], i, n, text, kind, rec["title"], rec["source"], rec["file"]))
    return pd.DataFrame(rows, columns=CORPUS_COLUMNS)


def load_corpus(project: Project, refresh: bool = True) -> pd.DataFrame:
    """All segments of the corpus, one row each: sentence_id, article_id, position, n_in_article, text,
    kind, title (the article's first heading), source (path in seeds/) and file (the file's name).

    With `refresh`, seeds/ is ingested first (incremental: unchanged files are not read again); a damaged
    corpus cache (DamagedCache) is rebuilt from seeds/ whatever `refresh` says.
    """
    if refresh or not project.corpus_path.exists():
        ingest(project)
    try:
        return load_corpus_frame(str(project.corpus_path), project.corpus_path.stat().st_mtime_ns)
    except DamagedCache:
        ingest(project)
        return load_corpus_frame(str(project.corpus_path), project.corpus_path.stat().st_mtime_ns)


__all__ = [
    "CORPUS_COLUMNS", "CORPUS_FORMAT", "IngestReport", "ingest", "iter_corpus_records", "load_corpus",
    "load_corpus_frame",
]
