"""`python -m label_app`: parse arguments and call label_app.cli."""

from __future__ import annotations

import argparse
import sys

from .cli import run
from .pipes import add_project_option, error_boundary
from .schema import TASKS


def start_app(args: argparse.Namespace) -> int:
    """No command: start the Streamlit app for --project on --host:--port."""
    from .serve import serve

    with error_boundary() as outcome:
        outcome.code = serve(args.project, port=args.port, host=args.host, no_auth=args.no_auth)
    return outcome.code


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    add_project_option(common)
    p = argparse.ArgumentParser(prog="python -m label_app", description="Sentence annotation by topic and stance.")
    add_project_option(p, top=True)
    p.add_argument("--port", type=int, default=8501, help="without a command: port of the app (default 8501)")
    p.add_argument("--host", default="127.0.0.1",
                   help="without a command: address the app listens on (default 127.0.0.1, this machine only)")
    p.add_argument("--no-auth", action="store_true",
                   help="without a command: serve a non-loopback --host without sign-in (anyone who can reach it "
                        "is a reviewer); not needed once users exist")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser("ingest", parents=[common], help="segment article files into sentences (default: the project's seeds/)")
    s.add_argument("paths", nargs="*", help="files or folders (.txt, .md, .csv, .jsonl); copied into seeds/")

    s = sub.add_parser("version", parents=[common], help="write an immutable snapshot of the current labels")
    s.add_argument("--note", default="", help="a note stored with the version")

    sub.add_parser("versions", parents=[common], help="list label versions and check each against its sha256")

    s = sub.add_parser("diff", parents=[common], help="labels added, changed and removed between two versions")
    s.add_argument("a", help="version number (or 'current' for the live labels)")
    s.add_argument("b", help="version number (or 'current' for the live labels)")
    s.add_argument("--limit", type=int, default=50, help="rows shown per kind of change (default 50)")

    s = sub.add_parser("import-labels", parents=[common],
                       help="import labels from a CSV or JSONL file (columns text, topic, stance; any other column "
                            "of our raw export is kept)")
    s.add_argument("file", help="label file (.csv or .jsonl; '-' reads standard input) with columns text, topic, "
                   "stance (optional sentence_id, article_id, annotator, source, model_version, timestamp, seconds, "
                   "action, row_id)")
    s.add_argument("--annotator", default=None, help="annotator for rows without an annotator column (default: import)")
    s.add_argument("--format", choices=["csv", "jsonl"], default=None,
                   help="file format (default: from the file name's extension, else csv)")

    s = sub.add_parser("export", parents=[common],
                       help="export a label version: gold labels of one task (training-ready) or every raw label "
                            "(archive, moving labels between projects) as csv, jsonl or a spaCy DocBin")
    s.add_argument("--version", default=None, help="version number (default: latest)")
    s.add_argument("--format", choices=["csv", "jsonl", "spacy"], default="csv", help="output format (default csv)")
    s.add_argument("--out", default=None,
                   help="output file, '-' for standard output (default: exports/labels-vNNNN[-TASK].EXT in the project)")
    s.add_argument("--task", choices=TASKS, default="topic",
                   help="task of a gold export and of a spaCy DocBin's doc.cats (default topic)")
    kind = s.add_mutually_exclusive_group()
    kind.add_argument("--gold", dest="gold", action="store_const", const=True, default=None,
                      help="one row (Doc) per sentence with the task's gold label as training resolves it, and its "
                           "votes (default for --format spacy)")
    kind.add_argument("--raw", dest="gold", action="store_const", const=False,
                      help="every label: one row per sentence and annotator with every column (default for csv "
                           "and jsonl)")
    s = sub.add_parser("migrate-schema", parents=[common],
                       help="check that current labels fit the schema, or map removed label names to new ones")
    s.add_argument("--rename", action="append", default=[], metavar="OLD=NEW",
                   help="relabel OLD as NEW (TASK:OLD=NEW to name the task); repeat for several")

    s = sub.add_parser("agreement", parents=[common],
                       help="inter-annotator agreement: Krippendorff's alpha, Cohen's kappa per pair, per label")
    s.add_argument("--version", default=None, help="label version (default: the current labels)")
    s.add_argument("--json", action="store_true", help="full detail as JSON (confusion matrices per pair)")

    s = sub.add_parser("users", parents=[common], help="accounts for sign-in: add, list, remove (labels/users.toml)")
    us = s.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    u = us.add_parser("add", parents=[common], help="add an account (the password is read without echo)")
    u.add_argument("name", help="user name, also the annotator name in the label log")
    u.add_argument("--role", choices=["annotator", "reviewer"], required=True,
                   help="reviewer: may also review, create versions, import, change settings, retrain")
    u.add_argument("--email", default="", help="optional e-mail address")
    u.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    u.add_argument("--replace", action="store_true", help="change the role or password of an existing account")
    us.add_parser("list", parents=[common], help="list accounts and roles")
    u = us.add_parser("remove", parents=[common], help="remove an account (its labels stay)")
    u.add_argument("name", help="user name")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        return start_app(args)
    return run(args)


def console() -> int:
    """The `label-app` console script (the same as `python -m label_app`)."""
    return main()


if __name__ == "__main__":
    sys.exit(console())
