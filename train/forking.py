"""Worker processes forked from this one, for training's classifier fits and pre-labeling's chunks.

A forked worker starts with what this process has already imported and loaded (scikit-learn, the feature
matrices, the model, the embedding); a fresh one (joblib's loky, the fallback where the OS cannot fork) spends
a second or two per worker importing scikit-learn and then receives every matrix pickled. The workers run
only our fitting and prediction code (liblinear, NumPy, SciPy, the tokenizer with its parallelism off), none of
which relies on a thread of the parent, so the fork leaves nothing half-held behind that they would wait on.
"""

from __future__ import annotations

import multiprocessing as mp
import signal
from multiprocessing.pool import Pool


def can_fork() -> bool:
    """Whether worker processes can be forked from this process (POSIX: Linux, macOS)."""
    return "fork" in mp.get_all_start_methods()


def fork_pool(n_jobs: int) -> Pool:
    """A pool of `n_jobs` processes forked from this one (use it as a context manager: it is terminated on exit).

    What the workers need must be in module globals before this call; pass them keys, not the data.
    Raises ValueError where the OS cannot fork (check can_fork first)."""
    return mp.get_context("fork").Pool(max(1, n_jobs), initializer=_leave_ctrl_c_to_the_parent)


def _leave_ctrl_c_to_the_parent() -> None:
    # Ctrl+C reaches every process of the terminal's group: the parent stops the run and terminates the pool,
    # so a worker has nothing to do with it (and would print a traceback of whatever it was computing).
    signal.signal(signal.SIGINT, signal.SIG_IGN)


__all__ = ["can_fork", "fork_pool"]
