"""What both command lines (`python -m label_app`, `python -m train`) share: the `--project` option, the error
boundary that turns a LabelAppError into one line and an exit code, and output into a pipe (a reader that stops
early, `| head`, ends the command quietly)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from .errors import LabelAppError

ERROR_EXIT = 1
INTERRUPTED_EXIT = 130  # what a shell reports for a command stopped by Ctrl-C (128 + SIGINT)
PROJECT_HELP = "project folder holding labels/, seeds/ and models/ (default: .)"

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


def add_project_option(parser: argparse.ArgumentParser, top: bool = False) -> None:
    """Declare `--project DIR`: on the top parser with default "."; on a subcommand without a default
    (argparse.SUPPRESS), so `--project` may stand before or after the command and the later one wins."""
    parser.add_argument("--project", default="." if top else argparse.SUPPRESS, metavar="DIR", help=PROJECT_HELP)


@dataclass
class Outcome:
    """The exit code of a command run inside `error_boundary` (set by the command, or by the boundary)."""

    code: int = 0


@contextmanager
def error_boundary(interrupted: str = "interrupted") -> Iterator[Outcome]:
    """The one place where a command's errors meet the user (as spaCy's `show_validation_error`): a
    LabelAppError becomes `error: <message>` on stderr and exit code 1, Ctrl-C prints `interrupted` and gives
    130; anything else is a bug and keeps its traceback.

        with error_boundary() as outcome:
            outcome.code = run(args)
        return outcome.code
    """
    outcome = Outcome()
    try:
        yield outcome
    except LabelAppError as exc:
        print(f"error: {exc}", file=sys.stderr)
        outcome.code = ERROR_EXIT
    except KeyboardInterrupt:
        print(interrupted, file=sys.stderr)
        outcome.code = INTERRUPTED_EXIT
