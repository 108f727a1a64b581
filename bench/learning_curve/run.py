"""Learning curve: the project's model (train.fitting.fit_task, the whole model selection) against the plain
reference, trained on the same labels and scored on the same held-out texts in the same run.

    .venv/bin/python bench/learning_curve/run.py                                  # all three data sets
    .venv/bin/python bench/learning_curve/run.py --datasets ag_news_test --sizes 100

Data ($BENCH_DATA or ../shared/data, never committed): AG News (the published test split, 7.6k), BBC News
(2.2k whole articles), IBM claim stance (2.4k claims, pro/con toward 55 topics; stance is classified for the
(claim, topic) pair, the topic given, as the held-out stance tweets give their target).

Per seed (0, 1, 2): a stratified 25% held-out split (stance: stratified by topic, so every topic is in both
parts, as the five tweet targets are in the tweets' train and test); the first n of a seeded permutation of the
rest are the labels, for n in 50, 100, 200, 500, 1,000 and all (a prefix with one class only is extended until a
second class appears). Every text is its own group (the data sets have no articles).

Reference (as the issue defines it): TfidfVectorizer word 1-2-grams + char_wb 2-5-grams, sublinear tf, into
LinearSVC(C=1, class_weight="balanced"); for stance one such model per topic (a topic whose labels have one
class predicts it; a topic without labels predicts the majority class).

The project's unlabelled corpus: the rest of the non-held-out part (never the held-out texts), which fit_task
uses for self-training as `python -m train` uses the corpus's unlabelled sentences (train.training.
unlabelled_sample: seeded sample of at most 5,000); `--no-corpus` gives the protocol before self-training.

Metrics: macro-F1; for stance also F_avg = mean F1 of favor (pro) and against (con), which for these two
classes equals macro-F1. Results: bench/out/learning_curve/results.json and results.md (means over seeds,
ours - reference per seed).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split
from sklearn.svm import LinearSVC

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from train.data import TaskData  # noqa: E402
from train.fitting import TrainConfig, fit_task, sample_unlabelled  # noqa: E402

DATASETS = ("ag_news_test", "bbc_news", "ibm_claim_stance")
SIZES = (50, 100, 200, 500, 1000, 0)  # 0 = all
STANCE_MAP = {"pro": "favor", "con": "against"}


def load(data_dir: Path, name: str) -> pd.DataFrame | None:
    path = data_dir / name / "data.csv"
    if not path.is_file():
        print(f"skip {name}: {path} not found", flush=True)
        return None
    df = pd.read_csv(path, keep_default_na=False)
    if name == "ibm_claim_stance":
        df["label"] = df.label.map(STANCE_MAP)
    return df


def reference_fit_predict(train_texts: list[str], y: np.ndarray, test_texts: list[str]) -> np.ndarray:
    if len(set(y.tolist())) < 2:
        return np.full(len(test_texts), y[0], dtype=object)
    word = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)
    X = sp.hstack([word.fit_transform(train_texts), char.fit_transform(train_texts)], format="csr")
    Xt = sp.hstack([word.transform(test_texts), char.transform(test_texts)], format="csr")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LinearSVC(C=1, class_weight="balanced").fit(X, y).predict(Xt)


def reference(texts: list[str], y: np.ndarray, topics: np.ndarray | None, sub: np.ndarray, te: np.ndarray
              ) -> np.ndarray:
    if topics is None:
        return reference_fit_predict([texts[i] for i in sub], y[sub], [texts[i] for i in te])
    pred = np.empty(len(te), dtype=object)
    values, counts = np.unique(y[sub], return_counts=True)
    pred[:] = values[counts.argmax()]
    for t in sorted(set(topics[te].tolist())):
        s = sub[topics[sub] == t]
        v = np.flatnonzero(topics[te] == t)
        if len(s):
            pred[v] = reference_fit_predict([texts[i] for i in s], y[s], [texts[i] for i in te[v]])
    return pred


def ours(texts: list[str], y: np.ndarray, topics: np.ndarray | None, sub: np.ndarray, te: np.ndarray,
         names: list[str], config: TrainConfig, rest: np.ndarray | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    ids = [str(i) for i in sub]
    task = "stance" if topics is not None else "topic"
    data = TaskData(task, ids, ids, [texts[i] for i in sub], y[sub].tolist(), ["1/1"] * len(sub))
    unlabelled = sample_unlabelled(list(dict.fromkeys(texts[i] for i in rest)), config) if rest is not None else None
    fit = fit_task(data, names, config, topics=topics[sub].tolist() if topics is not None else None,
                   unlabelled=unlabelled)
    probs = fit.model.proba([texts[i] for i in te], topics[te].tolist() if topics is not None else None)
    return np.array([fit.model.classes[i] for i in probs.argmax(axis=1)], dtype=object), fit.metrics


def labelled_prefix(perm: np.ndarray, y: np.ndarray, n: int) -> np.ndarray:
    if n <= 0 or n >= len(perm):
        return perm
    k = n
    while len(set(y[perm[:k]].tolist())) < 2 and k < len(perm):
        k += 1
    return perm[:k]


def scores(y_true: np.ndarray, pred: np.ndarray, stance: bool) -> dict[str, float]:
    out = {"macro_f1": float(f1_score(y_true, pred, average="macro"))}
    if stance:
        out["f_avg"] = float(f1_score(y_true, pred, labels=["favor", "against"], average="macro"))
    return out


def run_dataset(name: str, df: pd.DataFrame, sizes: list[int], seeds: list[int], config: TrainConfig,
                corpus: bool = True) -> list[dict[str, Any]]:
    stance = "topic" in df.columns
    texts = df.text.str.replace("\\", " ", regex=False).tolist()
    y = df.label.to_numpy(dtype=object)
    topics = df.topic.to_numpy(dtype=object) if stance else None
    names = sorted(set(y.tolist()))
    rows = []
    for seed in seeds:
        tr, te = train_test_split(np.arange(len(y)), test_size=0.25, random_state=seed,
                                  stratify=topics if stance else y)
        perm = np.random.RandomState(seed).permutation(tr)
        for n in sizes:
            sub = labelled_prefix(perm, y, n)
            t0 = time.perf_counter()
            ref_pred = reference(texts, y, topics, sub, te)
            ref_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            rest = perm[len(sub):] if corpus else None
            our_pred, metrics = ours(texts, y, topics, sub, te, names, config, rest)
            our_s = time.perf_counter() - t0
            row = {"dataset": name, "seed": seed, "n_labels": len(sub), "size": n or "all",
                   "ours": scores(y[te], our_pred, stance), "reference": scores(y[te], ref_pred, stance),
                   "ours_s": round(our_s, 2), "reference_s": round(ref_s, 2),
                   "chosen": metrics["chosen"], "family": metrics["family"]}
            rows.append(row)
            key = "f_avg" if stance else "macro_f1"
            print(f"{name} seed {seed} n {len(sub):>5}: ours {row['ours'][key]:.3f} ({_member(row['chosen'])}, "
                  f"C={row['chosen']['C']}) "
                  f"reference {row['reference'][key]:.3f}  [{our_s:.1f} s vs {ref_s:.1f} s]", flush=True)
    return rows


def _member(chosen: dict[str, Any]) -> str:
    """A chosen setting's family member, e.g. "both+self-training" or "tfidf/pooled"."""
    return (chosen.get("features", "") + (f"/{chosen['topic_mode']}" if chosen.get("topic_mode") else "")
            + ("+self-training" if chosen.get("self_training") else ""))


