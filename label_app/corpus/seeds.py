"""Managing seeds/: safe names, saving uploads, refusing what ingestion would skip, spotting near-duplicates."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import BadInput
from ..files import write_atomic
from ..project import Project
from ..textnorm import normalise_text

_SAFE_NAME_RE = re.compile(r"[^A-Za-z0-9._-]+")
# an upload sharing at least this share of its sentences with an existing article is a near-duplicate
NEAR_DUPLICATE_SHARE = 0.6


def safe_filename(name: str, max_len: int = 100) -> str:
    """A file name with no path parts or shell characters, keeping a supported extension."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    stem = _SAFE_NAME_RE.sub("_", unicodedata.normalize("NFKD", stem)).strip("._-") or "article"
    ext = _SAFE_NAME_RE.sub("", ext).lower()
    return f"{stem[: max_len - len(ext) - 1]}.{ext}" if ext else stem[:max_len]


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
        write_atomic(cand, data)
        return cand
    raise BadInput(f"{name}: too many files with this name in seeds/")


def copy_into_seeds(project: Project, src: Path, name: str | None = None) -> Path:
    """Copy a file into seeds/ under a sanitised name (an identical file already there is reused)."""
    return save_into_seeds(project, name or src.name, src.read_bytes())


def replace_in_seeds(project: Project, rel: str, data: bytes) -> Path:
    """Overwrite the seeds/ file `rel` (a path inside seeds/, as in an article's source) with `data`.

    The article keeps its id (ids come from the source), so its labels stay attached wherever their
    sentence text is unchanged. Raises BadInput when `rel` leaves seeds/ or is not an existing file.
    """
    seeds = project.seeds_dir.resolve()
    target = (seeds / rel).resolve()
    if not target.is_relative_to(seeds) or not target.is_file():
        raise BadInput(f"{rel}: not a file in seeds/")
    write_atomic(target, data)
    return target


def check_upload(name: str, data: bytes, skipped: list[Any] | None = None) -> tuple[list[Any], str]:
    """Read an uploaded file exactly as ingestion would; returns (articles, encoding).

    Table rows ingestion would leave out (`tables.RowProblem`: a cell over the limit, ...) are appended to
    `skipped` (raised as BadInput without it). Raises BadInput with ingestion's reason (unsupported type, too
    large, empty, binary, broken table, no rows with text), so a file that ingestion would skip is refused at
    upload instead.
    """
    from .reading import articles_from_bytes

    return articles_from_bytes(data, name, safe_filename(name), skipped)


@dataclass(frozen=True)
class NearDuplicate:
    """An existing article an upload may replace: its source in seeds/, title, and why it matched."""

    source: str
    title: str
    same_name: bool
    shared: float  # share of the upload's sentences found in the existing article (0..1)

    @property
    def reason(self) -> str:
        parts = ["same file name"] if self.same_name else []
        if self.shared > 0:
            parts.append(f"{self.shared:.0%} of its sentences already there")
        return ", ".join(parts)


def near_duplicates(upload_name: str, upload_sentences: list[str], corpus: list[dict[str, Any]],
                    threshold: float = NEAR_DUPLICATE_SHARE) -> list[NearDuplicate]:
    """Existing articles an uploaded article may be a new version of.

    `upload_sentences`: the upload's sentence texts; `corpus`: records of `iter_corpus_records` (source,
    title, segments). An article matches when its file has the same (sanitised) name, or when at least
    `threshold` of the upload's sentences (normalised) are among its sentences; a table with the same name
    is offered once, as its file. Best match first.
    """
    clean = safe_filename(upload_name)
    mine = {normalise_text(s) for s in upload_sentences if normalise_text(s)}
    out = []
    named: set[str] = set()
    for rec in corpus:
        src = rec["source"]
        file = src.split("#", 1)[0]
        theirs = {normalise_text(t) for t, k in rec["segments"] if k == "sentence"}
        shared = len(mine & theirs) / len(mine) if mine else 0.0
        if shared >= threshold:
            out.append(NearDuplicate(src, rec.get("title", ""), Path(file).name == clean, shared))
            named.add(file)
        elif Path(file).name == clean and file not in named:
            # a table is one file of many articles: it is offered once, as the file
            out.append(NearDuplicate(file, rec.get("title", "") if file == src else file, True, 0.0))
            named.add(file)
    return sorted(out, key=lambda d: (not d.same_name, -d.shared, d.source))


__all__ = [
    "NEAR_DUPLICATE_SHARE", "NearDuplicate", "check_upload", "copy_into_seeds", "near_duplicates",
    "replace_in_seeds", "safe_filename", "save_into_seeds",
]
