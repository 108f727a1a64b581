"""Command-line output into a pipe: a reader that stops early (`| head`) ends the command quietly."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

SIGPIPE_EXIT = 141  # what a shell reports for a command killed by SIGPIPE (128 + 13)


def run_quietly(main: Callable[[], int]) -> int:
    """Run `main` (a command returning an exit code) and flush stdout; when the reader of stdout has gone
    away (BrokenPipeError), stop without a traceback and return 141, like `cat` killed by SIGPIPE."""
    try:
        code = main()
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # Python flushes stdout again at exit; point it at /dev/null so that flush cannot fail a second time.
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, sys.stdout.fileno())
        finally:
            os.close(devnull)
        return SIGPIPE_EXIT


def write_stdout_bytes(data: bytes) -> None:
    """Write bytes (a CSV, JSONL or DocBin export) to standard output."""
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
