"""The pre-labeling segmenter: exactly `segment.segment_articles`'s segments, with less work per line.

Pre-labeling segments thousands of articles in worker processes; most of the cost is pysbd on sentence
lines. `FastSegmenter` runs the same line classification and the same `split_sentence_line`, but keeps the
sentences of recent lines (news wires repeat lines: bylines, boilerplate, syndicated paragraphs), so a line
seen before costs a dict lookup. Its output equals `segment_articles(texts)` by construction; the tests and
bench/prelabel/run.py still compare both on real articles (`check_same_segments`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from .lines import KIND_SENTENCE, classify_lines, split_lines
from .segment import Segment, segment_articles, sentence_kind, split_sentence_line

_MEMO_MAX = 200_000


class FastSegmenter:
    """Segments articles exactly like `segment_articles(texts)` (the default pysbd segmentation)."""

    def __init__(self, nlp: Any | None = None) -> None:
        if nlp is not None:
            raise ValueError("FastSegmenter reproduces the default (pysbd) segmentation only; "
                             "use segment_articles(texts, nlp) for a spaCy pipeline")
        self._memo: dict[str, tuple[Segment, ...]] = {}

    def _line(self, line: str, kind: str) -> tuple[Segment, ...]:
        if kind != KIND_SENTENCE:
            return (Segment(line, kind),)
        got = self._memo.get(line)
        if got is None:
            got = tuple(Segment(s, sentence_kind(s)) for s in split_sentence_line(line))
            if len(self._memo) >= _MEMO_MAX:
                self._memo.clear()
            self._memo[line] = got
        return got

    def segment(self, texts: Iterable[str]) -> list[list[Segment]]:
        """Like `segment_articles(texts)`: per article, its segments in order."""
        out: list[list[Segment]] = []
        for text in texts:
            lines = split_lines(text)
            # the line kinds depend on the whole article (`classify_lines`), so only sentence splits are kept
            out.append([seg for line, kind in zip(lines, classify_lines(lines), strict=True)
                        for seg in self._line(line, kind)])
        return out


def check_same_segments(texts: Sequence[str]) -> list[int]:
    """Indexes of the articles whose fast segmentation differs from `segment_articles` (empty: identical)."""
    fast = FastSegmenter().segment(texts)
    exact = segment_articles(texts)
    return [i for i, (a, b) in enumerate(zip(fast, exact, strict=True)) if a != b]


__all__ = ["FastSegmenter", "check_same_segments"]
