"""Active learning: order sentences by model uncertainty while keeping each batch diverse.

Plain uncertainty sampling tends to serve runs of near-identical sentences (the same boilerplate or the
same quote in many articles); labelling twenty of them teaches the model little more than labelling one.
Each batch is therefore drawn from the most uncertain candidates so that it spreads over the text space:
by uncertainty-weighted k-means (the app's queue, see QUEUE_STRATEGY) or greedily, penalising a candidate by its
highest cosine similarity (hashed word uni+bigrams) to what the batch already holds.

Before any model exists there is no uncertainty to order by, and the first labels decide how good the first
model is. "Most uncertain first" then starts with a representative batch (`representative_picks`, COLD_START):
k-means on the bundled sentence embedding, the sentence nearest each centre (cold-start selection by
clustering, as in Zhdanov 2019 and the "representative" cold starts of Yuan et al. 2020), so the first model
sees every region of the corpus instead of what happens to come first.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from label_app.errors import BadInput

# The app's "most uncertain first" queue and bench/active_learning use exactly these settings: margin uncertainty
# (1 - (p1 - p2), joined over the tasks by Prediction.uncertainty), batches of 50 (one simulated round of
# labels) chosen by uncertainty-weighted k-means among the 500 most uncertain open sentences (Zhdanov 2019).
QUEUE_STRATEGY: dict = {"selection": "kmeans", "batch_size": 50, "pool_factor": 10, "diversity": 0.5}

# Without a model, 'most uncertain first' serves this many representative sentences first (one round of labels,
# as QUEUE_STRATEGY's batch), chosen among at most `sample` open sentences: a seeded sample bounds the cost on
# large corpora (Queue.set_representative: 2.0 s at 7,600 AG News texts, 3.2 s at 106,000 with 10,000 sampled, on
# 2 cores at load average 2; 4.9 s with 20,000 sampled).
# Chosen on AG News dev seeds 0-9 and checked on 10-29 (bench/active_learning/run.py against --shared-start):
# macro-F1 of the first model 0.772 vs 0.693 from 50 random labels (seeds 0-9).
COLD_START: dict = {"size": 50, "sample": 10000}

# 2**14 hashed features: k-means over 500 sentences takes ~0.07 s instead of ~1.8 s at 2**18 (dense centres
# scale with the width), and a few collisions among a pool's ~15k n-grams barely move cosine similarities.
HASH_FEATURES = 2**14


def _vectors(texts: Sequence[str]):  # noqa: ANN202 - scipy sparse matrix
    from sklearn.feature_extraction.text import HashingVectorizer

    # Stateless hashing: no fit, so each batch's candidates are vectorised on their own, in any order.
    vec = HashingVectorizer(n_features=HASH_FEATURES, ngram_range=(1, 2), alternate_sign=False, norm="l2",
                            lowercase=True)
    return vec.transform(list(texts))


def margin_of(probs: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
    """Per row, the gap between the two largest probabilities (1 for a single-class row)."""
    p = np.asarray(probs, dtype=float)
    if p.shape[1] < 2:
        return np.ones(p.shape[0])
    top2 = np.sort(p, axis=1)[:, -2:]
    return top2[:, 1] - top2[:, 0]


def joint_uncertainty(*task_probs: np.ndarray | Sequence[Sequence[float]] | None) -> np.ndarray:
    """1 - product over the tasks of each task's margin (p1 - p2): 0 when every task is sure of its label, 1 when
    any task has a tie at the top. One task: its margin uncertainty. Tasks given as None are left out."""
    probs = [np.asarray(p, dtype=float) for p in task_probs if p is not None]
    if not probs:
        return np.zeros(0)
    sure = np.ones(probs[0].shape[0])
    for p in probs:
        sure = sure * margin_of(p)
    return np.clip(1.0 - sure, 0.0, 1.0)


def representation_vectors(texts: Sequence[str]):  # noqa: ANN201 - numpy array or scipy sparse matrix
    """Unit-length vectors for `texts`: the bundled static sentence embedding (train.features.StaticEmbedding,
    (n, 256) float) when the optional package is installed, else hashed word uni+bigrams ((n, HASH_FEATURES)
    sparse), so the cold start works without it."""
    from train.features import EmbeddingUnavailable, StaticEmbedding

    try:
        return StaticEmbedding().fit().transform(list(texts))
    except EmbeddingUnavailable:
        return _vectors(texts)


def representative_picks(texts: Sequence[str], size: int = 50, seed: int = 0, sample: int | None = 10000,
                         vectors=None) -> list[int]:  # noqa: ANN001 - array or scipy sparse matrix
    """Indices into `texts` of up to `size` representative texts, the largest group first.

    k-means with `size` clusters on `vectors` (default: representation_vectors(texts)), and per cluster the
    text nearest its centre; clusters in decreasing size (ties: the smaller cluster number first). Empty clusters
    (duplicate texts) leave their places to the first texts in index order not yet taken, so exactly
    min(size, len(texts)) distinct indices come back.
    With more than `sample` texts, the clusters are fitted on a seeded random sample of that many. `seed`
    fixes the sample and the k-means initialisation (the app uses 0). Raises BadInput for size < 1.
    """
    if size < 1:
        raise BadInput(f"representative_picks: size must be >= 1, got {size}")
    n = len(texts)
    if n <= size:
        return list(range(n))
    cand = np.arange(n)
    if sample is not None and n > sample:
        cand = np.sort(np.random.default_rng(seed).choice(n, size=sample, replace=False))
    X = representation_vectors([texts[i] for i in cand]) if vectors is None else vectors[cand]
    import warnings

    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # fewer distinct texts than clusters (duplicates)
        km = KMeans(n_clusters=size, n_init=1, random_state=seed).fit(X)
    dist = km.transform(X)
    sizes = np.bincount(km.labels_, minlength=size)
    picks: list[int] = []
    for c in sorted(range(size), key=lambda c: (-sizes[c], c)):
        members = np.flatnonzero(km.labels_ == c)
        if len(members):
            picks.append(int(cand[members[np.argmin(dist[members, c])]]))
    taken = set(picks)
    picks.extend([i for i in range(n) if i not in taken][: size - len(picks)])
    return picks


SELECTIONS = ("greedy", "kmeans")


def _kmeans_picks(vecs, base: np.ndarray, take: int) -> list[int]:  # noqa: ANN001 - scipy sparse matrix
    """Indices (into the pool) of the most uncertain member of each of `take` weighted k-means clusters."""
    if take >= vecs.shape[0]:
        return sorted(range(vecs.shape[0]), key=lambda j: (-base[j], j))
    import warnings

    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning

    weights = np.maximum(base, 1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # fewer distinct texts than clusters (duplicates)
        km = KMeans(n_clusters=take, n_init=1, random_state=0).fit(vecs, sample_weight=weights)
    picks: list[int] = []
    for c in range(take):
        members = np.flatnonzero(km.labels_ == c)
        if len(members):
            picks.append(int(members[np.lexsort((members, -base[members]))[0]]))
    # Empty clusters (duplicates) leave gaps: fill them with the most uncertain sentences not yet taken.
    rest = [j for j in np.lexsort((np.arange(len(base)), -base)) if j not in set(picks)]
    picks.extend(int(j) for j in rest[: take - len(picks)])
    return sorted(picks, key=lambda j: (-base[j], j))


def uncertainty_order(
    sentence_ids: Sequence[str],
    texts: Sequence[str],
    uncertainty: Sequence[float | None],
    batch_size: int = 20,
    diversity: float = 0.5,
    pool_factor: int = 5,
    limit: int | None = None,
    *,
    selection: str = "greedy",
) -> list[str]:
    """Sentence ids, most uncertain first, each batch of `batch_size` kept diverse.

    A batch is filled greedily from the `pool_factor * batch_size` most uncertain remaining sentences:
    score = uncertainty (in [0, 1]) - `diversity` * (max cosine similarity to the sentences already in
    the batch), so a near-duplicate must be `diversity` more uncertain than a fresh sentence to be chosen. `diversity=0` is plain uncertainty order. Missing or NaN uncertainty
    sorts last. With `limit`, only the first `limit` ids are chosen that way; the rest follow in plain
    uncertainty order (cheap for a queue that only needs the next batches).

    `selection="kmeans"` (keyword only) fills each batch by clustering instead (Zhdanov 2019, "diverse
    mini-batch active learning"): the pool is split into `take` clusters by uncertainty-weighted k-means on the
    same text vectors and the most uncertain sentence of each cluster is taken, batch ordered by uncertainty;
    `diversity` then only switches it on (0 = plain order).
    """
    n = len(sentence_ids)
    if len(texts) != n or len(uncertainty) != n:
        raise BadInput(f"uncertainty_order: {n} ids, {len(texts)} texts, {len(uncertainty)} uncertainties")
    if batch_size < 1 or pool_factor < 1:
        raise BadInput(f"uncertainty_order: batch_size ({batch_size}) and pool_factor ({pool_factor}) must be >= 1")
    if not math.isfinite(diversity) or diversity < 0:
        raise BadInput(f"uncertainty_order: diversity must be a number >= 0, got {diversity!r}")
    if selection not in SELECTIONS:
        raise BadInput(f"uncertainty_order: selection must be one of {SELECTIONS}, got {selection!r}")
    u = np.array([np.nan if v is None else float(v) for v in uncertainty], dtype=float)
    known = ~np.isnan(u)
    # Stable sort: ties keep the caller's order (article order), NaN after every known value.
    order = np.lexsort((np.arange(n), -np.where(known, u, -np.inf), ~known))
    if diversity == 0 or n <= 1:
        return [sentence_ids[i] for i in order]
    stop = n if limit is None else max(0, min(n, limit))
    pool_size = batch_size * pool_factor
    # Uncertainties are expected in [0, 1]; larger scales (e.g. raw entropy) are brought into that range.
    scale = max(1.0, float(np.nanmax(u))) if known.any() else 1.0
    # Vectorise everything once when most of the list gets the greedy treatment, else pool by pool.
    all_vecs = _vectors(texts) if stop * pool_factor >= n else None
    chosen: list[int] = []
    carry: list[int] = []  # candidates of the last pool that were not taken, still in uncertainty order
    ptr = 0
    while len(chosen) < stop and (carry or ptr < n):
        fresh = [int(i) for i in order[ptr: ptr + pool_size - len(carry)]]
        ptr += len(fresh)
        pool = np.array(carry + fresh)
        take = min(batch_size, len(pool), stop - len(chosen))
        vecs = all_vecs[pool] if all_vecs is not None else _vectors([texts[i] for i in pool])
        base = np.nan_to_num(u[pool], nan=0.0) / scale
        if selection == "kmeans":
            picks = _kmeans_picks(vecs, base, take)
            chosen.extend(int(pool[j]) for j in picks)
            taken = set(picks)
            carry = [int(p) for j, p in enumerate(pool) if j not in taken]
            continue
        sims = (vecs @ vecs.T).toarray()
        max_sim = np.zeros(len(pool))
        picked = np.zeros(len(pool), dtype=bool)
        for _ in range(take):
            score = np.where(picked, -np.inf, base - diversity * max_sim)
            j = int(np.argmax(score))  # first maximum: ties go to the more uncertain candidate
            picked[j] = True
            chosen.append(int(pool[j]))
            max_sim = np.maximum(max_sim, sims[j])
        carry = [int(i) for i, p in zip(pool, picked, strict=True) if not p]
    chosen_set = set(chosen)
    chosen.extend(i for i in order if i not in chosen_set)
    return [sentence_ids[i] for i in chosen]


__all__ = ["COLD_START", "HASH_FEATURES", "QUEUE_STRATEGY", "SELECTIONS", "joint_uncertainty", "margin_of",
           "representation_vectors", "representative_picks", "uncertainty_order"]
