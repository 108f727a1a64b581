"""Load benchmark: N simulated annotators labelling continuously through the real server, 1 or 2 processes.

Each simulated annotator is one websocket session speaking Streamlit's own protocol (bench/load/annotator.py) and
doing what the Annotate card (label_app/components/card) does in a browser: read the sentence (1 s), topic key,
stance key (both handled in the browser, no message), Enter = ONE action to the server (a fragment rerun carrying
the card's trigger value), confirmed by the card's ack. All of them run in this one light process (asyncio). The
servers are real `python -m label_app` processes on one project (a 200-article, ~3,000-sentence corpus made from
the BBC News / AG News paragraphs in ../shared/data and the seeds). With two processes, annotator i talks to
process i mod 2 (what a reverse proxy's sticky sessions do).

Per N it reports p50/p95/max latency of every action that reaches the server (a save: BackMsg sent -> the card's
data with its ack received) and the CPU the servers and this load generator used (cores = CPU seconds / wall
seconds; CPU ms per action), then checks from the label log on disk: every save the card confirmed is on disk
exactly once, no sentence went to two annotators at once (overlap 1: two annotators' shown-to-saved intervals
never overlap on one sentence, and no sentence has two labels), overlap k honoured exactly (no sentence above k
distinct annotators).

    .venv/bin/python bench/load/run.py                       # N = 1 5 10 20 40, one and two processes
    .venv/bin/python bench/load/run.py --levels 1 20 --processes 2 --seconds 30 --overlap 2
    .venv/bin/python bench/load/run.py --browsers 2          # plus 2 real Chromium tabs, key-to-screen

Writes bench/out/load.json. Never leaves a server running (they are stopped in a finally).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(REPO / "bench" / "prelabel"))

from annotator import StreamlitSession, perform_save  # noqa: E402

from label_app import store  # noqa: E402
from label_app.settings import Settings, save_settings  # noqa: E402

OUT = REPO / "bench" / "out"
TOPICS = ["trade", "energy", "security", "diplomacy", "sanctions_us", "politics", "society", "other"]
STANCES = ["favor", "against", "neutral"]


# ---------------------------------------------------------------- the project and the servers

def build_project(root: Path, articles: int = 200, seed: int = 0) -> int:
    """A project with `articles` news articles (real paragraphs), ingested; returns the sentence count."""
    from make_corpus import DEFAULT_DATA, paragraph_pool

    from label_app.workspace import Workspace

    (root / "labels").mkdir(parents=True)
    shutil.copy(REPO / "labels" / "schema.toml", root / "labels" / "schema.toml")
    seeds = root / "seeds"
    seeds.mkdir()
    rng = random.Random(seed)
    candidates = [Path(os.environ["BENCH_DATA"])] if os.environ.get("BENCH_DATA") else []
    candidates += [DEFAULT_DATA, REPO.parent / "shared" / "data", REPO.parents[1] / "shared" / "data"]
    data = next((c for c in candidates if (c / "bbc_news").is_dir()), DEFAULT_DATA)  # a worktree sits deeper
    heads, paras = paragraph_pool(data)
    for n in range(articles):
        body = "\n\n".join(rng.sample(paras, rng.randint(4, 8)))
        (seeds / f"article{n:04d}.txt").write_text(f"{rng.choice(heads)}\n\nNews ID: {seed}-{n}\n\n{body}\n", "utf-8")
    return len(Workspace.open(root).sentence_ids)


def add_model(root: Path) -> str:
    """Train a model on the shipped project (its starter labels and seeds) and install it as `root`'s current
    model, so the Annotate card shows suggestions (the per-sentence model work: topic, stance for each topic).
    Returns the model id."""
    import tempfile as _tf

    import train
    from label_app.project import Project

    with _tf.TemporaryDirectory(prefix="label-load-model-") as tmp:
        shipped = Path(tmp) / "shipped"
        (shipped / "labels").mkdir(parents=True)
        for name in ("schema.toml", "labels.csv"):
            shutil.copy(REPO / "labels" / name, shipped / "labels" / name)
        shutil.copytree(REPO / "labels" / "versions", shipped / "labels" / "versions")
        shutil.copytree(REPO / "seeds", shipped / "seeds")
        result = train.train_project(Project.at(shipped), progress=False)
        shutil.copytree(Project.at(shipped).models_dir, Project.at(root).models_dir)
    return str(getattr(result, "model_id", ""))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_servers(root: Path, n: int, baseline: bool = False) -> list[tuple[subprocess.Popen, str]]:
    """`python -m label_app` processes on one project, each on its own loopback port, answering health.
    `baseline`: Streamlit's full GC after every run and no frozen heap (the app before this benchmark)."""
    out = []
    env = {**os.environ, "STREAMLIT_RUNNER_POST_SCRIPT_GC": "true", "LABEL_APP_GC_FREEZE": "0"} if baseline \
        else {k: v for k, v in os.environ.items() if k not in ("STREAMLIT_RUNNER_POST_SCRIPT_GC", "LABEL_APP_GC_FREEZE")}
    for _ in range(n):
        port = free_port()
        proc = subprocess.Popen([sys.executable, "-m", "label_app", "--project", str(root), "--port", str(port)],
                                cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True, env=env)
        out.append((proc, f"http://127.0.0.1:{port}"))
    for proc, url in out:
        deadline = time.time() + 120
        while True:
            try:
                if httpx.get(url + "/_stcore/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"server at {url} did not start")
            time.sleep(0.3)
    return out


def stop_servers(servers: list[tuple[subprocess.Popen, str]]) -> None:
    for proc, _url in servers:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc, _url in servers:
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


# ---------------------------------------------------------------- the annotators

@dataclass
class Record:
    latencies: list[float] = field(default_factory=list)  # every action (key or Enter), seconds
    save_latencies: list[float] = field(default_factory=list)  # Enter only
    saves: list[tuple[str, str, float, float, bool]] = field(default_factory=list)  # who, sentence id, shown, saved, ok
    resends: int = 0  # actions card.js would have sent again (no answer within 4 s)
    problems: list[str] = field(default_factory=list)
    finished: int = 0  # annotators whose queue ran out
    upstreams: dict[str, int] = field(default_factory=dict)  # behind the proxy: annotators per server


async def annotate(i: int, url: str, deadline: float, rec: Record, read_s: float, gap_s: float,
                   proxied: bool = False) -> None:
    who = f"u{i:02d}"
    rng = random.Random(i)
    cookie = ""
    if proxied:  # a browser's first page load through the proxy: it gets its sticky-session cookie
        from proxy import route_cookie

        cookie, upstream = await asyncio.to_thread(route_cookie, url)
        rec.upstreams[upstream] = rec.upstreams.get(upstream, 0) + 1
    s = StreamlitSession(url, f"annotator={who}", cookie)
    try:
        await s.connect()
        while time.time() < deadline:
            if s.last.sentence_id is None:
                rec.finished += 1
                return
            shown = time.time()
            await asyncio.sleep(read_s * rng.uniform(0.8, 1.2))
            r = await perform_save(s, rng.choice(TOPICS), rng.choice(STANCES), gap_s)
            rec.latencies.extend(r.latencies)
            rec.save_latencies.append(r.latencies[-1])
            rec.resends += r.sends - 1
            rec.saves.append((who, r.sentence_id, shown, time.time(), r.confirmed))
            if r.problem:
                rec.problems.append(f"{who}: {r.problem}")
    except Exception as exc:  # noqa: BLE001 - reported, the run goes on
        rec.problems.append(f"{who}: {type(exc).__name__}: {exc}")
    finally:
        await s.close()


async def drive(urls: list[str], n: int, seconds: float, read_s: float, gap_s: float,
                proxied: bool = False) -> Record:
    rec = Record()
    # annotators arrive over the first two seconds, as a team does, not in one instant
    deadline = time.time() + seconds

    async def one(i: int) -> None:
        await asyncio.sleep(2.0 * i / max(n, 1))
        await annotate(i, urls[i % len(urls)], deadline, rec, read_s, gap_s, proxied)

    await asyncio.gather(*(one(i) for i in range(n)))
    return rec


async def warm(urls: list[str]) -> None:
    """One full Annotate run per server (the first loads the corpus and imports the model code), as before a
    working day; 'warmup' then leaves, which releases its sentence ("Change annotator")."""
    for url in urls:
        s = StreamlitSession(url, "annotator=warmup")
        await s.connect()
        await s.press("ann_change")
        await s.close()


# ---------------------------------------------------------------- checks

def check(root: Path, rec: Record, overlap: int) -> dict:
    """Compare what the card confirmed (annotator, sentence id) with the label log on disk."""
    rows = [r for r in store.read_log(_project(root), warn=False).rows if r["action"] == "label"]
    on_disk = Counter((r["annotator"], r["sentence_id"]) for r in rows)
    confirmed = [(who, sid, shown, saved) for who, sid, shown, saved, ok in rec.saves if ok]
    lost = sum(1 for who, sid, _s, _t in confirmed if not on_disk[(who, sid)])
    twice = sum(1 for c in on_disk.values() if c > 1)
    unconfirmed = sum(1 for *_x, ok in rec.saves if not ok)
    per_sentence: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        per_sentence[r["sentence_id"]].add(r["annotator"])
    over_k = sum(1 for w in per_sentence.values() if len(w) > overlap)
    exactly_k = sum(1 for w in per_sentence.values() if len(w) == overlap)
    # at once: more than k annotators' shown..saved intervals on one sentence overlap
    spans: dict[str, list[tuple[float, float, str]]] = defaultdict(list)
    for who, sid, shown, saved in confirmed:
        spans[sid].append((shown, saved, who))
    at_once = 0
    for sp in spans.values():
        sp.sort()
        holders_needed = overlap
        for j in range(len(sp)):
            concurrent = 1 + sum(1 for k in range(len(sp)) if k != j and sp[k][0] < sp[j][1] and sp[j][0] < sp[k][1])
            if concurrent > holders_needed:
                at_once += 1
                break
    return {"confirmed": len(confirmed), "rows_on_disk": len(rows), "lost": lost, "saved_twice": twice,
            "unconfirmed_saves": unconfirmed, "resent": rec.resends, "sentences_over_k": over_k, "sentences_with_k": exactly_k,
            "given_to_more_than_k_at_once": at_once}


def _project(root: Path):  # noqa: ANN202
    from label_app.project import Project

    return Project.at(root)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))]


