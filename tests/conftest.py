"""Shared fixtures: temporary projects built from the shipped schema and seed articles."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from label_app.project import Project
from label_app.schema import Schema, load_schema

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


def make_project(root: Path, seeds: bool = True) -> Project:
    """A project folder with the shipped schema and (optionally) the five seed articles; no labels."""
    (root / "labels").mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "labels" / "schema.toml", root / "labels" / "schema.toml")
    (root / "seeds").mkdir(exist_ok=True)
    if seeds:
        for f in sorted((REPO / "seeds").glob("*.txt")):
            shutil.copy(f, root / "seeds" / f.name)
    return Project.at(root)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return make_project(tmp_path / "proj")


@pytest.fixture
def empty_project(tmp_path: Path) -> Project:
    return make_project(tmp_path / "proj", seeds=False)


@pytest.fixture
def schema(project: Project) -> Schema:
    return load_schema(project.schema_path)


def run_cli(*args: str, cwd: Path | None = None, module: str = "label_app") -> subprocess.CompletedProcess[str]:
    """Run `python -m <module> ARGS` as a user would; returns the completed process."""
    return subprocess.run(
        [sys.executable, "-m", module, *args], capture_output=True, text=True, cwd=cwd or REPO, timeout=300
    )
