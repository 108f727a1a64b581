"""A faster, equivalent segmenter for pre-labeling: the corpus's segmentation without running spaCy per line.

`label_app.corpus.segment_articles` runs spaCy's blank English tokenizer plus the rule-based sentencizer
over every sentence line, and that is most of the pre-labeling time. The sentencizer only starts a new
sentence at a token that is not punctuation following a token that is one of its `punct_chars`, and
spaCy tokenises each space-separated word on its own. So a line can be split by looking up, per distinct
word, the tokens spaCy gives that word (memoised), and running the sentencizer's rule over them. Lines the
shortcut cannot vouch for (other whitespace than single spaces, very long lines) go through spaCy itself.
`check_same_segments` compares both on given articles (the tests run it on seeds/, the benchmark on its
corpus).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from label_app.corpus import (
    _MAX_PIECE,
    _WORD_RE,
    KIND_META,
    KIND_SENTENCE,
    Segment,
    classify_line,
    get_nlp,
    segment_articles,
    split_lines,
)

_NON_PLAIN_SPACE = re.compile(r"[^\S ]| {2}")
_MEMO_MAX = 500_000
_NONPUNCT, _PUNCT, _PERIOD = 0, 1, 2
_PLAIN_WORD = ((0, _NONPUNCT),)


class FastSegmenter:
    """Segments articles exactly like `segment_articles` with the blank sentencizer pipeline."""

    def __init__(self, nlp: Any | None = None) -> None:
        self.nlp = nlp or get_nlp()
        if self.nlp.pipe_names != ["sentencizer"]:
            raise ValueError("FastSegmenter reproduces only the blank pipeline with a sentencizer")
        sentencizer = self.nlp.get_pipe("sentencizer")
        self.punct_chars = frozenset(sentencizer.punct_chars)
        self._period_re = re.compile("[" + "".join(re.escape(c) for c in sorted(self.punct_chars)) + "]")
        self._memo: dict[str, tuple[tuple[int, int], ...]] = {}

    def _word(self, word: str) -> tuple[tuple[int, int], ...]:
        """(offset, class) of each token spaCy makes of `word` (a word with no space)."""
        events = self._memo.get(word)
        if events is not None:
            return events
        if word[:1].isalnum() and not self._period_re.search(word):
            # Starts with a letter or digit, so its first token is no punctuation; no sentence-ending character.
            events = _PLAIN_WORD
        else:
            events = tuple(
                (t.idx, _PERIOD if t.text in self.punct_chars else _PUNCT if t.is_punct else _NONPUNCT)
                for t in self.nlp.tokenizer(word)
            )
        if len(self._memo) >= _MEMO_MAX:
            self._memo.clear()
        self._memo[word] = events
        return events

    def _first_nonpunct(self, line: str, start: int, end: int) -> int | None:
        """Offset of the first non-punctuation token in line[start:end] (words with no sentence-ending character)."""
        pos = start
        for word in line[start:end].split(" "):
            for off, cls in self._word(word):
                if cls == _NONPUNCT:
                    return pos + off
            pos += len(word) + 1
        return None

    def _split_line(self, line: str) -> list[str] | None:
        """The sentences of one line, or None when only spaCy itself can tell."""
        if len(line) > _MAX_PIECE or _NON_PLAIN_SPACE.search(line):
            return None
        if not self._period_re.search(line):
            return [line]
        # Only words holding a sentence-ending character, and the word after one, can start a sentence.
        starts = [0]
        seen = False
        resume = 0
        for m in self._period_re.finditer(line):
            if m.start() < resume:
                continue  # in the word just handled
            base = line.rfind(" ", 0, m.start()) + 1
            end = line.find(" ", m.start())
            end = len(line) if end < 0 else end
            if seen and base > resume:
                cut = self._first_nonpunct(line, resume, base - 1)
                if cut is not None:
                    starts.append(cut)
                    seen = False
            for off, cls in self._word(line[base:end]):
                if cls == _PERIOD:
                    seen = True
                elif seen and cls == _NONPUNCT:
                    starts.append(base + off)
                    seen = False
            resume = end + 1
        if seen and resume < len(line):
            cut = self._first_nonpunct(line, resume, len(line))
            if cut is not None:
                starts.append(cut)
        starts.append(len(line))
        return [s for a, b in zip(starts, starts[1:], strict=False) if (s := line[a:b].strip())]

    def segment(self, texts: Iterable[str]) -> list[list[Segment]]:
        """Like `segment_articles(texts)`: per article, its segments in order."""
        per_article: list[list[tuple[str, Any]]] = []
        slow: list[str] = []
        for text in texts:
            items: list[tuple[str, Any]] = []
            for line in split_lines(text):
                kind = classify_line(line)
                if kind != KIND_SENTENCE:
                    items.append((kind, line))
                    continue
                sents = self._split_line(line)
                if sents is None:
                    items.append(("", len(slow)))
                    slow.append(line)
                else:
                    items.append(("", sents))
            per_article.append(items)
        # Each line on its own is an "article" of one line: segment_articles gives its sentences and kinds.
        slow_done = segment_articles(slow, self.nlp) if slow else []
        out: list[list[Segment]] = []
        for items in per_article:
            segs: list[Segment] = []
            for kind, value in items:
                if kind:
                    segs.append(Segment(value, kind))
                elif isinstance(value, int):
                    segs.extend(slow_done[value])
                else:
                    segs.extend(Segment(s, KIND_SENTENCE if _WORD_RE.search(s) else KIND_META) for s in value)
            out.append(segs)
        return out


def check_same_segments(texts: Sequence[str], nlp: Any | None = None) -> list[int]:
    """Indexes of the articles whose fast segmentation differs from `segment_articles` (empty: identical)."""
    nlp = nlp or get_nlp()
    fast = FastSegmenter(nlp).segment(texts)
    exact = segment_articles(texts, nlp)
    return [i for i, (a, b) in enumerate(zip(fast, exact, strict=True)) if a != b]


__all__ = ["FastSegmenter", "check_same_segments"]
