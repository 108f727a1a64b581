"""Exports of a label version: the raw per-annotator rows (every column, for archives and moving labels between
projects) and the gold labels of one task (one row or Doc per sentence, for training elsewhere).

* Raw CSV / JSONL: one row per (sentence, annotator) with every column of the version: `RAW_COLUMNS`. The CSV
  also has a last column `label_app_export` = `1` on every row: it marks the rows whose formula-like cells we
  prefixed with `'` (see `guard_cell`), so import strips that prefix from those rows and from no others. A
  spreadsheet keeps the column, so an export edited in a spreadsheet and saved still imports exactly.
* Gold CSV / JSONL / spaCy: one row per sentence with the task's label resolved as training resolves it
  (`label_app.gold`), with its votes; ties, conflicting duplicate texts and sentences without that task's
  label are left out. The spaCy DocBin passes `spacy debug data` for `textcat` (single-label task, exactly
  one category 1.0 per Doc) or `textcat_multilabel` (multi-label task).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import LabelAppError
from ..gold import GoldTask, resolve_gold
from ..project import Project
from ..schema import Schema
from .versions import load_version

RAW_COLUMNS = ["sentence_id", "article_id", "annotator", "text", "topic", "stance", "source", "model_version",
               "timestamp", "seconds", "action", "row_id"]
EXPORT_COLUMNS = RAW_COLUMNS
GOLD_COLUMNS = ["sentence_id", "article_id", "text", "task", "label", "votes", "annotators", "duplicate_ids"]
EXPORT_MARK_COLUMN = "label_app_export"
EXPORT_MARK = "1"
FORMATS = ("csv", "jsonl", "spacy")

_FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def guard_cell(value: str) -> str:
    """Neutralise a cell a spreadsheet would run as a formula (prefix '), reversibly (see unguard_cell).

    Cells starting with = + - @ tab or CR get a `'`; so does a cell that already starts with `'` followed by
    one of those or by another `'`, so that unguard_cell(guard_cell(x)) == x for every x.
    """
    if value.startswith(_FORMULA_LEADS) or (value.startswith("'") and value[1:2] in _FORMULA_LEADS + ("'",)):
        return "'" + value
    return value


def unguard_cell(value: str) -> str:
    """Undo guard_cell. Only for cells that guard_cell wrote (rows of our own exports)."""
    if value.startswith("'") and value[1:2] in _FORMULA_LEADS + ("'",):
        return value[1:]
    return value


def guarded_csv_text(columns: list[str], rows: list[dict[str, object]]) -> str:
    """CSV text (header + rows, every cell quoted) with every cell, header included, passed through guard_cell."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_ALL)
    w.writerow([guard_cell(str(c)) for c in columns])
    for r in rows:
        w.writerow([guard_cell("" if r.get(c) is None else str(r.get(c))) for c in columns])
    return buf.getvalue()


_C1_RE = re.compile("[\x7f-\x9f]")


def json_line(obj: dict[str, object]) -> str:
    """One JSONL line: non-ASCII text as written, but DEL and C1 control characters escaped (\\u007f), so
    the file never looks binary to a reader and still decodes to exactly the same text."""
    return _C1_RE.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(obj, ensure_ascii=False)) + "\n"


def export_rows(labels: list[dict[str, str]]) -> list[dict[str, str]]:
    """Raw export rows: every RAW_COLUMNS cell of each label row, sorted by (sentence, annotator).

    A version holds only current labels, so `action` is "label" where the row has none.
    """
    out = []
    for r in sorted(labels, key=lambda r: (r["sentence_id"], r["annotator"])):
        row = {c: r.get(c) or "" for c in RAW_COLUMNS}
        row["action"] = row["action"] or "label"
        out.append(row)
    return out


def export_csv_text(labels: list[dict[str, str]]) -> str:
    """Raw CSV export: RAW_COLUMNS plus the `label_app_export` mark; formula-like cells are guarded."""
    rows = [{**r, EXPORT_MARK_COLUMN: EXPORT_MARK} for r in export_rows(labels)]
    return guarded_csv_text(RAW_COLUMNS + [EXPORT_MARK_COLUMN], rows)


def export_jsonl_text(labels: list[dict[str, str]]) -> str:
    """Raw JSONL export: one object per label with RAW_COLUMNS, texts exactly as stored (no guard)."""
    return "".join(json_line(r) for r in export_rows(labels))


def gold_rows(labels: list[dict[str, str]], schema: Schema, task: str) -> tuple[list[dict[str, object]], GoldTask]:
    """Gold rows (GOLD_COLUMNS) of one task, one per kept sentence, and the GoldTask they come from."""
    schema.task(task)  # unknown task: SchemaError naming it
    gold = resolve_gold(labels, schema)[task]
    rows = [{"sentence_id": i.sentence_id, "article_id": i.article_id, "text": i.text, "task": task,
             "label": i.label, "votes": i.votes, "annotators": i.annotators,
             "duplicate_ids": "|".join(i.duplicate_ids)} for i in gold.items]
    return rows, gold


