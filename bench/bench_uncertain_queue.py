"""Time per "next sentence" in the 'most uncertain first' queue: stretches built inline vs in the background.

The app's queue orders sentences by uncertainty in k-means-diverse batches (train.active.QUEUE_STRATEGY), 500
at a time (label_app.workspace.UNCERTAIN_STEP). Building a stretch takes about a second. This benchmark labels
`--actions` sentences in that order on a queue of `--sentences` real news texts (AG News from ../shared/data,
repeated with a suffix to reach the size; seeded random uncertainties) and times each action (apply the label
to the queue, then next_for), once with the next stretch built inline when an annotator reaches it (the
baseline) and once in the background thread the app uses. Medians hardly move; the tail is what differs.

    .venv/bin/python bench/bench_uncertain_queue.py [--sentences 100000] [--actions 1200]
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from label_app.index import Entry  # noqa: E402
from label_app.queue import Queue  # noqa: E402
from label_app.workspace import UNCERTAIN_STEP  # noqa: E402
from train.active import QUEUE_STRATEGY  # noqa: E402

DATA = Path(os.environ.get("BENCH_DATA", REPO.parent / "shared" / "data"))


def texts_for(n: int) -> list[str]:
    path = DATA / "ag_news_test" / "data.csv"
    if not path.exists():
        raise SystemExit(f"{path}: not found (set BENCH_DATA); skipping the benchmark")
    with open(path, encoding="utf-8", newline="") as fh:
        base = [r["text"] for r in csv.DictReader(fh)]
    return [base[i % len(base)] + ("" if i < len(base) else f" ({i // len(base)})") for i in range(n)]


def run(texts: list[str], unc: np.ndarray, actions: int, background: bool) -> tuple[list[float], float, int]:
    ids = [f"s{i}" for i in range(len(texts))]
    q = Queue(ids, background=background)
    t0 = time.perf_counter()
    q.set_uncertainty("bench", unc, texts, step=UNCERTAIN_STEP, **QUEUE_STRATEGY)
    first = time.perf_counter() - t0
    times = []
    sid = q.next_for("ann", "uncertain", now=0.0)
    for _ in range(actions):
        t = time.perf_counter()
        q.apply([(sid, "ann", None, Entry(sid, "ann", "label", "x", "", "manual", "", "", "", ""))])
        sid = q.next_for("ann", "uncertain", now=0.0)
        times.append(time.perf_counter() - t)
        # an annotator takes seconds per sentence; a short pause lets the background thread run as it would
        time.sleep(0.002)
    q.wait_ahead()
    return times, first, q.diversified


def stats(times: list[float]) -> dict[str, float]:
    ms = sorted(t * 1000 for t in times)

    def pct(p: float) -> float:
        return ms[min(len(ms) - 1, int(round(p * (len(ms) - 1))))]

    return {"median": statistics.median(ms), "p95": pct(0.95), "p99": pct(0.99), "max": ms[-1]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sentences", type=int, default=100_000, help="queue size (default 100,000)")
    ap.add_argument("--actions", type=int, default=1200, help="label actions timed per mode (default 1,200)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the random uncertainties (default 0)")
    args = ap.parse_args(argv)
    texts = texts_for(args.sentences)
    unc = np.random.default_rng(args.seed).random(len(texts))
    print(f"{args.sentences:,} sentences, {args.actions:,} actions, stretch {UNCERTAIN_STEP}, {QUEUE_STRATEGY}")
    print(f"{'stretches':>14} {'first s':>8} {'built':>6} | {'median ms':>9} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>8}")
    results = {}
    for background in (False, True):
        times, first, built = run(texts, unc, args.actions, background)
        s = results[background] = stats(times)
        print(f"{'background' if background else 'inline':>14} {first:>8.2f} {built:>6} | {s['median']:>9.3f} "
              f"{s['p95']:>7.3f} {s['p99']:>7.3f} {s['max']:>8.1f}", flush=True)
    print(f"max per action, inline / background: {results[False]['max'] / results[True]['max']:.0f}x; "
          f"p99 ratio {results[False]['p99'] / results[True]['p99']:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
