"""Active-learning benchmark: labels needed by uncertainty order vs random order to reach 95% of full-data macro-F1.

    .venv/bin/python bench/active_learning/run.py                        # AG News, 3 seeds
    .venv/bin/python bench/active_learning/run.py --dataset bbc_news     # whole BBC articles

A simulated annotator holding the gold labels of a real data set ($BENCH_DATA or ../shared/data) labels in
rounds of 50. Both runs start from the same random 50; after each round the model is refitted on the
labels so far and the next 50 are either the first 50 of `train.active.uncertainty_order` over the
remaining pool (the queue's order: uncertainty with diverse batches) or the next 50 of a seeded random
permutation. Macro-F1 is measured on a fixed stratified held-out split (25%). The target is 95% of the
macro-F1 of the same model trained on the whole pool; the figure reported is the first label count at
which a run reaches it.

Model: the train helper's family (train/fitting.py, train/features.py): word 1-2-gram + char_wb 2-5-gram
TF-IDF and a LinearSVC (C=0.3, balanced class weights); uncertainty = 1 - top softmax probability of the
decision scores (temperature 1; the product over tasks in `train` reduces to this for one task). For speed
the TF-IDF vocabulary and IDF are fitted once on the unlabeled pool texts (label-free, as an annotation
tool can), and no per-round model selection is run. Results go to bench/out/active_learning.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
DEFAULT_DATA = Path(os.environ.get("BENCH_DATA", REPO.parent / "shared" / "data"))


def load(dataset: str, data_dir: Path, max_rows: int | None, seed: int) -> tuple[list[str], np.ndarray]:
    path = data_dir / dataset / "data.csv"
    if not path.exists():
        raise SystemExit(f"{path}: not found (set BENCH_DATA or --data); skipping the benchmark")
    csv.field_size_limit(sys.maxsize)
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    texts = [r["text"].replace("\\", " ") for r in rows]
    y = np.array([r["label"] for r in rows])
    if max_rows and len(texts) > max_rows:
        idx = np.random.default_rng(seed).permutation(len(texts))[:max_rows]
        texts, y = [texts[i] for i in idx], y[idx]
    return texts, y


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="ag_news_test", help="folder under the data dir (default ag_news_test)")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="benchmark data dir (default ../shared/data)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="random seeds (default 0 1 2)")
    ap.add_argument("--round", type=int, default=50, help="labels per round (default 50)")
    ap.add_argument("--batch-size", type=int, default=50, help="uncertainty_order batch size (default 50)")
    ap.add_argument("--diversity", type=float, default=0.5, help="uncertainty_order diversity (default 0.5)")
    ap.add_argument("--max-labels", type=int, default=3000, help="stop a run after this many labels (default 3000)")
    ap.add_argument("--max-rows", type=int, default=None, help="subsample the data set to this many rows")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "active_learning.json", help="JSON results")
    args = ap.parse_args()

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import f1_score
    from sklearn.model_selection import train_test_split
    from sklearn.svm import LinearSVC

    from train.active import uncertainty_order
    from train.features import TextFeatures
    from train.metrics import softmax

    warnings.simplefilter("ignore", ConvergenceWarning)
    t_start = time.perf_counter()
    texts, y = load(args.dataset, args.data, args.max_rows, 0)
    results: dict = {"dataset": args.dataset, "rows": len(texts), "round": args.round,
                     "diversity": args.diversity, "batch_size": args.batch_size, "runs": []}

    def fit(X, yy):  # noqa: ANN001, ANN202
        return LinearSVC(C=0.3, class_weight="balanced", random_state=0, max_iter=2000).fit(X, yy)

    for seed in args.seeds:
        idx_pool, idx_test = train_test_split(np.arange(len(texts)), test_size=0.25, stratify=y, random_state=seed)
        pool_texts = [texts[i] for i in idx_pool]
        feats = TextFeatures(word_ngrams=(1, 2), char_ngrams=(2, 5), min_df=2)
        X_pool = feats.fit_transform(pool_texts)
        X_test = feats.transform([texts[i] for i in idx_test])
        y_pool, y_test = y[idx_pool], y[idx_test]
        full_f1 = f1_score(y_test, fit(X_pool, y_pool).predict(X_test), average="macro")
        target = 0.95 * full_f1
        rng = np.random.default_rng(seed)
        perm = rng.permutation(len(idx_pool))
        start = list(perm[: args.round])
        run = {"seed": seed, "pool": len(idx_pool), "test": len(idx_test), "full_macro_f1": full_f1,
               "target_macro_f1": target}
        for strategy in ("random", "uncertainty"):
            labeled = list(start)
            in_set = np.zeros(len(idx_pool), dtype=bool)
            in_set[labeled] = True
            rand_next = [int(i) for i in perm[args.round:]]
            curve = []
            reached = None
            while True:
                clf = fit(X_pool[labeled], y_pool[labeled])
                f1 = f1_score(y_test, clf.predict(X_test), average="macro")
                curve.append((len(labeled), round(float(f1), 4)))
                if f1 >= target and reached is None:
                    reached = len(labeled)
                    break
                if len(labeled) >= args.max_labels or in_set.all():
                    break
                if strategy == "random":
                    nxt = [i for i in rand_next if not in_set[i]][: args.round]
                else:
                    rest = np.flatnonzero(~in_set)
                    scores = clf.decision_function(X_pool[rest])
                    if scores.ndim == 1:
                        scores = np.column_stack([-scores / 2, scores / 2])
                    unc = 1.0 - softmax(scores).max(axis=1)
                    order = uncertainty_order([str(i) for i in rest], [pool_texts[i] for i in rest], unc.tolist(),
                                              batch_size=args.batch_size, diversity=args.diversity,
                                              limit=args.round)
                    nxt = [int(s) for s in order[: args.round]]
                labeled.extend(nxt)
                in_set[nxt] = True
            run[strategy] = {"labels_to_target": reached, "curve": curve}
            print(f"seed {seed} {strategy:11s}: {reached} labels to reach {target:.4f} "
                  f"(95% of {full_f1:.4f}); last {curve[-1]}", file=sys.stderr)
        r, u = run["random"]["labels_to_target"], run["uncertainty"]["labels_to_target"]
        run["saving"] = (1 - u / r) if r and u else None
        results["runs"].append(run)
    done = [x for x in results["runs"] if x["saving"] is not None]
    results["median_labels_random"] = float(np.median([x["random"]["labels_to_target"] for x in done])) if done else None
    results["median_labels_uncertainty"] = (float(np.median([x["uncertainty"]["labels_to_target"] for x in done]))
                                            if done else None)
    results["mean_saving"] = float(np.mean([x["saving"] for x in done])) if done else None
    results["seconds"] = time.perf_counter() - t_start
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(json.dumps({k: v for k, v in results.items() if k != "runs"}, indent=2))


if __name__ == "__main__":
    main()
