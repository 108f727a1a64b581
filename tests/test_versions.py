"""Versions: immutable numbered snapshots, manifest with sha256, tamper detection, diff."""

from __future__ import annotations

import os
import stat

import pytest
from conftest import REPO, run_cli

from label_app import store
from label_app.errors import VersionNotFound, VersionTampered
from label_app.store import LabelRow


def _label(project, schema, sid, topic, who="ann"):
    store.append_label(project, schema, LabelRow(sid, f"text of {sid}", who, topic=topic))


def test_version_snapshot_and_manifest(project, schema):
    _label(project, schema, "s1", "trade")
    _label(project, schema, "s2", "energy")
    rec, created = store.create_version(project, note="first")
    assert created and rec["version"] == 1 and rec["rows"] == 2 and rec["parent"] is None
    path = store.version_path(project, 1)
    assert path.name == "v0001.csv"
    assert not os.stat(path).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)  # read-only
    assert [r["sentence_id"] for r in store.load_version(project, 1)] == ["s1", "s2"]
    # unchanged labels: only_if_changed returns the same version
    again, created = store.create_version(project, only_if_changed=True)
    assert not created and again["version"] == 1
    _label(project, schema, "s1", "security")
    rec2, created = store.create_version(project, only_if_changed=True)
    assert created and rec2["version"] == 2 and rec2["parent"] == 1
    # version 1 did not change
    assert [r["topic"] for r in store.load_version(project, 1)] == ["trade", "energy"]
    assert [r["topic"] for r in store.load_version(project, 2)] == ["security", "energy"]


def test_tampered_version_is_reported(project, schema):
    _label(project, schema, "s1", "trade")
    store.create_version(project)
    path = store.version_path(project, 1)
    os.chmod(path, 0o644)
    path.write_text(path.read_text("utf-8").replace("trade", "energy"), "utf-8")
    with pytest.raises(VersionTampered, match=r"v0001\.csv: version 1 has been modified"):
        store.load_version(project, 1)
    res = run_cli("versions", "--project", str(project.root))
    assert res.returncode == 1 and "TAMPERED" in res.stdout


def test_unknown_version(project):
    with pytest.raises(VersionNotFound, match="label version 4 not found"):
        store.load_version(project, 4)


def test_diff_lists_added_changed_removed(project, schema):
    _label(project, schema, "s1", "trade")
    _label(project, schema, "s2", "energy")
    store.create_version(project)
    _label(project, schema, "s1", "security")
    store.append_label(project, schema, LabelRow("s2", "text of s2", "ann", action="clear"))
    _label(project, schema, "s3", "other")
    store.create_version(project)
    d = store.diff_labels(store.load_version(project, 1), store.load_version(project, 2))
    assert [r["sentence_id"] for r in d.added] == ["s3"]
    assert [r["sentence_id"] for r in d.removed] == ["s2"]
    assert [(a["topic"], b["topic"]) for a, b in d.changed] == [("trade", "security")]
    res = run_cli("diff", "1", "2", "--project", str(project.root))
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == "1 -> 2: 1 added, 1 changed, 1 removed"
    assert lines[1].startswith("+ s3 [ann] topic=other stance=-")
    assert lines[2].startswith("~ s1 [ann] topic=trade stance=- -> topic=security stance=-")
    assert lines[3].startswith("- s2 [ann] topic=energy stance=-")


def test_shipped_project_has_starter_version():
    from label_app.project import Project

    p = Project.at(REPO)
    rec = store.verify_version(p, 1)
    rows = store.load_version(p, 1)
    assert rec["rows"] == len(rows) >= 81
    assert {r["annotator"] for r in rows} == {"seed"}
    assert all(r["topic"] and r["stance"] for r in rows)
