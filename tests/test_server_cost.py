"""What keeps a key press cheap with many sessions: no full garbage collection after every script run, and the
loaded workspace frozen out of the collector (bench/load/run.py --compare measures the difference)."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from label_app import serve
from label_app.project import Project

APP = str(Path(__file__).resolve().parent.parent / "label_app" / "app.py")


def test_the_server_runs_without_streamlits_gc_after_every_run(project: Project,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(serve.POST_SCRIPT_GC_ENV, raising=False)
    env = serve.server_env(project, "127.0.0.1", False)
    assert env[serve.POST_SCRIPT_GC_ENV] == "false" and env[serve.PROJECT_ENV] == str(project.root)
    monkeypatch.setenv(serve.POST_SCRIPT_GC_ENV, "true")  # an operator's choice is kept
    assert serve.server_env(project, "127.0.0.1", False)[serve.POST_SCRIPT_GC_ENV] == "true"


def test_the_loaded_workspace_is_frozen_out_of_the_collector(project: Project,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABEL_APP_PROJECT", str(project.root))
    monkeypatch.setenv("LABEL_APP_HOST", "127.0.0.1")
    gc.unfreeze()
    try:
        at = AppTest.from_file(APP, default_timeout=60)
        at.query_params["annotator"] = "sara"
        at.run()
        assert not at.exception and [t.value for t in at.title] == ["Annotate"]
        from label_app.ui import _workspace

        ws = _workspace(str(project.root))
        assert gc.get_freeze_count() > 0
        # the corpus frame and the index are in the permanent generation: full collections skip them
        assert not any(o is ws.index.by_sentence for o in gc.get_objects())
    finally:
        gc.unfreeze()
