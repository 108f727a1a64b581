"""Named errors of the label tool. Each message is one line that names the file or value at fault."""

from __future__ import annotations


class LabelAppError(Exception):
    """Base class: a user-facing problem, shown as one line (CLI) or st.error (app)."""


class SchemaError(LabelAppError):
    """The schema file is missing, unreadable or invalid."""


class UnknownLabel(LabelAppError):
    """A label value is not in the schema."""


class SchemaMismatch(LabelAppError):
    """Stored labels or a model do not fit the current schema."""


class BadLabelFile(LabelAppError):
    """A label file to import has missing columns or cannot be parsed."""


class VersionNotFound(LabelAppError):
    """The requested label version does not exist."""


class VersionTampered(LabelAppError):
    """A version file no longer matches the sha256 recorded in the manifest."""


class StoreWriteError(LabelAppError):
    """A label could not be written to disk (read-only or full folder, lock timeout)."""


class BadInput(LabelAppError):
    """An input file or argument cannot be used."""


class InvalidName(LabelAppError):
    """An annotator or file name is not allowed."""


class DamagedCache(LabelAppError):
    """A file under .cache/ (derived from seeds/ and labels/, rebuildable) cannot be read: truncated, not
    UTF-8, not JSON, or records of another shape. `path`, `line` (1-based; 0 for the whole file) and `why` say
    where and what; the message says how to rebuild it."""

    def __init__(self, path: object, line: int, why: str, fix: str) -> None:
        self.path, self.line, self.why = str(path), line, why
        where = f", line {line}" if line else ""
        super().__init__(f"{path}{where}: damaged cache file ({why}); {fix}")
