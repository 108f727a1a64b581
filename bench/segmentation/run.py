"""Segmentation benchmark: exact-match score on the hand-written cases and throughput, per candidate.

    .venv/bin/python bench/segmentation/run.py            # all candidates installed
    .venv/bin/python bench/segmentation/run.py --verbose  # print each miss

Then ingestion throughput: `label_app.corpus.ingest` of a temporary project (outside the repository) whose
seeds/ holds N BBC News articles (--ingest-articles, default 500), first ingest (everything read and
segmented) and a re-ingest with nothing changed, next to the old spaCy-sentencizer segmentation of the same
texts as the baseline.

Candidates: the corpus's segmenter (`label_app.corpus.segment_articles`, what ingestion uses), the old
line + spaCy sentencizer rule (`sentencizer`), pysbd, sentencex and nupunkt (when installed). Throughput is
sentences per second over the project's seed articles plus BBC News paragraphs from $BENCH_DATA (default
../shared/data), one process, median of 3 runs.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
DATA = next((p for p in (REPO.parent / "shared" / "data", REPO.parents[1] / "shared" / "data") if p.is_dir()), REPO.parent / "shared" / "data")


def candidates() -> dict[str, Callable[[str], list[str]]]:
    out: dict[str, Callable[[str], list[str]]] = {}
    from label_app.corpus import KIND_SENTENCE, get_nlp, segment_articles

    out["corpus (ingestion)"] = lambda t: [s.text for s in segment_articles([t])[0] if s.kind == KIND_SENTENCE]
    nlp = get_nlp()
    out["spacy sentencizer"] = lambda t: [s.text.strip() for s in nlp(t).sents if s.text.strip()]
    try:
        import pysbd

        seg = pysbd.Segmenter(language="en", clean=False)
        out["pysbd"] = lambda t: [s.strip() for s in seg.segment(t) if s.strip()]
    except ImportError:
        pass
    try:
        import sentencex

        out["sentencex"] = lambda t: [s.strip() for s in sentencex.segment("en", t) if s.strip()]
    except ImportError:
        pass
    try:
        from nupunkt import sent_tokenize

        out["nupunkt"] = lambda t: [s.strip() for s in sent_tokenize(t) if s.strip()]
    except ImportError:
        pass
    return out


def paragraphs(limit: int) -> list[str]:
    paras = []
    for f in sorted((REPO / "seeds").glob("*.txt")):
        paras += [ln.strip() for ln in f.read_text("utf-8").splitlines() if len(ln.strip()) > 60]
    bbc = DATA / "bbc_news" / "data.csv"
    if bbc.exists():
        csv.field_size_limit(1 << 30)
        with open(bbc, encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                paras += [" ".join(b.split()) for b in row["text"].split("\n\n")[1:] if b.strip()]
                if len(paras) >= limit:
                    break
    return paras[:limit]


def bench_ingest(n: int) -> None:
    import shutil
    import tempfile

    from label_app.corpus import get_nlp, ingest
    from label_app.project import Project

    bbc = DATA / "bbc_news" / "data.csv"
    if not bbc.exists():
        print("ingest: no BBC News data found; skipped")
        return
    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    try:
        for name in ("pysbd", "spacy sentencizer (baseline)"):
            root = work / name.split()[0]
            (root / "seeds").mkdir(parents=True)
            (root / "labels").mkdir()
            shutil.copy(REPO / "labels" / "schema.toml", root / "labels")
            with open(bbc, encoding="utf-8", newline="") as fh:
                for i, row in enumerate(csv.DictReader(fh)):
                    if i >= n:
                        break
                    (root / "seeds" / f"bbc{i:05d}.txt").write_text(row["text"], "utf-8")
            project = Project.at(root)
            nlp = get_nlp() if name.startswith("spacy") else None
            t0 = time.perf_counter()
            rep = ingest(project, nlp=nlp)
            first = time.perf_counter() - t0
            t0 = time.perf_counter()
            ingest(project, nlp=nlp)
            again = time.perf_counter() - t0
            mb = sum(p.stat().st_size for p in (root / "seeds").iterdir()) / 1e6
            print(f"ingest {name:30s} {rep.articles} articles ({mb:.1f} MB), {rep.sentences} sentences: "
                  f"{first:6.1f} s = {rep.articles / first:6.1f} articles/s, {rep.sentences / first:7,.0f} "
                  f"sentences/s; re-ingest unchanged {again:.2f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--paragraphs", type=int, default=3000)
    ap.add_argument("--ingest-articles", type=int, default=500, help="0 to skip the ingestion benchmark")
    args = ap.parse_args()
    from segmentation_cases import CASES

    paras = paragraphs(args.paragraphs)
    print(f"{len(CASES)} cases; throughput on {len(paras)} paragraphs "
          f"({sum(map(len, paras)) / 1e6:.2f} MB), one process, median of 3")
    for name, fn in candidates().items():
        ok = 0
        for kind, text, expected in CASES:
            got = fn(text)
            if got == expected:
                ok += 1
            elif args.verbose:
                print(f"  {name} miss [{kind}]: {got}")
        times, n = [], 0
        for _ in range(3):
            t0 = time.perf_counter()
            n = sum(len(fn(p)) for p in paras)
            times.append(time.perf_counter() - t0)
        med = statistics.median(times)
        print(f"{name:20s} {ok:3d}/{len(CASES)} exact   {n / med:9,.0f} sentences/s ({n} sentences, "
              f"median {med:.2f} s)")
    if args.ingest_articles:
        bench_ingest(args.ingest_articles)


if __name__ == "__main__":
    main()