def gold_csv_text(labels: list[dict[str, str]], schema: Schema, task: str) -> str:
    """Gold CSV of one task (GOLD_COLUMNS); formula-like cells are guarded (use JSONL for exact texts)."""
    return guarded_csv_text(GOLD_COLUMNS, gold_rows(labels, schema, task)[0])


def gold_jsonl_text(labels: list[dict[str, str]], schema: Schema, task: str) -> str:
    """Gold JSONL of one task: one object per sentence with GOLD_COLUMNS (`annotators` an int)."""
    return "".join(json_line(r) for r in gold_rows(labels, schema, task)[0])


def export_spacy_bytes(labels: list[dict[str, str]], schema: Schema, task: str = "topic", gold: bool = True) -> bytes:
    """A spaCy DocBin with `doc.cats` over the task's labels (1.0 / 0.0).

    gold=True: one Doc per gold sentence (see module docstring); user_data holds sentence_id, article_id,
    task, votes, annotators. gold=False: one Doc per annotator's label (rows without that task's label left
    out); user_data holds the row's other columns.
    """
    import spacy
    from spacy.tokens import DocBin

    nlp = spacy.blank("en")
    t = schema.task(task)
    db = DocBin(store_user_data=True)
    if gold:
        rows, _ = gold_rows(labels, schema, task)
        meta = [{k: v for k, v in r.items() if k not in ("text", "label")} for r in rows]
        items = [(str(r["text"]), str(r["label"]), m) for r, m in zip(rows, meta, strict=True)]
    else:
        items = [(r["text"], r[task], {k: v for k, v in r.items() if k != "text"})
                 for r in export_rows(labels) if r[task]]
    for text, value, user in items:
        doc = nlp.make_doc(text)
        chosen = set(t.split(value))
        doc.cats = {name: 1.0 if name in chosen else 0.0 for name in t.names}
        doc.user_data.update(user)
        db.add(doc)
    return db.to_bytes()


def gold_summary(n: int, gold: GoldTask) -> str:
    """`84 topic gold labels (3 ties left out, of which 2 duplicate texts with conflicting labels; ...)`."""
    merged = len(gold.duplicate_ids)
    return (f"{n} {gold.task} gold labels ({gold.ties} {'tie' if gold.ties == 1 else 'ties'} left out"
            + (f", of which {len(gold.conflict_ids)} duplicate texts with conflicting labels" if gold.conflict_ids
               else "")
            + (f"; {merged} identical duplicate texts counted once" if merged else "") + ")")


@dataclass
class Export:
    """One export, ready to write: its bytes, default file name and a one-line summary."""

    data: bytes
    name: str
    summary: str


def default_export_name(version: int, fmt: str, task: str, gold: bool) -> str:
    """labels-v0002.csv (raw csv/jsonl: both tasks), labels-v0002-topic.spacy (gold), labels-v0002-topic-raw.spacy."""
    stem = f"labels-v{version:04d}"
    if gold:
        return f"{stem}-{task}.{fmt}"
    return f"{stem}-{task}-raw.spacy" if fmt == "spacy" else f"{stem}.{fmt}"


def make_export(labels: list[dict[str, str]], schema: Schema, version: int, fmt: str, task: str = "topic",
                gold: bool | None = None) -> Export:
    """Build an export of a version's labels. `gold` None: gold for spacy, raw for csv and jsonl.

    Raises LabelAppError for an unknown format, SchemaError for an unknown task.
    """
    if fmt not in FORMATS:
        raise LabelAppError(f"unknown export format {fmt!r} (use csv, jsonl or spacy)")
    schema.task(task)
    gold = (fmt == "spacy") if gold is None else gold
    name = default_export_name(version, fmt, task, gold)
    if gold:
        rows, g = gold_rows(labels, schema, task)
        data = {"csv": lambda: gold_csv_text(labels, schema, task).encode("utf-8"),
                "jsonl": lambda: gold_jsonl_text(labels, schema, task).encode("utf-8"),
                "spacy": lambda: export_spacy_bytes(labels, schema, task, gold=True)}[fmt]()
        summary = gold_summary(len(rows), g)
    else:
        data = {"csv": lambda: export_csv_text(labels).encode("utf-8"),
                "jsonl": lambda: export_jsonl_text(labels).encode("utf-8"),
                "spacy": lambda: export_spacy_bytes(labels, schema, task, gold=False)}[fmt]()
        n = len(labels) if fmt != "spacy" else sum(1 for r in labels if r.get(task))
        summary = f"{n} labels, one per sentence and annotator" + (f" with a {task} label" if fmt == "spacy" else "")
    return Export(data, name, summary)


def write_export(project: Project, schema: Schema, version: int, fmt: str, out: Path | None,
                 task: str = "topic", gold: bool | None = None) -> Path:
    """Write a version's labels (see make_export) to `out` or exports/<default name>; returns the path."""
    exp = make_export(load_version(project, version), schema, version, fmt, task, gold)
    out = out or project.root / "exports" / exp.name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(exp.data)
    return out
