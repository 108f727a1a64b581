"""Start the Streamlit server for a project (`python -m label_app [--project DIR] [--port N] [--host ADDR]`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .errors import LabelAppError
from .project import Project
from .schema import load_schema

PROJECT_ENV = "LABEL_APP_PROJECT"
APP = Path(__file__).resolve().parent / "app.py"
MAX_UPLOAD_MB = 20  # the Data page also checks each file (dataops.MAX_*_BYTES)


def streamlit_command(project: Project, port: int, host: str) -> list[str]:
    """The `streamlit run` command line; XSRF protection stays on, uploads are capped."""
    return [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.address", host,
        "--server.port", str(port),
        "--server.headless", "true",
        "--server.enableXsrfProtection", "true",
        "--server.enableCORS", "true",
        "--server.maxUploadSize", str(MAX_UPLOAD_MB),
        "--server.fileWatcherType", "none",
        "--server.runOnSave", "false",
        # no full gc.collect() after every script run: it holds the GIL for ~100-300 ms with spaCy and
        # scikit-learn loaded, so the next card's message waited for it (Python's own GC still runs)
        "--runner.postScriptGC", "false",
        "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "minimal",
        "--theme.base", "light",
    ]


def serve(project_dir: str, port: int = 8501, host: str = "127.0.0.1", no_auth: bool = False) -> int:
    """Check the project and who may sign in, then replace this process with the Streamlit server (so
    signals reach it). Without users, only a loopback address is served unless `no_auth`."""
    from .auth import HOST_ENV, NO_AUTH_ENV, load_users, startup_problem

    project = Project.at(project_dir)
    if not project.root.is_dir():
        raise LabelAppError(f"{project.root}: no such project folder")
    load_schema(project.schema_path)  # fail here, in one line, rather than in the browser
    if not 0 < port < 65536:
        raise LabelAppError(f"--port {port}: use a port from 1 to 65535")
    users = load_users(project)  # a broken users file stops the start, in one line
    problem = startup_problem(host, users, no_auth)
    if problem:
        raise LabelAppError(problem)
    env = {**os.environ, PROJECT_ENV: str(project.root), HOST_ENV: host, NO_AUTH_ENV: "1" if no_auth else ""}
    cmd = streamlit_command(project, port, host)
    print(f"Label app for {project.root} on http://{host}:{port}/  (Ctrl+C stops it)", flush=True)
    if hasattr(os, "execve"):
        os.execve(sys.executable, cmd, env)
    return subprocess.call(cmd, env=env)
