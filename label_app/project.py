"""Where a project keeps its files. Declared once; every function takes a Project (tests pass tmp_path)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Project:
    """A project folder holding labels/, seeds/ and models/."""

    root: Path

    @classmethod
    def at(cls, root: str | os.PathLike[str] | None = None) -> Project:
        """The project at `root` (default: the current directory)."""
        return cls(Path(root if root is not None else ".").resolve())

    @property
    def labels_dir(self) -> Path:
        return self.root / "labels"

    @property
    def schema_path(self) -> Path:
        return self.labels_dir / "schema.toml"

    @property
    def log_path(self) -> Path:
        """The append-only label log: every label action, one row each."""
        return self.labels_dir / "labels.csv"

    @property
    def versions_dir(self) -> Path:
        return self.labels_dir / "versions"

    @property
    def manifest_path(self) -> Path:
        return self.versions_dir / "manifest.json"

    @property
    def settings_path(self) -> Path:
        return self.labels_dir / "settings.json"

    @property
    def seeds_dir(self) -> Path:
        return self.root / "seeds"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def cache_dir(self) -> Path:
        """Generated, rebuildable data (segmented corpus); kept out of git."""
        return self.root / ".cache"

    @property
    def corpus_path(self) -> Path:
        return self.cache_dir / "corpus.jsonl"

    @property
    def ingest_cache_path(self) -> Path:
        return self.cache_dir / "ingest_files.json"

    @property
    def prelabels_dir(self) -> Path:
        return self.root / "prelabels"
