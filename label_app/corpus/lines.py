"""Line classification: which lines of an article are sentences, headings or meta lines.

An article is read line by line first (a line break always ends a unit). Each non-empty line is a
`KIND_SENTENCE` line (split further into sentences), a `KIND_HEADING` (short, without sentence-final
punctuation) or a `KIND_META` line (dateline, id/date field, boilerplate); an article with no sentence line has its headings
read as sentences (`classify_lines`). A line is sentence-final when,
after any closing quotes and brackets of any style, it ends in sentence-final punctuation of any script.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from ..textnorm import normalise_text

KIND_SENTENCE = "sentence"
KIND_HEADING = "heading"
KIND_META = "meta"

# Sentence-final punctuation of the scripts a news desk meets: Latin . ! ? … and the doubled forms
# ‼ ⁇ ⁈ ⁉ ‽; CJK full stop/exclamation/question 。 ！ ？ ｡ and the small forms ﹒ ﹗ ﹖; Arabic ؟ ۔ (Urdu);
# Devanagari danda । ॥; Armenian ։; Ethiopic ።; Burmese ။; Khmer ។; Thai has none (spaces end sentences).
SENTENCE_FINAL = frozenset(".!?…‼⁇⁈⁉‽。！？｡﹒﹗﹖؟۔।॥։።။។᙮")
# Closing marks that may follow the sentence-final character: every closing bracket (Unicode Pe), every
# final quote (Pf), and the ambiguous straight and initial-form quotes used as closers („…“, »…«, '…').
_CLOSERS_EXTRA = frozenset("\"'»«“‘‛‟`*_")
# Scripts written without spaces between words: Han, Hiragana, Katakana, Thai, Lao, Khmer, Myanmar.
_SPACELESS_RE = re.compile(
    "[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0e7f\u0e80-\u0eff\u1780-\u17ff"
    "\u1000-\u109f\U00020000-\U0002fa1f]"
)
_CHARS_PER_SPACELESS_WORD = 2  # Chinese words average 1.5-2 characters; Thai/Khmer syllables about as many

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
_LETTERS_RE = re.compile(r"[^\W\d_]{2,}")
HEADING_MAX_WORDS = 25
# a line of at least this many words that does not end a sentence, followed by a line starting in lower case,
# was broken in the middle of a sentence ("It was a cold" / "night in the city.") and is joined back
JOIN_MIN_WORDS = 4
# a list item: "1.", "2)", "1.)", "a.", "iv)" or a bullet, then a space; list items are content, not headings
_LIST_ITEM_RE = re.compile(r"^(?:(?:\d{1,3}|[A-Za-z]|[ivxIVX]{1,4})(?:\.\)|[.)])|[•◦▪‣⁃●▸►*-])\s+\S")


def _is_closer(ch: str) -> bool:
    return ch in _CLOSERS_EXTRA or unicodedata.category(ch) in ("Pe", "Pf")


def ends_sentence(line: str) -> bool:
    """True when `line` ends in sentence-final punctuation, possibly followed by closing quotes/brackets.

    `He said: 'We will double our trade.'` -> True; `(as agreed.)` -> True; `Wait…` -> True;
    `伊朗和伊拉克签署了协议。` -> True; `Iran and Iraq sign a gas deal` -> False.
    """
    i = len(line.rstrip())
    while i > 0 and _is_closer(line[i - 1]):
        i -= 1
    return i > 0 and line[i - 1] in SENTENCE_FINAL


def word_count(line: str) -> int:
    """Words in a line: space-separated tokens, with runs of a spaceless script (Chinese, Japanese, Thai...)
    counted as one word per two characters, so a Chinese paragraph is not 'one word'."""
    if not _SPACELESS_RE.search(line):
        return len(line.split())
    n = 0
    for token in line.split():
        spaceless = len(_SPACELESS_RE.findall(token))
        if spaceless:
            rest = _SPACELESS_RE.sub(" ", token).split()
            n += -(-spaceless // _CHARS_PER_SPACELESS_WORD) + sum(1 for r in rest if _LETTERS_RE.search(r) or r.isalnum())
        else:
            n += 1
    return n


def has_words(text: str) -> bool:
    """True when `text` holds a word (two letters in a row, or a letter of a spaceless script)."""
    return bool(_LETTERS_RE.search(text) or _SPACELESS_RE.search(text))


def classify_line(line: str) -> str:
    """KIND_META for datelines, id/date fields and boilerplate; KIND_HEADING for a short line (at most
    HEADING_MAX_WORDS words, see `word_count`) that does not end a sentence (`ends_sentence`) and is not a
    list item (`1.`, `2)`, `a.`, a bullet); KIND_SENTENCE otherwise. `line` is one normalised line."""
    if not has_words(line) or _DATELINE_RE.match(line) or _FIELD_RE.match(line) or _BOILER_RE.match(line):
        return KIND_META
    if line.endswith((":", "：")) and word_count(line) <= 4:
        return KIND_META
    if not ends_sentence(line) and word_count(line) <= HEADING_MAX_WORDS and not _LIST_ITEM_RE.match(line):
        return KIND_HEADING
    return KIND_SENTENCE


def classify_lines(lines: Sequence[str]) -> list[str]:
    """The kinds of one article's lines (`split_lines`), parallel to `lines`: `classify_line` of each, except
    that in an article with no sentence line at all, its heading lines are sentence lines.

    Text given as a unit to label (a claim, tweet or headline in a table row, a one-line file, a row of short
    lines without punctuation) is never left with nothing to label; a heading stays a heading wherever the
    article has a sentence line too ("Border trade deal" above "Iran and Iraq signed a deal.").
    """
    kinds = [classify_line(line) for line in lines]
    if KIND_SENTENCE not in kinds:
        kinds = [KIND_SENTENCE if k == KIND_HEADING else k for k in kinds]
    return kinds


def _continues(prev: str, nxt: str) -> bool:
    """A line broken mid-sentence (next line starts lower-case, previous one is long and unfinished)."""
    return (
        nxt[:1].islower()
        and not ends_sentence(prev)
        and not prev.rstrip().endswith((":", ";", "："))
        and word_count(prev) >= JOIN_MIN_WORDS
        and classify_line(prev) != KIND_META
    )


def split_lines(text: str) -> list[str]:
    """Non-empty normalised lines of an article, re-joining lines broken in the middle of a sentence."""
    out: list[str] = []
    for line in normalise_text(text).split("\n"):
        if not line:
            continue
        if out and _continues(out[-1], line):
            out[-1] = f"{out[-1]} {line}"
        else:
            out.append(line)
    return out


__all__ = [
    "HEADING_MAX_WORDS", "KIND_HEADING", "KIND_META", "KIND_SENTENCE", "SENTENCE_FINAL", "classify_line",
    "classify_lines",
    "ends_sentence", "has_words", "split_lines", "word_count",
]
