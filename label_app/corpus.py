"""Corpus ingestion: article files -> articles -> sentences with stable, content-derived ids.

`seeds/` is the corpus's single source of truth; the segmented corpus under `.cache/` is derived from it
and rebuilt incrementally (only new or changed files are read and segmented again).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import BadInput
from .project import Project

ARTICLE_EXTS = {".txt", ".md"}
TABLE_EXTS = {".csv", ".jsonl"}
SUPPORTED_EXTS = ARTICLE_EXTS | TABLE_EXTS
# spaCy refuses texts over nlp.max_length (1,000,000 chars); long lines are cut into pieces below this.
_MAX_PIECE = 100_000
CORPUS_FORMAT = 1
# An article file this large is not an article (a dump, a log, an attack); tables may hold many articles.
MAX_ARTICLE_BYTES = 20 * 1024 * 1024
MAX_TABLE_BYTES = 1024 * 1024 * 1024

KIND_SENTENCE = "sentence"
KIND_HEADING = "heading"
KIND_META = "meta"

_WEEKDAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tue|wed|thu|fri|sat|sun"
_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
_DATELINE_RE = re.compile(rf"^(?:(?:{_WEEKDAYS}|{_MONTHS}|\d+|am|pm|gmt|utc|[\s,.:/\-–—|])+)$", re.I)
_FIELD_RE = re.compile(
    r"^[\W_]*(?:news\s*id|story\s*id|id|publish(?:ed)?(?:\s*date)?|date|time|updated|last\s*updated|"
    r"posted|source|by|author|tags?|keywords?|category|photo|image|credit|comments?|share|related|"
    r"read\s*more|print|email)\b\s*[:|]",
    re.I,
)
_BOILER_RE = re.compile(r"^[\W_]*(?:comments?|share(?:\s+this)?|print|email|read\s+more|advertisement|related)"
                        r"[\W_]*$", re.I)
_TERMINAL = tuple(".!?…\"”’»)")
_WORD_RE = re.compile(r"[^\W\d_]{2,}")


@dataclass(frozen=True)
class Segment:
    """One line-level unit of an article: a sentence, a heading or a meta line (dateline, id, boilerplate)."""

    text: str
    kind: str


@dataclass
class IngestReport:
    """What one ingestion run found."""

    articles: int = 0
    sentences: int = 0
    non_sentences: int = 0
    new_articles: int = 0
    files: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)
    copied: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [
            f"{self.articles} articles ({self.new_articles} new), {self.sentences} sentences, "
            f"{self.non_sentences} non-sentence lines, from {self.files} files; "
            f"{len(self.skipped)} files skipped"
        ]
        lines += [f"  copied into seeds/: {name}" for name in self.copied]
        lines += [f"  note: {name}: {why}" for name, why in self.notes]
        lines += [f"  skipped: {name}: {why}" for name, why in self.skipped]
        return "\n".join(lines)


# ---------------------------------------------------------------- decoding


def decode_bytes(data: bytes, name: str) -> tuple[str, str]:
    """Decode file bytes as UTF-8 (BOM optional), else cp1252/Latin-1 text; raise BadInput for binary."""
    if b"\x00" in data:
        raise BadInput(f"{name}: binary file (contains NUL bytes)")
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    for enc in ("cp1252", "latin-1"):
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        controls = sum(1 for ch in text[:65536] if unicodedata.category(ch) == "Cc" and ch not in "\t\n\r")
        if controls > max(2, len(text[:65536]) // 200):
            break
        return text, enc
    raise BadInput(f"{name}: not UTF-8 text and not decodable as cp1252 (binary or unknown encoding)")


def normalise_text(text: str) -> str:
    """Canonical article text: LF line ends, no BOM, NBSP/zero-width cleaned, trimmed lines."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    text = text.replace("\u00a0", " ").replace("\u200b", "").replace("\ufeff", "")
    lines = [ln.strip() for ln in text.split("\n")]
    return "\n".join(lines).strip()


