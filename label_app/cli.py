"""Command implementations for `python -m label_app`; each returns an exit code and prints for people."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

from . import store
from .corpus import ingest, load_corpus
from .errors import LabelAppError
from .pipes import error_boundary, run_quietly, write_stdout_bytes
from .project import Project
from .schema import Schema, load_schema


def _say_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    print(f"warning: {message}", file=sys.stderr)


def setup_warnings() -> None:
    """Torn rows and similar store warnings print as one line each on stderr."""
    warnings.showwarning = _say_warning
    warnings.simplefilter("always", store.TornRowWarning)


def corpus_index(project: Project) -> dict[str, list[store.CorpusSentence]]:
    """Normalised sentence text -> every corpus sentence with it, for the current corpus (the Data page's
    index too: `dataops.corpus_index`)."""
    from .dataops import corpus_index as index_of

    return index_of(load_corpus(project))


def cmd_ingest(project: Project, paths: list[str]) -> int:
    report = ingest(project, paths or None)
    print(report.summary())
    return 1 if report.refused else 0


def cmd_version(project: Project, note: str) -> int:
    rec, created = store.create_version(project, note=note)
    print(f"version {rec['version']}: {rec['rows']} labels, sha256 {rec['sha256'][:12]}"
          + (f", parent {rec['parent']}" if rec["parent"] else "") + (f" ({rec['note']})" if rec["note"] else ""))
    return 0


def cmd_versions(project: Project) -> int:
    versions = store.read_manifest(project)
    if not versions:
        print("no label versions yet")
        return 0
    bad = 0
    for rec in versions:
        try:
            store.verify_version(project, rec["version"])
            state = "ok"
        except LabelAppError as exc:
            state = f"TAMPERED: {exc}"
            bad += 1
        print(f"v{rec['version']:04d}  {rec['created']}  {rec['rows']:>6} labels  {state}"
              + (f"  {rec['note']}" if rec.get("note") else ""))
    return 1 if bad else 0


def cmd_diff(project: Project, a: str, b: str, limit: int) -> int:
    d = store.diff_labels(store.labels_for(project, a), store.labels_for(project, b))
    print(f"{a} -> {b}: {len(d.added)} added, {len(d.changed)} changed, {len(d.removed)} removed")

    def short(r: dict[str, str]) -> str:
        return f"topic={r['topic'] or '-'} stance={r['stance'] or '-'}"

    for r in d.added[:limit]:
        print(f"+ {r['sentence_id']} [{r['annotator']}] {short(r)}  {r['text'][:70]!r}")
    for old, new in d.changed[:limit]:
        print(f"~ {new['sentence_id']} [{new['annotator']}] {short(old)} -> {short(new)}  {new['text'][:60]!r}")
    for r in d.removed[:limit]:
        print(f"- {r['sentence_id']} [{r['annotator']}] {short(r)}  {r['text'][:70]!r}")
    hidden = sum(max(0, len(x) - limit) for x in (d.added, d.changed, d.removed))
    if hidden:
        print(f"... {hidden} more (use --limit)")
    return 0


def cmd_import(project: Project, schema: Schema, file: str, annotator: str | None, fmt: str | None = None) -> int:
    """Import a label file ("-": standard input); problems print as one line each on stderr, exit code 1."""
    if file == "-":
        source: str | Path = sys.stdin.read()
        name = "<stdin>"
    else:
        source, name = Path(file), file
    rep = store.import_labels(project, schema, source, annotator=annotator, corpus_index=corpus_index(project),
                              name=name, fmt=fmt)
    for note in rep.notes:
        print(f"note: {note}", file=sys.stderr)
    if rep.problems:
        if len(rep.problems) == 1:
            print(f"error: {rep.summary()}: {rep.problems[0].line()}", file=sys.stderr)
        else:
            print(f"error: {rep.summary()}:", file=sys.stderr)
            for line in rep.problem_lines():
                print(f"  {name}: {line}", file=sys.stderr)
        return 1
    print(rep.headline())
    for detail in rep.details():
        print(f"  {detail}")
    return 0


def cmd_export(project: Project, schema: Schema, version: str | None, fmt: str, out: str | None, task: str,
               gold: bool | None = None) -> int:
    """Export a version (gold or raw, see store.make_export) to a file, or to standard output with `--out -`."""
    number = store.resolve_version(project, version)
    exp = store.make_export(store.load_version(project, number), schema, number, fmt, task, gold)
    if out == "-":
        write_stdout_bytes(exp.data)
        print(f"exported version {number} as {fmt} to standard output: {exp.summary}", file=sys.stderr)
        return 0
    path = Path(out) if out else project.root / "exports" / exp.name
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(exp.data)
    except OSError as exc:
        raise LabelAppError(f"{path}: export NOT written: {exc.strerror or exc}") from None
    print(f"exported version {number} as {fmt} to {path}: {exp.summary}")
    return 0


def cmd_agreement(project: Project, schema: Schema, version: str | None, as_json: bool) -> int:
    from .agreement import agreement_report, report_json, report_text

    labels = store.labels_for(project, version if version is not None else "current")
    report = agreement_report(labels, schema)
    if as_json:
        import json

        print(json.dumps(report_json(report), indent=2))
    else:
        print(report_text(report), end="")
    return 0


def read_new_password(from_stdin: bool) -> str:
    """The new password: the first line of stdin, or typed twice without echo."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    import getpass

    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise LabelAppError("the two passwords differ; nothing saved")
    return first


