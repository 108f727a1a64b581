"""Sentence segmentation of articles: lines first, then sentences within each sentence line.

A line break always ends a unit (`lines.split_lines`); headings and meta lines stay whole and keep their
kind. A sentence line is split into sentences by:

1. cutting after sentence-final punctuation that is never ambiguous (CJK `。！？`, Arabic `؟`, Devanagari
   `।`, `‼` ...), with any closing quotes or brackets that follow;
2. taking a piece with no possible boundary inside (no `.` `!` `?` `…`, no list marker such as `2)` or a
   bullet) as one sentence;
3. otherwise pysbd (rule-based "golden rules" segmenter; English rules plus a few news abbreviations such as
   `approx.`), whose sentences are then cut from the piece itself, and a piece with no letter or digit
   (a closing quote pysbd left alone) is joined to the sentence before it.

pysbd was chosen by measurement (bench/segmentation/run.py): it is the most accurate rule-based segmenter
on our boundary cases of the published kinds; faster ones (sentencex, nupunkt, spaCy's sentencizer) miss
lists, initials and abbreviations. It costs about 2k sentences/s per core, so pre-labeling uses
`fast.FastSegmenter`, which gives exactly these segments.

A project may name an installed spaCy pipeline (`spacy_model` setting or $LABEL_APP_SPACY_MODEL); then
`segment_articles(texts, nlp)` splits sentence lines with that pipeline's sentences instead of pysbd.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..errors import BadInput
from ..project import Project
from .lines import KIND_META, KIND_SENTENCE, classify_lines, has_words, split_lines

# spaCy gets at most this many characters at once; longer lines are cut at whitespace
MAX_PIECE = 100_000
SEGMENTER_NAME = "pysbd-0.3-news-10"
"""Names the segmentation rules; stored in the corpus cache so a rules change re-segments every article."""
LINE_RULES = "lines-2"
"""Names the line rules (`lines.classify_lines`), which a spaCy pipeline's segmentation uses too."""

_UNAMBIGUOUS_FINAL = "。！？｡﹒﹗﹖؟۔।॥։።။។‼⁇⁈⁉"
_UNAMBIGUOUS_RE = re.compile(f"[{_UNAMBIGUOUS_FINAL}]")
_CUT_RE = re.compile(rf"[{_UNAMBIGUOUS_FINAL}]+[\"'»«”’)\]}}」』】〕〉》）］｝]*\s*")
# pysbd gets at most this many characters at once (its time grows faster than linearly with the length)
PYSBD_MAX_CHARS = 3000
# "a sure boundary": a whole word (lower case, capitalised or all capitals) that is no known abbreviation,
# or an amount (3+ digits, 1,000, 2.5, 4%, $3bn, £250m: never a bare 1-2 digit list number), then . ! or ? (and closing quotes/brackets), then space and a capital
# (optionally after an opening quote/bracket). pysbd splits there too; initials, acronyms, dotted
# abbreviations and list numbers never match and are left to pysbd.
_SURE_BOUNDARY_RE = re.compile(
    r"(?:^|(?<=[\s(]))([A-Za-z]?[a-z]{2,}|[A-Z]{2,}|[£$€¥]?\d[\d,]*\.\d+(?:%|bn|m|k)?|[£$€¥]\d[\d,]*(?:bn|m|k)?|\d{1,3}(?:,\d{3})+|\d{3,}|\d+(?:%|bn|m))[\"'”’)\]]*[.!?]+[\"'”’)\]]*\s+(?=[\"“‘(\[]?[A-Z])")
_TRAILING_END_RE = re.compile(r"[.!?…\"'”’»)\]]+$")
# a boundary is possible only at one of these: an ellipsis; a full stop that is not inside a word or number
# (followed by a lower-case letter, digit, comma...), not followed by a lower-case word, and not inside a
# dotted acronym (U.S., U.N.); ! ? …; a list marker; a bullet
_MAYBE_BOUNDARY_RE = re.compile(r"\.{2,}|\.(?![a-z0-9,;:\-]|\s+[a-z]|[A-Za-z]\.)|[!?…]|(?:^|\s)(?:\d{1,3}|[A-Za-z]|[ivxIVX]{1,4})\)|[•◦▪‣⁃●]")
_NEWS_ABBREVIATIONS = ["approx", "est", "ca", "incl", "excl", "amb", "dept", "govt", "intl", "natl", "ret"]
# titles written before a name ("Oil Min. Ihsan Ismail", "Amb. Masjedi"): never a sentence end before it
_NEWS_TITLES = ["min", "amb", "pres", "cpt", "cmdt", "hon", "fr", "dep", "asst"]
# "approx. $2.5 bn", "ca. 300 km": an amount after these is never the start of a sentence
_BEFORE_AMOUNTS = ("approx", "ca", "est", "incl", "excl", "no", "nos", "nr", "vol", "p", "pp")
_ENDS_WITH_ABBREVIATION_RE = re.compile(r"(?:^|[\s(\-])([A-Za-z]+)\.\)?$")
# how a sentence starts: a capital, maybe after an opening quote or bracket (a boundary even where the
# source forgot the space: 'carpet."It was …')
_SENTENCE_START_RE = re.compile(r"[\"'“‘(\[]?[A-Z]")
# closing quotes or brackets at the start of a piece, then white space
_LEADING_CLOSER_RE = re.compile(r"([\"'”’»)\]]+)\s+")
# a list item's marker ("b. ", "c) ", "iv. "): a lower-case start that does begin a new unit
_LIST_MARKER_RE = re.compile(r"(?:[a-z]|[ivx]{1,4})[.)](?:\s|$)")
_AMOUNT_START_RE = re.compile(r"[£$€¥]?\d")
# "1. " before a capitalised word: a numbered-list marker to pysbd, which splits before it
_NUMBER_MARKER_RE = re.compile(r"(\d{1,3}\.)\s+(?=[\"'“‘(\[]?[A-Z])")


