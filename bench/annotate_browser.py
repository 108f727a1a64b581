"""Key-to-visible latency and key fidelity of the Annotate page in a real browser.

Debian's /usr/bin/chromium driven by Playwright at 1366x768 (never a browser download) against
`python -m label_app` on a generated project (plain-text articles ingested at start). For each run it presses,
per sentence, a topic key, a stance key and Enter at a fixed spacing, then waits until every save is on disk, and
reports:
- p50/p95/max key-to-visible for label keys (key event -> the option button highlighted in the DOM) and for save
  keys (key event -> the next sentence in the DOM, which the page shows only after the label is on disk);
  measured in the page from the key event's timeStamp (performance.now() clock) by a MutationObserver;
- rows on disk with a missing task (half labels), duplicate saves, sentences not saved, and rows whose label is
  not the one typed for that sentence (lost or merged keys).

Runs: the card at 30 ms spacing (a fast typist far above the save rate: keys queue in the browser) and at a human
spacing, and the baseline page (the Annotate page before the card, taken from git) at the same spacings, in the
same run, on the same machine. The machine is shared: read medians, p95 and ratios, not absolute numbers.

    .venv/bin/python bench/annotate_browser.py [--sentences 200] [--fast-ms 30] [--human-ms 300]
        [--baseline-ref REF] [--baseline-sentences 40] [--no-baseline] [--screenshot docs/annotate.png]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from label_app import store  # noqa: E402
from label_app.project import Project  # noqa: E402
from label_app.workspace import Workspace  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1366, "height": 768}
TOPIC_KEYS = [("1", "trade"), ("2", "energy"), ("3", "security"), ("4", "diplomacy"), ("5", "sanctions_us"),
              ("6", "politics"), ("7", "society"), ("0", "other")]
STANCE_KEYS = [("f", "favor"), ("a", "against"), ("n", "neutral")]
WORDS = ("Iran Iraq trade energy gas electricity pipeline visit minister talks sanctions border pilgrims "
         "security militia agreement bank exports imports cooperation relations growth billion dollars").split()

# Installed before the page's own scripts: records every key event and, by MutationObserver, when its effect
# reached the DOM. The card lives in an open shadow root; the baseline page in the light DOM.
OBSERVER = r"""
(() => {
  const B = window.__bench = {keys: [], done: []};
  window.addEventListener('keydown', (e) => {
    B.keys.push({key: e.key, t: e.timeStamp});
    if (B.expect && B.expect.t0 === null) { B.expect.t0 = e.timeStamp; B.check(); }
  }, true);
  const roots = () => {
    const out = [document];
    for (const h of document.querySelectorAll('.stBidiComponent *')) if (h.shadowRoot) out.push(h.shadowRoot);
    return out;
  };
  const q = (sel) => { for (const r of roots()) { const x = r.querySelector(sel); if (x) return x; } return null; };
  B.sentence = () => {
    const card = q('[data-testid=annSentence]');
    if (card) return card.textContent;
    const h = document.querySelector('h4');
    return h ? h.textContent : '';
  };
  B.chosen = () => {
    const on = [];
    for (const r of roots()) for (const b of r.querySelectorAll('button.opt.on .n')) on.push(b.textContent);
    for (const b of document.querySelectorAll('[data-testid=stBaseButton-primary]')) on.push(b.textContent.trim());
    return on;
  };
  B.expect = null;  // {kind, key, t0 (the key event's timeStamp), test(): bool}
  B.missed = 0;  // effects not in the DOM before the next key was armed
  B.check = () => {
    const e = B.expect;
    if (e && e.t0 !== null && e.test()) { B.done.push({kind: e.kind, key: e.key, t0: e.t0, t1: performance.now()}); B.expect = null; }
  };
  new MutationObserver(B.check).observe(document, {subtree: true, childList: true, attributes: true,
                                                   characterData: true});
  // shadow roots are not observed from the document: observe them when they appear
  const seen = new WeakSet();
  setInterval(() => {
    for (const r of roots()) if (r !== document && !seen.has(r)) {
      seen.add(r);
      new MutationObserver(B.check).observe(r, {subtree: true, childList: true, attributes: true,
                                                characterData: true});
    }
  }, 50);
})();
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_project(root: Path, n_articles: int, per_article: int, seed: int = 0) -> Project:
    """A project with the shipped schema and `n_articles` generated plain-text articles (heading + sentences)."""
    import shutil

    rng = random.Random(seed)
    project = Project.at(root)
    project.labels_dir.mkdir(parents=True)
    shutil.copy(REPO / "labels" / "schema.toml", project.schema_path)
    project.seeds_dir.mkdir()
    for a in range(n_articles):
        lines = [f"# Bench article {a}: Iran and Iraq"]
        for i in range(per_article):
            words = rng.choices(WORDS, k=14)
            lines.append(" ".join(words).capitalize() + f" in round {a}-{i}.")
        (project.seeds_dir / f"bench_{a:03d}.txt").write_text(lines[0] + "\n\n" + " ".join(lines[1:]) + "\n")
    return project


