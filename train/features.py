"""Text features: word and character n-gram TF-IDF, a bundled static sentence embedding (wordllama), and the
two ways the stance task is conditioned on its topic (pooled with topic x word features, or one block per topic)."""

from __future__ import annotations

import hashlib
import os
import re
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import TfidfTransformer, TfidfVectorizer

from .forking import can_fork, fork_pool

WORD_PATTERN = r"(?u)\b\w+\b"
_WORD_RE = re.compile(WORD_PATTERN)
# Joins topic and text into one string for the interaction vectorizer; never occurs in real text.
_SEP = "\x1f"
NO_TOPIC = "__none__"


# The last batch tokenized into words (WordTfidf._tokens): (texts as a tuple, (tokens, indptr)). Callers must not
# change the returned list.
_LAST_TOKENS: list[Any] = [(None, None)]
_CACHE_MAX_TEXTS = 5_000


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
        """The lower-cased word tokens of all texts in one list, and where each text's start (len(texts) + 1)."""
        # The word and the topic x word features of one batch tokenize the same texts: the second is a lookup.
        key = tuple(texts)
        hit = _LAST_TOKENS[0]  # one read: another thread may replace the entry meanwhile
        if hit[0] == key:
            return hit[1]
        flat: list[str] = []
        indptr = [0]
        for text in texts:
            flat.extend(_WORD_RE.findall(text.lower()))
            indptr.append(len(flat))
        out = (flat, np.asarray(indptr, dtype=np.int64))
        _LAST_TOKENS[0] = (key, out) if len(key) <= _CACHE_MAX_TEXTS else (None, None)
        return out

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


