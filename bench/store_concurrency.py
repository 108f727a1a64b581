"""Concurrent writers: N processes append M labels each at the same time to one project.

Checks exactly N*M rows after, every one parseable and attributed, each writer's rows in its own order;
prints throughput and per-append latency (median, p95), next to one process appending the same number of
rows alone (the baseline, in the same run).

    .venv/bin/python bench/store_concurrency.py [--procs 32] [--labels 500]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from label_app import store  # noqa: E402
from label_app.project import Project  # noqa: E402
from label_app.schema import load_schema  # noqa: E402


def _project(root: Path) -> Project:
    (root / "labels").mkdir(parents=True)
    shutil.copy(REPO / "labels" / "schema.toml", root / "labels" / "schema.toml")
    return Project.at(root)


def writer(root: str, who: str, n: int, start_at: float, out: mp.Queue) -> None:
    p = Project.at(root)
    schema = load_schema(p.schema_path)
    while time.time() < start_at:  # all writers start together
        time.sleep(0.001)
    lat = []
    for i in range(n):
        t = time.perf_counter()
        store.append_label(p, schema, store.LabelRow(f"s{i}", f"sentence {i}, by {who}", who, topic="trade",
                                                     stance="favor", seconds=1.0))
        lat.append(time.perf_counter() - t)
    out.put(lat)


def run(procs: int, labels: int, root: Path) -> tuple[float, list[float]]:
    ctx = mp.get_context("spawn")
    q: mp.Queue = ctx.Queue()
    start_at = time.time() + 2.0 + procs * 0.05
    ps = [ctx.Process(target=writer, args=(str(root), f"w{k:02d}", labels, start_at, q)) for k in range(procs)]
    for p in ps:
        p.start()
    lat: list[float] = []
    for _ in ps:
        lat += q.get()
    for p in ps:
        p.join()
        assert p.exitcode == 0
    return time.time() - start_at, lat


def check(project: Project, procs: int, labels: int) -> str:
    res = store.read_log(project, warn=False)
    assert not res.torn, res.torn[:3]
    assert len(res.rows) == procs * labels, len(res.rows)
    for k in range(procs):
        mine = [r["sentence_id"] for r in res.rows if r["annotator"] == f"w{k:02d}"]
        assert mine == [f"s{i}" for i in range(labels)], f"writer w{k:02d} rows lost or out of order"
    return f"{len(res.rows)} rows, all parseable, all attributed, each writer's rows complete and in order"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--procs", type=int, default=32, help="concurrent writer processes (default 32)")
    ap.add_argument("--labels", type=int, default=500, help="labels appended by each writer (default 500)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        conc = _project(Path(tmp) / "concurrent")
        wall, lat = run(a.procs, a.labels, conc.root)
        verdict = check(conc, a.procs, a.labels)
        base = _project(Path(tmp) / "single")
        bwall, blat = run(1, a.procs * a.labels, base.root)
        check(base, 1, a.procs * a.labels)
    n = a.procs * a.labels
    q = statistics.quantiles
    print(f"concurrent: {a.procs} processes x {a.labels} labels: {verdict}")
    print(f"  wall {wall:.1f} s, {n / wall:.0f} appends/s; per append median {statistics.median(lat) * 1e3:.2f} ms, "
          f"p95 {q(lat, n=20)[18] * 1e3:.2f} ms")
    print(f"baseline: 1 process x {n} labels: wall {bwall:.1f} s, {n / bwall:.0f} appends/s; per append median "
          f"{statistics.median(blat) * 1e3:.2f} ms, p95 {q(blat, n=20)[18] * 1e3:.2f} ms")
    print(f"ratio concurrent/baseline throughput: {(n / wall) / (n / bwall):.2f}")


if __name__ == "__main__":
    main()