def summary(rows: list[dict[str, Any]]) -> str:
    lines = ["| data set | labels | metric | ours (mean of seeds) | reference | ours - reference (per seed) | "
             "chosen (per seed) |", "|---|---|---|---|---|---|---|"]
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["dataset"], str(r["size"])), []).append(r)
    for (name, size), rs in groups.items():
        for metric in (["f_avg", "macro_f1"] if "f_avg" in rs[0]["ours"] else ["macro_f1"]):
            o = [r["ours"][metric] for r in rs]
            f = [r["reference"][metric] for r in rs]
            chosen = ", ".join(_member(r["chosen"]) for r in rs)
            lines.append(f"| {name} | {size} ({statistics.mean(r['n_labels'] for r in rs):.0f}) | {metric} | "
                         f"{statistics.mean(o):.3f} | {statistics.mean(f):.3f} | "
                         f"{' '.join(f'{a - b:+.3f}' for a, b in zip(o, f, strict=True))} | {chosen} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("BENCH_DATA", ROOT.parent / "shared" / "data")))
    ap.add_argument("--datasets", nargs="+", default=list(DATASETS))
    ap.add_argument("--sizes", default=",".join(str(s) for s in SIZES), help="label counts, 0 = all")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "learning_curve")
    ap.add_argument("--no-corpus", action="store_true",
                    help="give the project no unlabelled corpus (no self-training: the protocol before it)")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    config = TrainConfig()
    rows: list[dict[str, Any]] = []
    args.out.mkdir(parents=True, exist_ok=True)
    tag = "_".join(args.datasets) + f"_{args.sizes.replace(',', '-')}_{args.seeds.replace(',', '-')}"
    for name in args.datasets:
        df = load(args.data, name)
        if df is None:
            continue
        rows.extend(run_dataset(name, df, sizes, seeds, config, corpus=not args.no_corpus))
        (args.out / f"results_{tag}.json").write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    md = summary(rows)
    (args.out / f"results_{tag}.md").write_text(md + "\n", encoding="utf-8")
    print(md)


if __name__ == "__main__":
    main()