class TopicWordTfidf(BaseEstimator):
    """Topic x word features, TF-IDF weighted: for a text under topic T, the tokens "@topic=T", "T|w" per word and
    "T|a b" per word bigram (TopicWordTokens; no topic is NO_TOPIC). The same features and values as
    TfidfVectorizer(analyzer=TopicWordTokens(), sublinear_tf=True) over "topic<US>text" documents, computed from
    integer codes (topic, word[, word]) instead of building a string per token.

    Takes texts and topics side by side: `fit_transform(texts, topics)`, `transform(texts, topics)`."""

    def __init__(self, sublinear_tf: bool = True) -> None:
        self.sublinear_tf = sublinear_tf

    def _codes(self, texts: Sequence[str], topics: Sequence[str | None], topic_ids: dict[str, int],
               word_ids: dict[str, int], grow: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                                              np.ndarray, np.ndarray]:
        """(row, topic) of every text, (row, unigram code) and (row, bigram code) of every token; -1 = unknown."""
        if len(topics) != len(texts):
            raise ValueError(f"{len(topics)} topics for {len(texts)} texts")
        get_t = topic_ids.setdefault if grow else topic_ids.get
        t_of = np.fromiter((get_t(t or NO_TOPIC, len(topic_ids)) if grow else get_t(t or NO_TOPIC, -1)
                            for t in topics), dtype=np.int64, count=len(topics))
        flat, indptr = WordTfidf._tokens(texts)
        if grow:
            tok = np.fromiter((word_ids.setdefault(w, len(word_ids)) for w in flat), dtype=np.int64, count=len(flat))
        else:
            tok = np.fromiter((word_ids.get(w, -1) for w in flat), dtype=np.int64, count=len(flat))
        pos, rows = WordTfidf._pairs(indptr)
        V = max(len(word_ids), 1)
        t_rows = t_of[rows]
        ok = (tok >= 0) & (t_rows >= 0)
        uni = np.where(ok, t_rows * V + tok, -1)
        a, b = tok[pos], tok[pos + 1]
        ok2 = (a >= 0) & (b >= 0) & (t_rows[pos] >= 0)
        big = np.where(ok2, (t_rows[pos] * V + a) * V + b, -1)
        return t_of, rows, uni, rows[pos], big, np.arange(len(texts))

    def fit_transform(self, texts: Sequence[str], topics: Sequence[str | None]) -> sp.csr_matrix:
        """Learn the vocabulary and IDF from `texts` under `topics` (same length; None = no topic) and return
        their (len(texts), len(vocabulary_)) TF-IDF matrix, rows of unit length. Raises ValueError on a length
        mismatch."""
        topic_ids: dict[str, int] = {}
        word_ids: dict[str, int] = {}
        t_of, rows, uni, b_rows, big, trow = self._codes(texts, topics, topic_ids, word_ids, grow=True)
        V = max(len(word_ids), 1)
        topic_names = list(topic_ids)
        words = list(word_ids)
        u_codes, u_inv = np.unique(uni, return_inverse=True)
        b_codes, b_inv = np.unique(big, return_inverse=True)
        names = [f"@topic={t}" for t in topic_names]
        names += [f"{topic_names[c // V]}|{words[c % V]}" for c in u_codes.tolist()]
        names += [f"{topic_names[c // V // V]}|{words[c // V % V]} {words[c % V]}" for c in b_codes.tolist()]
        order = sorted(range(len(names)), key=names.__getitem__)
        col_of = np.empty(len(names), dtype=np.int64)
        col_of[np.asarray(order, dtype=np.int64)] = np.arange(len(names))
        self.vocabulary_ = {names[i]: k for k, i in enumerate(order)}
        K, U = len(topic_names), len(u_codes)
        self._topic_ids, self._word_ids = topic_ids, word_ids
        self._topic_cols = col_of[:K]
        self._uni_codes, self._uni_cols = u_codes, col_of[K:K + U]
        self._big_codes, self._big_cols = b_codes, col_of[K + U:]
        C = self._matrix(trow, self._topic_cols[t_of], rows, self._uni_cols[u_inv.ravel()], b_rows,
                         self._big_cols[b_inv.ravel()], len(texts))
        self._tfidf = TfidfTransformer(sublinear_tf=self.sublinear_tf)
        return self._tfidf.fit_transform(C)

    def _matrix(self, trow: np.ndarray, tcol: np.ndarray, rows: np.ndarray, cols: np.ndarray, b_rows: np.ndarray,
                b_cols: np.ndarray, n: int) -> sp.csr_matrix:
        r = np.concatenate([trow, rows, b_rows])
        c = np.concatenate([tcol, cols, b_cols])
        keep = c >= 0
        C = sp.csr_matrix((np.ones(int(keep.sum())), (r[keep], c[keep])), shape=(n, len(self.vocabulary_)))
        C.sum_duplicates()
        return C

    @staticmethod
    def _lookup(codes: np.ndarray, known: np.ndarray, cols: np.ndarray) -> np.ndarray:
        if not len(known):
            return np.full(len(codes), -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(known, codes), len(known) - 1)
        return np.where((codes >= 0) & (known[at] == codes), cols[at], -1)

    def transform(self, texts: Sequence[str], topics: Sequence[str | None]) -> sp.csr_matrix:
        """The (len(texts), len(vocabulary_)) TF-IDF matrix of new texts; topics and words never seen in fitting
        add nothing. Raises RuntimeError before fit_transform, ValueError on a length mismatch."""
        if not hasattr(self, "_tfidf"):
            raise RuntimeError("TopicWordTfidf.transform called before fit")
        t_of, rows, uni, b_rows, big, trow = self._codes(texts, topics, self._topic_ids, self._word_ids, grow=False)
        tcol = np.where(t_of >= 0, self._topic_cols[np.maximum(t_of, 0)], -1) if len(t_of) else t_of
        C = self._matrix(trow, tcol, rows, self._lookup(uni, self._uni_codes, self._uni_cols), b_rows,
                         self._lookup(big, self._big_codes, self._big_cols), len(texts))
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


# ---------------------------------------------------------------- static sentence embedding (optional package)

EMBEDDING_PACKAGE = "wordllama"
EMBEDDING_CONFIG = "l2_supercat"
EMBEDDING_DIM = 256
_EMBEDDERS: dict[str, Any] = {}
_NOTED: set[str] = set()
# The last batch embedded: topic and stance models that both use the embedding get the same texts in one
# predict call, so the second is a lookup. Keyed by the texts themselves (cheap: str hashes are cached).
_LAST_BATCH: list[Any] = [(None, None)]


class EmbeddingUnavailable(RuntimeError):
    """The optional embedding package cannot be used; the message is the one-line note shown to the user."""


def _weights_path(package_dir: Any) -> Any:
    from pathlib import Path

    return Path(package_dir) / "weights" / f"{EMBEDDING_CONFIG}_{EMBEDDING_DIM}.safetensors"


