"""Retrain and pre-label in the background, started from the app: `train.train_project`, then
`train.prelabel.prelabel` for the new model, in a separate process so annotators keep working.

One job at a time per project: the app takes `.cache/retrain.lock` (flock) before it starts the job process and
hands the locked file to it, so the lock lives exactly as long as the job, even if it is killed. Status and
progress go to `.cache/retrain.json` (replaced atomically), which every session and server process can read.
The new model is made current only once its pre-labels are written, so the queue switches to it in one step.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import portalocker

import train
from train.prelabel import PrelabelProgress, ProgressCallback, prelabel
from train.registry import current_model_id, set_current

from .corpus import KIND_SENTENCE, load_corpus
from .errors import LabelAppError
from .files import write_atomic
from .project import Project
from .wording import plural

STATUS_FILE = "retrain.json"
LOCK_FILE = "retrain.lock"
LOG_FILE = "retrain.log"
# Share of the progress bar for training (no finer progress is reported by train_project); the rest is
# pre-labeling, measured by the rows its state file has committed.
TRAIN_SHARE = 0.5
_REPO = Path(__file__).resolve().parent.parent


class JobRunning(LabelAppError):
    """A retrain job is already running for this project."""


@dataclass
class JobStatus:
    """What the last retrain job of a project is doing or did (the content of .cache/retrain.json)."""

    state: str = "idle"  # idle | running | done | failed
    job_id: str = ""
    stage: str = ""  # starting | training | pre-labeling | done
    stages: list[str] = field(default_factory=list)  # every stage entered, in order
    progress: float = 0.0  # 0-1
    message: str = ""
    error: str = ""  # one line, when failed
    started: str = ""  # UTC ISO 8601
    finished: str = ""
    started_by: str = ""
    model_id: str = ""  # the model trained by the job
    pid: int = 0

    @property
    def running(self) -> bool:
        return self.state == "running"

    def describe(self) -> str:
        """One line for the page."""
        by = f" by {self.started_by}" if self.started_by else ""
        if self.state == "running":
            return f"Running since {self.started}{by}: {self.message}"
        if self.state == "done":
            return f"Finished {self.finished}: {self.message}"
        if self.state == "failed":
            return f"Failed while {self.stage or 'starting'} ({self.finished or self.started}): {self.error}"
        return "No retrain has been started from the app yet."


def status_path(project: Project) -> Path:
    return project.cache_dir / STATUS_FILE


def lock_path(project: Project) -> Path:
    return project.cache_dir / LOCK_FILE


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _write_status(project: Project, status: JobStatus) -> None:
    # readers see the old or the new status, never half of one
    write_atomic(status_path(project), json.dumps(asdict(status), indent=2) + "\n")


def _lock_held(project: Project) -> bool:
    """Whether some process holds the job lock (probed without waiting)."""
    try:
        fh = open(lock_path(project), "rb")  # noqa: SIM115 - closed below; closing releases the probe's lock
    except FileNotFoundError:
        return False
    try:
        # a shared probe: probes of several sessions never collide with each other, only with the job's lock
        portalocker.lock(fh, portalocker.LockFlags.SHARED | portalocker.LockFlags.NON_BLOCKING)
    except portalocker.LockException:
        return True
    finally:
        fh.close()
    return False


def read_status(project: Project) -> JobStatus:
    """The last job's status; a job whose process died without finishing is reported as failed."""
    try:
        raw = json.loads(status_path(project).read_text("utf-8"))
    except FileNotFoundError:
        return JobStatus()
    except (OSError, ValueError):
        return JobStatus(state="failed", error=f"{status_path(project)}: unreadable status file")
    known = {f.name for f in fields(JobStatus)}
    status = JobStatus(**{k: v for k, v in raw.items() if k in known}) if isinstance(raw, dict) else JobStatus()
    if status.running and not _lock_held(project):
        # The lock dies with the process, so a 'running' status without it is a killed or crashed job.
        status.state = "failed"
        status.error = (f"the retrain process stopped before it finished (killed or crashed); see "
                        f"{project.cache_dir / LOG_FILE}")
    return status


def start_job(project: Project, started_by: str = "") -> JobStatus:
    """Start a retrain-and-pre-label job in a background process; JobRunning if one is running already."""
    project.cache_dir.mkdir(parents=True, exist_ok=True)
    # read_status probes the lock for an instant, so a taken lock is retried for a moment before it counts
    lock = portalocker.Lock(lock_path(project), mode="a", timeout=0.25, check_interval=0.05,
                            fail_when_locked=False,
                            flags=portalocker.LockFlags.EXCLUSIVE | portalocker.LockFlags.NON_BLOCKING)
    try:
        lock.acquire()
    except portalocker.LockException:
        current = read_status(project)
        by = f" by {current.started_by}" if current.started_by else ""
        raise JobRunning(f"A retrain is already running (started{by} at {current.started}); "
                         "wait for it to finish.") from None
    # The lock passes to the job process, which keeps it until it ends: this process only closes its handle
    # (closing does not release a flock another process shares), never unlocks it.
    fh, lock.fh = lock.fh, None
    fd = fh.fileno()
    try:
        status = JobStatus(state="running", job_id=uuid.uuid4().hex[:12], stage="starting", stages=["starting"],
                           message="Starting…", started=_now(), started_by=started_by)
        _write_status(project, status)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(_REPO), os.environ.get("PYTHONPATH")]))}
        cmd = [sys.executable, "-m", "label_app.jobs", "--project", str(project.root), "--job", status.job_id,
               "--started-by", started_by, "--lock-fd", str(fd)]
        try:
            with open(project.cache_dir / LOG_FILE, "ab") as log:
                # The child inherits the locked file (pass_fds): the lock is released when the job ends.
                proc = subprocess.Popen(cmd, cwd=_REPO, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                        pass_fds=(fd,), start_new_session=True)
        except OSError as exc:
            status.state, status.error, status.finished = "failed", f"cannot start the job: {exc}", _now()
            _write_status(project, status)
            raise LabelAppError(f"Retrain NOT started: {exc}") from None
        # Reap the child when it exits, so a long-running server collects no zombie processes.
        threading.Thread(target=proc.wait, daemon=True).start()
        return status
    finally:
        fh.close()  # the child holds its own copy of the locked file


