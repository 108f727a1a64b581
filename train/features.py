"""Text features: word and character n-gram TF-IDF, plus topic x word features for the stance task."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import TfidfTransformer, TfidfVectorizer

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


class WordTfidf(BaseEstimator):
    """Word 1- and 2-grams (tokens of WORD_PATTERN, lower-cased), TF-IDF weighted: the same features and values
    as TfidfVectorizer(ngram_range=(1, 2), token_pattern=WORD_PATTERN, sublinear_tf=True), computed faster by
    counting integer-coded tokens and token pairs with numpy instead of building n-gram strings per text."""

    def __init__(self, ngram_range: tuple[int, int] = (1, 2), min_df: int = 1, sublinear_tf: bool = True) -> None:
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.sublinear_tf = sublinear_tf

    @staticmethod
    def _tokens(texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
        flat: list[str] = []
        indptr = [0]
        for text in texts:
            flat.extend(_WORD_RE.findall(text.lower()))
            indptr.append(len(flat))
        return flat, np.asarray(indptr, dtype=np.int64)

    @staticmethod
    def _pairs(indptr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions i whose (i, i+1) is a bigram inside one text, and the text of every position."""
        lengths = np.diff(indptr)
        rows = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
        first = np.arange(max(0, int(indptr[-1]) - 1), dtype=np.int64)
        return first[rows[first] == rows[first + 1]] if len(first) else first, rows

    def _matrix(self, rows: np.ndarray, cols: np.ndarray, n: int, m: int) -> sp.csr_matrix:
        C = sp.csr_matrix((np.ones(len(cols)), (rows, cols)), shape=(n, m))
        C.sum_duplicates()
        return C

    def fit_transform(self, texts: Sequence[str], y: Any = None) -> sp.csr_matrix:
        lo, hi = self.ngram_range
        if (lo, hi) not in ((1, 1), (1, 2), (2, 2)):
            raise ValueError(f"WordTfidf supports word n-grams up to 2, not {self.ngram_range}")
        flat, indptr = self._tokens(texts)
        tokens = list(dict.fromkeys(flat))
        ids = {t: i for i, t in enumerate(tokens)}
        tok = np.fromiter(map(ids.__getitem__, flat), dtype=np.int64, count=len(flat))
        pos, rows = self._pairs(indptr)
        V = len(tokens)
        rows_all, cols_all, names = [], [], []
        if lo == 1:
            rows_all.append(rows)
            cols_all.append(tok)
            names.extend(tokens)
        codes = np.zeros(0, dtype=np.int64)
        if hi == 2:
            codes, inv = np.unique(tok[pos] * V + tok[pos + 1], return_inverse=True)
            rows_all.append(rows[pos])
            cols_all.append(inv.ravel() + len(names))
            names.extend(f"{tokens[c // V]} {tokens[c % V]}" for c in codes.tolist())
        C = self._matrix(np.concatenate(rows_all), np.concatenate(cols_all), len(texts), len(names))
        df = np.bincount(C.indices, minlength=len(names))
        keep = np.flatnonzero(df >= max(1, int(self.min_df)))
        order = np.array(sorted(keep.tolist(), key=names.__getitem__), dtype=np.int64)
        self.vocabulary_ = {names[i]: k for k, i in enumerate(order.tolist())}
        col_of = np.full(len(names), -1, dtype=np.int64)
        col_of[order] = np.arange(len(order))
        # For transform: the tokens (ids) that occur in kept n-grams, each token's unigram column, and the kept
        # bigrams as sorted integer codes over those ids.
        n_uni = V if lo == 1 else 0
        used = np.zeros(V, dtype=bool)
        if lo == 1:
            used |= col_of[:V] >= 0
        big_keep = np.flatnonzero(col_of[n_uni:] >= 0) if hi == 2 else np.zeros(0, dtype=np.int64)
        a, b = codes[big_keep] // V, codes[big_keep] % V
        used[a] = True
        used[b] = True
        new_id = np.full(V, -1, dtype=np.int64)
        new_id[used] = np.arange(int(used.sum()))
        W = int(used.sum())
        self._ids = {tokens[i]: int(new_id[i]) for i in np.flatnonzero(used).tolist()}
        self._uni_col = col_of[:V][used] if lo == 1 else np.full(W, -1, dtype=np.int64)
        big_codes = new_id[a] * max(W, 1) + new_id[b]
        srt = np.argsort(big_codes, kind="stable")
        self._big_codes = big_codes[srt]
        self._big_cols = col_of[n_uni + big_keep][srt]
        C = C[:, order]
        C.sort_indices()
        self._tfidf = TfidfTransformer(sublinear_tf=self.sublinear_tf)
        return self._tfidf.fit_transform(C)

    def fit(self, texts: Sequence[str], y: Any = None) -> WordTfidf:
        self.fit_transform(texts)
        return self

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        if not hasattr(self, "_tfidf"):
            raise RuntimeError("WordTfidf.transform called before fit")
        flat, indptr = self._tokens(texts)
        get = self._ids.get
        tok = np.fromiter((get(t, -1) for t in flat), dtype=np.int64, count=len(flat))
        pos, rows = self._pairs(indptr)
        W = max(len(self._ids), 1)
        uni = self._uni_col[tok[tok >= 0]] if len(self._uni_col) else np.zeros(0, dtype=np.int64)
        uni_rows = rows[tok >= 0]
        ok = uni >= 0
        rows_all, cols_all = [uni_rows[ok]], [uni[ok]]
        if len(self._big_codes):
            pos = pos[(tok[pos] >= 0) & (tok[pos + 1] >= 0)]
            codes = tok[pos] * W + tok[pos + 1]
            at = np.minimum(np.searchsorted(self._big_codes, codes), len(self._big_codes) - 1)
            hit = self._big_codes[at] == codes
            rows_all.append(rows[pos[hit]])
            cols_all.append(self._big_cols[at[hit]])
        C = self._matrix(np.concatenate(rows_all), np.concatenate(cols_all), len(texts), len(self.vocabulary_))
        return self._tfidf.transform(C)

    @property
    def idf_(self) -> np.ndarray:
        return self._tfidf.idf_


