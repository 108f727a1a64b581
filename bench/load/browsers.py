"""A few real annotators in Debian's Chromium (Playwright), alongside the simulated ones, to confirm the figures.

Each tab: read 1 s, topic key, wait until the button shows it chosen, stance key, wait, Enter, wait until the
"Saved ..." message and the next sentence are on screen. Latency is key press -> screen updated, as the user
feels it (the simulated annotators measure BackMsg -> script_finished). `perform_browser_save` is the one
function to replace when the Annotate page changes, like annotator.perform_save.
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


async def _settled(page) -> None:  # noqa: ANN001
    from playwright.async_api import expect

    await expect(page.get_by_text("Keyboard: Topic:")).to_be_visible()
    await expect(page.locator("[data-testid=stStatusWidget]")).to_have_count(0)


async def perform_browser_save(page, rng: random.Random, gap_s: float) -> tuple[list[float], bool]:  # noqa: ANN001
    """Topic key, stance key, Enter on today's Annotate page; (latency of each, saved confirmed)."""
    from playwright.async_api import expect

    lat = []
    before = await page.locator("h4").first.inner_text()
    for keys in (TOPIC_KEYS, STANCE_KEYS):
        key = rng.choice(list(keys))
        t0 = time.perf_counter()
        await page.keyboard.press(key)
        await expect(page.locator("[data-testid=stBaseButton-primary]", has_text=keys[key])).to_be_visible()
        lat.append(time.perf_counter() - t0)
        await _settled(page)
        await asyncio.sleep(gap_s)
    t0 = time.perf_counter()
    await page.keyboard.press("Enter")
    await expect(page.get_by_text("Saved ")).to_be_visible()
    await expect(page.locator("h4").first).not_to_have_text(before)
    lat.append(time.perf_counter() - t0)
    await _settled(page)
    return lat, True


async def run_browsers(urls: list[str], n: int, seconds: float, read_s: float, gap_s: float) -> dict:
    """`n` Chromium tabs (own contexts) labelling for `seconds`; p50/p95/max key-to-screen latency (ms)."""
    from playwright.async_api import async_playwright

    latencies: list[float] = []
    problems: list[str] = []
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
                await _settled(page)
                while time.time() < deadline:
                    await asyncio.sleep(read_s)
                    lat, _ok = await perform_browser_save(page, rng, gap_s)
                    latencies.extend(lat)
            except Exception as exc:  # noqa: BLE001 - reported with the figures
                problems.append(f"chromium{i}: {type(exc).__name__}: {str(exc)[:200]}")
            finally:
                await ctx.close()

        await asyncio.gather(*(tab(i) for i in range(n)))
        await browser.close()
    v = sorted(latencies)

    def q(p: float) -> int:
        return round(1000 * v[min(len(v) - 1, int(round(p * (len(v) - 1))))]) if v else -1

    return {"tabs": n, "actions": len(v), "p50_ms": q(0.5), "p95_ms": q(0.95), "max_ms": q(1.0),
            "problems": problems}
