"""`python -m train`: parse arguments and call train.cli."""

from __future__ import annotations

import argparse
import sys

from label_app.pipes import add_project_option, run_quietly

from .cli import run
from .prelabel import DEFAULT_CHUNK_CHARS


def _confidence(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return value


def _prelabel_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `python -m train prelabel`."""
    parser.add_argument("inputs", nargs="*", metavar="INPUT",
                        help="article files (.txt, .md) and folders (every supported file inside, tables "
                             "included, is read as articles), or sentence files (.csv/.jsonl named directly: "
                             "one sentence per row, column `text`, optional `id` and `topic`); default: seeds/, "
                             "only articles this model has not pre-labeled yet")
    add_project_option(parser)
    parser.add_argument("--model", default=None, metavar="ID",
                        help="model id to pre-label with (default: the current model)")
    parser.add_argument("--out", default=None, metavar="FILE",
                        help="output CSV (default: prelabels/<model id>.csv in the project); a run on an "
                             "existing output resumes it")
    parser.add_argument("--jobs", type=int, default=-1, metavar="N",
                        help="worker processes for the joblib backend (default -1: every core)")
    parser.add_argument("--backend", choices=("joblib", "dask"), default="joblib",
                        help="joblib: processes on this machine (default); dask: a Dask cluster (needs --scheduler)")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="Dask scheduler address for --backend dask, e.g. tcp://10.0.0.5:8786")
    parser.add_argument("--chunk-chars", type=int, default=DEFAULT_CHUNK_CHARS, metavar="N",
                        help=f"characters of input per chunk, the unit of work and of resume "
                             f"(default {DEFAULT_CHUNK_CHARS:,})")
    parser.add_argument("--segmenter", choices=("fast", "exact", "spacy"), default="fast",
                        help="for article folders other than seeds/: fast (default) gives ingestion's segments "
                             "with repeated lines looked up; exact runs label_app's segment_articles on every "
                             "line ('spacy' is the old name of exact)")
    parser.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS, help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    add_project_option(common)
    common.add_argument("--labels-version", default=argparse.SUPPRESS, metavar="N",
                        help="label version to use (default: see the command)")
    common.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS,
                        help="no progress display")
    p = argparse.ArgumentParser(
        prog="python -m train",
        description="Train, evaluate and inspect the topic and stance classifiers. Without a command: train on the "
                    "latest label version (snapshotting changed labels first) and make the model current.")
    add_project_option(p, top=True)
    p.add_argument("--labels-version", default=None, metavar="N",
                   help="label version to train on (default: the latest, created first if labels changed)")
    p.add_argument("--quiet", action="store_true", default=False, help="no progress display")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    sub.add_parser("train", parents=[common], help="train (the default command)")

    s = sub.add_parser("evaluate", parents=[common], help="score a saved model (--model ID, required) on a "
                       "version's labels (default: the latest version)")
    s.add_argument("--model", required=True, help="model id (see `python -m train models`)")

    s = sub.add_parser("curve", parents=[common], help="learning curve: CV macro-F1 at 10/25/50/75/100%% of the "
                       "labels (default: the model's label version); saved as JSON and a Vega-Lite chart")
    s.add_argument("--model", default=None, help="model whose hyperparameters to use (default: the current one)")

    s = sub.add_parser("errors", parents=[common], help="likely label errors: gold labels that a confident "
                       "out-of-fold prediction disagrees with, ranked, written to a CSV")
    s.add_argument("--model", default=None, help="model whose hyperparameters to use (default: the current one)")
    s.add_argument("--min-confidence", type=_confidence, default=0.5,
                   help="least out-of-fold probability of the disagreeing prediction (default 0.5)")
    s.add_argument("--limit", type=int, default=20, help="rows printed (the CSV has all; default 20)")

    sub.add_parser("models", parents=[common], help="list saved models (* = current)")

    s = sub.add_parser("use", parents=[common], help="make a saved model the current one")
    s.add_argument("model", help="model id")

    s = sub.add_parser("prelabel", help="pre-label articles or sentence files with the current model (or --model), "
                       "streamed in resumable chunks on every core; writes prelabels/<model id>.csv")
    _prelabel_arguments(s)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run(args)


def console() -> int:
    """The `label-train` console script: `python -m train` that a train.py in the current folder cannot shadow."""
    return run_quietly(main)


if __name__ == "__main__":
    sys.exit(console())
