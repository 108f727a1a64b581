"""File helpers shared by every writer: atomic replace, durable append, sha256 of a file.

One copy of each, so every file the product writes (versions, manifests, settings, users, models, metrics,
pre-labels, job status) is written the same way: a reader sees the old content or the new, never half of it,
and an append is on disk before the caller goes on.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

_CHUNK = 1 << 20


def write_atomic(path: Path, data: bytes | str, mode: int | None = None, sync_dir: bool = False) -> None:
    """Replace `path` with `data` (str is written as UTF-8, newlines untouched) in one step.

    The data goes to a temporary file in the same folder (a unique name, so concurrent writers never share
    it), is flushed and fsynced, optionally given `mode` (e.g. 0o600), and renamed over `path`. With
    `sync_dir` the folder is fsynced too, so the rename itself survives a power cut. Creates the parent
    folder. Raises OSError (the temporary file is removed); `path` is then unchanged.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666 if mode is None else mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)  # the umask may have narrowed the mode given to open
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if sync_dir:
        fsync_dir(path.parent)


def append_durable(path: Path, data: bytes) -> int:
    """Append `data` to an existing file with one O_APPEND write loop, then fsync; returns the file's size
    after the append (bytes). Raises OSError (FileNotFoundError when `path` does not exist)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        os.fsync(fd)
        return os.fstat(fd).st_size
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """fsync a folder so that a file created or renamed in it survives a power cut (no-op where folders cannot
    be opened, e.g. Windows)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB blocks (any size). Raises OSError."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()