# ---------------------------------------------------------------- one level

def run_level(base: Path, work: Path, n: int, processes: int, seconds: float, overlap: int, read_s: float,
              gap_s: float, browsers: int, profile: bool = False, baseline: bool = False,
              proxy: bool = False) -> dict:
    root = work / f"p{processes}-n{n}-k{overlap}-{'base' if baseline else 'app'}"
    shutil.copytree(base, root, ignore=shutil.ignore_patterns("labels.csv", "claims.sqlite3*", ".labels.lock"))
    save_settings(_project(root), Settings(overlap=overlap))
    servers = start_servers(root, processes, baseline)
    nginx = None
    try:
        urls = [u for _p, u in servers]
        asyncio.run(warm(urls))
        if proxy:  # everyone through one nginx address, sticky sessions spreading them over the processes
            from proxy import start_nginx

            port = free_port()
            nginx = start_nginx(urls, port, root / ".nginx")
            urls = [f"http://127.0.0.1:{port}"]
        pids = [p.pid for p, _u in servers]
        spies = []
        if profile:
            # py-spy samples the first server for the whole level: collapsed stacks, read with bench/load/stacks.py
            spies = [subprocess.Popen(["py-spy", "record", "-p", str(pids[0]), "-d", str(int(seconds)), "-r", "50",
                                       "-f", "raw", "-o", str(OUT / f"profile-p{processes}-n{n}.txt"), "--nonblocking"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
        me = psutil.Process()
        c0, m0, t0 = cpu_seconds(pids), sum(me.cpu_times()[:2]), time.time()
        browser_result: dict = {}
        if browsers:
            from browsers import run_browsers

            async def both() -> Record:
                rec_task = asyncio.create_task(drive(urls, n, seconds, read_s, gap_s))
                browser_result.update(await run_browsers(urls, browsers, seconds, read_s, gap_s))
                return await rec_task

            rec = asyncio.run(both())
            rec.saves += browser_result.pop("log")  # the tabs' saves are checked on disk like the others
        else:
            rec = asyncio.run(drive(urls, n, seconds, read_s, gap_s, proxy))
        wall = time.time() - t0
        server_cpu, gen_cpu = cpu_seconds(pids) - c0, sum(me.cpu_times()[:2]) - m0
        rss_mb = [round(psutil.Process(pid).memory_info().rss / 2**20) for pid in pids]
        for spy in spies:
            spy.wait(60)
    finally:
        if nginx is not None:
            from proxy import stop_nginx

            stop_nginx(nginx)
        stop_servers(servers)
    out = {"arm": "baseline" if baseline else "app", "annotators": n, "processes": processes, "overlap": overlap, "seconds": round(wall, 1),
           "actions": len(rec.latencies), "saves": len(rec.saves),
           "p50_ms": round(1000 * pct(rec.latencies, 0.5)), "p95_ms": round(1000 * pct(rec.latencies, 0.95)),
           "max_ms": round(1000 * max(rec.latencies, default=float("nan"))),
           "save_p95_ms": round(1000 * pct(rec.save_latencies, 0.95)),
           "server_cores": round(server_cpu / wall, 2), "server_rss_mb": rss_mb,
           # CPU per action does not depend on what else loads the machine; latency does
           "server_cpu_ms_per_action": round(1000 * server_cpu / max(len(rec.latencies), 1), 1), "generator_cores": round(gen_cpu / wall, 2),
           "proxy": proxy, "annotators_per_server": rec.upstreams, "problems": rec.problems[:5], "n_problems": len(rec.problems), "queue_ran_out": rec.finished,
           **check(root, rec, overlap), **({"browsers": browser_result} if browser_result else {})}
    shutil.rmtree(root, ignore_errors=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--levels", type=int, nargs="+", default=[1, 5, 10, 20, 40])
    ap.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--seconds", type=float, default=30.0, help="labelling time per level (default 30)")
    ap.add_argument("--overlap", type=int, default=1)
    ap.add_argument("--articles", type=int, default=200)
    ap.add_argument("--read", type=float, default=1.0, help="seconds reading each sentence (default 1)")
    ap.add_argument("--gap", type=float, default=0.2, help="seconds between keys (default 0.2)")
    ap.add_argument("--browsers", type=int, default=0, help="real Chromium tabs alongside (default 0)")
    ap.add_argument("--out", default="load.json", help="file name under bench/out (default load.json)")
    ap.add_argument("--proxy", action="store_true", help="everyone through nginx (bench/load/nginx.conf)")
    ap.add_argument("--compare", action="store_true",
                    help="run each level against the baseline too (Streamlit's GC after every run, heap not frozen)")
    ap.add_argument("--profile", action="store_true", help="sample the first server with py-spy (pip install py-spy)")
    ap.add_argument("--model", action="store_true",
                    help="with a trained model (from the shipped labels): the card shows suggestions")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="label-load-") as tmp:
        base = Path(tmp) / "base"
        t = time.time()
        n_sent = build_project(base, args.articles)
        if args.model:
            print(f"model {add_model(base)} trained on the shipped labels; suggestions shown (hint)", flush=True)
        print(f"corpus: {args.articles} articles, {n_sent} sentences (ingested in {time.time() - t:.0f} s); "
              f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} before the run", flush=True)
        print("arm       procs   N  actions  p50 ms  p95 ms  max ms  save p95  server cores  gen cores  confirmed  lost  "
              "twice  >k at once  >k on disk", flush=True)
        arms = [True, False] if args.compare else [False]
        for procs in args.processes:
            for n in args.levels:
                for baseline in arms:
                    r = run_level(base, Path(tmp), n, procs, args.seconds, args.overlap, args.read, args.gap,
                                  args.browsers, args.profile, baseline, args.proxy)
                    results.append(r)
                    print(f"{r['arm']:9s} {procs:5d} {n:3d} {r['actions']:8d} {r['p50_ms']:7d} {r['p95_ms']:7d} {r['max_ms']:7d} "
                          f"{r['save_p95_ms']:9d} {r['server_cores']:13.2f} {r['generator_cores']:10.2f} "
                          f"{r['confirmed']:10d} {r['lost']:5d} {r['saved_twice']:6d} "
                          f"{r['given_to_more_than_k_at_once']:11d} {r['sentences_over_k']:11d}", flush=True)
                    if r["problems"]:
                        print("      problems:", r["n_problems"], r["problems"][:3], flush=True)
                    if r["annotators_per_server"]:
                        print("      behind nginx, annotators per server:", r["annotators_per_server"], flush=True)
                    if r.get("browsers"):
                        print("      chromium:", json.dumps(r["browsers"]), flush=True)
    (OUT / args.out).write_text(json.dumps({"args": vars(args), "results": results}, indent=1))
    print(f"load average after: {os.getloadavg()[0]:.1f}; written {OUT / args.out}")


if __name__ == "__main__":
    main()