def article_id_for(text: str) -> str:
    """Stable id of an article: a hash of its normalised text (so the same article twice is one)."""
    return "a" + hashlib.sha256(normalise_text(text).encode("utf-8")).hexdigest()[:12]


def sentence_id_for(article_id: str, position: int) -> str:
    return f"{article_id}-{position:04d}"


# ---------------------------------------------------------------- segmentation


def classify_line(line: str) -> str:
    """KIND_META for datelines, id/date fields and boilerplate; KIND_HEADING for unpunctuated short lines."""
    words = _WORD_RE.findall(line)
    if not words or _DATELINE_RE.match(line) or _FIELD_RE.match(line) or _BOILER_RE.match(line):
        return KIND_META
    if line.endswith(":") and len(words) <= 4:
        return KIND_META
    if not line.endswith(_TERMINAL) and len(line.split()) <= 25:
        return KIND_HEADING
    return KIND_SENTENCE


def _continues(prev: str, nxt: str) -> bool:
    """A line broken mid-sentence (next line starts lower-case, previous one is long and unfinished)."""
    return (
        nxt[:1].islower()
        and not prev.endswith(_TERMINAL + (":", ";"))
        and len(prev.split()) >= 6
        and classify_line(prev) != KIND_META
    )


def split_lines(text: str) -> list[str]:
    """Non-empty lines of an article, re-joining lines that were broken in the middle of a sentence."""
    out: list[str] = []
    for line in normalise_text(text).split("\n"):
        if not line:
            continue
        if out and _continues(out[-1], line):
            out[-1] = f"{out[-1]} {line}"
        else:
            out.append(line)
    return out


