"""Who labelled how much, when, and how fast: the Dashboard's progress and time-per-label tables.

Input is label-log rows (dicts with `timestamp` (UTC ISO 8601), `annotator`, `action`, `source`, `seconds`), as
store.read_log returns them. Adjudications are a reviewer's decisions, not annotation work, so they are left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

from .gold import ADJUDICATED

# window key -> what the Dashboard calls it. Windows end at the latest label, so an old project still shows
# its last working day rather than an empty "today".
WINDOWS = {
    "day": "Latest day with labels",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "all": "All time",
}
DEFAULT_WINDOW = "day"
PROGRESS_COLUMNS = ["time", "annotator", "labels"]
TIMING_COLUMNS = ["annotator", "labels timed", "median s per label", "90th percentile s", "labels per hour"]


def label_actions(rows: Iterable[Mapping[str, str]]) -> pd.DataFrame:
    """Label actions (not adjudications) as a frame: time (UTC), annotator, seconds (NaN when not recorded);
    rows with an unreadable timestamp are left out."""
    data = [(r.get("timestamp", ""), r.get("annotator", ""), r.get("seconds", ""))
            for r in rows if r.get("action") == "label" and r.get("source") != ADJUDICATED]
    df = pd.DataFrame(data, columns=["timestamp", "annotator", "seconds"])
    df["time"] = pd.to_datetime(df["timestamp"], utc=True, errors="coerce", format="ISO8601")
    df["seconds"] = pd.to_numeric(df["seconds"], errors="coerce")
    return df.dropna(subset=["time"]).sort_values("time", kind="stable")[["time", "annotator", "seconds"]]


def window_start(times: pd.Series, window: str) -> pd.Timestamp | None:
    """The first instant inside `window` (a WINDOWS key), counted back from the latest time; None for 'all'
    or no times. 'day' is the UTC calendar day of the latest label."""
    if window not in WINDOWS:
        raise ValueError(f"unknown window {window!r} (known: {', '.join(WINDOWS)})")
    if window == "all" or times.empty:
        return None
    latest = times.max()
    if window == "day":
        return latest.floor("D")
    return latest - pd.Timedelta(days=7 if window == "7d" else 30)


def in_window(actions: pd.DataFrame, window: str) -> pd.DataFrame:
    """The label actions inside the window."""
    start = window_start(actions["time"], window)
    return actions if start is None else actions[actions["time"] >= start]


def progress_frame(actions: pd.DataFrame, window: str) -> pd.DataFrame:
    """Cumulative labels per annotator inside the window, counted from its start: PROGRESS_COLUMNS, one row per
    label action."""
    df = in_window(actions, window).copy()
    df["labels"] = df.groupby("annotator").cumcount() + 1
    return df[PROGRESS_COLUMNS].reset_index(drop=True)


def time_per_label(actions: pd.DataFrame, window: str) -> pd.DataFrame:
    """Per annotator, over the window's label actions that recorded the seconds spent: how many, the median and
    90th percentile seconds per label, and labels per hour at the median pace (TIMING_COLUMNS). Medians, because
    one label left on screen over lunch would swamp a mean."""
    df = in_window(actions, window).dropna(subset=["seconds"])
    rows = []
    for who, g in df.groupby("annotator", sort=True):
        med = float(g["seconds"].median())
        rows.append((who, len(g), round(med, 1), round(float(g["seconds"].quantile(0.9)), 1),
                     round(3600.0 / med) if med > 0 else None))
    return pd.DataFrame(rows, columns=TIMING_COLUMNS)