@dataclass(frozen=True)
class Segment:
    """One unit of an article: a sentence, a heading or a meta line (dateline, id, boilerplate)."""

    text: str
    kind: str


_RE_CACHE = 8192


@lru_cache(maxsize=1)
def _pysbd() -> Any:
    import pysbd
    from pysbd.lang.english import English

    class NewsEnglish(English):
        """pysbd's English rules with a few abbreviations news text uses that pysbd's list lacks."""

        class Abbreviation(English.Abbreviation):
            ABBREVIATIONS = sorted(set(English.Abbreviation.ABBREVIATIONS) | set(_NEWS_ABBREVIATIONS)
                                   | set(_NEWS_TITLES))
            PREPOSITIVE_ABBREVIATIONS = sorted(set(English.Abbreviation.PREPOSITIVE_ABBREVIATIONS)
                                               | set(_NEWS_TITLES))

        class AbbreviationReplacer(English.AbbreviationReplacer):
            """pysbd's, with the abbreviations that cannot change a text skipped before any regex runs."""

            def search_for_abbreviations_in_string(self, text: str) -> str:
                # pysbd's own method (0.3.4, MIT licence) except for the second `continue`. Every replacement it
                # can make rewrites the period right after an abbreviation, and replacing never adds a period;
                # so an abbreviation that is a plain word (no regex metacharacter: pysbd puts it into its
                # patterns unescaped) and is nowhere followed by "." in the text changes nothing. pysbd's list
                # holds single letters and short words ("a", "no", "st"), and for each it ran one substitution
                # over the text per word starting with them: most of its time on news text.
                lowered = text.lower()
                for abbr in self.lang.Abbreviation.ABBREVIATIONS:
                    stripped = abbr.strip()
                    if stripped not in lowered:
                        continue
                    if stripped.isalpha() and f"{stripped}." not in lowered:
                        continue
                    abbrev_match = re.findall(rf"(?:^|\s|\r|\n){stripped}", text, flags=re.IGNORECASE)
                    if not abbrev_match:
                        continue
                    next_word_start = r"(?<={" + str(re.escape(stripped)) + "} ).{1}"
                    char_array = re.findall(next_word_start, text)
                    for ind, match in enumerate(abbrev_match):
                        text = self.scan_for_replacements(text, match, ind, char_array)
                return text

    seg = pysbd.Segmenter(language="en", clean=False)
    seg.language_module = NewsEnglish
    # pysbd builds a pattern per abbreviation it meets and compiles it through the re module's cache (512
    # patterns in CPython); its patterns outnumber that, so compiling again dominated its time. A larger
    # cache only keeps compiled patterns longer: results are the same.
    if getattr(re, "_MAXCACHE", _RE_CACHE) < _RE_CACHE:
        re._MAXCACHE = _RE_CACHE  # type: ignore[attr-defined]
    return seg


def _pysbd_sentences(piece: str) -> list[str]:
    """pysbd's sentences of one piece, cut from the piece itself (so they are exact substrings)."""
    seg = _pysbd()
    # Segmenter.segment would locate each sentence with a fresh regex (slow); the processor's output is
    # the same sentences, found here with str.find
    sents = seg.processor(piece).process()
    out: list[str] = []
    pos = 0
    for s in sents:
        s = s.strip()
        if not s:
            continue
        at = piece.find(s, pos)
        if at < 0:  # pysbd changed the text (it should not with clean=False): keep its sentence
            out.append(s)
            continue
        out.append(s)
        pos = at + len(s)
    return out