def _pieces(line: str) -> Iterator[str]:
    """Cut a very long line at whitespace so spaCy never sees more than _MAX_PIECE characters."""
    while len(line) > _MAX_PIECE:
        cut = line.rfind(" ", _MAX_PIECE // 2, _MAX_PIECE)
        cut = cut if cut > 0 else _MAX_PIECE
        yield line[:cut]
        line = line[cut:].lstrip()
    if line:
        yield line


@lru_cache(maxsize=4)
def get_nlp(model: str | None = None) -> Any:
    """A blank English spaCy pipeline with a sentencizer, or an installed pipeline named by the user."""
    import spacy

    if model:
        try:
            nlp = spacy.load(model)
        except OSError as exc:
            raise BadInput(
                f"spaCy pipeline {model!r} is not installed (nothing is downloaded at run time): {exc}"
            ) from None
        if not (nlp.has_pipe("sentencizer") or nlp.has_pipe("parser") or nlp.has_pipe("senter")):
            nlp.add_pipe("sentencizer")
        return nlp
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp


def spacy_model_name(project: Project | None = None) -> str | None:
    """The configured spaCy pipeline: $LABEL_APP_SPACY_MODEL, else settings 'spacy_model', else blank."""
    env = os.environ.get("LABEL_APP_SPACY_MODEL")
    if env:
        return env
    if project is not None and project.settings_path.exists():
        try:
            return json.loads(project.settings_path.read_text("utf-8")).get("spacy_model") or None
        except (OSError, ValueError):
            return None
    return None


def segment_articles(texts: Iterable[str], nlp: Any | None = None) -> list[list[Segment]]:
    """Segment many articles: lines first (a line break always ends a unit), then spaCy sentences."""
    nlp = nlp or get_nlp()
    per_article: list[list[tuple[str, str]]] = []
    blocks: list[str] = []
    for text in texts:
        items: list[tuple[str, str]] = []
        for line in split_lines(text):
            kind = classify_line(line)
            if kind == KIND_SENTENCE:
                for piece in _pieces(line):
                    items.append(("", str(len(blocks))))
                    blocks.append(piece)
            else:
                items.append((kind, line))
        per_article.append(items)
    sents: list[list[str]] = [
        [s.text.strip() for s in doc.sents if s.text.strip()] for doc in nlp.pipe(blocks, batch_size=256)
    ]
    out: list[list[Segment]] = []
    for items in per_article:
        segs: list[Segment] = []
        for kind, value in items:
            if kind:
                segs.append(Segment(value, kind))
                continue
            for s in sents[int(value)]:
                segs.append(Segment(s, KIND_SENTENCE if _WORD_RE.search(s) else KIND_META))
        out.append(segs)
    return out


# ---------------------------------------------------------------- reading files


@dataclass
class RawArticle:
    text: str
    title: str
    source: str
    given_id: str = ""


def _title_from(text: str, fallback: str) -> str:
    for line in split_lines(text)[:1]:
        if classify_line(line) == KIND_HEADING:
            return line.lstrip("# ").strip()[:200]
    return fallback


def _unsupported(path: Path) -> str:
    return f"unsupported file type {path.suffix.lower() or '(none)'!r} (use .txt, .md, .csv, .jsonl)"


def read_article_file(path: Path, display: str) -> tuple[list[RawArticle], str]:
    """Articles in one file (all or nothing); returns (articles, encoding). Raises BadInput."""
    ext = path.suffix.lower()
    if ext not in SUPPORTED_EXTS:
        raise BadInput(f"{display}: {_unsupported(path)}")
    limit = MAX_ARTICLE_BYTES if ext in ARTICLE_EXTS else MAX_TABLE_BYTES
    try:
        size = path.stat().st_size
        if size > limit:
            raise BadInput(f"{display}: too large ({size / 1e6:.1f} MB; the limit is {limit / 1e6:.0f} MB "
                           f"per {'article' if ext in ARTICLE_EXTS else 'table'} file)")
        data = path.read_bytes()
    except OSError as exc:
        raise BadInput(f"{display}: cannot read: {exc.strerror or exc}") from None
    if not data.strip():
        raise BadInput(f"{display}: empty file")
    text, enc = decode_bytes(data, display)
    if ext in ARTICLE_EXTS:
        if not normalise_text(text):
            raise BadInput(f"{display}: empty file")
        return [RawArticle(text, _title_from(text, path.stem), display)], enc
    rows = read_table_text(text, ext, display)
    arts = []
    for i, row in enumerate(rows, start=1):
        body = row.get("text", "")
        if not normalise_text(body):
            continue
        title = row.get("title", "") or _title_from(body, f"{path.stem} #{i}")
        arts.append(RawArticle(body, title, f"{display}#{i}", row.get("id", "")))
    if not arts:
        raise BadInput(f"{display}: no rows with text")
    return arts, enc


def iter_table_rows(lines: Iterable[str], ext: str, display: str) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) of .csv or .jsonl text, streamed from a text stream opened with newline="".

    Rows are dicts of strings; a `text` column is required. Raises BadInput naming the file and line.
    """
    try:
        if ext == ".csv":
            reader = csv.DictReader(lines, strict=True)
            if not reader.fieldnames or "text" not in reader.fieldnames:
                raise BadInput(f"{display}: needs a 'text' column (found: {', '.join(reader.fieldnames or [])})")
            for n, r in enumerate(reader, start=2):
                if None in r:
                    raise BadInput(f"{display}: line {n}: more cells than header columns")
                yield n, {k: (v or "") for k, v in r.items() if k is not None}
            return
        for n, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                raise BadInput(f"{display}: line {n}: not valid JSON") from None
            if not isinstance(obj, dict) or "text" not in obj:
                raise BadInput(f"{display}: line {n}: needs an object with a 'text' field")
            yield n, {k: "" if v is None else str(v) for k, v in obj.items()}
    except csv.Error as exc:
        raise BadInput(f"{display}: broken CSV: {exc}") from None


def read_table_text(text: str, ext: str, display: str) -> list[dict[str, str]]:
    """Rows of a .csv or .jsonl text as dicts of strings; needs a `text` column. Raises BadInput."""
    return [row for _, row in iter_table_rows(io.StringIO(text, newline=""), ext, display)]


def _walk(folder: Path, report: IngestReport) -> Iterator[Path]:
    root = folder.resolve()
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for fn in sorted(filenames):
            p = Path(dirpath) / fn
            rel = p.relative_to(folder).as_posix()
            if fn.startswith("."):
                if not fn.endswith(".tmp"):  # our own in-progress writes end in .tmp
                    report.skipped.append((rel, "hidden file"))
                continue
            if p.is_symlink():
                try:
                    target = p.resolve(strict=True)
                except (OSError, RuntimeError):
                    report.skipped.append((rel, "broken symlink"))
                    continue
                if not target.is_relative_to(root):
                    report.skipped.append((rel, "symlink points outside the folder"))
                    continue
            if not p.is_file():
                report.skipped.append((rel, "not a regular file"))
                continue
            yield p


# ---------------------------------------------------------------- the corpus cache


_SAFE_NAME_RE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(name: str, max_len: int = 100) -> str:
    """A file name with no path parts or shell characters, keeping a supported extension."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    stem = _SAFE_NAME_RE.sub("_", unicodedata.normalize("NFKD", stem)).strip("._-") or "article"
    ext = _SAFE_NAME_RE.sub("", ext).lower()
    out = f"{stem[: max_len - len(ext) - 1]}.{ext}" if ext else stem[:max_len]
    return out


