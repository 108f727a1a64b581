"""Command implementations for `python -m train`; each returns an exit code and prints for people."""

from __future__ import annotations

import argparse
import sys

from label_app.errors import BadInput, LabelAppError
from label_app.pipes import error_boundary
from label_app.project import Project

from . import registry
from .prelabel import PrelabelProgress, prelabel
from .report import curve_report, errors_report, evaluation_report, training_report
from .training import TrainResult, evaluate_model, find_label_errors, learning_curve, train_project

# What a model's identity is made of (train.training._digest); the unlabelled sentences count only where a task
# can self-train, and then they are what self-training learns from.
UNCHANGED = "labels, schema, settings and the corpus's unlabelled sentences unchanged"


def summary_line(result: TrainResult) -> str:
    """The one line `python -m train --quiet` prints: which model is current now, on which labels, its scores."""
    m = result.metrics
    scores = "; ".join(f"{task} macro-F1 {t['macro_f1']:.3f}"
                       + (", self-trained" if t.get("self_training", {}).get("chosen") else "") if t.get("trained") else
                       f"{task} skipped: {t.get('skipped', '')}" for task, t in m["tasks"].items())
    labels = f"labels v{result.labels_version} ({m['labels_rows']} labels)"
    if result.reused:
        return (f"model {result.model_id} is current: {UNCHANGED} since it was trained on {labels}, so it was "
                f"reused, not retrained ({scores})")
    return (f"trained model {result.model_id} (now current) on {labels}"
            + (", a version created now from changed labels" if result.version_created else "")
            + f" in {result.seconds:.1f} s ({scores})")


def cmd_train(project: Project, labels_version: str | None, quiet: bool) -> int:
    result = train_project(project, labels_version=labels_version, progress=not quiet)
    if quiet:
        print(summary_line(result))
    elif result.reused:
        print(training_report(result.metrics, result.version_created).rsplit("\nsaved model", 1)[0])
        print("\n" + summary_line(result))
    else:
        print(training_report(result.metrics, result.version_created))
    return 0


def cmd_evaluate(project: Project, model_id: str, labels_version: str | None) -> int:
    print(evaluation_report(evaluate_model(project, model_id, labels_version)))
    return 0


def cmd_curve(project: Project, model_id: str | None, labels_version: str | None, quiet: bool) -> int:
    print(curve_report(learning_curve(project, labels_version, model_id, progress=not quiet)))
    return 0


def cmd_errors(project: Project, model_id: str | None, labels_version: str | None, min_confidence: float,
               limit: int, quiet: bool) -> int:
    result = find_label_errors(project, labels_version, model_id, min_confidence=min_confidence,
                               progress=not quiet)
    print(errors_report(result, limit))
    return 0


def cmd_models(project: Project) -> int:
    models = registry.list_models(project)
    if not models:
        print("no models yet (train one with `python -m train`)")
        return 0
    for m in models:
        print(f"{'*' if m['current'] else ' '} {m['model_id']}  labels v{m['labels_version']}  "
              f"tasks {','.join(m['tasks'])}  {m.get('created', '')}  scikit-learn {m['sklearn_version']}")
    return 0


def cmd_use(project: Project, model_id: str) -> int:
    registry.verify_files(project, model_id)
    registry.set_current(project, model_id)
    print(f"current model: {model_id}")
    return 0


LOG_EVERY_S = 30.0


def progress_line(p: PrelabelProgress) -> str:
    """One plain progress line for logs (no carriage returns), e.g.
    `pre-label: 45% (12.3 of 27.0 MB), 120,000 sentences, 9,500/s, 13 s`."""
    share = f"{p.done_bytes / p.total_bytes:.0%} " if p.total_bytes else ""
    return (f"pre-label: {share}({p.done_bytes / 1e6:.1f} of {p.total_bytes / 1e6:.1f} MB), {p.sentences:,} "
            f"sentences, {p.sentences / max(p.seconds, 1e-9):,.0f}/s, {p.seconds:.0f} s")


class _LogLines:
    """Progress for a stderr that is not a terminal (a log file, a pipe, a CI console): a plain line at most
    every LOG_EVERY_S seconds instead of a bar redrawn with carriage returns."""

    def __init__(self) -> None:
        self.last = 0.0

    def show(self, p: PrelabelProgress) -> None:
        if p.seconds - self.last >= LOG_EVERY_S:
            self.last = p.seconds
            print(progress_line(p), file=sys.stderr, flush=True)


def cmd_prelabel(project: Project, args: argparse.Namespace, quiet: bool) -> int:
    """`python -m train prelabel`: progress on stderr, as a tqdm bar (input bytes read, sentences per second)
    on a terminal, else as a plain line every LOG_EVERY_S seconds (`progress_line`)."""
    from tqdm import tqdm

    if args.chunk_chars < 1000:
        raise BadInput(f"--chunk-chars must be at least 1000, got {args.chunk_chars}")
    if not quiet and not sys.stderr.isatty():
        lines = _LogLines()
        report = prelabel(project, args.inputs or None, model_id=args.model, out=args.out, n_jobs=args.jobs,
                          backend=args.backend, scheduler=args.scheduler, chunk_chars=args.chunk_chars,
                          segmenter=args.segmenter, on_progress=lines.show)
        print(report.summary())
        return 0
    with tqdm(unit="B", unit_scale=True, desc="pre-label", file=sys.stderr, disable=quiet, dynamic_ncols=True,
              mininterval=0.5) as bar:
        def show(p: PrelabelProgress) -> None:
            bar.total = p.total_bytes
            bar.update(p.done_bytes - bar.n)
            if p.sentences:
                bar.set_postfix_str(f"{p.sentences:,} sentences, {p.sentences / max(p.seconds, 1e-9):,.0f}/s",
                                    refresh=False)

        report = prelabel(project, args.inputs or None, model_id=args.model, out=args.out, n_jobs=args.jobs,
                          backend=args.backend, scheduler=args.scheduler, chunk_chars=args.chunk_chars,
                          segmenter=args.segmenter, on_progress=show)
        if bar.total:
            bar.update(bar.total - bar.n)  # byte weights of parsed articles are estimates: end the bar at 100%
    print(report.summary())
    return 0


def run(args: argparse.Namespace) -> int:
    """Dispatch parsed arguments; user mistakes become one line on stderr and exit code 1."""
    project = Project.at(args.project)
    version = getattr(args, "labels_version", None)
    quiet = getattr(args, "quiet", False)
    interrupted = ("interrupted: the output is valid; run the same command again to resume"
                   if args.command == "prelabel" else "interrupted")
    with error_boundary(interrupted) as outcome:
        outcome.code = _dispatch(project, args, version, quiet)
    return outcome.code


def _dispatch(project: Project, args: argparse.Namespace, version: str | None, quiet: bool) -> int:
    if args.command in (None, "train"):
        return cmd_train(project, version, quiet)
    if args.command == "evaluate":
        return cmd_evaluate(project, args.model, version)
    if args.command == "curve":
        return cmd_curve(project, args.model, version, quiet)
    if args.command == "errors":
        return cmd_errors(project, args.model, version, args.min_confidence, args.limit, quiet)
    if args.command == "models":
        return cmd_models(project)
    if args.command == "use":
        return cmd_use(project, args.model)
    if args.command == "prelabel":
        return cmd_prelabel(project, args, quiet)
    raise LabelAppError(f"unknown command {args.command!r}")
