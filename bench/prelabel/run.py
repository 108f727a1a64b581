"""Pre-labeling benchmark: end-to-end throughput and peak memory, next to a naive one-article-at-a-time baseline.

    .venv/bin/python bench/prelabel/run.py                 # 10 MB and 100 MB corpora, baseline on 10 MB
    .venv/bin/python bench/prelabel/run.py --large-mb 50   # quicker

Steps: a temporary project gets the shipped schema and labels and a model trained on them
(`train.train_project`); synthetic corpora are generated into a temporary folder (make_corpus.py, never
inside the repository); the fast segmenter (`label_app.corpus.FastSegmenter`) is checked against ingestion's segmentation
(`segment_articles`) on a sample;
then each measured run is a separate child process whose whole process tree (workers included) is
sampled with psutil for peak RSS:

* `prelabel`: `train.prelabel.prelabel(project, [corpus])` (joblib on all cores, chunks, fast segmenter);
* `baseline` (same output, naive execution): per article file, ingestion's own segmentation
  (`label_app.corpus.segment_articles`, the segments `prelabel` must reproduce), then the model's predictions
  for that article's sentences (`TrainedModel.predict`, i.e. the scikit-learn pipelines' probabilities), one
  article at a time in one process, writing a CSV. This is the ratio the ≥3× target is about: the same
  sentences, predicted the straightforward way.
* `baseline-sentencizer` (the pre-issue-11 baseline, kept for continuity): the same loop with spaCy's bare
  sentencizer over the whole article instead. It does less work than the product (no line handling, no
  abbreviation rules), so its ratio understates the speed-up; both are printed.

Results (JSON) go to bench/out/prelabel.json (git-ignored) and a table to stdout.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def _tree_rss(proc) -> int:  # noqa: ANN001 - psutil.Process
    import psutil

    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def measure(cmd: list[str], env: dict[str, str] | None = None) -> dict:
    """Run `cmd`; return wall seconds, peak RSS of its whole process tree and of its largest process, its JSON."""
    import psutil

    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    ps = psutil.Process(proc.pid)
    peak_tree = peak_main = 0
    while proc.poll() is None:
        peak_tree = max(peak_tree, _tree_rss(ps))
        try:
            peak_main = max(peak_main, ps.memory_info().rss)
        except psutil.Error:
            pass
        time.sleep(0.2)
    out = proc.stdout.read() if proc.stdout else ""
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed with exit code {proc.returncode}")
    result = json.loads(out.strip().splitlines()[-1])
    result.update(wall_s=wall, peak_tree_rss_mb=peak_tree / 1e6, peak_main_rss_mb=peak_main / 1e6)
    return result


# ---------------------------------------------------------------- child processes


def child_prelabel(project_dir: str, corpus: str, out: str, n_jobs: int, segmenter: str) -> None:
    from label_app.project import Project
    from train.prelabel import prelabel

    t0 = time.perf_counter()
    rep = prelabel(Project.at(project_dir), [corpus], out=out, n_jobs=n_jobs, segmenter=segmenter)
    print(json.dumps({"sentences": rep.sentences, "articles": rep.articles, "seconds": time.perf_counter() - t0}))


def child_baseline(project_dir: str, corpus: str, out: str, segmentation: str = "ingestion") -> None:
    import train
    from label_app.corpus import KIND_SENTENCE, get_nlp, read_article_file, segment_articles
    from label_app.project import Project
    from label_app.schema import load_schema

    t0 = time.perf_counter()
    project = Project.at(project_dir)
    model = train.load_current_model(project, load_schema(project.schema_path))
    nlp = get_nlp() if segmentation == "sentencizer" else None
    n_sent = n_art = 0
    with open(out, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["text", "topic", "topic_prob", "stance", "stance_prob", "uncertainty"])
        for f in sorted(Path(corpus).rglob("*.txt")):
            arts, _ = read_article_file(f, f.name)
            if nlp is not None:
                sents = [s.text.strip() for s in nlp(arts[0].text).sents if s.text.strip()]
            else:
                sents = [seg.text for seg in segment_articles([arts[0].text])[0] if seg.kind == KIND_SENTENCE]
            for s, p in zip(sents, model.predict(sents), strict=True):
                w.writerow([s, p.topic, p.topic_prob, p.stance, p.stance_prob, p.uncertainty])
            n_sent += len(sents)
            n_art += 1
    print(json.dumps({"sentences": n_sent, "articles": n_art, "seconds": time.perf_counter() - t0}))


# ---------------------------------------------------------------- driver


def setup_project(root: Path) -> Path:
    """A project with the shipped schema, labels and seeds, and a model trained on them."""
    import train
    from label_app.project import Project

    proj = root / "project"
    (proj / "labels").mkdir(parents=True)
    shutil.copy(REPO / "labels" / "schema.toml", proj / "labels")
    shutil.copy(REPO / "labels" / "labels.csv", proj / "labels")
    shutil.copytree(REPO / "labels" / "versions", proj / "labels" / "versions")
    shutil.copytree(REPO / "seeds", proj / "seeds")
    train.train_project(Project.at(proj))
    return proj


def check_segmenter(corpus: Path, n: int) -> dict:
    from label_app.corpus import check_same_segments, read_article_file

    files = sorted(corpus.rglob("*.txt"))[:n]
    texts = [read_article_file(f, f.name)[0][0].text for f in files]
    t0 = time.perf_counter()
    bad = check_same_segments(texts)
    return {"articles_checked": len(texts), "articles_differing": len(bad), "seconds": time.perf_counter() - t0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--small-mb", type=float, default=10, help="small corpus size in MB (default 10)")
    ap.add_argument("--large-mb", type=float, default=100, help="large corpus size in MB (default 100)")
    ap.add_argument("--n-jobs", type=int, default=-1, help="worker processes for prelabel (default: all cores)")
    ap.add_argument("--check-articles", type=int, default=3000,
                    help="articles on which the fast segmenter is compared with the corpus's (default 3000)")
    ap.add_argument("--workdir", type=Path, default=None, help="temporary folder (default: a new one in $TMPDIR)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "prelabel.json", help="JSON results file")
    args = ap.parse_args()

    from make_corpus import make_corpus

    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-prelabel-"))
    work.mkdir(parents=True, exist_ok=True)
    if work.resolve().is_relative_to(REPO):
        raise SystemExit("--workdir must be outside the repository (the corpus must never be committed)")
    try:
        t0 = time.perf_counter()
        proj = setup_project(work)
        print(f"trained a model in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        corpora = {}
        for name, mb in (("small", args.small_mb), ("large", args.large_mb)):
            n, size = make_corpus(work / f"corpus-{name}", mb, seed=1)
            corpora[name] = (work / f"corpus-{name}", n, size)
            print(f"corpus {name}: {n} articles, {size / 1e6:.1f} MB", file=sys.stderr)
        results: dict = {"cpu_count": os.cpu_count(), "load_avg_before": os.getloadavg()}
        results["segmenter_check"] = check_segmenter(corpora["large"][0], args.check_articles)
        print(f"segmenter check: {results['segmenter_check']}", file=sys.stderr)
        py = sys.executable
        me = str(Path(__file__).resolve())
        runs = [
            ("baseline", "small", [py, me, "--child", "baseline", str(proj), str(corpora["small"][0]),
                                   str(work / "base-small.csv"), "ingestion"]),
            ("baseline-sentencizer", "small", [py, me, "--child", "baseline", str(proj), str(corpora["small"][0]),
                                               str(work / "base-sentencizer-small.csv"), "sentencizer"]),
            ("prelabel", "small", [py, me, "--child", "prelabel", str(proj), str(corpora["small"][0]),
                                   str(work / "pl-small.csv"), str(args.n_jobs), "fast"]),
            ("prelabel", "large", [py, me, "--child", "prelabel", str(proj), str(corpora["large"][0]),
                                   str(work / "pl-large.csv"), str(args.n_jobs), "fast"]),
        ]
        results["runs"] = []
        for kind, corpus_name, cmd in runs:
            r = measure(cmd)
            _, n_art, size = corpora[corpus_name]
            r.update(kind=kind, corpus=corpus_name, corpus_mb=size / 1e6, sentences_per_s=r["sentences"] / r["wall_s"],
                     mb_per_s=size / 1e6 / r["wall_s"])
            results["runs"].append(r)
            print(f"{kind:20s} {corpus_name:5s} {size / 1e6:6.1f} MB  {r['sentences']:>8} sentences  "
                  f"{r['wall_s']:7.1f} s  {r['sentences_per_s']:8.0f} sent/s  {r['mb_per_s']:.3f} MB/s  "
                  f"peak tree RSS {r['peak_tree_rss_mb']:.0f} MB (largest process {r['peak_main_rss_mb']:.0f} MB)",
                  file=sys.stderr)
        base, base_sentencizer, small, large = results["runs"]
        results["speedup_sentences_per_s_small"] = small["sentences_per_s"] / base["sentences_per_s"]
        results["speedup_sentences_per_s_small_vs_sentencizer_baseline"] = (
            small["sentences_per_s"] / base_sentencizer["sentences_per_s"])
        results["speedup_mb_per_s_small"] = small["mb_per_s"] / base["mb_per_s"]
        results["speedup_mb_per_s_large_vs_baseline_small"] = large["mb_per_s"] / base["mb_per_s"]
        results["peak_memory_ratio_large_vs_small"] = large["peak_tree_rss_mb"] / small["peak_tree_rss_mb"]
        results["load_avg_after"] = os.getloadavg()
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2))
        print(json.dumps({k: v for k, v in results.items() if k != "runs"}, indent=2))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        if sys.argv[2] == "baseline":
            child_baseline(*sys.argv[3:7])
        else:
            child_prelabel(sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6]), sys.argv[7])
    else:
        main()