def copy_into_seeds(project: Project, src: Path, name: str | None = None) -> Path:
    """Copy a file into seeds/ under a sanitised name (an identical file already there is reused)."""
    project.seeds_dir.mkdir(parents=True, exist_ok=True)
    data = src.read_bytes()
    return save_into_seeds(project, name or src.name, data)


def save_into_seeds(project: Project, name: str, data: bytes) -> Path:
    """Write bytes into seeds/ under a sanitised, non-clobbering name; identical content is reused."""
    project.seeds_dir.mkdir(parents=True, exist_ok=True)
    clean = safe_filename(name)
    stem, dot, ext = clean.rpartition(".")
    if not dot:
        stem, ext = clean, ""
    for n in range(1000):
        cand = project.seeds_dir / (clean if n == 0 else f"{stem}-{n}.{ext}" if ext else f"{stem}-{n}")
        if cand.exists():
            if cand.is_file() and cand.read_bytes() == data:
                return cand
            continue
        tmp = cand.with_name(f".{cand.name}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, cand)
        return cand
    raise BadInput(f"{name}: too many files with this name in seeds/")


def _load_json(path: Path, default: Any) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return default


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def ingest(project: Project, paths: Iterable[str | Path] | None = None, nlp: Any | None = None) -> IngestReport:
    """Ingest seeds/ (plus `paths`, copied into seeds/ first) into the corpus cache; return a report."""
    report = IngestReport()
    seeds = project.seeds_dir
    seeds.mkdir(parents=True, exist_ok=True)
    for raw in paths or []:
        p = Path(raw)
        if not p.exists():
            report.skipped.append((str(raw), "no such file or folder"))
            continue
        if p.resolve().is_relative_to(seeds.resolve()):
            continue
        sub = IngestReport()
        files = [p] if p.is_file() else list(_walk(p, sub))
        report.skipped += [(str(p / name), why) for name, why in sub.skipped]
        for f in files:
            if f.suffix.lower() not in SUPPORTED_EXTS:
                report.skipped.append((str(f), _unsupported(f)))
                continue
            dest = copy_into_seeds(project, f)
            report.copied.append(dest.name)

    old_files: dict[str, Any] = _load_json(project.ingest_cache_path, {})
    old_corpus = {a["article_id"]: a for a in iter_corpus_records(project)} if old_files else {}
    if old_files.get("__format__") != CORPUS_FORMAT:
        old_files, old_corpus = {}, {}
    new_files: dict[str, Any] = {"__format__": CORPUS_FORMAT}
    ordered: list[dict[str, Any]] = []
    seen: set[str] = set()
    pending: list[tuple[str, list[RawArticle]]] = []

    for path in _walk(seeds, report):
        rel = path.relative_to(seeds).as_posix()
        if path.suffix.lower() not in SUPPORTED_EXTS:
            report.skipped.append((rel, _unsupported(path)))
            continue
        st = path.stat()
        sig = [st.st_size, st.st_mtime_ns]
        prev = old_files.get(rel)
        if prev and prev.get("sig") == sig and all(a in old_corpus for a in prev.get("articles", [])):
            new_files[rel] = prev
            if prev.get("skipped"):
                report.skipped.append((rel, prev["skipped"]))
            report.files += 0 if prev.get("skipped") else 1
            ordered.extend(old_corpus[a] for a in prev["articles"])
            continue
        try:
            arts, enc = read_article_file(path, rel)
        except BadInput as exc:
            reason = str(exc).split(": ", 1)[-1]
            report.skipped.append((rel, reason))
            new_files[rel] = {"sig": sig, "articles": [], "skipped": reason}
            continue
        if enc != "utf-8":
            report.notes.append((rel, f"decoded as {enc}"))
        report.files += 1
        new_files[rel] = {"sig": sig, "articles": [article_id_for(a.text) for a in arts]}
        pending.append((rel, arts))
        ordered.extend({"__pending__": True, "raw": a} for a in arts)

    to_segment = [item["raw"] for item in ordered if item.get("__pending__")]
    segmented = iter(segment_articles([a.text for a in to_segment], nlp or get_nlp(spacy_model_name(project))))
    records: list[dict[str, Any]] = []
    for item in ordered:
        if item.get("__pending__"):
            raw_art: RawArticle = item["raw"]
            segs = next(segmented)
            aid = article_id_for(raw_art.text)
            rec = {
                "article_id": aid,
                "title": raw_art.title,
                "source": raw_art.source,
                "given_id": raw_art.given_id,
                "segments": [[s.text, s.kind] for s in segs],
            }
        else:
            rec = item
            aid = rec["article_id"]
        if aid in seen:
            continue
        seen.add(aid)
        if aid not in old_corpus:
            report.new_articles += 1
        records.append(rec)
        report.articles += 1
        report.sentences += sum(1 for _, k in rec["segments"] if k == KIND_SENTENCE)
        report.non_sentences += sum(1 for _, k in rec["segments"] if k != KIND_SENTENCE)

    _write_atomic(project.corpus_path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    _write_atomic(project.ingest_cache_path, json.dumps(new_files))
    load_corpus_frame.cache_clear()
    return report


def iter_corpus_records(project: Project) -> Iterator[dict[str, Any]]:
    """Article records of the corpus cache (empty if not ingested yet)."""
    try:
        fh = open(project.corpus_path, encoding="utf-8")
    except FileNotFoundError:
        return
    with fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


@lru_cache(maxsize=8)
def load_corpus_frame(corpus_path: str, mtime_ns: int) -> pd.DataFrame:
    rows = []
    for rec in iter_corpus_records(Project(Path(corpus_path).parent.parent)):
        n = len(rec["segments"])
        for i, (text, kind) in enumerate(rec["segments"]):
            rows.append((sentence_id_for(rec["article_id"], i), rec["article_id"], i, n, text, kind,
                         rec["title"], rec["source"]))
    df = pd.DataFrame(rows, columns=["sentence_id", "article_id", "position", "n_in_article", "text", "kind",
                                     "title", "source"])
    return df


def load_corpus(project: Project, refresh: bool = True) -> pd.DataFrame:
    """All segments of the corpus, one row each (sentence_id, article_id, position, text, kind, title...).

    With `refresh`, seeds/ is ingested first (incremental: unchanged files are not read again).
    """
    if refresh or not project.corpus_path.exists():
        ingest(project)
    st = project.corpus_path.stat()
    return load_corpus_frame(str(project.corpus_path), st.st_mtime_ns)


__all__ = [
    "IngestReport", "Segment", "classify_line", "decode_bytes", "get_nlp", "ingest", "load_corpus",
    "safe_filename", "save_into_seeds", "segment_articles", "split_lines",
]
