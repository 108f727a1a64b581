"""Text features: word and character n-gram TF-IDF, plus topic x word features for the stance task."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

WORD_PATTERN = r"(?u)\b\w+\b"
_WORD_RE = re.compile(WORD_PATTERN)
# Joins topic and text into one string for the interaction vectorizer; never occurs in real text.
_SEP = "\x1f"
NO_TOPIC = "__none__"


class TopicWordTokens:
    """Analyzer for 'topic<US>text': the topic itself plus topic|word and topic|word bigram tokens.

    A linear model over these learns topic-specific word weights, so the same words can push the stance
    one way under one topic (target) and the other way under another.
    """

    def __call__(self, doc: str) -> list[str]:
        topic, _, text = doc.partition(_SEP)
        words = _WORD_RE.findall(text.lower())
        toks = [f"@topic={topic}"]
        toks.extend(f"{topic}|{w}" for w in words)
        toks.extend(f"{topic}|{a} {b}" for a, b in zip(words, words[1:], strict=False))
        return toks


def _topic_docs(texts: Sequence[str], topics: Sequence[str | None]) -> list[str]:
    return [f"{t or NO_TOPIC}{_SEP}{x}" for x, t in zip(texts, topics, strict=True)]


class TextFeatures:
    """Word (1-2)-gram and char_wb n-gram TF-IDF; with `topic_features`, topic x word TF-IDF columns after them.

    The text columns always come first, so dropping the topic part is a column slice (used by model selection).
    """

    def __init__(self, word_ngrams: tuple[int, int] = (1, 2), char_ngrams: tuple[int, int] | None = (2, 5),
                 min_df: int = 1, topic_features: bool = False) -> None:
        self.word_ngrams = tuple(word_ngrams)
        self.char_ngrams = tuple(char_ngrams) if char_ngrams else None
        self.min_df = min_df
        self.topic_features = topic_features
        self.word: TfidfVectorizer | None = None
        self.char: TfidfVectorizer | None = None
        self.topic: TfidfVectorizer | None = None
        self.n_text_features = 0

    def _make(self) -> None:
        self.word = TfidfVectorizer(ngram_range=self.word_ngrams, token_pattern=WORD_PATTERN, sublinear_tf=True,
                                    min_df=self.min_df, dtype=np.float64)
        self.char = (TfidfVectorizer(analyzer="char_wb", ngram_range=self.char_ngrams, sublinear_tf=True,
                                     min_df=self.min_df, dtype=np.float64) if self.char_ngrams else None)
        # Topic tokens are rarer than words: min_df 1 keeps small topics' words usable.
        self.topic = (TfidfVectorizer(analyzer=TopicWordTokens(), sublinear_tf=True, min_df=1, dtype=np.float64)
                      if self.topic_features else None)

    def fit_transform(self, texts: Sequence[str], topics: Sequence[str | None] | None = None) -> sp.csr_matrix:
        """Fit the vocabularies and IDF weights on `texts` and return their feature matrix."""
        self._make()
        parts = [self.word.fit_transform(texts)]
        if self.char is not None:
            parts.append(self.char.fit_transform(texts))
        self.n_text_features = sum(p.shape[1] for p in parts)
        if self.topic is not None:
            parts.append(self.topic.fit_transform(_topic_docs(texts, topics or [None] * len(texts))))
        return sp.hstack(parts, format="csr")

    def transform(self, texts: Sequence[str], topics: Sequence[str | None] | None = None) -> sp.csr_matrix:
        """The feature matrix of `texts` (topics are used only when topic features are on)."""
        if self.word is None:
            raise RuntimeError("TextFeatures.transform called before fit_transform")
        parts = [self.word.transform(texts)]
        if self.char is not None:
            parts.append(self.char.transform(texts))
        if self.topic is not None:
            parts.append(self.topic.transform(_topic_docs(texts, topics or [None] * len(texts))))
        return sp.hstack(parts, format="csr")

    def without_topic(self) -> TextFeatures:
        """A copy that produces only the text columns (shares the fitted vectorizers)."""
        twin = TextFeatures(self.word_ngrams, self.char_ngrams, self.min_df, topic_features=False)
        twin.word, twin.char, twin.n_text_features = self.word, self.char, self.n_text_features
        return twin

    @property
    def n_features(self) -> int:
        n = self.n_text_features
        if self.topic is not None:
            n += len(self.topic.vocabulary_)
        return n
