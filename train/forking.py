"""Worker processes forked from this one, for training's classifier fits and pre-labeling's chunks.

A forked worker starts with what this process has already imported and loaded (scikit-learn, the feature
matrices, the model, the embedding); a fresh one (joblib's loky, the fallback where the OS cannot fork) spends
a second or two per worker importing scikit-learn and then receives every matrix pickled. The workers run
only our fitting and prediction code (liblinear, NumPy, SciPy, the tokenizer with its parallelism off), none of
which relies on a thread of the parent, so the fork leaves nothing half-held behind that they would wait on.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
import time
from multiprocessing.pool import Pool

# How often a worker checks that the process that forked it is still there (seconds).
_PARENT_CHECK_S = 0.5


def can_fork() -> bool:
    """Whether worker processes can be forked from this process (POSIX: Linux, macOS)."""
    return "fork" in mp.get_all_start_methods()


def fork_pool(n_jobs: int) -> Pool:
    """A pool of `n_jobs` processes forked from this one (use it as a context manager: it is terminated on exit).

    What the workers need must be in module globals before this call; pass them keys, not the data.
    Raises ValueError where the OS cannot fork (check can_fork first)."""
    return mp.get_context("fork").Pool(max(1, n_jobs), initializer=_start_worker, initargs=(os.getpid(),))


def _start_worker(parent: int) -> None:
    # Ctrl+C reaches every process of the terminal's group: the parent stops the run and terminates the pool,
    # so a worker has nothing to do with it (and would print a traceback of whatever it was computing).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A parent killed outright (SIGKILL, out of memory) cannot terminate its pool. An idle worker sees its task
    # queue close and ends; one blocked anywhere else would wait forever, holding its memory. So each worker
    # also leaves when its parent is gone.
    threading.Thread(target=_exit_with, args=(parent,), name="parent-watch", daemon=True).start()


def _exit_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(_PARENT_CHECK_S)
    os._exit(1)


__all__ = ["can_fork", "fork_pool"]