def load_embedder() -> tuple[Any, dict[str, str]]:
    """wordllama's bundled 256-dim model, loaded from the wheel's own folder with downloads disabled, and its
    identity {package, version, weights, sha256}. Raises EmbeddingUnavailable (never downloads anything)."""
    if "model" in _EMBEDDERS:
        return _EMBEDDERS["model"], _EMBEDDERS["info"]
    try:
        import wordllama
        from wordllama import WordLlama
    except Exception as exc:  # noqa: BLE001 - ImportError, or a broken install of its dependencies
        kind = "is not installed" if isinstance(exc, ImportError) else f"cannot be imported ({type(exc).__name__})"
        raise EmbeddingUnavailable(f"embedding features off: the optional package {EMBEDDING_PACKAGE!r} {kind}; "
                                   f"training on TF-IDF features only (pip install {EMBEDDING_PACKAGE} to add "
                                   "them)") from None
    from pathlib import Path

    # One tokenizer thread per process: training and pre-labeling already run one worker process per core.
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    folder = Path(wordllama.__file__).resolve().parent
    weights = _weights_path(folder)
    if not weights.is_file():
        raise EmbeddingUnavailable(f"embedding features off: {weights} is missing from the installed "
                                   f"{EMBEDDING_PACKAGE} package; training on TF-IDF features only")
    try:
        # Given its own package folder as cache folder, wordllama finds the weights and tokenizer it ships;
        # disable_download makes a missing file an error instead of a hub request.
        model = WordLlama.load(config=EMBEDDING_CONFIG, dim=EMBEDDING_DIM, cache_dir=folder, disable_download=True)
    except Exception as exc:  # noqa: BLE001
        raise EmbeddingUnavailable(f"embedding features off: {EMBEDDING_PACKAGE} could not load its bundled model "
                                   f"({type(exc).__name__}: {exc}); training on TF-IDF features only") from None
    h = hashlib.sha256()
    with open(weights, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    from importlib.metadata import version

    info = {"package": EMBEDDING_PACKAGE, "version": version(EMBEDDING_PACKAGE), "weights": weights.name,
            "dim": str(EMBEDDING_DIM), "sha256": h.hexdigest()}
    _EMBEDDERS.update(model=model, info=info)
    return model, info


def embedding_note() -> str | None:
    """None when the embedding can be used, else the one-line note (printed once per process on stderr)."""
    try:
        load_embedder()
        return None
    except EmbeddingUnavailable as exc:
        note = str(exc)
        if note not in _NOTED:
            _NOTED.add(note)
            from tqdm import tqdm

            tqdm.write(note, file=sys.stderr)  # on a line of its own, not inside a progress bar
        return note


def _mean_token_embedding(model: Any, texts: list[str], batch: int = 1024) -> np.ndarray:
    """wordllama's `embed(texts, norm=False)` (the mean of the texts' token vectors), computed as sparse count
    matrices times the embedding table: the same numbers (tested), without the padded (batch x longest text x
    256) array wordllama builds, which makes whole articles many times slower.

    Most texts are tokenized word by word with a per-process cache (`_word_token_ids`): the tokenizer (Llama's
    BPE after "prepend ▁, spaces to ▁", no pre-tokenizer) has no token with "▁" after another character, so no
    merge crosses a space and a text's tokens are its space-separated words' tokens, concatenated. Texts where
    that does not hold (leading, trailing or double spaces, a literal "▁", special-token markup) go through the
    tokenizer whole."""
    whole = [i for i, t in enumerate(texts) if not _word_wise(t)]
    if not whole:
        return _word_sums(model, texts)
    out = np.zeros((len(texts), model.embedding.shape[1]), dtype=np.float64)
    rest = np.setdiff1d(np.arange(len(texts)), whole)
    if len(rest):
        out[rest] = _word_sums(model, [texts[i] for i in rest.tolist()])
    out[whole] = _whole_text_sums(model, [texts[i] for i in whole], batch)
    return out


_SPECIAL_MARKUP = ("<s>", "</s>", "<unk>")
_WORD_IDS: dict[str, np.ndarray] = {}
_WORD_CACHE_MAX = 500_000


def _word_wise(text: str) -> bool:
    """True when `text` tokenizes as the concatenation of its space-separated words (see _mean_token_embedding)."""
    if not text or text[0] == " " or text[-1] == " " or "  " in text or "\u2581" in text:
        return False
    return "<" not in text or not any(m in text for m in _SPECIAL_MARKUP)


def _encode(tokenizer: Any, texts: list[str]) -> list[np.ndarray]:
    """Token ids of each text (no special tokens, padding masked out)."""
    enc = tokenizer.encode_batch(texts, add_special_tokens=False)
    return [np.asarray(e.ids, dtype=np.int64)[np.asarray(e.attention_mask, dtype=bool)] for e in enc]


def _without_padding(tokenizer: Any, fn: Any) -> Any:
    # wordllama's tokenizer pads every batch to its longest text; the sparse products need no padding. Padding
    # is switched off for the call and restored after it (a copy of the tokenizer costs half a second to make).
    # If another thread switches it back on meanwhile, results stay the same: padding is masked out in _encode.
    padding = tokenizer.padding
    if padding is not None:
        tokenizer.no_padding()
    try:
        return fn()
    finally:
        if padding is not None:
            tokenizer.enable_padding(**padding)


def _word_token_ids(tokenizer: Any, words: list[str], per_call: int = 4096) -> list[np.ndarray]:
    """Token ids of each word as it occurs after a space ("▁word"), from the per-process cache.

    New words are tokenized many at a time, joined by spaces, and the ids split back at the tokens that start
    with "▁" (each word's first token does, no later one can); the tokenizer's cost is per call, not per word."""
    if len(_WORD_IDS) > _WORD_CACHE_MAX:
        _WORD_IDS.clear()
    new = list(dict.fromkeys(w for w in words if w not in _WORD_IDS))
    if new:
        groups = [new[i:i + per_call] for i in range(0, len(new), per_call)]
        encoded = _without_padding(tokenizer, lambda: tokenizer.encode_batch([" ".join(g) for g in groups],
                                                                             add_special_tokens=False))
        for group, enc in zip(groups, encoded, strict=True):
            ids = np.asarray(enc.ids, dtype=np.int64)
            starts = np.flatnonzero([t.startswith("\u2581") for t in enc.tokens])
            if len(starts) != len(group) or (len(ids) and starts[0] != 0):
                # Not expected for words without spaces; encode them one by one rather than guess.
                for w, one in zip(group, _without_padding(tokenizer, lambda g=group: _encode(tokenizer, g)),
                                  strict=True):
                    _WORD_IDS[w] = one
                continue
            for w, part in zip(group, np.split(ids, starts[1:]), strict=True):
                _WORD_IDS[w] = part
    return [_WORD_IDS[w] for w in words]


def _counts_times_table(ids: list[np.ndarray], table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sum of the table rows of each id list, float64 (len(ids), dim); the lists' lengths)."""
    lengths = np.fromiter((len(i) for i in ids), dtype=np.int64, count=len(ids))
    flat = np.clip(np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64), 0, table.shape[0] - 1)
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    # float32 like the table: a float64 matrix would make scipy copy the whole table to float64 per call.
    C = sp.csr_matrix((np.ones(len(flat), dtype=np.float32), flat, indptr), shape=(len(ids), table.shape[0]))
    C.sum_duplicates()
    return np.asarray(C @ table, dtype=np.float64), lengths


def _word_sums(model: Any, texts: list[str]) -> np.ndarray:
    """Mean token vectors of texts that tokenize word by word: (texts x words) counts @ (words x dim) sums."""
    flat: list[str] = []
    indptr = [0]
    for text in texts:
        flat.extend(text.split(" "))
        indptr.append(len(flat))
    words = list(dict.fromkeys(flat))
    pos = {w: i for i, w in enumerate(words)}
    cols = np.fromiter(map(pos.__getitem__, flat), dtype=np.int64, count=len(flat))
    T = sp.csr_matrix((np.ones(len(flat)), cols, np.asarray(indptr, dtype=np.int64)), shape=(len(texts), len(words)))
    T.sum_duplicates()
    sums, lengths = _counts_times_table(_word_token_ids(model.tokenizer, words), model.embedding)
    n_tokens = T @ lengths.astype(np.float64)
    return np.asarray(T @ sums) / np.maximum(n_tokens, 1)[:, None]


def _whole_text_sums(model: Any, texts: list[str], batch: int) -> np.ndarray:
    out = np.zeros((len(texts), model.embedding.shape[1]), dtype=np.float64)
    tokenizer = model.tokenizer
    for start in range(0, len(texts), batch):
        ids = _without_padding(tokenizer, lambda s=start: _encode(tokenizer, texts[s:s + batch]))
        sums, lengths = _counts_times_table(ids, model.embedding)
        out[start:start + len(ids)] = sums / np.maximum(lengths, 1)[:, None]
    return out


class StaticEmbedding:
    """Mean-pooled static token embedding of each text (wordllama l2_supercat, 256 dims), L2-normalised.

    Only the identity of the weights is pickled (package, version, sha256), never the weights: they are loaded
    from the installed package, and a model whose weights differ from the ones it was trained with is refused
    (`check`)."""

    def __init__(self) -> None:
        self.info: dict[str, str] = {}

    def fit(self, texts: Sequence[str] | None = None) -> StaticEmbedding:
        self.info = dict(load_embedder()[1])
        return self

    def check(self) -> None:
        """Raise EmbeddingUnavailable unless the installed weights are the ones this model was trained with."""
        _, info = load_embedder()
        if info["sha256"] != self.info.get("sha256"):
            raise EmbeddingUnavailable(
                f"the installed {EMBEDDING_PACKAGE} {info['version']} weights ({info['sha256'][:12]}...) are not "
                f"the ones this model was trained with ({self.info.get('version')}, "
                f"{str(self.info.get('sha256'))[:12]}...)")

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), 256) float64, each row of unit length (an empty text gives a zero row)."""
        model, _ = load_embedder()
        if not len(texts):
            return np.zeros((0, EMBEDDING_DIM))
        key = tuple(texts)
        hit = _LAST_BATCH[0]  # one read: another thread may replace the entry meanwhile
        if hit[0] == key:
            return hit[1]
        E = _mean_token_embedding(model, list(key))
        norms = np.linalg.norm(E, axis=1, keepdims=True)
        E = np.divide(E, norms, out=np.zeros_like(E), where=norms > 0)
        E.setflags(write=False)  # shared by the callers of the same batch
        # Only prediction-sized batches are kept: a training set's matrix would pin memory for nothing.
        _LAST_BATCH[0] = (key, E) if len(key) <= _CACHE_MAX_TEXTS else (None, None)
        return E


def dense_to_csr(E: np.ndarray) -> sp.csr_matrix:
    """sp.csr_matrix(E) for a dense (n, d) array, built directly from its rows (scipy's conversion goes through
    a COO copy and costs about as much as computing the embedding)."""
    E = np.asarray(E, dtype=np.float64)
    n, d = E.shape
    X = sp.csr_matrix((E.ravel().copy(), np.tile(np.arange(d, dtype=np.int32), n),
                       np.arange(0, n * d + 1, d, dtype=np.int64)), shape=(n, d))
    X.eliminate_zeros()  # the same structure as scipy's conversion (an empty text's zero row holds nothing)
    return X


# The embedding job of a forked fit_parts: (StaticEmbedding, texts), inherited by the worker.
_EMBED_JOB: list[Any] = []


def _embed_job() -> np.ndarray:
    embedding, texts = _EMBED_JOB
    return np.asarray(embedding.transform(texts))


# ---------------------------------------------------------------- the feature family

FEATURE_SETS = ("tfidf", "embedding", "both")
# How the stance task sees its topic: "pooled" = one model over all topics with topic x word features added,
# "per_topic" = one model per topic (each topic's features in a block of their own, plus a per-topic bias).
TOPIC_MODES = ("pooled", "per_topic")


def _topic_docs(texts: Sequence[str], topics: Sequence[str | None]) -> list[str]:
    return [f"{t or NO_TOPIC}{_SEP}{x}" for x, t in zip(texts, topics, strict=True)]


def per_topic_blocks(X: sp.spmatrix, topic_idx: np.ndarray, n_topics: int) -> sp.csr_matrix:
    """Row i's features moved into block topic_idx[i] of n_topics blocks, plus a one-hot topic column (a bias
    per topic). A linear model over this is one model per topic (the loss and penalty separate by block).
    Rows with topic_idx -1 (a topic never seen in training) are all zero: they get the shared bias only."""
    X = sp.csr_matrix(X, dtype=np.float64)
    n, d = X.shape
    topic_idx = np.asarray(topic_idx, dtype=np.int64)
    known = topic_idx >= 0
    rows = np.repeat(np.arange(n), np.diff(X.indptr))
    keep = known[rows]
    cols = X.indices[keep] + topic_idx[rows[keep]] * d
    blocks = sp.csr_matrix((X.data[keep], (rows[keep], cols)), shape=(n, d * n_topics))
    bias = sp.csr_matrix((np.ones(int(known.sum())), (np.flatnonzero(known), topic_idx[known])),
                         shape=(n, n_topics))
    return sp.hstack([blocks, bias], format="csr")


class TextFeatures:
    """The features of one model of the family.

    feature_set: "tfidf" (word 1-2-gram + char_wb n-gram TF-IDF), "embedding" (StaticEmbedding) or "both"
    (their columns side by side; each part has unit length per row). topic_mode (stance only): None (text only),
    "pooled" (topic x word TF-IDF columns after the text columns) or "per_topic" (per_topic_blocks).
    `fit_parts` fits everything a family needs once; `view` gives each member, sharing the fitted parts.
    """

    def __init__(self, word_ngrams: tuple[int, int] = (1, 2), char_ngrams: tuple[int, int] | None = (2, 5),
                 min_df: int = 1, feature_set: str = "tfidf", topic_mode: str | None = None) -> None:
        if feature_set not in FEATURE_SETS:
            raise ValueError(f"unknown feature set {feature_set!r} (known: {', '.join(FEATURE_SETS)})")
        if topic_mode not in (None, *TOPIC_MODES):
            raise ValueError(f"unknown topic mode {topic_mode!r} (known: {', '.join(TOPIC_MODES)})")
        self.word_ngrams = tuple(word_ngrams)
        self.char_ngrams = tuple(char_ngrams) if char_ngrams else None
        self.min_df = min_df
        self.feature_set = feature_set
        self.topic_mode = topic_mode
        self.word: WordTfidf | None = None
        self.char: CharWbTfidf | None = None
        self.embedding: StaticEmbedding | None = None
        self.topic: TopicWordTfidf | TfidfVectorizer | None = None
        self.topics_: list[str] = []
        self.fitted = False

    # -- which parts a member uses
    def _uses(self, feature_set: str | None = None, topic_mode: str | None = "?") -> tuple[bool, bool, bool]:
        fs = feature_set or self.feature_set
        mode = self.topic_mode if topic_mode == "?" else topic_mode
        return fs in ("tfidf", "both"), fs in ("embedding", "both"), mode == "pooled"

    def fit_parts(self, texts: Sequence[str], topics: Sequence[str | None] | None = None,
                  feature_sets: Sequence[str] = ("tfidf",), topic_modes: Sequence[str | None] = (None,),
                  workers: int = 1) -> dict[str, sp.csr_matrix]:
        """Fit the vectorizers every (feature set, topic mode) listed needs, on `texts` (no labels are used), and
        return the parts' matrices {"tfidf", "embedding", "topic_word"} for those texts.

        With workers > 1 (and an OS that can fork), the embedding is computed in a forked process while this
        one computes the TF-IDF parts: the same matrices, in the time of the longer of the two."""
        need_tfidf = any(fs in ("tfidf", "both") for fs in feature_sets)
        need_emb = any(fs in ("embedding", "both") for fs in feature_sets)
        need_topic = "pooled" in topic_modes
        parts: dict[str, sp.csr_matrix] = {}
        pool = pending = None
        if need_emb:
            self.embedding = StaticEmbedding().fit(texts)  # loads the embedding here, before any fork
            if workers > 1 and need_tfidf and can_fork():
                _EMBED_JOB[:] = [self.embedding, list(texts)]
                pool = fork_pool(1)
                pending = pool.apply_async(_embed_job)
        try:
            if need_tfidf:
                self.word = WordTfidf(self.word_ngrams, min_df=self.min_df)
                tf = [self.word.fit_transform(texts)]
                if self.char_ngrams:
                    self.char = CharWbTfidf(self.char_ngrams, min_df=self.min_df)
                    tf.append(self.char.fit_transform(texts))
                parts["tfidf"] = sp.hstack(tf, format="csr")
            if need_emb:
                E = pending.get() if pending is not None else self.embedding.transform(texts)
                parts["embedding"] = dense_to_csr(E)
        finally:
            _EMBED_JOB.clear()
            if pool is not None:
                pool.terminate()
        if need_topic:
            # Topic tokens are rarer than words: min_df 1 keeps small topics' words usable.
            self.topic = TopicWordTfidf()
            parts["topic_word"] = self.topic.fit_transform(texts, topics or [None] * len(texts))
        self.topics_ = sorted({t for t in (topics or []) if t})
        self.fitted = True
        return parts

    def parts(self, texts: Sequence[str], topics: Sequence[str | None] | None = None) -> dict[str, sp.csr_matrix]:
        """The matrices of the parts this member uses, for new texts."""
        if not self.fitted:
            raise RuntimeError("TextFeatures.transform called before fit_transform")
        use_tfidf, use_emb, use_topic = self._uses()
        out: dict[str, sp.csr_matrix] = {}
        if use_tfidf:
            tf = [self.word.transform(texts)]
            if self.char is not None:
                tf.append(self.char.transform(texts))
            out["tfidf"] = sp.hstack(tf, format="csr")
        if use_emb:
            out["embedding"] = dense_to_csr(self.embedding.transform(texts))
        if use_topic:
            topics = topics or [None] * len(texts)
            if isinstance(self.topic, TopicWordTfidf):
                out["topic_word"] = self.topic.transform(texts, topics)
            else:  # a model saved before TopicWordTfidf: the string-building vectorizer it was fitted with
                out["topic_word"] = self.topic.transform(_topic_docs(texts, topics))
        return out

    def assemble(self, parts: dict[str, sp.csr_matrix], topics: Sequence[str | None] | None = None,
                 feature_set: str | None = None, topic_mode: str | None = "?") -> sp.csr_matrix:
        """One member's matrix from the parts' matrices (default: this object's own member)."""
        use_tfidf, use_emb, _ = self._uses(feature_set, topic_mode)
        mode = self.topic_mode if topic_mode == "?" else topic_mode
        base = [parts[k] for k, used in (("tfidf", use_tfidf), ("embedding", use_emb)) if used]
        X = sp.hstack(base, format="csr") if len(base) > 1 else base[0]
        if mode == "pooled":
            X = sp.hstack([X, parts["topic_word"]], format="csr")
        elif mode == "per_topic":
            pos = {t: i for i, t in enumerate(self.topics_)}
            idx = np.array([pos.get(t, -1) if t else -1 for t in (topics or [None] * X.shape[0])], dtype=np.int64)
            X = per_topic_blocks(X, idx, len(self.topics_))
        return X

    def fit_transform(self, texts: Sequence[str], topics: Sequence[str | None] | None = None) -> sp.csr_matrix:
        """Fit this member's parts on `texts` and return its feature matrix."""
        parts = self.fit_parts(texts, topics, (self.feature_set,), (self.topic_mode,))
        return self.assemble(parts, topics)

    def transform(self, texts: Sequence[str], topics: Sequence[str | None] | None = None) -> sp.csr_matrix:
        """The feature matrix of `texts` (topics are used only when the member is conditioned on them)."""
        return self.assemble(self.parts(texts, topics), topics)

    def view(self, feature_set: str, topic_mode: str | None) -> TextFeatures:
        """The member (feature_set, topic_mode) of a family fitted by fit_parts, sharing its fitted parts and
        keeping only those the member uses (so a saved model holds no unused vocabulary)."""
        twin = TextFeatures(self.word_ngrams, self.char_ngrams, self.min_df, feature_set, topic_mode)
        use_tfidf, use_emb, use_topic = twin._uses()
        twin.word, twin.char = (self.word, self.char) if use_tfidf else (None, None)
        twin.embedding = self.embedding if use_emb else None
        twin.topic = self.topic if use_topic else None
        twin.topics_ = list(self.topics_)
        twin.fitted = True
        return twin

    @property
    def uses_topic(self) -> bool:
        return self.topic_mode is not None

    def describe(self) -> str:
        names = {"tfidf": "word 1-2-gram + char_wb TF-IDF", "embedding": "wordllama 256-dim static embedding",
                 "both": "TF-IDF + wordllama embedding"}
        modes = {None: "", "pooled": ", pooled over topics with topic x word features",
                 "per_topic": ", one model per topic"}
        return names[self.feature_set] + modes[self.topic_mode]
