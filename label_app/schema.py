"""The label schema (labels/schema.toml): tasks `topic` and `stance`, their labels, keys and guidelines."""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .errors import SchemaError, UnknownLabel

TASKS = ("topic", "stance")
# Separates labels of a multi-label cell; therefore forbidden inside a label name.
MULTI_SEP = "|"
_NAME_RE = re.compile(r"^[^\s|,\"'=+@\-\t\r\n][^|\t\r\n]{0,63}$")
_KEY_RE = re.compile(r"^[a-z0-9]$")
_LABEL_KEYS = {"name", "description", "key"}
_TASK_KEYS = {"labels", "multi_label", "target", "description", "optional"}


@dataclass(frozen=True)
class Label:
    """One label of a task: its name, guideline text and keyboard key."""

    name: str
    description: str = ""
    key: str = ""


@dataclass(frozen=True)
class Task:
    """A classification task (topic or stance) and its labels."""

    name: str
    labels: tuple[Label, ...]
    multi_label: bool = False
    target: str = ""
    description: str = ""
    # optional: a label may leave this task empty without being asked (the Annotate card asks otherwise)
    optional: bool = False

    @property
    def names(self) -> list[str]:
        return [lab.name for lab in self.labels]

    def label(self, name: str) -> Label:
        for lab in self.labels:
            if lab.name == name:
                return lab
        raise UnknownLabel(f"unknown {self.name} label {name!r} (known: {', '.join(self.names)})")

    def split(self, value: str | None) -> list[str]:
        """The label names in a stored cell ('' means none; multi-label cells join with '|')."""
        if value is None or value == "":
            return []
        parts = value.split(MULTI_SEP) if self.multi_label else [value]
        return [p.strip() for p in parts if p.strip()]

    def unknown(self, value: str | None) -> list[str]:
        """Names in `value` that are not labels of this task."""
        known = set(self.names)
        return [p for p in self.split(value) if p not in known]

    def normalise(self, value: str | None) -> str:
        """Check `value` against the schema and return its canonical cell text; raise UnknownLabel."""
        if value is not None and not isinstance(value, str):
            value = str(value)
        if not self.multi_label and value and MULTI_SEP in value:
            raise UnknownLabel(f"{self.name} takes one label, got {value!r}")
        parts = self.split(value)
        bad = self.unknown(value)
        if bad:
            raise UnknownLabel(
                f"unknown {self.name} label {bad[0]!r} (known: {', '.join(self.names)})"
            )
        order = {n: i for i, n in enumerate(self.names)}
        return MULTI_SEP.join(sorted(dict.fromkeys(parts), key=order.__getitem__))


@dataclass(frozen=True)
class Schema:
    """Both tasks, as loaded and validated from schema.toml."""

    topic: Task
    stance: Task
    source: str = ""

    def task(self, name: str) -> Task:
        if name not in TASKS:
            raise SchemaError(f"unknown task {name!r} (tasks: {', '.join(TASKS)})")
        return self.topic if name == "topic" else self.stance

    @property
    def tasks(self) -> tuple[Task, Task]:
        return (self.topic, self.stance)

    def fingerprint(self) -> str:
        """sha256 of what a model depends on: task names, label names, multi-label flags."""
        canon = {t.name: {"labels": t.names, "multi_label": t.multi_label} for t in self.tasks}
        return hashlib.sha256(json.dumps(canon, sort_keys=True).encode()).hexdigest()


def _fail(source: str, where: str, problem: str) -> SchemaError:
    return SchemaError(f"{source}: {where}: {problem}")


def _parse_task(name: str, raw: object, source: str) -> Task:
    if not isinstance(raw, dict):
        raise _fail(source, f"[{name}]", "must be a table")
    extra = sorted(set(raw) - _TASK_KEYS)
    if extra:
        raise _fail(source, f"[{name}].{extra[0]}", f"unknown key (allowed: {', '.join(sorted(_TASK_KEYS))})")
    multi = raw.get("multi_label", False)
    if not isinstance(multi, bool):
        raise _fail(source, f"[{name}].multi_label", "must be true or false")
    target = raw.get("target", "")
    if not isinstance(target, str):
        raise _fail(source, f"[{name}].target", "must be a string")
    desc = raw.get("description", "")
    if not isinstance(desc, str):
        raise _fail(source, f"[{name}].description", "must be a string")
    optional = raw.get("optional", False)
    if not isinstance(optional, bool):
        raise _fail(source, f"[{name}].optional", "must be true or false")
    labels_raw = raw.get("labels")
    if labels_raw is None:
        raise _fail(source, f"[{name}].labels", "is missing")
    if not isinstance(labels_raw, list) or not labels_raw:
        raise _fail(source, f"[{name}].labels", "must be a non-empty list of tables")
    labels: list[Label] = []
    seen: set[str] = set()
    for i, item in enumerate(labels_raw):
        where = f"[{name}].labels[{i}]"
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict):
            raise _fail(source, where, "must be a table like { name = \"...\" }")
        extra = sorted(set(item) - _LABEL_KEYS)
        if extra:
            raise _fail(source, f"{where}.{extra[0]}", "unknown key (allowed: description, key, name)")
        lname = item.get("name")
        if not isinstance(lname, str) or not lname:
            raise _fail(source, f"{where}.name", "is missing or empty")
        if not _NAME_RE.match(lname) or lname != lname.strip():
            raise _fail(
                source, f"{where}.name",
                f"{lname!r} is not a valid label name (1-64 characters, no '|', tab or line break, "
                "not starting with a space, quote, comma or = + - @)",
            )
        if lname in seen:
            raise _fail(source, f"{where}.name", f"duplicate label {lname!r}")
        seen.add(lname)
        ldesc = item.get("description", "")
        if not isinstance(ldesc, str):
            raise _fail(source, f"{where}.description", "must be a string")
        key = item.get("key", "")
        if not isinstance(key, str) or (key and not _KEY_RE.match(key)):
            raise _fail(source, f"{where}.key", f"{key!r} must be one lower-case letter or digit")
        labels.append(Label(lname, ldesc, key))
    return Task(name, tuple(labels), multi, target, desc, optional)


def parse_schema(text: str, source: str = "schema.toml") -> Schema:
    """Parse and validate schema TOML text; errors name `source`, the key and the problem."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SchemaError(f"{source}: not valid TOML: {exc}") from None
    extra = sorted(set(raw) - set(TASKS))
    if extra:
        raise _fail(source, f"[{extra[0]}]", f"unknown section (allowed: {', '.join(TASKS)})")
    for t in TASKS:
        if t not in raw:
            raise _fail(source, f"[{t}]", "section is missing")
    topic = _parse_task("topic", raw["topic"], source)
    stance = _parse_task("stance", raw["stance"], source)
    keys: dict[str, str] = {}
    for task in (topic, stance):
        for i, lab in enumerate(task.labels):
            if not lab.key:
                continue
            if lab.key in keys:
                raise _fail(
                    source, f"[{task.name}].labels[{i}].key",
                    f"key {lab.key!r} is already used by {keys[lab.key]}",
                )
            keys[lab.key] = f"{task.name} label {lab.name!r}"
    return Schema(topic, stance, source)


def load_schema(path: Path) -> Schema:
    """Load and validate the schema file at `path`."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SchemaError(f"{path}: schema file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SchemaError(f"{path}: cannot read schema: {exc}") from None
    return parse_schema(text, str(path))