class _Reporter:
    """Writes the job's status; thread-safe."""

    def __init__(self, project: Project, status: JobStatus) -> None:
        self.project = project
        self.status = status
        self._lock = threading.Lock()

    def update(self, **changes: Any) -> None:
        with self._lock:
            stage = changes.get("stage")
            if stage and stage != self.status.stage:
                self.status.stages.append(stage)
            for k, v in changes.items():
                setattr(self.status, k, v)
            _write_status(self.project, self.status)


def _count_sentences(project: Project) -> int:
    df = load_corpus(project, refresh=False)
    return int((df["kind"] == KIND_SENTENCE).sum())


def _prelabel_reporter(reporter: _Reporter, total: int) -> ProgressCallback:
    """A pre-labeling progress callback that writes the job's status (at most twice a second)."""
    last = [0.0]

    def report(p: PrelabelProgress) -> None:
        now = time.monotonic()
        if now - last[0] < 0.5:
            return
        last[0] = now
        share = min(p.sentences / total, 0.99) if total else 0.0
        reporter.update(progress=round(TRAIN_SHARE + (1 - TRAIN_SHARE) * share, 3),
                        message=f"Pre-labeling the corpus with the new model: {p.sentences:,} of about {total:,} "
                                "sentences.")

    return report


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, LabelAppError):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def retrain_note(started_by: str) -> str:
    """The note of a label version that a retrain from the app snapshots (the labels changed since the last)."""
    by = f" by {started_by}" if started_by else ""
    return f"created by a retrain started{by} from the app (Settings): labels changed since the last version"


def run_job(project: Project, job_id: str, started_by: str = "") -> JobStatus:
    """Train, pre-label and switch to the new model, reporting every stage; returns the final status.

    Called in the job process (the caller holds the lock). Failures are recorded, not raised.
    """
    started = time.perf_counter()
    status = read_status(project)
    if status.job_id != job_id:
        status = JobStatus(job_id=job_id, started=_now(), started_by=started_by, stages=[])
    rep = _Reporter(project, status)
    rep.update(state="running", pid=os.getpid(), stage="training", progress=0.05,
               message="Training a new model on the current labels…")
    new_id = previous = None
    try:
        try:
            previous = current_model_id(project)
        except LabelAppError:
            previous = None  # an unreadable pointer is replaced by the new model
        result = train.train_project(project, progress=False, version_note=retrain_note(started_by))
        new_id = result.model_id
        if previous and previous != new_id:
            # train_project made the new model current; keep serving the old one until the new one's
            # pre-labels exist, so the app switches suggestions and the queue order in one step.
            set_current(project, previous)
        rep.update(stage="pre-labeling", progress=TRAIN_SHARE, model_id=new_id,
                   message=f"Trained {new_id}; pre-labeling the corpus with it…")
        total = _count_sentences(project)
        report = prelabel(project, model_id=new_id, on_progress=_prelabel_reporter(rep, total))
        _switch(project, previous, new_id, current_model_id, set_current)
        made = ("reused (labels, schema, settings and the corpus's unlabelled sentences unchanged since it was "
                "trained)" if result.reused else "trained")
        rep.update(state="done", stage="done", progress=1.0, finished=_now(),
                   message=f"Model {new_id} {made} on labels v{result.labels_version:04d} and "
                           f"{plural(report.sentences, 'sentence')} pre-labeled in {time.perf_counter() - started:.0f} s; "
                           "suggestions and the queue use it now.")
    except BaseException as exc:  # noqa: BLE001 - every failure is recorded for the page, then the job ends
        if new_id is not None:
            # A trained model stays usable without pre-labels (suggestions are then computed on demand).
            try:
                _switch(project, previous, new_id, current_model_id, set_current)
            except LabelAppError:
                pass
        rep.update(state="failed", finished=_now(), error=_one_line(exc))
        if not isinstance(exc, Exception):
            raise
    return rep.status


def _switch(project: Project, previous: str | None, new_id: str, current_model_id: Any, set_current: Any) -> None:
    # Only if nobody switched models meanwhile (e.g. `python -m train` run while this job pre-labeled).
    if current_model_id(project) in (previous, new_id):
        set_current(project, new_id)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the job process (`python -m label_app.jobs`), started by start_job."""
    ap = argparse.ArgumentParser(description="run one retrain-and-pre-label job (started by the app)")
    ap.add_argument("--project", required=True)
    ap.add_argument("--job", required=True)
    ap.add_argument("--started-by", default="")
    ap.add_argument("--lock-fd", type=int, default=None, help="the inherited, locked job lock file (kept open)")
    args = ap.parse_args(argv)
    if args.lock_fd is not None:
        # pre-labeling may start worker processes: they must not inherit the lock and hold it after the job
        os.set_inheritable(args.lock_fd, False)
    status = run_job(Project.at(args.project), args.job, args.started_by)
    if args.lock_fd is not None:
        os.close(args.lock_fd)  # after the final status is written: a new job may start now
    print(f"{status.state}: {status.error or status.message}", flush=True)
    return 0 if status.state == "done" else 1


if __name__ == "__main__":
    sys.exit(main())
