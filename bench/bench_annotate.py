"""Server-side time per label action: save one label and produce the next sentence to show.

For 1,000 / 10,000 / 100,000 sentences (generated projects in a temp dir, each with as many existing
labels), it times what the Annotate page does per action (Workspace.sync, save = store append + incremental
index update, next_for, view, progress) against a naive baseline that rereads the whole label log and
recomputes the queue and the context from the corpus frame on every action.

    .venv/bin/python bench/bench_annotate.py [--sizes 1000 10000 100000] [--actions 200] [--naive-actions 30]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from label_app import store  # noqa: E402
from label_app.corpus import CORPUS_FORMAT, KIND_SENTENCE, load_corpus, sentence_id_for  # noqa: E402
from label_app.project import Project  # noqa: E402
from label_app.schema import load_schema  # noqa: E402
from label_app.workspace import Workspace  # noqa: E402

WORDS = ("Iran Iraq trade energy gas electricity pipeline visit minister talks sanctions border pilgrims "
         "security militia agreement bank exports imports cooperation relations growth billion dollars").split()
PER_ARTICLE = 20
ANNOTATORS = ("ali", "bea", "cem", "dan")


def make_project(root: Path, n_sentences: int, seed: int = 0) -> Project:
    """A project whose corpus cache holds `n_sentences` sentences and whose log holds as many labels."""
    rng = random.Random(seed)
    project = Project.at(root)
    project.labels_dir.mkdir(parents=True)
    shutil.copy(REPO / "labels" / "schema.toml", project.schema_path)
    project.seeds_dir.mkdir()
    project.cache_dir.mkdir()
    # The corpus cache is written directly: this measures label actions, not spaCy segmentation.
    lines = []
    n_articles = n_sentences // PER_ARTICLE
    for a in range(n_articles):
        aid = f"a{a:012x}"
        segs = [[f"Article {a} heading", "heading"]]
        segs += [[" ".join(rng.choices(WORDS, k=14)).capitalize() + f" ({a}.{i}).", KIND_SENTENCE]
                 for i in range(PER_ARTICLE)]
        lines.append(json.dumps({"article_id": aid, "title": f"Article {a}", "source": f"gen/{a}.txt",
                                 "given_id": "", "segments": segs}))
    project.corpus_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    project.ingest_cache_path.write_text(json.dumps({"__format__": CORPUS_FORMAT}), encoding="utf-8")
    schema = load_schema(project.schema_path)
    topics, stances = schema.topic.names, schema.stance.names
    # n labels: the first half of the sentences, two annotators each (so queues must pass over them)
    rows = []
    for k in range(n_sentences):
        s = k // 2
        a, i = divmod(s, PER_ARTICLE)
        aid = f"a{a:012x}"
        rows.append(store.LabelRow(sentence_id=sentence_id_for(aid, i + 1), text=f"sentence {s}", article_id=aid,
                                   annotator=ANNOTATORS[k % 2 + 2 * (s % 2)], topic=rng.choice(topics),
                                   stance=rng.choice(stances)).as_dict())
    with open(project.log_path, "w", encoding="utf-8", newline="") as fh:
        fh.write(",".join(store.LOG_COLUMNS) + "\n")
        fh.writelines(store.encode_row(r) for r in rows)
    return project


def fast_actions(project: Project, n: int) -> tuple[list[float], float]:
    t0 = time.perf_counter()
    ws = Workspace.open(project.root, refresh=False)
    open_s = time.perf_counter() - t0
    who = "bench"
    sid = ws.next_for(who)
    times = []
    topics = ws.schema.topic.names
    for k in range(n):
        t = time.perf_counter()
        ws.sync()
        ws.save(who, sid, "label", topics[k % len(topics)], "neutral", seconds=1.0)
        sid = ws.next_for(who)
        ws.view(sid)
        ws.progress(who)
        times.append(time.perf_counter() - t)
    return times, open_s


def naive_actions(project: Project, n: int) -> list[float]:
    schema = load_schema(project.schema_path)
    corpus = load_corpus(project, refresh=False)
    sentences = corpus[corpus["kind"] == KIND_SENTENCE]
    who = "naive"

    def next_sentence() -> str:
        rows = store.read_log(project).rows
        latest = store.latest_rows(rows)
        done = {s for (s, _w), r in latest.items() if r["action"] in ("label", "not-sentence")}
        mine = {s for (s, w) in latest if w == who}
        for s in sentences["sentence_id"]:
            if s not in done and s not in mine:
                return s
        raise RuntimeError("queue empty")

    sid = next_sentence()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        row = corpus[corpus["sentence_id"] == sid].iloc[0]
        store.append_label(project, schema, store.LabelRow(sid, row["text"], who, "trade", "neutral",
                                                           row["article_id"], seconds=1.0))
        sid = next_sentence()
        art = corpus[corpus["article_id"] == corpus.loc[corpus["sentence_id"] == sid, "article_id"].iloc[0]]
        _ = art[art["kind"] == KIND_SENTENCE]
        times.append(time.perf_counter() - t)
    return times


def summary(times: list[float]) -> tuple[float, float]:
    ms = sorted(t * 1000 for t in times)
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    return statistics.median(ms), p95


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--actions", type=int, default=200, help="label actions timed per size (app path)")
    ap.add_argument("--naive-actions", type=int, default=30, help="label actions timed per size (baseline)")
    args = ap.parse_args(argv)
    print(f"{'sentences':>10} {'labels':>8} {'open s':>7} | {'app median ms':>13} {'app p95 ms':>10} | "
          f"{'naive median ms':>15} {'naive p95 ms':>12} | speed-up")
    with tempfile.TemporaryDirectory(prefix="bench-annotate-") as tmp:
        for n in args.sizes:
            project = make_project(Path(tmp) / f"p{n}", n)
            fast, open_s = fast_actions(project, args.actions)
            naive = naive_actions(project, args.naive_actions)
            fm, fp = summary(fast)
            nm, np_ = summary(naive)
            print(f"{n:>10,} {n:>8,} {open_s:>7.2f} | {fm:>13.2f} {fp:>10.2f} | {nm:>15.1f} {np_:>12.1f} | "
                  f"{nm / fm:>6.0f}x", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
