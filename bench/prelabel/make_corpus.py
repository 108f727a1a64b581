"""Generate a synthetic news corpus of a given size (folders of .txt articles) for the pre-label benchmark.

Articles are assembled from real text: paragraphs of the BBC News articles and AG News items (from
$BENCH_DATA, default ../shared/data) and the lines of the project's seeds/, with a unique dateline each, so
no two articles share an id. Deterministic for a given seed. Never write it inside the repository.

    python bench/prelabel/make_corpus.py OUT_DIR --mb 100
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# $BENCH_DATA, else ../shared/data beside the repository (or beside its worktree folder)
DEFAULT_DATA = Path(os.environ["BENCH_DATA"]) if os.environ.get("BENCH_DATA") else next(
    (p for p in (REPO.parent / "shared" / "data", REPO.parents[1] / "shared" / "data") if p.is_dir()),
    REPO.parent / "shared" / "data")
PER_FOLDER = 1000


def paragraph_pool(data_dir: Path) -> tuple[list[str], list[str]]:
    """(headlines, paragraphs) from the seed articles and whatever benchmark data sets are present."""
    csv.field_size_limit(sys.maxsize)
    heads: list[str] = []
    paras: list[str] = []
    from label_app.corpus import read_article_file
    from label_app.errors import BadInput

    for f in sorted((REPO / "seeds").glob("*.txt")):
        try:  # the product's reader: any encoding ingestion accepts; files it refuses are left out here too
            text = read_article_file(f, f.name)[0][0].text
        except BadInput:
            continue
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        if lines:
            heads.append(lines[0])
            paras.extend(ln for ln in lines[1:] if len(ln) > 60)
    bbc = data_dir / "bbc_news" / "data.csv"
    if bbc.exists():
        with open(bbc, encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                blocks = [b.strip() for b in row["text"].split("\n\n") if b.strip()]
                if blocks:
                    heads.append(blocks[0].split("\n")[0])
                    paras.extend(" ".join(b.split()) for b in blocks[1:])
    ag = data_dir / "ag_news_test" / "data.csv"
    if ag.exists():
        with open(ag, encoding="utf-8", newline="") as fh:
            paras.extend(" ".join(row["text"].replace("\\", " ").split()) for row in csv.DictReader(fh))
    if len(paras) < 50:
        raise SystemExit(f"too little text to build a corpus from (seeds/ and {data_dir})")
    return heads, paras


def make_corpus(out: Path, mb: float, seed: int = 0, data_dir: Path = DEFAULT_DATA) -> tuple[int, int]:
    """Write articles under `out` until `mb` megabytes; returns (articles, bytes)."""
    rng = random.Random(seed)
    heads, paras = paragraph_pool(data_dir)
    target = int(mb * 1_000_000)
    total = n = 0
    while total < target:
        folder = out / f"part{n // PER_FOLDER:04d}"
        if n % PER_FOLDER == 0:
            folder.mkdir(parents=True, exist_ok=True)
        body = "\n\n".join(rng.sample(paras, rng.randint(5, 14)))
        text = f"{rng.choice(heads)}\n\nNews ID: {seed}-{n}\n\n{body}\n"
        data = text.encode("utf-8")
        (folder / f"article{n:07d}.txt").write_bytes(data)
        total += len(data)
        n += 1
    return n, total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path, help="folder to create (outside the repository)")
    ap.add_argument("--mb", type=float, default=100.0, help="size of the corpus in megabytes (default 100)")
    ap.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="benchmark data folder (default ../shared/data)")
    args = ap.parse_args()
    n, total = make_corpus(args.out, args.mb, args.seed, args.data)
    print(f"{n} articles, {total / 1e6:.1f} MB in {args.out}")


if __name__ == "__main__":
    main()
