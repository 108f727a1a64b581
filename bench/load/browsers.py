"""A few real annotators in Debian's Chromium (Playwright), alongside the simulated ones, to confirm the figures.

Each tab does what an annotator does on the Annotate card (label_app/components/card): read 1 s, press a topic
key, press a stance key (the card highlights the choice in the browser: no round trip), press Enter, and wait on
the card's stable markers: the sentence's `data-sid` changes, nothing is in flight or queued in card.js, and the
status says `success`. Latencies are the card's own records (card.js `perf`: the key event's timeStamp -> the
card re-rendered, in the page's clock), as the user feels them; the simulated annotators measure BackMsg ->
acknowledging card data. `perform_browser_save` is the one function that knows the page, like
annotator.perform_save.
"""

from __future__ import annotations

import asyncio
import random
import time

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
TOPIC_KEYS = {"1": "trade", "2": "energy", "3": "security", "4": "diplomacy", "6": "politics"}
STANCE_KEYS = {"f": "favor", "a": "against", "n": "neutral"}
IDLE = "() => { const M = globalThis.__labelCard; return !!(M && M.live && !M.pending && !M.queue.length); }"
# the card's latency records since index i: [kind, key, ms]
PERF_SINCE = "(i) => globalThis.__labelCard.perf.slice(i).map((e) => [e.kind, e.key, e.t1 - e.t0])"


async def _settled(page) -> str:  # noqa: ANN001
    """Wait until the card shows a sentence (or the end of the queue) with nothing in flight; its sentence id."""
    from playwright.async_api import expect

    await expect(page.get_by_test_id("annCard")).to_be_attached()
    await page.wait_for_function(IDLE)
    return await page.get_by_test_id("annSentence").get_attribute("data-sid") or ""


async def perform_browser_save(page, rng: random.Random, gap_s: float) -> tuple[list[tuple[str, float]], bool, str]:  # noqa: ANN001
    """Topic key, stance key, Enter on the card; ([(kind, seconds)] key-to-screen of each key, save confirmed,
    the id of the sentence saved).

    kind is 'label' (a choice highlighted, in the browser) or 'save' (Enter -> the next sentence on screen)."""
    from playwright.async_api import expect

    before = await _settled(page)
    n0 = await page.evaluate("() => globalThis.__labelCard.perf.length")
    for keys, task in ((TOPIC_KEYS, "topic"), (STANCE_KEYS, "stance")):
        key = rng.choice(list(keys))
        await page.keyboard.press(key)
        await expect(page.get_by_test_id(f"annOpt-{task}-{keys[key]}")).to_have_attribute("aria-pressed", "true")
        await asyncio.sleep(gap_s)
    await page.keyboard.press("Enter")
    await expect(page.get_by_test_id("annSentence")).not_to_have_attribute("data-sid", before)
    await _settled(page)
    status = page.get_by_test_id("annStatus")
    ok = await status.get_attribute("data-kind") == "success"
    perf = await page.evaluate(PERF_SINCE, n0)
    return [(kind, ms / 1000) for kind, _key, ms in perf], ok, before


async def run_browsers(urls: list[str], n: int, seconds: float, read_s: float, gap_s: float) -> dict:
    """`n` Chromium tabs (own contexts) labelling for `seconds`; p50/p95/max key-to-screen latency (ms) of the
    saves (Enter -> next sentence) and of the label keys (key -> choice highlighted); `log`: every save, for
    the checks on disk."""
    from playwright.async_api import async_playwright

    lat: dict[str, list[float]] = {"save": [], "label": []}
    problems: list[str] = []
    saves = {"confirmed": 0, "unconfirmed": 0}
    log: list[tuple[str, str, float, float, bool]] = []  # as run.Record.saves: who, sentence id, shown, saved, ok
    deadline = time.time() + seconds
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)

        async def tab(i: int) -> None:
            rng = random.Random(100 + i)
            ctx = await browser.new_context(viewport={"width": 1366, "height": 768})
            page = await ctx.new_page()
            page.set_default_timeout(60_000)
            try:
                await page.goto(f"{urls[i % len(urls)]}/?annotator=chromium{i}")
                while time.time() < deadline:
                    if not await _settled(page):
                        break  # the queue ran out
                    shown = time.time()
                    await asyncio.sleep(read_s)
                    got, ok, sid = await perform_browser_save(page, rng, gap_s)
                    log.append((f"chromium{i}", sid, shown, time.time(), ok))
                    for kind, s in got:
                        lat.setdefault(kind, []).append(s)
                    saves["confirmed" if ok else "unconfirmed"] += 1
            except Exception as exc:  # noqa: BLE001 - reported with the figures
                problems.append(f"chromium{i}: {type(exc).__name__}: {str(exc)[:200]}")
            finally:
                await ctx.close()

        await asyncio.gather(*(tab(i) for i in range(n)))
        await browser.close()

    def q(v: list[float], p: float) -> int:
        v = sorted(v)
        return round(1000 * v[min(len(v) - 1, int(round(p * (len(v) - 1))))]) if v else -1

    out: dict = {"tabs": n, **saves, "problems": problems, "log": log}
    for kind in ("save", "label"):
        v = lat.get(kind, [])
        out[kind] = {"n": len(v), "p50_ms": q(v, 0.5), "p95_ms": q(v, 0.95), "max_ms": q(v, 1.0)}
    return out