class Server:
    """`python -m label_app` for a project, from `code_dir` (the working tree, or a baseline checkout)."""

    def __init__(self, project: Project, code_dir: Path, log: Path, extra_env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.log = open(log, "w")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(code_dir), **(extra_env or {})}
        self.proc = subprocess.Popen([sys.executable, "-m", "label_app", "--project", str(project.root),
                                      "--port", str(self.port)], cwd=code_dir, stdout=self.log,
                                     stderr=subprocess.STDOUT, env=env)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        return
            except OSError:
                pass
            if self.proc.poll() is not None or time.time() > deadline:
                self.close()
                raise RuntimeError(f"app did not start: {log.read_text()[-2000:]}")
            time.sleep(0.3)

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def baseline_tree(ref: str, dest: Path) -> Path:
    """label_app/ and train/ as they were at `ref` (git archive; the working tree is not touched)."""
    dest.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref, "label_app", "train"], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def plan(n: int) -> list[tuple[str, str, str, str]]:
    """(topic key, topic, stance key, stance) for sentence i: every key of both tasks, in a fixed pattern."""
    return [TOPIC_KEYS[i % len(TOPIC_KEYS)] + STANCE_KEYS[(i // 2) % len(STANCE_KEYS)] for i in range(n)]


def pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, round(q * (len(xs) - 1))))
    return xs[k]


def run_page(url: str, project: Project, annotator: str, n: int, spacing_ms: float, card: bool,
             screenshot: Path | None = None) -> dict:
    """Type `n` sentences' labels at `spacing_ms`; return latencies (ms) and what reached the disk."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=120_000)
    choices = plan(n)
    lat: dict[str, list[float]] = {"label": [], "save": []}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport=VIEWPORT)
        page.set_default_timeout(120_000)
        page.add_init_script(OBSERVER)
        page.goto(f"{url}/?annotator={annotator}")
        if card:
            expect(page.get_by_test_id("annSentence")).not_to_have_attribute("data-sid", "")
        else:
            expect(page.get_by_text("Keyboard: Topic:")).to_be_visible()
            expect(page.locator("[data-testid=stStatusWidget]")).to_have_count(0)
        page.wait_for_timeout(500)
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot))
        started = time.perf_counter()
        t_next = time.perf_counter()
        spacing = spacing_ms / 1000.0
        observe = spacing_ms >= 100

        def press(key: str, kind: str, name: str = "") -> None:
            nonlocal t_next
            delay = t_next - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            if observe:
                # one key at a time: its effect must reach the DOM before the next key (human spacing)
                page.evaluate("""([kind, key, name]) => { const B = window.__bench;
                    if (B.expect) B.missed += 1;
                    const before = B.sentence();
                    B.expect = {kind, key, t0: null, test: kind === 'label' ? () => B.chosen().some((t) => t.startsWith(name))
                                : () => B.sentence() !== before}; }""", [kind, key, name])
            page.keyboard.press(key)
            t_next = max(t_next + spacing, time.perf_counter())

        for tkey, topic, skey, stance in choices:
            press(tkey, "label", topic)
            press(skey, "label", stance)
            press("Enter", "save")
        typed_s = time.perf_counter() - started
        # every save on disk (or, for the baseline page, the log stops growing)
        deadline = time.time() + max(120.0, n * 2.0)
        last, still = -1, 0
        while time.time() < deadline:
            rows = [r for r in store.read_log(project).rows if r["annotator"] == annotator]
            if card and len(rows) >= n and page.evaluate("!globalThis.__labelCard.pending && "
                                                         "!globalThis.__labelCard.queue.length"):
                break
            still = still + 1 if len(rows) == last else 0
            last = len(rows)
            if not card and still >= 10:
                break
            time.sleep(0.3)
        total_s = time.perf_counter() - started
        obs: dict[str, list[float]] = {"label": [], "save": []}
        missed = 0
        if observe:
            for d in page.evaluate("window.__bench.done"):
                obs[d["kind"]].append(d["t1"] - d["t0"])
            missed = page.evaluate("window.__bench.missed")
        if card:
            # the card's own record: key event timeStamp -> its DOM update (performance.now()); for saves also
            # the round trip (action sent -> next card's data in the page: server, websocket and React)
            lat["roundtrip"] = []
            for p in page.evaluate("globalThis.__labelCard.perf"):
                lat[p["kind"]].append(p["t1"] - p["t0"])
                if p["kind"] == "save" and p.get("sent") is not None:
                    lat["roundtrip"].append(p["data"] - p["sent"])
        else:
            lat = obs
        browser.close()
    rows = [r for r in store.read_log(project).rows if r["annotator"] == annotator]
    order = Workspace.open(project.root, refresh=False).sentence_ids  # the corpus the server ingested
    return {"order": order, "lat": lat, "observer": obs, "missed": missed, "rows": rows, "choices": choices, "typed_s": typed_s,
            "total_s": total_s}


def fidelity(rows: list[dict], choices: list[tuple[str, str, str, str]], order: list[str]) -> dict:
    """Half labels, duplicates, unsaved sentences and wrong labels (lost or merged keys), from the disk rows.

    `order` is the queue's sentence order (article order on a fresh project): sentence order[i] must carry
    choices[i]. A lost Enter shifts every later sentence's keys by one, so `wrong` counts all rows after it."""
    labels = [r for r in rows if r["action"] == "label"]
    sids = [r["sentence_id"] for r in labels]
    half = sum(1 for r in labels if not r["topic"] or not r["stance"])
    dup = len(sids) - len(set(sids))
    want = {sid: (c[1], c[3]) for sid, c in zip(order, choices, strict=False)}
    latest: dict[str, dict] = {}
    for r in labels:
        latest[r["sentence_id"]] = r
    wrong = sum(1 for sid, r in latest.items() if want.get(sid) != (r["topic"], r["stance"]))
    return {"rows": len(rows), "half": half, "duplicates": dup,
            "unsaved": sum(1 for sid in order[:len(choices)] if sid not in latest), "wrong": wrong,
            "other_actions": len(rows) - len(labels)}


def summary(name: str, res: dict) -> dict:
    f = fidelity(res["rows"], res["choices"], res["order"])
    out = {"run": name, "sentences": len(res["choices"]), **f, "typed_s": round(res["typed_s"], 1),
           "total_s": round(res["total_s"], 1)}
    if res["observer"]["save"] or res["observer"]["label"]:
        for kind in ("label", "save"):
            xs = res["observer"][kind]
            out[f"observer_{kind}_n_p50_p95_ms"] = [len(xs), round(statistics.median(xs), 1) if xs else None,
                                                    round(pct(xs, 0.95), 1) if xs else None]
        out["observer_missed"] = res["missed"]
    if "roundtrip" in res["lat"]:
        n = len(res["choices"])
        out["keys_without_effect"] = (2 * n - len(res["lat"]["label"])) + (n - len(res["lat"]["save"]))
    if res["lat"].get("roundtrip"):
        xs = res["lat"]["roundtrip"]
        out["save_roundtrip_p50_p95_ms"] = [round(statistics.median(xs), 1), round(pct(xs, 0.95), 1)]
    for kind in ("label", "save"):
        xs = res["lat"][kind]
        out[f"{kind}_n"] = len(xs)
        out[f"{kind}_p50_ms"] = round(statistics.median(xs), 1) if xs else None
        out[f"{kind}_p95_ms"] = round(pct(xs, 0.95), 1) if xs else None
        out[f"{kind}_max_ms"] = round(max(xs), 1) if xs else None
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sentences", type=int, default=200)
    ap.add_argument("--fast-ms", type=float, default=30.0)
    ap.add_argument("--human-ms", type=float, default=300.0)
    ap.add_argument("--human-sentences", type=int, default=None, help="default: --sentences")
    ap.add_argument("--baseline-ref", default="5dc269b", help="git ref of the page before the card")
    ap.add_argument("--baseline-sentences", type=int, default=40)
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--screenshot", type=Path, default=None, help="a 1366x768 screenshot of the card")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing (apt-get install chromium)")
    n_h = args.human_sentences or args.sentences
    need = max(args.sentences, n_h, args.baseline_sentences) + 20
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        runs = [("card", REPO, {}, [("fast", args.sentences, args.fast_ms), ("human", n_h, args.human_ms)])]
        if not args.no_baseline:
            base = baseline_tree(args.baseline_ref, tmpd / "baseline")
            speeds = [("fast", args.baseline_sentences, args.fast_ms), ("human", args.baseline_sentences, args.human_ms)]
            runs.append(("baseline", base, {}, speeds))
            # the baseline page with the server fix alone (no full GC after each run), to separate the two changes
            runs.append(("baseline-noGC", base, {"STREAMLIT_RUNNER_POST_SCRIPT_GC": "false"}, speeds[1:]))
        for page_name, code, env, speeds in runs:
            for speed, n, ms in speeds:
                project = make_project(tmpd / f"{page_name}-{speed}", need // 20 + 1, 20)
                server = Server(project, code, tmpd / f"{page_name}-{speed}.log", env)
                try:
                    shot = args.screenshot if (page_name == "card" and speed == "fast") else None
                    res = run_page(server.url, project, "bench", n, ms, card=page_name == "card", screenshot=shot)
                finally:
                    server.close()
                s = summary(f"{page_name} {speed} ({ms:g} ms)", res)
                results.append(s)
                print(json.dumps(s), flush=True)
    print()
    print(f"{'run':<26} {'label p50/p95':>15} {'save p50/p95':>15} {'half':>5} {'dup':>4} {'unsaved':>8} "
          f"{'wrong':>6} {'typed s':>8} {'done s':>7}")
    for s in results:
        print(f"{s['run']:<26} {s['label_p50_ms']!s:>7}/{s['label_p95_ms']!s:<7} {s['save_p50_ms']!s:>7}/"
              f"{s['save_p95_ms']!s:<7} {s['half']:>5} {s['duplicates']:>4} {s['unsaved']:>8} {s['wrong']:>6} "
              f"{s['typed_s']:>8} {s['total_s']:>7}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
