"""Benchmark of the training loop.

1. Quality on real data, next to spaCy's own text classifier trained and scored on the same splits in the same run:
   AG News (seeded stratified 80/20 split) and BBC News (seeded stratified 5-fold CV). Our figure includes the
   whole training (features, CV model selection, calibration, final fit); spaCy's is the `spacy train` command
   with the config from `spacy init config --pipeline textcat --optimize efficiency` (10% of each training part
   is its dev set; nothing downloaded).
2. Training time of `train.train_project` (both tasks, from a label version on disk to a saved model) at 1,000,
   10,000 and 100,000 labelled sentences built from the same real texts.

The data are read from --data-dir (default: $TRAIN_BENCH_DATA or ../shared/data); missing data sets are skipped.
Results go to --out (default bench/out/train/): results.json and results.md.

    .venv/bin/python bench/train/run_bench.py
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold, train_test_split

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from label_app import store  # noqa: E402
from label_app.project import Project  # noqa: E402
from label_app.schema import load_schema  # noqa: E402
from train.data import TaskData  # noqa: E402
from train.fitting import TrainConfig, fit_task  # noqa: E402
from train.training import train_project  # noqa: E402

SEED = 0


def load(data_dir: Path, name: str) -> pd.DataFrame | None:
    path = data_dir / name / "data.csv"
    if not path.is_file():
        print(f"skip {name}: {path} not found")
        return None
    return pd.read_csv(path, keep_default_na=False)


# ---------------------------------------------------------------- ours

def ours(train: pd.DataFrame, test: pd.DataFrame, names: list[str], config: TrainConfig) -> dict[str, Any]:
    data = TaskData("topic", [str(i) for i in range(len(train))], [str(i) for i in range(len(train))],
                    train.text.tolist(), train.label.tolist(), ["1/1"] * len(train))
    t0 = time.perf_counter()
    fit = fit_task(data, names, config, progress=None)
    train_s = time.perf_counter() - t0
    texts = test.text.tolist()
    t0 = time.perf_counter()
    probs = fit.model.proba(texts)
    pred_s = time.perf_counter() - t0
    pred = [fit.model.classes[i] for i in probs.argmax(axis=1)]
    one = texts[:200]
    t0 = time.perf_counter()
    for t in one:
        fit.model.proba([t])
    single_ms = 1000 * (time.perf_counter() - t0) / len(one)
    return {"accuracy": accuracy_score(test.label, pred), "macro_f1": f1_score(test.label, pred, average="macro"),
            "train_s": train_s, "predict_per_s": len(texts) / pred_s, "single_ms": single_ms,
            "chosen": fit.metrics["chosen"], "cv_macro_f1": fit.metrics["macro_f1"],
            "ece_cv": fit.metrics["calibration"]["ece"]}


# ---------------------------------------------------------------- spaCy

def spacy_config(work: Path) -> Path:
    cfg = work / "textcat_efficiency.cfg"
    if not cfg.exists():
        subprocess.run([sys.executable, "-m", "spacy", "init", "config", "--pipeline", "textcat", "--optimize",
                        "efficiency", "--force", str(cfg)], check=True, capture_output=True)
    return cfg


def spacy_run(train: pd.DataFrame, test: pd.DataFrame, names: list[str], work: Path, max_epochs: int,
              max_steps: int) -> dict[str, Any]:
    import spacy
    from spacy.tokens import DocBin

    cfg = spacy_config(work.parent)
    tr, dev = train_test_split(train, test_size=0.1, stratify=train.label, random_state=SEED)
    nlp = spacy.blank("en")
    work.mkdir(parents=True, exist_ok=True)
    for part, df in (("train", tr), ("dev", dev)):
        db = DocBin()
        for text, label in zip(df.text, df.label, strict=True):
            doc = nlp.make_doc(text)
            doc.cats = {n: float(n == label) for n in names}
            db.add(doc)
        db.to_disk(work / f"{part}.spacy")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "spacy", "train", str(cfg), "--output", str(work / "out"),
                    "--paths.train", str(work / "train.spacy"), "--paths.dev", str(work / "dev.spacy"),
                    "--training.max_epochs", str(max_epochs), "--training.max_steps", str(max_steps),
                    "--system.seed", str(SEED)], check=True, capture_output=True)
    train_s = time.perf_counter() - t0
    model = spacy.load(work / "out" / "model-best")
    texts = test.text.tolist()
    t0 = time.perf_counter()
    docs = list(model.pipe(texts, batch_size=256))
    pred_s = time.perf_counter() - t0
    pred = [max(d.cats, key=d.cats.get) for d in docs]
    return {"accuracy": accuracy_score(test.label, pred), "macro_f1": f1_score(test.label, pred, average="macro"),
            "train_s": train_s, "predict_per_s": len(texts) / pred_s}


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k in ("accuracy", "macro_f1", "train_s", "predict_per_s", "single_ms"):
        vals = [r[k] for r in runs if k in r]
        if vals:
            out[k] = statistics.mean(vals)
            if len(vals) > 1:
                out[k + "_sd"] = statistics.stdev(vals)
    return out


def quality(data_dir: Path, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    config = TrainConfig(char_ngrams=None) if args.no_char else TrainConfig()
    results: dict[str, Any] = {}
    ag = load(data_dir, "ag_news_test") if "ag_news_test" in args.datasets else None
    if ag is not None:
        names = sorted(ag.label.unique())
        train, test = train_test_split(ag, test_size=0.2, stratify=ag.label, random_state=SEED)
        r = {"split": "stratified 80/20, random_state=0", "n_train": len(train), "n_test": len(test),
             "ours": ours(train, test, names, config)}
        print("ag_news ours", r["ours"], flush=True)
        if not args.skip_spacy:
            r["spacy"] = spacy_run(train, test, names, work / "ag", args.spacy_max_epochs, args.spacy_max_steps)
            print("ag_news spacy", r["spacy"], flush=True)
        results["ag_news"] = r
    bbc = load(data_dir, "bbc_news") if "bbc_news" in args.datasets else None
    if bbc is not None:
        names = sorted(bbc.label.unique())
        folds = StratifiedKFold(5, shuffle=True, random_state=SEED).split(bbc.text, bbc.label)
        runs: dict[str, list[dict[str, Any]]] = {"ours": [], "spacy": []}
        for k, (tr, te) in enumerate(folds):
            train, test = bbc.iloc[tr], bbc.iloc[te]
            runs["ours"].append(ours(train, test, names, config))
            print(f"bbc fold {k} ours", runs["ours"][-1], flush=True)
            if not args.skip_spacy:
                runs["spacy"].append(spacy_run(train, test, names, work / f"bbc{k}", args.spacy_max_epochs,
                                               args.spacy_max_steps))
                print(f"bbc fold {k} spacy", runs["spacy"][-1], flush=True)
        results["bbc_news"] = {"split": "StratifiedKFold(5, shuffle=True, random_state=0)",
                               "ours": summarise(runs["ours"]), "ours_folds": runs["ours"]}
        if runs["spacy"]:
            results["bbc_news"]["spacy"] = summarise(runs["spacy"])
            results["bbc_news"]["spacy_folds"] = runs["spacy"]
    return results


# ---------------------------------------------------------------- training time at scale

TOPIC_MAP = {"World": "diplomacy", "Sports": "society", "Business": "trade", "Sci/Tech": "energy",
             "business": "trade", "entertainment": "other", "politics": "politics", "sport": "society",
             "tech": "energy"}
NEG = re.compile(r"\b(los[st]|fall|fell|drop|cut|war|attack|kill|crisis|fail|down|fears?|against|ban|warn)", re.I)
POS = re.compile(r"\b(wins?|won|gain|rise|rose|growth|record|boost|agree|deal|support|up|best|success)", re.I)
_SENT = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")


def sentence_pool(data_dir: Path) -> list[tuple[str, str, str]]:
    """(text, topic, article) from AG News items and BBC article sentences."""
    pool = []
    ag = load(data_dir, "ag_news_test")
    if ag is not None:
        pool += [(t, TOPIC_MAP[lab], f"ag{i}") for i, (t, lab) in enumerate(zip(ag.text, ag.label, strict=True))]
    bbc = load(data_dir, "bbc_news")
    if bbc is not None:
        for i, (t, lab) in enumerate(zip(bbc.text, bbc.label, strict=True)):
            for s in _SENT.split(re.sub(r"\s+", " ", t)):
                if len(s) > 20:
                    pool.append((s, TOPIC_MAP[lab], f"bbc{i}"))
    return pool


def stance_of(text: str) -> str:
    # A learnable stand-in for stance (timing only): negative words -> against, positive -> favor.
    neg, pos = len(NEG.findall(text)), len(POS.findall(text))
    return "against" if neg > pos else "favor" if pos > neg else "neutral"


def make_rows(pool: list[tuple[str, str, str]], n: int, rng: np.random.RandomState) -> list[store.LabelRow]:
    rows = []
    idx = rng.permutation(len(pool))
    for k in range(n):
        text, topic, art = pool[idx[k % len(pool)]]
        if k >= len(pool):
            # Past the pool, recombine halves of two same-topic texts: new sentences with real vocabulary.
            other = pool[rng.randint(len(pool))]
            a, b = text.split(), other[0].split()
            text = " ".join(a[: len(a) // 2] + b[len(b) // 2:])
            art = f"{art}-r{k // len(pool)}"
        rows.append(store.LabelRow(sentence_id=f"s{k:07d}", article_id=art, text=text, annotator="bench",
                                   topic=topic, stance=stance_of(text), source="import"))
    return rows


def timing(data_dir: Path, work: Path, sizes: list[int]) -> list[dict[str, Any]]:
    pool = sentence_pool(data_dir)
    if not pool:
        return []
    out = []
    for n in sizes:
        proj_dir = work / f"project_{n}"
        shutil.rmtree(proj_dir, ignore_errors=True)
        (proj_dir / "labels").mkdir(parents=True)
        shutil.copy(ROOT / "labels" / "schema.toml", proj_dir / "labels" / "schema.toml")
        project = Project.at(proj_dir)
        schema = load_schema(project.schema_path)
        store.append_rows(project, schema, make_rows(pool, n, np.random.RandomState(SEED)))
        store.create_version(project, note=f"bench {n}")
        t0 = time.perf_counter()
        result = train_project(project, progress=False)
        secs = time.perf_counter() - t0
        size = (result.model_dir / "model.joblib").stat().st_size
        row = {"n_sentences": n, "train_s": secs, "model_mb": size / 1e6,
               **{f"{t}_macro_f1": m["macro_f1"] for t, m in result.metrics["tasks"].items() if m.get("trained")},
               **{f"{t}_s": m["seconds"] for t, m in result.metrics["tasks"].items() if m.get("trained")},
               **{f"{t}_chosen": m["chosen"] for t, m in result.metrics["tasks"].items() if m.get("trained")}}
        print("timing", row, flush=True)
        out.append(row)
        shutil.rmtree(proj_dir, ignore_errors=True)
    return out


def markdown(res: dict[str, Any]) -> str:
    lines = ["| data | model | accuracy | macro-F1 | training s | predictions/s |", "|---|---|---|---|---|---|"]
    for name in ("ag_news", "bbc_news"):
        if name not in res["quality"]:
            continue
        for who in ("ours", "spacy"):
            r = res["quality"][name].get(who)
            if r:
                lines.append(f"| {name} | {who} | {r['accuracy']:.4f} | {r['macro_f1']:.4f} | {r['train_s']:.1f} | "
                             f"{r['predict_per_s']:.0f} |")
    lines += ["", "| labelled sentences | train_project s | topic macro-F1 (CV) | stance macro-F1 (CV) | model MB |",
              "|---|---|---|---|---|"]
    for r in res["timing"]:
        lines.append(f"| {r['n_sentences']:,} | {r['train_s']:.1f} | {r.get('topic_macro_f1', 0):.3f} | "
                     f"{r.get('stance_macro_f1', 0):.3f} | {r['model_mb']:.1f} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", type=Path,
                   default=Path(os.environ.get("TRAIN_BENCH_DATA", ROOT.parent / "shared" / "data")),
                   help="folder with ag_news_test/ and bbc_news/ (default: $TRAIN_BENCH_DATA or ../shared/data)")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "train", help="results folder")
    p.add_argument("--sizes", default="1000,10000,100000", help="labelled sentences for the timing runs")
    p.add_argument("--spacy-max-epochs", type=int, default=10, help="cap on spaCy's epochs (default 10)")
    p.add_argument("--spacy-max-steps", type=int, default=2000, help="cap on spaCy's steps (default 2000)")
    p.add_argument("--datasets", nargs="+", default=["ag_news_test", "bbc_news"],
                   help="quality data sets (default ag_news_test bbc_news)")
    p.add_argument("--skip-spacy", action="store_true", help="do not train spaCy")
    p.add_argument("--no-char", action="store_true",
                   help="quality runs without character n-grams (faster, to measure what they cost and bring)")
    p.add_argument("--skip-quality", action="store_true", help="only the timing runs")
    p.add_argument("--skip-timing", action="store_true", help="only the quality runs")
    args = p.parse_args()
    if not args.data_dir.is_dir():
        print(f"skip: benchmark data folder {args.data_dir} not found (set TRAIN_BENCH_DATA or --data-dir)")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="train-bench-"))
    started = time.perf_counter()
    try:
        res = {"command": " ".join(sys.argv), "cpus": os.cpu_count(),
               "spacy_caps": {"max_epochs": args.spacy_max_epochs, "max_steps": args.spacy_max_steps},
               "quality": {} if args.skip_quality else quality(args.data_dir, work, args),
               "timing": [] if args.skip_timing else timing(args.data_dir, work,
                                                            [int(s) for s in args.sizes.split(",") if s])}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    res["total_s"] = time.perf_counter() - started
    (args.out / "results.json").write_text(json.dumps(res, indent=2, default=str) + "\n", encoding="utf-8")
    (args.out / "results.md").write_text(markdown(res), encoding="utf-8")
    print(markdown(res))
    print(f"total {res['total_s']:.0f} s; wrote {args.out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
