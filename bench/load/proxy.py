"""Run bench/load/nginx.conf on loopback in front of label-app server processes (the benchmark and tests).

    nginx = start_nginx(["http://127.0.0.1:8601", "http://127.0.0.1:8602"], listen=8600, prefix=tmpdir)
    ...
    stop_nginx(nginx)

Needs Debian's nginx (`apt-get install nginx-light`); `nginx_path()` is None without it.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import httpx

TEMPLATE = Path(__file__).resolve().parent / "nginx.conf"


def nginx_path() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)


def render_config(upstreams: list[str], listen: int, prefix: Path) -> str:
    """The template with loopback values: `upstreams` are the servers' http://host:port addresses."""
    servers = "\n".join(f"        server {u.split('://', 1)[1]};" for u in upstreams)
    return (TEMPLATE.read_text().replace("{prefix}", str(prefix)).replace("{servers}", servers)
            .replace("{listen}", f"127.0.0.1:{listen}"))


def start_nginx(upstreams: list[str], listen: int, prefix: Path) -> subprocess.Popen:
    """nginx in the foreground (its own process group), answering on 127.0.0.1:`listen`."""
    exe = nginx_path()
    if exe is None:
        raise RuntimeError("nginx is not installed (apt-get install nginx-light)")
    prefix.mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(render_config(upstreams, listen, prefix))
    check = subprocess.run([exe, "-t", "-q", "-p", str(prefix), "-c", str(conf)], capture_output=True, text=True)
    if check.returncode:
        raise RuntimeError(f"nginx refused {conf}: {check.stderr.strip()}")
    proc = subprocess.Popen([exe, "-p", str(prefix), "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 30
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{listen}/_stcore/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            stop_nginx(proc)
            raise RuntimeError(f"nginx did not answer on {listen}: {(prefix / 'error.log').read_text()[-1000:]}")
        time.sleep(0.2)


def stop_nginx(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()  # SIGTERM: fast shutdown of the master and its worker
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def route_cookie(url: str) -> tuple[str, str]:
    """What a browser's first page load gets through the proxy: (Cookie header value, upstream address)."""
    r = httpx.get(url + "/_stcore/health", timeout=10)
    return f"label_app_route={r.cookies['label_app_route']}", r.headers.get("x-label-app-upstream", "")
