"""Orphaned labels: labels whose sentence is no longer in the corpus (its text changed or disappeared).

Labels are never deleted by ingestion: a label whose normalised sentence text no longer exists in its
article stays in the log and in every version, and is listed here so a reviewer can re-attach it to the
sentence it now belongs to, or drop it. Pure functions: the corpus and the labels come in as data.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .textnorm import normalise_text

# re-attach suggestions below this similarity are not offered
SUGGEST_MIN_RATIO = 0.6


@dataclass(frozen=True)
class Orphan:
    """One orphaned label: the label's cells, and the file its article came from ('' when unknown)."""

    sentence_id: str
    article_id: str
    annotator: str
    topic: str
    stance: str
    text: str
    file: str
    # sources in seeds/ of the articles whose sentences have this label's text when there are several (a label
    # of no article cannot say which it meant, so it attached to none)
    matches: tuple[str, ...] = ()


def find_orphans(labels: Iterable[Mapping[str, str]], corpus_ids: set[str] | Mapping[str, object],
                 article_files: Mapping[str, str], several: Mapping[str, Sequence[str]] | None = None
                 ) -> list[Orphan]:
    """Labels (current, action 'label') whose sentence_id is not a corpus segment id.

    `corpus_ids`: the corpus's sentence ids; `article_files`: article id (now or earlier) -> its source
    file inside seeds/, for the report; `several`: normalised text -> sources of the articles holding it,
    for texts of labels left unattached because several sentences have them (`ids.IdAssignment.ambiguous`).
    Sorted by file, then text, then annotator.
    """
    out = []
    for lab in labels:
        if lab.get("action", "label") != "label" or lab["sentence_id"] in corpus_ids:
            continue
        matches = tuple((several or {}).get(normalise_text(lab.get("text", "")), ())) if several else ()
        out.append(Orphan(lab["sentence_id"], lab.get("article_id", ""), lab.get("annotator", ""),
                          lab.get("topic", ""), lab.get("stance", ""), lab.get("text", ""),
                          article_files.get(lab.get("article_id", ""), ""), matches))
    return sorted(out, key=lambda o: (o.file, o.text, o.annotator))


def source_file(source: str) -> str:
    """The file part of an article source (`table.csv#row7` -> `table.csv`)."""
    return source.split("#", 1)[0]


def summarise(orphans: Sequence[Orphan], limit: int = 50) -> list[str]:
    """Report lines: the count, then per file the count, then each orphan (at most `limit`)."""
    if not orphans:
        return []
    n = len(orphans)
    lines = [f"{n} label{'s' if n != 1 else ''} orphaned: the sentence's text is no longer in its article, or "
             "was never in the corpus (kept in the log; re-attach or drop them in Browse > Orphaned labels)"]
    per_file = Counter(o.file or ("(no article: its text is in several articles)" if o.matches
                                  else "(article no longer in seeds/)" if o.article_id
                                  else "(no article: imported for a text not in the corpus)") for o in orphans)
    lines += [f"  orphaned in {f}: {c}" for f, c in sorted(per_file.items())]
    for o in orphans[:limit]:
        text = o.text if len(o.text) <= 80 else o.text[:77] + "..."
        lines.append(f"  orphan: {o.file or '?'}: {o.sentence_id} ({o.annotator}: {o.topic or '-'} / "
                     f"{o.stance or '-'}): {text}" + (f" [not attached: {_matches(o.matches)}]" if o.matches else ""))
    if n > limit:
        lines.append(f"  ... and {n - limit} more (see Browse > Orphaned labels)")
    return lines


def _matches(sources: Sequence[str]) -> str:
    """`its text is in 2 articles (one.txt, two.txt 2 times); re-attach it in Browse`."""
    counts = Counter(sources)
    names = [s if k == 1 else f"{s} {k} times" for s, k in counts.items()]
    if len(names) > 5:
        names = names[:5] + [f"{len(names) - 5} more"]
    where = (f"is {len(sources)} sentences of one article ({sources[0]})" if len(counts) == 1
             else f"is in {len(counts)} articles ({', '.join(names)})")
    return f"its text {where}; re-attach it to the right one in Browse > Orphaned labels"


def suggest_sentence(orphan_text: str, candidates: Sequence[tuple[str, str]]) -> tuple[str, float] | None:
    """The candidate (sentence_id, text) most like the orphan's text, with its similarity (0..1).

    Similarity is difflib's ratio on normalised texts; None when no candidate reaches SUGGEST_MIN_RATIO.
    """
    target = normalise_text(orphan_text)
    best: tuple[str, float] | None = None
    for sid, text in candidates:
        ratio = difflib.SequenceMatcher(None, target, normalise_text(text), autojunk=False).ratio()
        if ratio >= SUGGEST_MIN_RATIO and (best is None or ratio > best[1]):
            best = (sid, ratio)
    return best


def reattach_rows(orphan: Orphan, sentence_id: str, text: str, article_id: str, source: str = "manual") -> list[Any]:
    """Log rows that move an orphaned label to a corpus sentence: the same label (topic, stance, annotator,
    `source`) on `sentence_id`, then a `clear` of the orphan's old id. Both go in one append."""
    from .store import LabelRow

    return [
        LabelRow(sentence_id=sentence_id, text=text, annotator=orphan.annotator, topic=orphan.topic,
                 stance=orphan.stance, article_id=article_id, source=source),
        *drop_rows(orphan),
    ]


def drop_rows(orphan: Orphan) -> list[Any]:
    """Log rows that withdraw an orphaned label (a `clear` by its annotator; the log keeps its history)."""
    from .store import LabelRow

    return [LabelRow(sentence_id=orphan.sentence_id, text=orphan.text, annotator=orphan.annotator,
                     article_id=orphan.article_id, action="clear", source="manual")]


__all__ = [
    "SUGGEST_MIN_RATIO", "Orphan", "drop_rows", "find_orphans", "reattach_rows", "source_file", "suggest_sentence",
    "summarise",
]
