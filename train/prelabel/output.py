"""Pre-labeling output: the resumable CSV (`label_app.artifacts.PRELABEL_COLUMNS`) and its state file.

Each chunk is appended as one write followed by fsync, after which `<output>.state.json` records the committed
size; a killed run leaves a valid CSV plus at most one torn chunk, which `open_output` cuts off.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from label_app.artifacts import (
    PRELABEL_COLUMNS,
    PRELABEL_HEADER,
    PrelabelOutputError,
    prelabel_state_path,
)
from label_app.files import write_atomic

COLUMNS = PRELABEL_COLUMNS
_HEADER = PRELABEL_HEADER
STATE_FORMAT = 1
state_path = prelabel_state_path


@dataclass
class PrelabelReport:
    """What one pre-labeling run did."""

    model_id: str
    out: Path
    sentences: int = 0
    articles: int = 0
    skipped_done: int = 0
    resumed_from_bytes: int = 0
    dropped_torn_bytes: int = 0
    seconds: float = 0.0
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        rate = self.sentences / self.seconds if self.seconds > 0 else 0.0
        lines = [
            f"model {self.model_id}: {self.sentences} sentences pre-labeled"
            + (f" from {self.articles} articles" if self.articles else "")
            + f" in {self.seconds:.1f} s ({rate:,.0f} sentences/s) -> {self.out}"
        ]
        if self.skipped_done:
            lines.append(f"  {self.skipped_done} articles or rows already pre-labeled by this model: skipped")
        if self.resumed_from_bytes:
            lines.append(f"  resumed an earlier, interrupted run ({self.dropped_torn_bytes} bytes of a torn chunk "
                         "dropped)" if self.dropped_torn_bytes else "  added to the output of an earlier run")
        lines += [f"  skipped: {name}: {why}" for name, why in self.skipped]
        return "\n".join(lines)


def _complete_records(path: Path, limit: int | None = None) -> Iterator[tuple[int, bytes]]:
    """(end offset, record bytes) of each complete CSV record (quotes balanced, newline-terminated)."""
    with open(path, "rb") as fh:
        pos, pending, quotes = 0, b"", 0
        for line in fh:
            if limit is not None and pos + len(pending) + len(line) > limit:
                return
            pending += line
            quotes += line.count(b'"')
            if line.endswith(b"\n") and quotes % 2 == 0:
                pos += len(pending)
                yield pos, pending
                pending, quotes = b"", 0


@dataclass
class State:
    model_id: str
    committed: int = 0
    rows: int = 0
    sentence_sources: dict[str, int] = field(default_factory=dict)
    empty_articles: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"format": STATE_FORMAT, "model_id": self.model_id, "committed_bytes": self.committed,
                "rows": self.rows, "sentence_sources": self.sentence_sources, "empty_articles": self.empty_articles}


def open_output(out: Path, model_id: str, report: PrelabelReport, has_sentence_files: bool) -> tuple[State, set[str]]:
    """Make `out` a valid output ending on a committed chunk; return the state and the articles done."""
    sp = state_path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    state: State | None = None
    if sp.exists():
        try:
            raw = json.loads(sp.read_text("utf-8"))
            state = State(raw["model_id"], int(raw["committed_bytes"]), int(raw["rows"]),
                           dict(raw.get("sentence_sources", {})), list(raw.get("empty_articles", [])))
        except (OSError, ValueError, KeyError, TypeError):
            raise PrelabelOutputError(f"{sp}: unreadable pre-label state file (delete it and the output to start over)") from None
        if state.model_id != model_id:
            raise PrelabelOutputError(f"{out}: written by model {state.model_id}, not {model_id} (use another --out)")
    size = out.stat().st_size if out.exists() else 0
    if size == 0:
        with open(out, "wb") as fh:
            fh.write(_HEADER)
            fh.flush()
            os.fsync(fh.fileno())
        state = State(model_id, len(_HEADER))
        write_atomic(sp, json.dumps(state.to_json()))
        return state, set()
    with open(out, "rb") as fh:
        if fh.readline() != _HEADER:
            raise PrelabelOutputError(f"{out}: not a pre-label file (expected columns {', '.join(COLUMNS)})")
    done: set[str] = set()
    if state is not None and state.committed <= size:
        limit = state.committed
        rows = 0
        for _end, rec in _complete_records(out, limit):
            if rows:
                aid = rec.split(b",", 2)[1].decode()
                if aid:
                    done.add(aid)
            rows += 1
    else:
        if has_sentence_files and state is None:
            raise PrelabelOutputError(f"{out}: exists without its state file {sp.name}, so sentence-file progress "
                                      "is unknown (delete the output or use another --out)")
        # No (usable) state: keep complete records, and redo the last article since it may be cut short.
        limit, last_start, last_aid, rows = len(_HEADER), len(_HEADER), "", 0
        for end, rec in _complete_records(out):
            rows += 1
            if rows == 1:
                continue
            cells = next(csv.reader([rec.decode("utf-8", "replace")]))
            if len(cells) != len(COLUMNS) or cells[-1] != model_id:
                raise PrelabelOutputError(f"{out}: row {rows} is not a pre-label row of model {model_id}")
            if cells[1] != last_aid:
                if last_aid:
                    done.add(last_aid)
                last_aid, last_start = cells[1], limit
            limit = end
        if last_aid:
            limit = last_start
        state = State(model_id, limit, 0, {} if state is None else state.sentence_sources,
                       [] if state is None else state.empty_articles)
        rows = 0
        for _ in _complete_records(out, limit):
            rows += 1
    state.rows = max(0, rows - 1)
    if size > state.committed:
        report.dropped_torn_bytes = size - state.committed
        with open(out, "r+b") as fh:
            fh.truncate(state.committed)
            fh.flush()
            os.fsync(fh.fileno())
    report.resumed_from_bytes = state.committed if state.rows else 0
    write_atomic(sp, json.dumps(state.to_json()))
    return state, done | set(state.empty_articles)



