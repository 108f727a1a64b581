"""Claims: which annotator is looking at which sentence, shared by every server process of a project.

A claim keeps a sentence shown to one annotator from being handed to another until it is saved or its
lease lapses. Claims live in SQLite (`.cache/claims.sqlite3` under the project, WAL mode), one row per
annotator: (annotator, sentence_id, expires). Every decision that hands out or checks a claim runs inside
one `BEGIN IMMEDIATE` transaction, which is SQLite's cross-process write lock: two server processes (or two
threads of one) cannot both see a sentence free and both claim it.

Why SQLite and not a JSON file under a flock: the transaction is atomic and survives a killed process (a
half-written JSON file would lose every claim), the busy timeout queues waiters, and it is in the standard
library. WAL keeps readers off the writers' lock; `synchronous=NORMAL` skips the fsync per commit, which is
safe here because claims are short-lived routing state, rebuilt within one lease if lost with the machine;
the labels themselves are fsynced by the store. Like the store's flock, it needs a local file system (not
NFS). `MemoryClaims` is the same interface for one process without a project (tests, benchmarks).

Within a transaction the live claims are loaded once into memory (one row per active annotator, so a few
dozen), and the queue's scan asks that snapshot; what the transaction writes goes to the table at commit.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import LabelAppError
from .project import Project

CLAIMS_FILE = "claims.sqlite3"
# how long a process waits for another's claim transaction (they last about a millisecond)
BUSY_TIMEOUT_S = 30.0


class ClaimLost(LabelAppError):
    """The sentence went to other annotators while it was open (its claim lapsed); the label is not saved."""


class ClaimSession:
    """The live claims at the start of one transaction, and the changes it makes.

    `holders`: sentence_id -> {annotator: expires (seconds since the epoch)}; `held`: annotator ->
    (sentence_id, expires). Only live claims (expires >= now) are loaded.
    """

    def __init__(self, rows: list[tuple[str, str, float]], now: float, seconds: float) -> None:
        self.now = now
        self.seconds = seconds
        self.holders: dict[str, dict[str, float]] = {}
        self.held: dict[str, tuple[str, float]] = {}
        for who, sid, until in rows:
            if until >= now:
                self.holders.setdefault(sid, {})[who] = until
                self.held[who] = (sid, until)
        self.writes: dict[str, str | None] = {}  # annotator -> new sentence (None: released)

    def held_by(self, annotator: str) -> str | None:
        """The sentence `annotator` holds a live claim on, or None."""
        got = self.held.get(annotator)
        return got[0] if got else None

    def others(self, sentence_id: str) -> dict[str, float]:
        """Every live holder of the sentence: {annotator: expires}."""
        return self.holders.get(sentence_id, {})

    def claim(self, sentence_id: str, annotator: str) -> None:
        """Give `annotator` the sentence for the lease (their previous claim ends): one claim per annotator."""
        self.release(annotator)
        until = self.now + self.seconds
        self.holders.setdefault(sentence_id, {})[annotator] = until
        self.held[annotator] = (sentence_id, until)
        self.writes[annotator] = sentence_id

    def release(self, annotator: str) -> None:
        got = self.held.pop(annotator, None)
        if got is not None:
            per = self.holders.get(got[0], {})
            per.pop(annotator, None)
            if not per:
                self.holders.pop(got[0], None)
        self.writes[annotator] = None


class MemoryClaims:
    """Claims in this process's memory (one process only: tests, benchmarks, a Queue without a project)."""

    def __init__(self, seconds: float = 900.0) -> None:
        self.seconds = seconds
        self._rows: dict[str, tuple[str, float]] = {}  # annotator -> (sentence, expires)
        self._lock = threading.RLock()

    @contextmanager
    def session(self, now: float) -> Iterator[ClaimSession]:
        """A transaction over the claims (exclusive within this process; nothing kept if the body raises)."""
        with self._lock:
            s = ClaimSession([(w, sid, t) for w, (sid, t) in self._rows.items()], now, self.seconds)
            yield s
            for who, sid in s.writes.items():
                if sid is None:
                    self._rows.pop(who, None)
                else:
                    self._rows[who] = s.held[who]

    def live(self, now: float) -> list[tuple[str, str, float]]:
        """(annotator, sentence_id, expires) of every live claim."""
        with self._lock:
            return sorted((w, sid, t) for w, (sid, t) in self._rows.items() if t >= now)


class SharedClaims:
    """Claims in the project's SQLite file, shared by every process serving the project.

    Raises LabelAppError (naming the file) when the file cannot be opened, locked or written.
    """

    def __init__(self, path: str | os.PathLike[str], seconds: float = 900.0) -> None:
        self.path = Path(path)
        self.seconds = seconds
        # one connection per process, used under a lock: sessions come from many threads (Streamlit runs each
        # rerun in its own), and opening a connection per rerun would cost more than the transaction
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._lock = threading.RLock()

    @classmethod
    def for_project(cls, project: Project, seconds: float = 900.0) -> SharedClaims:
        return cls(project.cache_dir / CLAIMS_FILE, seconds)

    def _connect(self) -> sqlite3.Connection:
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        # a forked child must not use its parent's connection (SQLite forbids it): it opens its own
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("CREATE TABLE IF NOT EXISTS claims (annotator TEXT PRIMARY KEY, "
                         "sentence_id TEXT NOT NULL, expires REAL NOT NULL)")
        except (sqlite3.Error, OSError) as exc:
            raise LabelAppError(f"{self.path}: cannot open the claims store: {exc}") from None
        self._conn, self._pid = conn, os.getpid()
        return conn

    @contextmanager
    def session(self, now: float) -> Iterator[ClaimSession]:
        """A transaction under SQLite's write lock, exclusive across processes; committed when the body
        returns, rolled back (nothing claimed or released) when it raises."""
        with self._lock:
            yield from self._session(now)

    def _session(self, now: float) -> Iterator[ClaimSession]:
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            rows = conn.execute("SELECT annotator, sentence_id, expires FROM claims").fetchall()
        except sqlite3.Error as exc:
            self._rollback(conn)
            raise LabelAppError(f"{self.path}: cannot lock the claims store: {exc}") from None
        s = ClaimSession(rows, now, self.seconds)
        try:
            yield s
        except BaseException:
            self._rollback(conn)
            raise
        try:
            # lapsed claims are dropped as they are met, so the table stays one row per active annotator
            lapsed = [(w,) for w, _sid, t in rows if t < now and w not in s.writes]
            if lapsed:
                conn.executemany("DELETE FROM claims WHERE annotator = ?", lapsed)
            for who, sid in s.writes.items():
                if sid is None:
                    conn.execute("DELETE FROM claims WHERE annotator = ?", (who,))
                else:
                    conn.execute("INSERT OR REPLACE INTO claims VALUES (?, ?, ?)", (who, sid, s.held[who][1]))
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback(conn)
            raise LabelAppError(f"{self.path}: cannot write the claims store: {exc}") from None

    @staticmethod
    def _rollback(conn: sqlite3.Connection) -> None:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass

    def live(self, now: float) -> list[tuple[str, str, float]]:
        """(annotator, sentence_id, expires) of every live claim (for the dashboard and the benchmark)."""
        with self._lock:
            rows = self._connect().execute(
                "SELECT annotator, sentence_id, expires FROM claims WHERE expires >= ? ORDER BY annotator",
                (now,)).fetchall()
        return [(w, s, t) for w, s, t in rows]
