"""The command line: every command takes --project; user mistakes are one line and a non-zero exit."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import REPO, run_cli

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
    for opt in ("--version", "--format", "--out", "--task", "--project", "--gold", "--raw"):
        assert opt in res.stdout


def _closed_pipe_run(*args: str) -> tuple[int, str]:
    """Run a command whose stdout is a pipe nobody reads any more (as after `| head` has quit): every write
    fails at once, without depending on timing. Returns (exit code, stderr)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        res = subprocess.run([sys.executable, "-m", *args], stdout=write_end, stderr=subprocess.PIPE, text=True,
                             cwd=REPO, timeout=300)
    finally:
        os.close(write_end)
    return res.returncode, res.stderr


def test_a_closed_pipe_ends_quietly(project, schema):
    store.append_rows(project, schema, [LabelRow(f"s{i}", f"sentence {i}", "ann", topic="trade") for i in range(50)])
    store.create_version(project)
    store.append_rows(project, schema, [LabelRow(f"s{i}", f"sentence {i}", "bob", topic="energy") for i in range(50)])
    store.create_version(project)
    for args in (("label_app", "diff", "1", "2"), ("label_app", "agreement"), ("label_app", "versions"),
                 ("label_app", "export", "--out", "-"), ("train", "models")):
        code, err = _closed_pipe_run(*args, "--project", str(project.root))
        assert err == "", (args, err)
        assert code == 141, args
    # with a reader, the same commands still work
    res = run_cli("diff", "1", "2", "--project", str(project.root))
    assert res.returncode == 0 and res.stdout.startswith("1 -> 2: 50 added, 0 changed, 0 removed\n")


def test_out_dash_writes_to_standard_output(project, schema):
    store.append_label(project, schema, LabelRow("s1", "=1+1", "ann", topic="trade", stance="favor"))
    store.create_version(project)
    for fmt, gold in (("csv", "--raw"), ("jsonl", "--gold"), ("spacy", "--gold")):
        res = subprocess.run([sys.executable, "-m", "label_app", "export", "--format", fmt, gold, "--out", "-",
                              "--project", str(project.root)], capture_output=True, cwd=REPO, timeout=300)
        assert res.returncode == 0, res.stderr
        exp = store.make_export(store.load_version(project, 1), schema, 1, fmt, "topic", gold == "--gold")
        assert res.stdout == exp.data
        assert res.stderr.decode().startswith(f"exported version 1 as {fmt} to standard output: ")
    assert not (REPO / "-").exists() and not (project.root / "-").exists()


def test_import_reads_standard_input(project):
    res = subprocess.run([sys.executable, "-m", "label_app", "import-labels", "-", "--format", "jsonl",
                          "--project", str(project.root)], input='{"text": "piped", "topic": "trade", "stance": ""}\n',
                         capture_output=True, text=True, cwd=REPO, timeout=300)
    assert res.returncode == 0, res.stderr
    assert res.stdout == "imported 1 label from <stdin> (annotators: import; 0 matched corpus sentences)\n"


def test_agreement_is_a_compact_table_with_whole_names(project, schema):
    names = schema.topic.names
    for i in range(40):
        for k, who in enumerate(("ann", "bob", "cem")):
            store.append_label(project, schema, LabelRow(f"s{i}", f"text {i}", who, topic=names[(i + k * (i % 3)) % 8],
                                                         stance="favor"))
    res = run_cli("agreement", "--project", str(project.root))
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert len(lines) < 30  # was 320 lines of confusion matrices
    assert any(line.split()[:2] == ["topic", "sanctions_us"] for line in lines)  # was cut to "sanctions_"
    assert "topic   bob / cem  40" in res.stdout
    full = json.loads(run_cli("agreement", "--json", "--project", str(project.root)).stdout)
    assert full["topic"]["pairs"][0]["confusion"]  # the detail is in --json
