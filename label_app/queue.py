"""The annotation queue: which sentence an annotator sees next, in one of three orders.

State is a few numpy arrays over the queue positions (sentences in article order) plus one cursor per
(annotator, order, phase). Cursors only move past positions that stay passed (handled by that annotator,
or done for the project); a clear moves them back. So finding the next sentence costs work proportional
to the sentences passed since the last call plus the sentences leased to others, not to the corpus.

Claims (label_app.claims) keep a sentence shown to one annotator from being handed to another, in every
server process of the project when the queue is given a SharedClaims: each hand-out first reads the label
rows other processes appended (`sync`), then decides under the claims' cross-process lock. Overlap: a deterministic share
of the sentences (chosen by a hash of the sentence id, so every server process agrees) needs `overlap`
distinct annotators, the others one. With an overlap (2 or more), 'unlabelled' and 'uncertain' hand out only
sentences that still need an annotator; without one they go on to the rest. Nobody gets a sentence they
handled already.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Sequence

import numpy as np

from train.active import representative_picks, uncertainty_order

from .claims import ClaimLost, ClaimSession, MemoryClaims, SharedClaims
from .index import DONE_ACTIONS, HANDLED_ACTIONS, Change
from .settings import QUEUE_ORDERS

ORDERS = QUEUE_ORDERS
# which permutation of the queue positions each order walks
_PERM = {"article": "article", "unlabelled": "article", "uncertain": "uncertain"}


def minutes_text(minutes: float) -> str:
    """A lease as the app's messages give it: '1 minute', '1.5 minutes', '15 minutes'."""
    return f"{minutes:g} minute{'' if minutes == 1 else 's'}"


def in_overlap(sentence_id: str, share: float) -> bool:
    """Whether the sentence belongs to the overlapped share (stable across processes and restarts)."""
    if share >= 1.0:
        return True
    if share <= 0.0:
        return False
    h = int.from_bytes(hashlib.sha256(sentence_id.encode("utf-8")).digest()[:8], "big")
    return h / 2.0**64 < share


def annotators_needed(sentence_ids: Sequence[str], overlap: int, share: float = 1.0) -> np.ndarray:
    """Per sentence, how many distinct annotators it should get: `overlap` in the share, else 1."""
    if overlap <= 1:
        return np.ones(len(sentence_ids), dtype=np.int32)
    return np.array([overlap if in_overlap(s, share) else 1 for s in sentence_ids], dtype=np.int32)


def diverse_stretch(candidates: np.ndarray, texts: Sequence[str], uncertainty: np.ndarray, limit: int,
                    batch_size: int = 20, diversity: float = 0.5, pool_factor: int = 5,
                    selection: str = "greedy") -> np.ndarray:
    """The first `limit` of `candidates` (queue positions, most uncertain first) in diverse batches.

    uncertainty_order draws its first `limit` picks from at most the `limit + batch_size * pool_factor` most
    uncertain candidates, so only those are passed: the same picks as over the whole queue, at a cost that
    does not grow with the corpus.
    """
    top = candidates[: limit + batch_size * pool_factor]
    if not len(top):
        return top
    picked = uncertainty_order(list(range(len(top))), [texts[p] for p in top], uncertainty[top],
                               batch_size=batch_size, diversity=diversity, pool_factor=pool_factor, limit=limit,
                               selection=selection)
    return top[np.asarray(picked[:limit], dtype=int)]


