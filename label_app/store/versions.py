"""Versions: immutable snapshots of the current labels (`labels/versions/vNNNN.csv`), recorded with their
sha256 in `labels/versions/manifest.json`; loading, checking and comparing them."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import LabelAppError, StoreWriteError, VersionNotFound, VersionTampered
from ..files import sha256_file, write_atomic
from ..project import Project
from .log import VERSION_COLUMNS, now_iso, store_lock
from .reading import current_labels, read_log


def _snapshot_bytes(labels: list[dict[str, str]]) -> bytes:
    buf = io.StringIO()
    # QUOTE_ALL: a bare CR inside a field must be quoted too, or it would end the row on read
    w = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_ALL)
    w.writerow(VERSION_COLUMNS)
    for r in sorted(labels, key=lambda r: (r["sentence_id"], r["annotator"])):
        w.writerow([r.get(c, "") for c in VERSION_COLUMNS])
    return buf.getvalue().encode("utf-8")


def read_manifest(project: Project) -> list[dict[str, Any]]:
    """The manifest's version records, oldest first."""
    try:
        data = json.loads(project.manifest_path.read_text("utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        raise LabelAppError(f"{project.manifest_path}: broken manifest: {exc}") from None
    return list(data.get("versions", []))


def version_path(project: Project, number: int) -> Path:
    return project.versions_dir / f"v{number:04d}.csv"


def _write_manifest(project: Project, versions: list[dict[str, Any]]) -> None:
    write_atomic(project.manifest_path, json.dumps({"versions": versions}, indent=2) + "\n", sync_dir=True)


def create_version(project: Project, note: str = "", only_if_changed: bool = False) -> tuple[dict[str, Any], bool]:
    """Snapshot the current labels as the next immutable version; returns (record, created).

    With `only_if_changed`, the latest version is returned instead when the labels are the same.
    """
    try:
        with store_lock(project, exclusive=True):
            project.versions_dir.mkdir(parents=True, exist_ok=True)
            versions = read_manifest(project)
            rows = read_log(project).rows
            labels = current_labels(project, rows)
            data = _snapshot_bytes(labels)
            digest = hashlib.sha256(data).hexdigest()
            if only_if_changed and versions and versions[-1]["sha256"] == digest:
                return versions[-1], False
            number = (versions[-1]["version"] + 1) if versions else 1
            path = version_path(project, number)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o444)
            try:
                os.link(tmp, path)  # fails if the version exists: nothing rewrites a version
            finally:
                os.unlink(tmp)
            record = {
                "version": number,
                "created": now_iso(),
                "rows": len(labels),
                "sha256": digest,
                "parent": versions[-1]["version"] if versions else None,
                "note": note,
                "file": path.name,
            }
            _write_manifest(project, versions + [record])
            return record, True
    except FileExistsError:
        raise StoreWriteError(f"{version_path(project, number)}: version file already exists; "
                              "not overwritten (check the manifest)") from None
    except OSError as exc:
        raise StoreWriteError(f"{project.versions_dir}: version NOT written: {exc.strerror or exc}") from None


def get_version_record(project: Project, number: int) -> dict[str, Any]:
    for rec in read_manifest(project):
        if rec["version"] == number:
            return rec
    known = ", ".join(str(r["version"]) for r in read_manifest(project)) or "none yet"
    raise VersionNotFound(f"label version {number} not found in {project.manifest_path} (versions: {known})")


def latest_version(project: Project) -> dict[str, Any] | None:
    versions = read_manifest(project)
    return versions[-1] if versions else None


def verify_version(project: Project, number: int) -> dict[str, Any]:
    """The version's record if its file matches its sha256; else raise VersionTampered."""
    rec = get_version_record(project, number)
    path = project.versions_dir / rec["file"]
    try:
        digest = sha256_file(path)
    except FileNotFoundError:
        raise VersionTampered(f"{path}: version {number} file is missing") from None
    if digest != rec["sha256"]:
        raise VersionTampered(
            f"{path}: version {number} has been modified (sha256 {digest[:12]}..., manifest says "
            f"{rec['sha256'][:12]}...); restore it from backup or git"
        )
    return rec


def load_version(project: Project, number: int) -> list[dict[str, str]]:
    """The label rows of a version (checked against its sha256 first)."""
    rec = verify_version(project, number)
    path = project.versions_dir / rec["file"]
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def resolve_version(project: Project, spec: str | int | None) -> int:
    """A version number from 'N', 'vN', 'latest' or None (latest)."""
    if spec is None or str(spec).lower() in ("", "latest"):
        rec = latest_version(project)
        if rec is None:
            raise VersionNotFound(f"{project.manifest_path}: no label versions yet (run `python -m label_app version`)")
        return int(rec["version"])
    text = str(spec).lower().lstrip("v")
    if not text.isdigit():
        raise VersionNotFound(f"not a version number: {spec!r}")
    return int(text)


def labels_for(project: Project, spec: str | int | None) -> list[dict[str, str]]:
    """Labels of a version, or of the live log when `spec` is 'current'."""
    if str(spec).lower() == "current":
        return current_labels(project)
    return load_version(project, resolve_version(project, spec))


@dataclass
class VersionDiff:
    added: list[dict[str, str]]
    removed: list[dict[str, str]]
    changed: list[tuple[dict[str, str], dict[str, str]]]


def diff_labels(a: list[dict[str, str]], b: list[dict[str, str]]) -> VersionDiff:
    """Labels added, removed and changed (topic or stance) from `a` to `b`, keyed by (sentence, annotator)."""
    ka = {(r["sentence_id"], r["annotator"]): r for r in a}
    kb = {(r["sentence_id"], r["annotator"]): r for r in b}
    added = [kb[k] for k in sorted(kb.keys() - ka.keys())]
    removed = [ka[k] for k in sorted(ka.keys() - kb.keys())]
    changed = [
        (ka[k], kb[k]) for k in sorted(ka.keys() & kb.keys())
        if (ka[k]["topic"], ka[k]["stance"]) != (kb[k]["topic"], kb[k]["stance"])
    ]
    return VersionDiff(added, removed, changed)