def cmd_users(project: Project, args) -> int:  # noqa: ANN001
    from . import auth

    path = auth.users_path(project)
    if args.users_command == "list":
        users = auth.load_users(project)
        if not users:
            print(f"no users in {path}: the app runs for one person on this machine only")
        for u in sorted(users.values(), key=lambda u: u.name):
            print(f"{u.name}  {u.role}" + (f"  {u.email}" if u.email else ""))
        return 0
    if args.users_command == "remove":
        auth.remove_user(project, args.name)
        print(f"removed user {args.name} from {path}" + ("" if auth.load_users(project) else
              "; no users left: sign-in is off (only a loopback --host can serve)"))
        return 0
    user = auth.add_user(project, args.name, args.role, read_new_password(args.password_stdin), email=args.email,
                         replace=args.replace)
    print(f"{'updated' if args.replace else 'added'} {user.role} {user.name} in {path} (password stored as an "
          "scrypt hash)")
    return 0


def cmd_migrate(project: Project, schema: Schema, renames: list[str]) -> int:
    if not renames:
        store.check_fits_schema(project, schema)
        print(f"all current labels fit {project.schema_path}")
        return 0
    n = store.migrate_labels(project, schema, store.parse_renames(renames, schema))
    print(f"relabelled {n} current labels to fit {project.schema_path}")
    return 0


def run(args) -> int:  # noqa: ANN001
    """Dispatch parsed arguments; user mistakes become one line on stderr and exit code 1; a closed pipe on
    stdout (`| head`) ends quietly."""
    return run_quietly(lambda: _run(args))


def _run(args) -> int:  # noqa: ANN001
    setup_warnings()
    project = Project.at(args.project)
    with error_boundary() as outcome:
        outcome.code = _dispatch(project, args)
    return outcome.code


def _dispatch(project: Project, args) -> int:  # noqa: ANN001
    if args.command == "ingest":
        return cmd_ingest(project, args.paths)
    if args.command == "version":
        return cmd_version(project, args.note)
    if args.command == "versions":
        return cmd_versions(project)
    if args.command == "diff":
        return cmd_diff(project, args.a, args.b, args.limit)
    if args.command == "users":
        return cmd_users(project, args)
    schema = load_schema(project.schema_path)
    if args.command == "migrate-schema":
        return cmd_migrate(project, schema, args.rename)
    if args.command == "import-labels":
        store.check_fits_schema(project, schema)
        return cmd_import(project, schema, args.file, args.annotator, getattr(args, "format", None))
    if args.command == "export":
        return cmd_export(project, schema, args.version, args.format, args.out, args.task,
                          getattr(args, "gold", None))
    if args.command == "agreement":
        return cmd_agreement(project, schema, args.version, args.json)
    raise LabelAppError(f"unknown command {args.command!r}")
