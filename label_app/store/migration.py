"""Schema changes: find labels whose names the schema no longer has, and relabel them (appended rows)."""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import SchemaMismatch
from ..project import Project
from ..schema import MULTI_SEP, Schema
from .log import LabelRow, append_rows, store_lock
from .reading import current_labels


def orphaned_labels(labels: Iterable[dict[str, str]], schema: Schema) -> dict[tuple[str, str], int]:
    """(task, label name) -> count, for label names in `labels` that the schema no longer has."""
    out: dict[tuple[str, str], int] = {}
    for r in labels:
        for task in schema.tasks:
            for name in task.unknown(r.get(task.name, "")):
                out[(task.name, name)] = out.get((task.name, name), 0) + 1
    return out


def check_fits_schema(project: Project, schema: Schema, labels: list[dict[str, str]] | None = None,
                      what: str = "current labels") -> None:
    """Raise SchemaMismatch, listing them, when labels use names the schema no longer has."""
    orphans = orphaned_labels(current_labels(project) if labels is None else labels, schema)
    if not orphans:
        return
    listed = ", ".join(f"{t} {n!r} ({c})" for (t, n), c in sorted(orphans.items()))
    example = " ".join(f"--rename {t}:{n}=NEW" for (t, n) in sorted(orphans)[:2])
    raise SchemaMismatch(
        f"{project.schema_path}: {sum(orphans.values())} {what} use labels the schema no longer has: {listed}. "
        f"Put them back in the schema, or map them: python -m label_app migrate-schema {example}"
    )


def parse_renames(specs: Iterable[str], schema: Schema) -> dict[tuple[str, str], str]:
    """Parse 'OLD=NEW' or 'TASK:OLD=NEW' specs into {(task, old): new}; NEW must be in the schema."""
    out: dict[tuple[str, str], str] = {}
    for spec in specs:
        left, eq, new = spec.partition("=")
        task_name, colon, old = left.partition(":")
        if not colon:
            task_name, old = "", left
        old, new = old.strip(), new.strip()
        if not eq or not old or not new:
            raise SchemaMismatch(f"--rename {spec!r}: use OLD=NEW or TASK:OLD=NEW")
        tasks = [schema.task(task_name)] if task_name else [t for t in schema.tasks if new in t.names]
        if not tasks or new not in tasks[0].names:
            where = f"{task_name} " if task_name else ""
            raise SchemaMismatch(f"--rename {spec!r}: {new!r} is not a {where}label in {schema.source}")
        for t in tasks:
            out[(t.name, old)] = new
    return out


def migrate_labels(project: Project, schema: Schema, renames: dict[tuple[str, str], str]) -> int:
    """Relabel current labels that use renamed names (appended rows, same annotator and source).

    Refuses (SchemaMismatch, nothing written) when labels would still be orphaned afterwards.
    """
    with store_lock(project, exclusive=True):
        labels = current_labels(project)
        rows: list[LabelRow] = []
        for r in labels:
            cells = {}
            for task in schema.tasks:
                parts = task.split(r.get(task.name, ""))
                cells[task.name] = MULTI_SEP.join(renames.get((task.name, p), p) for p in parts)
            if any(cells[t.name] != (r.get(t.name) or "") for t in schema.tasks):
                rows.append(LabelRow(
                    sentence_id=r["sentence_id"], text=r["text"], annotator=r["annotator"],
                    topic=cells["topic"], stance=cells["stance"], article_id=r["article_id"],
                    source=r["source"], model_version=r["model_version"]))
        after = [dict(r, **{t.name: MULTI_SEP.join(renames.get((t.name, p), p) for p in t.split(r.get(t.name, "")))
                            for t in schema.tasks}) for r in labels]
        check_fits_schema(project, schema, after, "current labels (after the renames)")
        append_rows(project, schema, rows)
        return len(rows)
