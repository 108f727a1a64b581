"""The one text normalisation of the project: texts a person would call identical become identical.

Every place that compares or stores sentence or line text goes through `normalise_text`: ingestion (article
lines and sentences), article de-duplication, label import matching, pre-label sentence files and the app.
Article ids and article de-duplication use `normalise_article`, which is the same per line and also
collapses runs of blank lines.

What `normalise_text` does, in this order:

1. Invisible characters are removed (first, so none keeps a letter from its accent): zero-width space
   U+200B, word joiner U+2060, BOM / zero-width no-break space U+FEFF, Mongolian vowel separator U+180E,
   soft hyphen U+00AD, and the control characters that are neither white space nor line breaks (U+0000-U+0008,
   U+000E-U+001B, U+007F-U+0084, U+0086-U+009F: what a wrongly guessed encoding leaves in a text). Zero-width
   (non-)joiners U+200C/U+200D are kept: they are spelling in Persian, Arabic and Indic scripts and in emoji,
   not noise.
2. Unicode NFC (a composed `é` and `e` + combining accent are the same text).
3. Line breaks: CRLF, CR, and the other Unicode line/paragraph breaks (VT, FF, NEL U+0085, U+2028, U+2029)
   become LF.
4. Every other space character (tab, the ASCII separators U+001C-U+001F, which Python's str.strip and
   str.isspace count as white space, NBSP U+00A0, narrow NBSP U+202F, en/em/thin/hair spaces U+2000-U+200A,
   ideographic space U+3000, ...: Unicode category Zs) becomes a plain space.
5. Runs of spaces become one space; each line is trimmed; leading and trailing blank lines are dropped.

Nothing else changes: case, quotes, dashes, digits and punctuation are kept as written (a curly quote and a
straight quote are different characters an annotator can see).
"""

from __future__ import annotations

import re
import unicodedata

_LINE_BREAKS_RE = re.compile(r"\r\n|[\r\x0b\x0c\x85\u2028\u2029]")
_CONTROL_CHARS = "\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f"
_INVISIBLE_CHARS = "\u200b\u2060\ufeff\u180e\u00ad" + _CONTROL_CHARS
_INVISIBLE_RE = re.compile("[" + _INVISIBLE_CHARS + "]")
_LINE_BREAK_CHAR_RE = re.compile("[\r\x0b\x0c\x85\u2028\u2029]")
_LINE_EDGE_RE = re.compile(" ?\n ?")
# re's \s is str.isspace(): what normalisation turns into spaces and line breaks and then trims
_VISIBLE_RE = re.compile("[^\\s" + _INVISIBLE_CHARS + "]")
# every Unicode space separator (category Zs) plus tab; built once from the Unicode tables
_SPACES = "\t\x1c\x1d\x1e\x1f" + "".join(
    ch for ch in map(chr, range(0x80, 0x3001)) if unicodedata.category(ch) == "Zs"
)
_SPACE_RE = re.compile("[" + re.escape(_SPACES) + "]")
_RUN_RE = re.compile(r" {2,}")
_BLANK_RUN_RE = re.compile(r"\n{3,}")
_ASCII_WORK_RE = re.compile(r"[\x00-\x1f\x7f]| {2}")
_NON_ASCII_WORK_RE = re.compile("[\n" + _INVISIBLE_CHARS + "\r\x0b\x0c\x85\u2028\u2029" + re.escape(_SPACES) + "]| {2}")


def normalise_text(text: str) -> str:
    """The canonical form of a sentence, a line or a whole text (see the module docstring for each step).

    Line breaks are kept (as LF), so an article keeps its lines; a single sentence comes back as one
    trimmed line. Idempotent: `normalise_text(normalise_text(t)) == normalise_text(t)`.
    """
    if not text:
        return ""
    if text.isascii():
        if not _ASCII_WORK_RE.search(text) and text[0] != " " and text[-1] != " ":
            return text  # one line of plain ASCII, single-spaced and trimmed: already normal (most sentences)
    elif (not _NON_ASCII_WORK_RE.search(text) and text[0] != " " and text[-1] != " "
          and unicodedata.is_normalized("NFC", text)):
        return text  # one normal line (most sentences of a corpus, whose articles were normalised already)
    # Each step runs only where it changes something: whole articles pass through here, and a scan is many
    # times cheaper than a rewrite (str.translate looks up every character).
    if _INVISIBLE_RE.search(text):
        # invisible characters go first, so a combining mark they separated composes with its letter
        text = _INVISIBLE_RE.sub("", text)
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):  # ASCII text is NFC already
        text = unicodedata.normalize("NFC", text)
    if _LINE_BREAK_CHAR_RE.search(text):
        text = _LINE_BREAKS_RE.sub("\n", text)
    text = _SPACE_RE.sub(" ", text)
    if "  " in text:
        text = _RUN_RE.sub(" ", text)
    # Only " " and LF are white space now: trimming every line is dropping the one space beside each LF.
    if " \n" in text or "\n " in text:
        text = _LINE_EDGE_RE.sub("\n", text)
    return text.strip(" ").strip("\n")


def is_blank(text: str) -> bool:
    """Whether `normalise_text(text)` is empty (only white space and invisible characters), without normalising:
    it stops at the first visible character."""
    return _VISIBLE_RE.search(text) is None


def normalise_article(text: str) -> str:
    """`normalise_text` plus runs of blank lines collapsed to one: the form article ids are computed from.

    Two copies of an article that differ only in how many blank lines separate paragraphs are one article.
    """
    return _BLANK_RUN_RE.sub("\n\n", normalise_text(text))


__all__ = ["is_blank", "normalise_article", "normalise_text"]