def _join_orphans(sents: list[str], piece: str) -> list[str]:
    """Join a 'sentence' with no letter or digit (a closing quote or bracket) to the sentence before it."""
    out: list[str] = []
    for s in sents:
        if out and not any(ch.isalnum() for ch in s):
            prev = out[-1]
            start = piece.find(prev)
            end = piece.find(s, start + len(prev)) if start >= 0 else -1
            out[-1] = piece[start:end + len(s)].strip() if end >= 0 else f"{prev} {s}"
        else:
            out.append(s)
    return out


def _join_false_splits(sents: list[str], piece: str) -> list[str]:
    """Join back what pysbd split where no sentence can end: inside a token (no white space between the two,
    unless a sentence visibly ends and a capitalised one starts: a URL's "?", "Brig.-Gen."), before a lower-case word that is not a list marker ("bn. according to"),
    after a title before a name ("Brig.-Gen. Ahmadi"), after an abbreviation before an amount ("approx.
    $2.5") and after a parenthesised abbreviation ("Gen. (ret.) Ahmadi")."""
    spans: list[list[int]] = []
    pos = 0
    for s in sents:
        at = piece.find(s, pos)
        if at < 0:  # pysbd changed the text (it should not with clean=False): leave its split alone
            return sents
        spans.append([at, at + len(s)])
        pos = at + len(s)
    titles = _titles()
    out: list[list[int]] = []
    for a, b in spans:
        if out and a == out[-1][1]:
            # pysbd sometimes starts a sentence with the closing quote of the one before ('… 60p." The …'):
            # the quote goes back to the sentence it closes.
            m = _LEADING_CLOSER_RE.match(piece, a, b)
            if m:
                out[-1][1] = m.end(1)
                a = m.end()
                if a >= b:
                    continue
        if out:
            prev = piece[out[-1][0]:out[-1][1]]
            nxt = piece[a:b]
            num = _NUMBER_MARKER_RE.match(nxt)
            if num and prev[-1:].isalnum() and not _NUMBER_MARKER_RE.match(prev):
                # "… in round 1. Then …": not a list (the text before is no list item and runs on into the
                # number), so the number ends the sentence before it
                out[-1][1] = a + num.end(1)
                a += num.end()
                nxt = piece[a:b]
            m = _ENDS_WITH_ABBREVIATION_RE.search(prev)
            abbr = m.group(1).lower() if m else ""
            if ((a == out[-1][1] and not (prev[-1:] in ".!?" and _SENTENCE_START_RE.match(nxt)))
                    or (nxt[:1].islower() and not _LIST_MARKER_RE.match(nxt))
                    or (abbr in titles and prev.endswith(".") and nxt[:1].isupper())
                    or (abbr in _BEFORE_AMOUNTS and _AMOUNT_START_RE.match(nxt) is not None)
                    or (prev.endswith(".)") and abbr in _abbreviations())):
                out[-1][1] = b
                continue
        out.append([a, b])
    return [piece[a:b] for a, b in out]


@lru_cache(maxsize=1)
def _titles() -> frozenset[str]:
    return frozenset(a.lower() for a in _pysbd().language_module.Abbreviation.PREPOSITIVE_ABBREVIATIONS)