class CharWbTfidf(BaseEstimator):
    """Character n-grams inside word boundaries (sklearn's analyzer='char_wb'), TF-IDF weighted: the same
    features and values as TfidfVectorizer(analyzer='char_wb', lowercase=True, sublinear_tf=True), computed
    many times faster.

    A text's char_wb n-grams are the n-grams of its whitespace-separated tokens, each padded with one space,
    so the count matrix is (text x token counts) @ (token x n-gram counts): n-grams are generated once per
    distinct token instead of once per occurrence, and the sum is one sparse product.
    """

    def __init__(self, ngram_range: tuple[int, int] = (2, 5), min_df: int = 1, sublinear_tf: bool = True) -> None:
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.sublinear_tf = sublinear_tf

    # -- pickling: the per-token cache is a speed-up only, rebuilt on demand
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_cache", None)
        return state

    def _ngrams(self, token: str) -> list[str]:
        w = f" {token} "
        w_len = len(w)
        lo, hi = self.ngram_range
        out = [w[i:i + n] for n in range(lo, min(hi, w_len - 1) + 1) for i in range(w_len - n + 1)]
        if hi >= w_len:
            out.append(w)  # a word shorter than the longest n-gram counts once as itself (as sklearn does)
        return out

    @staticmethod
    def _token_counts(texts: Sequence[str]) -> tuple[sp.csr_matrix, list[str]]:
        """(texts x distinct tokens) counts of the lower-cased whitespace tokens, and the tokens."""
        flat: list[str] = []
        indptr = [0]
        for text in texts:
            flat.extend(text.lower().split())
            indptr.append(len(flat))
        tokens = list(dict.fromkeys(flat))
        ids = {t: i for i, t in enumerate(tokens)}
        indices = np.fromiter(map(ids.__getitem__, flat), dtype=np.int64, count=len(flat))
        T = sp.csr_matrix((np.ones(len(flat)), indices, np.asarray(indptr, dtype=np.int64)),
                          shape=(len(texts), len(tokens)))
        T.sum_duplicates()
        return T, tokens

    def _columns(self, tokens: list[str]) -> sp.csr_matrix:
        """(tokens x vocabulary) n-gram counts; n-grams outside the vocabulary are dropped."""
        cache = self.__dict__.setdefault("_cache", {})
        if len(cache) > 500_000:
            cache.clear()
        vocab = self.vocabulary_
        parts = []
        for t in tokens:
            cols = cache.get(t)
            if cols is None:
                cols = np.fromiter((j for j in map(vocab.get, self._ngrams(t)) if j is not None), dtype=np.int64)
                cache[t] = cols
            parts.append(cols)
        lengths = np.fromiter((len(p) for p in parts), dtype=np.int64, count=len(parts))
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        indices = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        M = sp.csr_matrix((np.ones(len(indices)), indices, indptr), shape=(len(tokens), len(vocab)))
        M.sum_duplicates()
        return M

    def _counts(self, texts: Sequence[str]) -> sp.csr_matrix:
        T, tokens = self._token_counts(texts)
        return (T @ self._columns(tokens)).tocsr()

    def fit_transform(self, texts: Sequence[str], y: Any = None) -> sp.csr_matrix:
        T, tokens = self._token_counts(texts)
        # All n-grams of the training tokens, then those in at least min_df texts, in sorted order.
        flat: list[str] = []
        lengths = np.zeros(len(tokens), dtype=np.int64)
        for k, t in enumerate(tokens):
            g = self._ngrams(t)
            flat.extend(g)
            lengths[k] = len(g)
        grams = {g: i for i, g in enumerate(dict.fromkeys(flat))}
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        indices = np.fromiter(map(grams.__getitem__, flat), dtype=np.int64, count=len(flat))
        M = sp.csr_matrix((np.ones(len(indices)), indices, indptr), shape=(len(tokens), len(grams)))
        M.sum_duplicates()
        C = (T @ M).tocsr()
        df = np.bincount(C.indices, minlength=len(grams))
        names = np.array(list(grams), dtype=object)
        keep = np.flatnonzero(df >= max(1, int(self.min_df)))
        order = np.array(sorted(keep.tolist(), key=names.__getitem__), dtype=np.int64)
        self.vocabulary_ = {str(g): i for i, g in enumerate(names[order])}
        C = C[:, order]
        C.sort_indices()
        # Seed the per-token cache with the training tokens (their n-grams remapped to the kept columns).
        remap = np.full(len(grams), -1, dtype=np.int64)
        remap[order] = np.arange(len(order))
        mapped = remap[indices]
        cache: dict[str, np.ndarray] = {}
        for t, a, b in zip(tokens, indptr[:-1].tolist(), indptr[1:].tolist(), strict=True):
            cols = mapped[a:b]
            cache[t] = cols[cols >= 0]
        self._cache = cache
        self._tfidf = TfidfTransformer(sublinear_tf=self.sublinear_tf)
        return self._tfidf.fit_transform(C)

    def fit(self, texts: Sequence[str], y: Any = None) -> CharWbTfidf:
        self.fit_transform(texts)
        return self

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        if not hasattr(self, "_tfidf"):
            raise RuntimeError("CharWbTfidf.transform called before fit")
        return self._tfidf.transform(self._counts(texts))

    @property
    def idf_(self) -> np.ndarray:
        return self._tfidf.idf_

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        names = np.empty(len(self.vocabulary_), dtype=object)
        for g, i in self.vocabulary_.items():
            names[i] = g
        return names


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
        self.word: WordTfidf | None = None
        self.char: CharWbTfidf | None = None
        self.topic: TfidfVectorizer | None = None
        self.n_text_features = 0

    def _make(self) -> None:
        self.word = WordTfidf(self.word_ngrams, min_df=self.min_df)
        self.char = CharWbTfidf(self.char_ngrams, min_df=self.min_df) if self.char_ngrams else None
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
