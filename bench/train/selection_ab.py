"""Same-process A/B of `fit_task` on AG News (the seeded 80% split of run_bench.py): "before" is the selection
before staging (every member x C, liblinear tolerance 1e-2), "after" the defaults. Three alternating
repetitions after a warm-up (embedder loaded, workers started); prints each time, the choice, and the medians.

    TRAIN_BENCH_DATA=../shared/data .venv/bin/python bench/train/selection_ab.py
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from train.data import TaskData  # noqa: E402
from train.fitting import TrainConfig, fit_task  # noqa: E402


def main() -> None:
    data_dir = Path(os.environ.get("TRAIN_BENCH_DATA", ROOT.parent / "shared" / "data"))
    ag = pd.read_csv(data_dir / "ag_news_test" / "data.csv", keep_default_na=False)
    names = sorted(ag.label.unique())
    train, _test = train_test_split(ag, test_size=0.2, stratify=ag.label, random_state=0)
    ids = [str(i) for i in range(len(train))]
    data = TaskData("topic", ids, ids, train.text.tolist(), train.label.tolist(), ["1/1"] * len(train))
    configs = {"before (full grid, tol 1e-2)": TrainConfig(staged_from=10**9, large_tol=1e-2),
               "after (defaults)": TrainConfig()}
    fit_task(data, names, TrainConfig())
    times: dict[str, list[float]] = {k: [] for k in configs}
    for rep in range(3):
        for k, cfg in configs.items():
            t0 = time.perf_counter()
            fit = fit_task(data, names, cfg)
            dt = time.perf_counter() - t0
            times[k].append(dt)
            m = fit.metrics
            print(rep, k, f"{dt:.2f}s", m["chosen"]["features"], m["chosen"]["C"], round(m["macro_f1"], 4),
                  f"{len(m['grid'])} settings", flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    for k, v in med.items():
        print(k, "median", round(v, 2))
    print("ratio after/before", round(med["after (defaults)"] / med["before (full grid, tol 1e-2)"], 2))


if __name__ == "__main__":
    main()