def _pieces(line: str) -> Iterator[str]:
    """Cut a very long line at whitespace so no segmenter sees more than MAX_PIECE characters."""
    while len(line) > MAX_PIECE:
        cut = line.rfind(" ", MAX_PIECE // 2, MAX_PIECE)
        cut = cut if cut > 0 else MAX_PIECE
        yield line[:cut]
        line = line[cut:].lstrip()
    if line:
        yield line


def _unambiguous_parts(line: str) -> list[str]:
    """Cut a line after unambiguous sentence-final punctuation of other scripts (CJK, Arabic, Indic...)."""
    if not _UNAMBIGUOUS_RE.search(line):
        return [line]
    parts: list[str] = []
    start = 0
    for m in _CUT_RE.finditer(line):
        parts.append(line[start:m.end()].strip())
        start = m.end()
    parts.append(line[start:].strip())
    return [p for p in parts if p]


@lru_cache(maxsize=1)
def _abbreviations() -> frozenset[str]:
    return frozenset(a.lower() for a in _pysbd().language_module.Abbreviation.ABBREVIATIONS)


def _sure_parts(piece: str) -> list[str]:
    """Cut a piece at its sure boundaries (see _SURE_BOUNDARY_RE): the boundaries pysbd would find there
    too, without running it; what remains between them is left to pysbd."""
    abbreviations = _abbreviations()
    parts: list[str] = []
    start = 0
    for m in _SURE_BOUNDARY_RE.finditer(piece):
        if m.group(1).lower() in abbreviations:
            continue
        parts.append(piece[start:m.end()].strip())
        start = m.end()
    parts.append(piece[start:].strip())
    return [p for p in parts if p]


def _pysbd_chunks(piece: str) -> Iterator[str]:
    """Cut a piece longer than PYSBD_MAX_CHARS (pysbd's time grows faster than its input) at the last
    space before the limit (only a piece with no sure boundary in it gets here)."""
    while len(piece) > PYSBD_MAX_CHARS:
        cut = piece.rfind(" ", PYSBD_MAX_CHARS // 4, PYSBD_MAX_CHARS)
        cut = cut if cut > 0 else PYSBD_MAX_CHARS
        yield piece[:cut].strip()
        piece = piece[cut:].strip()
    if piece:
        yield piece


def needs_segmenter(piece: str) -> bool:
    """False when `piece` cannot hold a sentence boundary before its end (then it is one sentence as it is):
    no . ! ? … list marker or bullet except the sentence-final punctuation it ends with."""
    return bool(_MAYBE_BOUNDARY_RE.search(_TRAILING_END_RE.sub("", piece)))


def split_sentence_line(line: str) -> list[str]:
    """The sentences of one sentence line (see the module docstring), in order, each stripped."""
    out: list[str] = []
    for piece in _unambiguous_parts(line):
        for part in _sure_parts(piece):
            if not needs_segmenter(part):
                out.append(part)
                continue
            for chunk in _pysbd_chunks(part):
                out.extend(_join_false_splits(_join_orphans(_pysbd_sentences(chunk), chunk), chunk))
    return out


def sentence_kind(text: str) -> str:
    """KIND_SENTENCE for a piece with words, KIND_META for one without (a stray number or symbol)."""
    return KIND_SENTENCE if has_words(text) else KIND_META


def segment_text(text: str) -> list[Segment]:
    """The segments of one article with the default (pysbd) segmentation."""
    segs: list[Segment] = []
    lines = split_lines(text)
    for line, kind in zip(lines, classify_lines(lines), strict=True):
        if kind != KIND_SENTENCE:
            segs.append(Segment(line, kind))
            continue
        segs.extend(Segment(s, sentence_kind(s)) for s in split_sentence_line(line))
    return segs


@lru_cache(maxsize=4)
def get_nlp(model: str | None = None) -> Any:
    """A blank English spaCy pipeline with a sentencizer, or an installed pipeline named by the user.

    Used by `segment_articles` only when a pipeline is passed (a project's `spacy_model`); raises BadInput
    when the named pipeline is not installed (nothing is downloaded at run time).
    """
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
    """The configured spaCy pipeline: $LABEL_APP_SPACY_MODEL, else settings 'spacy_model', else None (pysbd)."""
    env = os.environ.get("LABEL_APP_SPACY_MODEL")
    if env:
        return env
    if project is not None and project.settings_path.exists():
        try:
            return json.loads(project.settings_path.read_text("utf-8")).get("spacy_model") or None
        except (OSError, ValueError, AttributeError):  # unreadable, or not a JSON object: settings.py reports it
            return None
    return None


def _segment_with_spacy(texts: Iterable[str], nlp: Any) -> list[list[Segment]]:
    per_article: list[list[tuple[str, str]]] = []
    blocks: list[str] = []
    for text in texts:
        items: list[tuple[str, str]] = []
        lines = split_lines(text)
        for line, kind in zip(lines, classify_lines(lines), strict=True):
            if kind == KIND_SENTENCE:
                for piece in _pieces(line):
                    items.append(("", str(len(blocks))))
                    blocks.append(piece)
            else:
                items.append((kind, line))
        per_article.append(items)
    sents = [[s.text.strip() for s in doc.sents if s.text.strip()] for doc in nlp.pipe(blocks, batch_size=256)]
    out: list[list[Segment]] = []
    for items in per_article:
        segs: list[Segment] = []
        for kind, value in items:
            if kind:
                segs.append(Segment(value, kind))
            else:
                segs.extend(Segment(s, sentence_kind(s)) for s in sents[int(value)])
        out.append(segs)
    return out


def segment_articles(texts: Iterable[str], nlp: Any | None = None) -> list[list[Segment]]:
    """Segment many articles: per article, its segments (sentences, headings, meta lines) in order.

    Default: the pysbd segmentation above. With `nlp` (a spaCy pipeline, e.g. a project's configured
    `spacy_model`), sentence lines are split by that pipeline's sentences instead.
    """
    if nlp is not None:
        return _segment_with_spacy(texts, nlp)
    return [segment_text(t) for t in texts]


def segmenter_name(nlp_name: str | None) -> str:
    """The name stored with a corpus: pysbd rules, or the spaCy pipeline used instead."""
    return f"spacy:{nlp_name}:{LINE_RULES}" if nlp_name else SEGMENTER_NAME


__all__ = [
    "MAX_PIECE", "SEGMENTER_NAME", "Segment", "get_nlp", "needs_segmenter", "segment_articles", "segment_text",
    "segmenter_name", "sentence_kind", "spacy_model_name", "split_sentence_line",
]