class Queue:
    """Next-sentence selection over `sentence_ids` (article order), fed by the label index's changes.

    `claims`: where claims live (default: this process's memory; the app passes the project's SharedClaims).
    `sync`: called inside every claim transaction before deciding, to apply the label rows other processes
    appended (the app passes its LabelIndex.refresh, which feeds `apply`).
    """

    def __init__(self, sentence_ids: Sequence[str], overlap: int = 1, lease_seconds: float = 900.0,
                 overlap_share: float = 1.0, background: bool = False,
                 claims: MemoryClaims | SharedClaims | None = None, sync: Callable[[], object] | None = None
                 ) -> None:
        self.ids = list(sentence_ids)
        self.pos = {sid: i for i, sid in enumerate(self.ids)}
        n = len(self.ids)
        self.overlap = overlap
        self.need = annotators_needed(self.ids, overlap, overlap_share)
        self.n_done = np.zeros(n, dtype=np.int32)
        self.n_labelled = 0  # positions with n_done > 0, kept as a count so progress is O(1)
        self.n_handled: dict[str, int] = {}
        self.handled: dict[str, np.ndarray] = {}
        self.perm: dict[str, np.ndarray] = {"article": np.arange(n)}
        self.rank: dict[str, np.ndarray] = {"article": np.arange(n)}
        self.uncertainty_model: str | None = None
        # without a model, 'uncertain' may start with a representative batch (set_representative)
        self.representative: list[str] = []
        # diversified 'uncertain' order: perm["uncertain"][:diverse_end] is in diverse batches, the rest in plain
        # uncertainty order until the annotators get near it (see set_uncertainty)
        self.diverse_end = 0
        self.diversified = 0  # how many times a stretch was diversified (tests check it is not per action)
        self._u_values: np.ndarray | None = None
        self._u_texts: Sequence[str] | None = None
        self._u_params: tuple = (0.0, 20, 500, 5, "greedy")
        self.cursors: dict[tuple[str, str, int], int] = {}
        self.claims = claims if claims is not None else MemoryClaims(lease_seconds)
        self.sync = sync
        self._lock = threading.RLock()
        # background=True: later stretches of the 'uncertain' order are diversified in a thread, ahead of need
        self.background = background
        self._ahead: threading.Thread | None = None
        self._generation = 0  # bumped by set_uncertainty, so a stretch computed for an older order is dropped

    def __len__(self) -> int:
        return len(self.ids)

    # ------------------------------------------------------------ state updates

    def _mine(self, annotator: str) -> np.ndarray:
        arr = self.handled.get(annotator)
        if arr is None:
            arr = self.handled[annotator] = np.zeros(len(self.ids), dtype=bool)
        return arr

    def apply(self, changes: list[Change]) -> None:
        """Update from index changes (see LabelIndex.subscribe)."""
        with self._lock:
            for sid, who, old, new in changes:
                p = self.pos.get(sid)
                if p is None:
                    continue  # labels for texts outside the corpus (imports) have no queue position
                mine = self._mine(who)
                was_handled = bool(mine[p])
                mine[p] = new.action in HANDLED_ACTIONS
                self.n_handled[who] = self.n_handled.get(who, 0) + int(mine[p]) - int(was_handled)
                if was_handled and not mine[p]:
                    self._rewind(who, p)
                was_done = old is not None and old.action in DONE_ACTIONS
                is_done = new.action in DONE_ACTIONS
                if was_done != is_done:
                    self.n_done[p] += 1 if is_done else -1
                    if is_done and self.n_done[p] == 1:
                        self.n_labelled += 1
                    elif not is_done and self.n_done[p] == 0:
                        self.n_labelled -= 1
                    if was_done and self.n_done[p] < self.need[p]:
                        self._rewind(None, p)

    def _rewind(self, annotator: str | None, p: int) -> None:
        # A sentence became available again: cursors that passed it must see it.
        for key, cur in self.cursors.items():
            who, order, _phase = key
            if annotator is not None and who != annotator:
                continue
            r = int(self.rank[_PERM[order]][p])
            if r < cur:
                self.cursors[key] = r

    def set_uncertainty(self, model_id: str, uncertainty: np.ndarray, texts: Sequence[str] | None = None,
                        diversity: float = 0.5, batch_size: int = 20, step: int = 500, pool_factor: int = 5,
                        selection: str = "greedy") -> None:
        """Order for 'uncertain': highest uncertainty first (ties in article order).

        With `texts` (one per queue position), batches of `batch_size` are kept diverse
        (train.active.uncertainty_order with `pool_factor` and `selection`): the first `step` open sentences
        now, the next `step` when an annotator gets near the end of that stretch, so no call costs more than
        ordering `step` sentences. The app passes train.active.QUEUE_STRATEGY.
        """
        with self._lock:
            values = np.asarray(uncertainty, dtype=float)
            perm = np.argsort(-values, kind="stable")
            rank = np.empty_like(perm)
            rank[perm] = np.arange(len(perm))
            self.perm["uncertain"], self.rank["uncertain"] = perm, rank
            self.uncertainty_model = model_id
            self.representative = []
            self._generation += 1
            for key in [k for k in self.cursors if k[1] == "uncertain"]:
                del self.cursors[key]
            self._u_values, self._u_texts = values, texts
            self._u_params = (diversity, batch_size, step, pool_factor, selection)
            self.diverse_end = 0 if texts is not None and diversity > 0 else len(perm)
            if self.diverse_end < len(perm):
                self._diversify()

    def set_representative(self, texts: Sequence[str], size: int = 50, seed: int = 0, sample: int | None = 10000
                           ) -> list[str]:
        """Order for 'uncertain' while there is no model: a representative batch of `size` open sentences
        first (train.active.representative_picks: k-means on the sentence embedding, the sentence nearest
        each centre, largest cluster first), then every other sentence in article order. `texts`: one per queue
        position. Returns the batch's sentence ids. A later set_uncertainty (a model) replaces this order.
        The app passes train.active.COLD_START with seed 0.

        The clustering (a few seconds at 10,000 sentences) runs outside the queue's lock, so other annotators
        are served meanwhile; if a model's order arrived in the meantime, it is kept and nothing changes."""
        with self._lock:
            open_ = np.flatnonzero(self.n_done < self.need)
            generation = self._generation
        picks = open_[representative_picks([texts[p] for p in open_], size=size, seed=seed, sample=sample)]
        with self._lock:
            if generation != self._generation:
                return list(self.representative)
            rest = np.ones(len(self.ids), dtype=bool)
            rest[picks] = False
            perm = np.concatenate([picks, np.flatnonzero(rest)]).astype(np.int64)
            rank = np.empty_like(perm)
            rank[perm] = np.arange(len(perm))
            self.perm["uncertain"], self.rank["uncertain"] = perm, rank
            self.uncertainty_model = None
            self._generation += 1
            for key in [k for k in self.cursors if k[1] == "uncertain"]:
                del self.cursors[key]
            self._u_values, self._u_texts = None, None
            self.diverse_end = len(perm)  # nothing to diversify: no uncertainty yet
            self.representative = [self.ids[p] for p in picks]
            return list(self.representative)

    def _stretch_job(self) -> tuple:
        """What the next stretch is computed from (taken under the lock; the computation may run without it)."""
        perm = self.perm["uncertain"]
        start = self.diverse_end
        tail = perm[start:]
        # only sentences that still need an annotator make up the batches; the rest are passed over anyway
        open_ = tail[self.n_done[tail] < self.need[tail]]
        return self._generation, start, open_, self._u_texts or [], self._u_values, self._u_params

    @staticmethod
    def _compute_stretch(open_: np.ndarray, texts: Sequence[str], values: np.ndarray, params: tuple
                         ) -> np.ndarray | None:
        diversity, batch_size, step, pool_factor, selection = params
        return diverse_stretch(open_, texts, values, step, batch_size, diversity, pool_factor, selection)

    def _splice(self, generation: int, start: int, n_open: int, chosen: np.ndarray | None) -> None:
        """Put a computed stretch in place at `start`, unless the order moved on meanwhile (new model, or
        another stretch already there)."""
        if generation != self._generation or start != self.diverse_end:
            return
        perm = self.perm["uncertain"]
        tail = perm[start:]
        if chosen is None or n_open <= len(chosen):
            self.diverse_end = len(perm)  # nothing left that a later stretch would reorder
        else:
            self.diverse_end = start + len(chosen)
        if chosen is None or not len(chosen):
            return
        perm = np.concatenate([perm[:start], chosen, tail[~np.isin(tail, chosen)]])
        rank = np.empty_like(perm)
        rank[perm] = np.arange(len(perm))
        self.perm["uncertain"], self.rank["uncertain"] = perm, rank
        self.diversified += 1
        # positions before `start` did not move; a cursor past it would skip the reordered sentences
        for key, cur in self.cursors.items():
            if key[1] == "uncertain" and cur > start:
                self.cursors[key] = start

    def _diversify(self) -> None:
        """Reorder the next `step` open sentences after `diverse_end` into diverse batches, now."""
        generation, start, open_, texts, values, params = self._stretch_job()
        self._splice(generation, start, len(open_), self._compute_stretch(open_, texts, values, params))

    def _diversify_ahead(self, annotator: str) -> None:
        if self.diverse_end >= len(self.ids):
            return
        batch_size = self._u_params[1]
        cur = self.cursors.get((annotator, "uncertain", 1), 0)
        if not self.background:
            if cur + batch_size >= self.diverse_end:
                self._diversify()
            return
        # Two batches ahead, so the stretch (about a second with k-means) is ready before anyone gets there;
        # until then the queue goes on in plain uncertainty order rather than make an annotator wait.
        if cur + 2 * batch_size >= self.diverse_end and (self._ahead is None or not self._ahead.is_alive()):
            generation, start, open_, texts, values, params = self._stretch_job()

            def work() -> None:
                chosen = self._compute_stretch(open_, texts, values, params)
                with self._lock:
                    self._splice(generation, start, len(open_), chosen)

            self._ahead = threading.Thread(target=work, name="queue-diversify-ahead", daemon=True)
            self._ahead.start()

    def wait_ahead(self, timeout: float | None = None) -> None:
        """Wait for a stretch being diversified in the background (tests, benchmarks)."""
        t = self._ahead
        if t is not None:
            t.join(timeout)

    # ------------------------------------------------------------ selection

    def _others(self, cs: ClaimSession, p: int, annotator: str) -> int:
        """Live claims on position p by other annotators who have not handled it yet (a holder whose label
        is already in the log counts through n_done, not twice)."""
        holders = cs.others(self.ids[p])
        if not holders:
            return 0
        n = 0
        for who in holders:
            if who != annotator:
                h = self.handled.get(who)
                n += h is None or not h[p]
        return n

    def _scan(self, annotator: str, order: str, phase: int, cs: ClaimSession) -> str | None:
        perm = self.perm[_PERM[order]]
        mine = self._mine(annotator)
        key = (annotator, order, phase)
        cur = self.cursors.get(key, 0)
        n = len(perm)
        advancing = True
        i = cur
        while i < n:
            p = int(perm[i])
            passed = mine[p] or (phase == 1 and self.n_done[p] >= self.need[p])
            if passed:
                if advancing:
                    cur = i + 1
                i += 1
                continue
            others = self._others(cs, p, annotator)
            busy = (self.n_done[p] + others >= self.need[p]) if phase == 1 else others > 0
            if busy:
                advancing = False  # a lease may lapse: the cursor must not pass this sentence
                i += 1
                continue
            self.cursors[key] = cur
            return self.ids[p]
        self.cursors[key] = cur
        return None

    def next_for(self, annotator: str, order: str = "unlabelled", now: float | None = None) -> str | None:
        """The sentence to show `annotator` now (claimed for them), or None when nothing is left for them now:
        when remaining_for is then above 0, everything still left for them is open with others (claimed).

        Runs in one claim transaction: rows other processes appended are applied first (`sync`), so a
        sentence is handed out only if the log and the live claims of every process leave room for it.
        """
        now = time.time() if now is None else now
        if order not in ORDERS:
            raise ValueError(f"unknown queue order {order!r} (use {', '.join(ORDERS)})")
        with self._lock, self.claims.session(now) as cs:
            if self.sync is not None:
                self.sync()
            held = cs.held_by(annotator)
            if held is not None and held in self.pos and not self._mine(annotator)[self.pos[held]]:
                cs.claim(held, annotator)  # renew
                return held
            if order == "uncertain" and "uncertain" not in self.perm:
                order = "unlabelled"
            sid = None
            if order == "uncertain":
                self._diversify_ahead(annotator)
            if order in ("unlabelled", "uncertain"):
                sid = self._scan(annotator, order, 1, cs)
            # then the rest, in article order; not with an overlap, which then asks for exactly that many
            # annotators per sentence and no more
            if sid is None and (order == "article" or self.overlap <= 1):
                sid = self._scan(annotator, "article", 2, cs)
            if sid is not None:
                cs.claim(sid, annotator)
            elif held is not None:
                cs.release(annotator)
            return sid

    def confirm(self, annotator: str, sentence_id: str, counts: bool, now: float | None = None) -> None:
        """Before `annotator`'s action on the sentence is written: make sure it may be, and keep the sentence
        theirs while it is (the claim ends when they are handed their next sentence, by which time the row
        is on disk for every process to read).

        `counts`: the action adds a done label to the sentence (a label or not-a-sentence from someone whose
        latest action on it was not one). Such an action needs the annotator's own live claim, or room left:
        fewer done labels and other live claims than the sentence needs (with overlap 1, no other live
        claim); it then claims the sentence. Else raises ClaimLost: it went to others while it was open.
        The write itself happens outside every lock but the store's, so a slow fsync holds up nobody else.
        """
        now = time.time() if now is None else now
        p = self.pos.get(sentence_id)
        if not counts or p is None:
            return
        with self._lock, self.claims.session(now) as cs:
            if cs.held_by(annotator) == sentence_id:
                return
            if self.sync is not None:
                self.sync()
            others = self._others(cs, p, annotator)
            if not (self.n_done[p] + others < self.need[p] or (self.overlap <= 1 and others == 0)):
                raise ClaimLost(
                    f"sentence {sentence_id!r} went to another annotator while it was open (a sentence "
                    f"is kept for {minutes_text(self.claims.seconds / 60)}); it has the annotators it needs")
            cs.claim(sentence_id, annotator)

    def release(self, annotator: str, now: float | None = None) -> None:
        """End the annotator's claim (they left), so the sentence goes to the next who asks."""
        now = time.time() if now is None else now
        with self._lock, self.claims.session(now) as cs:
            cs.release(annotator)

    def live_claims(self, now: float | None = None) -> list[tuple[str, str, float]]:
        """(annotator, sentence_id, expires) of every live claim, in every process sharing the claims."""
        return self.claims.live(time.time() if now is None else now)

    def labelled_count(self) -> int:
        """Queue sentences done for the project (labelled or marked not-a-sentence by someone)."""
        return self.n_labelled

    def remaining_for(self, annotator: str, order: str) -> int:
        """How many sentences this queue would still give `annotator` in `order` (O(corpus) numpy, no Python
        loop). Without overlap (or in article order) that is every sentence they have not handled; with an
        overlap, the sentences they have not handled that still need an annotator."""
        with self._lock:
            mine = self._mine(annotator)
            if order == "article" or self.overlap <= 1:
                return int(len(self.ids) - mine.sum())
            return int(((~mine) & (self.n_done < self.need)).sum())
