"""Several server processes on one project behind nginx (bench/load/nginx.conf) on loopback: sticky sessions,
websockets through the proxy, claims shared. Skipped where Debian's nginx is not installed."""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from pathlib import Path

import pytest
from conftest import REPO, make_project

sys.path.insert(0, str(REPO / "bench" / "load"))
from annotator import StreamlitSession, perform_save  # noqa: E402
from proxy import nginx_path, route_cookie, start_nginx, stop_nginx  # noqa: E402
from run import free_port, start_servers, stop_servers  # noqa: E402

from label_app import store  # noqa: E402
from label_app.workspace import Workspace  # noqa: E402

pytestmark = pytest.mark.skipif(nginx_path() is None, reason="nginx is not installed (apt-get install nginx-light)")


@pytest.fixture
def behind_nginx(tmp_path: Path):
    project = make_project(tmp_path / "proj")
    for f in sorted(project.seeds_dir.glob("*.txt"))[2:]:
        f.unlink()  # two seed articles are enough
    Workspace.open(project.root)  # ingest once
    servers = start_servers(project.root, 2)
    nginx = None
    try:
        port = free_port()
        nginx = start_nginx([u for _p, u in servers], port, tmp_path / "nginx")
        yield project, f"http://127.0.0.1:{port}", [u.split("://")[1] for _p, u in servers]
    finally:
        if nginx is not None:
            stop_nginx(nginx)
        stop_servers(servers)


def test_nginx_keeps_each_browser_on_one_process_and_the_processes_share_claims(behind_nginx) -> None:
    import httpx

    project, url, upstreams = behind_nginx
    # every browser gets a route cookie on its first request and stays on one process with it
    firsts = [route_cookie(url) for _ in range(40)]
    assert Counter(up for _c, up in firsts).keys() == set(upstreams)  # both processes get browsers
    for cookie, up in firsts[:10]:
        for _ in range(3):
            r = httpx.get(url + "/_stcore/health", headers={"Cookie": cookie}, timeout=10)
            assert r.headers["x-label-app-upstream"] == up
    # one annotator on each process, through the proxy's websocket: different sentences, both saved
    by_upstream = {}
    for cookie, up in firsts:
        by_upstream.setdefault(up, cookie)
    (c1, c2) = by_upstream.values()

    async def two() -> tuple[str, str]:
        a = StreamlitSession(url, "annotator=ana", c1)
        b = StreamlitSession(url, "annotator=ben", c2)
        await a.connect()
        await b.connect()
        sa, sb = a.last.sentence_id, b.last.sentence_id
        ra = await perform_save(a, "trade", "favor", 0.0)
        rb = await perform_save(b, "energy", "neutral", 0.0)
        assert ra.confirmed and rb.confirmed, (ra.problem, rb.problem)
        await a.close()
        await b.close()
        return sa, sb

    sa, sb = asyncio.run(two())
    assert sa and sb and sa != sb
    rows = store.read_log(project).rows
    assert sorted((r["annotator"], r["topic"]) for r in rows) == [("ana", "trade"), ("ben", "energy")]
