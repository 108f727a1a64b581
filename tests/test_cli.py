"""The command line: every command takes --project; user mistakes are one line and a non-zero exit."""

from __future__ import annotations

import json

from conftest import run_cli

from label_app import store
from label_app.store import LabelRow


def test_user_errors_are_one_line_without_traceback(project, tmp_path):
    cases = [
        (("export", "--version", "3"), "error: label version 3 not found"),
        (("diff", "1", "2"), "error: label version 1 not found"),
        (("import-labels", str(tmp_path / "missing.csv")), "error: "),
    ]
    for args, start in cases:
        res = run_cli(*args, "--project", str(project.root))
        assert res.returncode == 1, args
        assert res.stderr.startswith(start), res.stderr
        assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr


def test_missing_schema_is_named(tmp_path):
    res = run_cli("--project", str(tmp_path), "import-labels", "x.csv")
    assert res.returncode == 1
    assert res.stderr.strip() == f"error: {tmp_path / 'labels' / 'schema.toml'}: schema file not found"


def test_version_export_flow(project, schema, tmp_path):
    store.append_label(project, schema, LabelRow("s1", "=1+1", "ann", topic="trade", stance="favor"))
    res = run_cli("version", "--note", "hello", "--project", str(project.root))
    assert res.returncode == 0 and res.stdout.startswith("version 1: 1 labels, sha256 ")
    out = tmp_path / "x.jsonl"
    res = run_cli("export", "--format", "jsonl", "--out", str(out), "--project", str(project.root))
    assert res.returncode == 0, res.stderr
    assert json.loads(out.read_text("utf-8"))["text"] == "=1+1"
    res = run_cli("--project", str(project.root), "export")
    assert res.returncode == 0 and (project.root / "exports" / "labels-v0001.csv").exists()
    listing = run_cli("versions", "--project", str(project.root))
    assert "v0001" in listing.stdout and " ok  hello" in listing.stdout


def test_help_lists_every_option():
    res = run_cli("export", "--help")
    for opt in ("--version", "--format", "--out", "--task", "--project"):
        assert opt in res.stdout
