"""App exposure: loopback by default, XSRF protection on, uploads limited; checked on a real server."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from conftest import REPO

from label_app.__main__ import build_parser
from label_app.serve import MAX_UPLOAD_MB, streamlit_command


def test_defaults_are_safe(project):
    args = build_parser().parse_args([])
    assert args.host == "127.0.0.1"
    cmd = streamlit_command(project, 8501, args.host)
    pairs = dict(zip(cmd[::1], cmd[1::1], strict=False))
    assert pairs["--server.address"] == "127.0.0.1"
    assert pairs["--server.enableXsrfProtection"] == "true"
    assert pairs["--server.maxUploadSize"] == str(MAX_UPLOAD_MB) and MAX_UPLOAD_MB <= 20


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening_addresses(port: int) -> set[str]:
    """Local addresses (hex, as the kernel lists them) of sockets listening on `port`, IPv4 and IPv6."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table, encoding="ascii").read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            addr, hex_port = fields[1].rsplit(":", 1)
            if fields[3] == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(addr)
    return found


def test_the_server_listens_on_loopback_only(project):
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "label_app", "--project", str(project.root), "--port", str(port)],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                    assert r.read() == b"ok"
                    break
            except OSError:
                if time.time() > deadline:
                    pytest.fail("the app did not start on 127.0.0.1")
                time.sleep(0.5)
        listening = _listening_addresses(port)
        if not listening:
            pytest.skip("no /proc/net/tcp to read listening sockets from")
        assert listening == {"0100007F"}  # 127.0.0.1 only: not 0.0.0.0, not :: and no other interface
    finally:
        proc.terminate()
        proc.wait(timeout=30)
