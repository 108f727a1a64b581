"""The label store: appends on disk at once, latest row wins, concurrent writers, torn rows."""

from __future__ import annotations

import multiprocessing as mp
import warnings
from pathlib import Path

import pytest

from label_app import store
from label_app.errors import InvalidName, LabelAppError, UnknownLabel
from label_app.project import Project
from label_app.schema import load_schema
from label_app.store import LabelRow


def _row(i: int, who: str = "ann", topic: str = "trade", stance: str = "favor") -> LabelRow:
    return LabelRow(sentence_id=f"s{i}", article_id="a1", text=f"text {i}", annotator=who, topic=topic,
                    stance=stance, seconds=1.5)


def test_append_is_on_disk_when_call_returns(project, schema):
    store.append_label(project, schema, _row(1))
    raw = project.log_path.read_text("utf-8").splitlines()
    assert raw[0] == ",".join(store.LOG_COLUMNS)
    assert len(raw) == 2 and ",s1,a1,text 1,trade,favor,ann," in raw[1]


def test_latest_row_is_the_current_label(project, schema):
    store.append_label(project, schema, _row(1, topic="trade"))
    store.append_label(project, schema, _row(1, topic="energy"))
    store.append_label(project, schema, _row(1, who="bob", topic="security"))
    store.append_label(project, schema, LabelRow("s2", "t2", "ann", topic="trade"))
    store.append_label(project, schema, LabelRow("s2", "t2", "ann", action="clear"))
    cur = {(r["sentence_id"], r["annotator"]): r["topic"] for r in store.current_labels(project)}
    assert cur == {("s1", "ann"): "energy", ("s1", "bob"): "security"}
    assert len(store.read_log(project).rows) == 5  # relabeling appends, nothing rewritten


def test_row_fields_and_timestamp(project, schema):
    d = store.append_label(project, schema, LabelRow("s9", "t", "ann", topic="trade", source="suggestion-accepted",
                                                     model_version="m0001", seconds=2.25))
    row = store.read_log(project).rows[0]
    assert row["source"] == "suggestion-accepted" and row["model_version"] == "m0001"
    assert row["seconds"] == "2.250" and row["action"] == "label" and row["timestamp"].endswith("Z")
    assert row["row_id"] == d["row_id"]


def test_bad_rows_are_refused_and_nothing_written(project, schema):
    with pytest.raises(UnknownLabel, match="unknown topic label 'weather'"):
        store.append_label(project, schema, _row(1, topic="weather"))
    with pytest.raises(InvalidName, match="invalid annotator name 'a b'"):
        store.append_label(project, schema, _row(1, who="a b"))
    with pytest.raises(LabelAppError, match="a label needs a topic or a stance"):
        store.append_label(project, schema, LabelRow("s1", "t", "ann"))
    assert not project.log_path.exists()


def test_text_with_newlines_keeps_one_physical_line_per_row(project, schema):
    store.append_label(project, schema, LabelRow("s1", 'a "quoted",\ntext\\n\r\n with\u202eRTL 🙂', "ann", topic="trade"))
    assert len(project.log_path.read_bytes().splitlines()) == 2
    assert store.read_log(project).rows[0]["text"] == 'a "quoted",\ntext\\n\r\n with\u202eRTL 🙂'


def _writer(root: str, who: str, n: int) -> None:
    p = Project.at(root)
    schema = load_schema(p.schema_path)
    for i in range(n):
        store.append_label(p, schema, LabelRow(f"s{i}", f"text {i} by {who}", who, topic="trade", stance="favor"))


def test_concurrent_writers_lose_and_interleave_nothing(project):
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(project.root), f"w{k}", 150)) for k in range(4)]
    for pr in procs:
        pr.start()
    for pr in procs:
        pr.join(120)
        assert pr.exitcode == 0
    res = store.read_log(project)
    assert not res.torn
    assert len(res.rows) == 600
    for k in range(4):
        mine = [r["sentence_id"] for r in res.rows if r["annotator"] == f"w{k}"]
        assert mine == [f"s{i}" for i in range(150)]  # every row, in each writer's order
    assert len({r["row_id"] for r in res.rows}) == 600


def test_torn_last_row_is_reported_not_dropped_silently(project, schema):
    for i in range(3):
        store.append_label(project, schema, _row(i))
    data = project.log_path.read_bytes()
    project.log_path.write_bytes(data[:-25])  # a writer killed in the middle of row 3
    with pytest.warns(store.TornRowWarning, match=r"labels\.csv: line 4: torn or corrupt label row set aside"):
        res = store.read_log(project)
    assert [r["sentence_id"] for r in res.rows] == ["s0", "s1"]
    assert [t.line for t in res.torn] == [4]
    # the next append starts on a fresh line; the torn row stays reported, the new one is read
    store.append_label(project, schema, _row(7))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = store.read_log(project)
    assert [r["sentence_id"] for r in res.rows] == ["s0", "s1", "s7"]
    assert [t.line for t in res.torn] == [4] and len(caught) == 1


def test_corrupted_middle_row_fails_its_checksum(project, schema):
    for i in range(3):
        store.append_label(project, schema, _row(i))
    text = project.log_path.read_text("utf-8").replace("text 1", "text X")
    project.log_path.write_text(text, "utf-8")
    res = store.read_log(project, warn=False)
    assert [r["sentence_id"] for r in res.rows] == ["s0", "s2"] and [t.line for t in res.torn] == [3]


def test_incremental_read_returns_only_new_rows(project, schema):
    store.append_label(project, schema, _row(1))
    first = store.read_log(project)
    store.append_label(project, schema, _row(2))
    nxt = store.read_log(project, first.offset, first.line)
    assert [r["sentence_id"] for r in nxt.rows] == ["s2"] and nxt.line == 3
    assert store.read_log(project, nxt.offset, nxt.line).rows == []


def test_incremental_read_after_torn_tail(project, schema):
    store.append_label(project, schema, _row(1))
    store.append_label(project, schema, _row(2))
    project.log_path.write_bytes(project.log_path.read_bytes()[:-10])
    first = store.read_log(project, warn=False)
    assert [t.line for t in first.torn] == [3]
    store.append_label(project, schema, _row(3))
    nxt = store.read_log(project, first.offset, first.line, warn=False)
    assert [r["sentence_id"] for r in nxt.rows] == ["s3"] and not nxt.torn and nxt.line == 4


def test_write_failure_is_a_clear_error_and_leaves_the_log_intact(project, schema, monkeypatch):
    store.append_label(project, schema, _row(1))
    before = project.log_path.read_bytes()

    def full_disk(fd, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store.os, "write", full_disk)
    with pytest.raises(store.StoreWriteError, match=r"labels\.csv: label NOT saved: No space left on device"):
        store.append_label(project, schema, _row(2))
    monkeypatch.undo()
    assert project.log_path.read_bytes() == before


def test_log_path_is_under_labels(tmp_path: Path):
    p = Project.at(tmp_path)
    assert p.log_path == tmp_path.resolve() / "labels" / "labels.csv"


def test_threads_of_one_process_exclude_each_other(project, schema):
    import threading

    def work(k: int) -> None:
        for i in range(100):
            store.append_label(project, schema, LabelRow(f"s{i}", f"t{i}", f"th{k}", topic="trade"))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    res = store.read_log(project)
    assert len(res.rows) == 800 and not res.torn


def _versioner(root: str, who: str, n: int) -> None:
    p = Project.at(root)
    schema = load_schema(p.schema_path)
    for i in range(n):
        store.append_label(p, schema, LabelRow(f"v{who}{i}", f"text {i} by {who}", who, topic="energy"))
        store.create_version(p, note=f"{who}-{i}")


def _migrator(root: str, rounds: int) -> None:
    p = Project.at(root)
    schema = load_schema(p.schema_path)
    for _ in range(rounds):
        store.migrate_labels(p, schema, {("topic", "commerce"): "trade"})
        store.create_version(p, note="migrated")


def test_versions_migration_and_appends_run_together(project):
    """create_version + migrate_labels + appends from several processes at once: every version is numbered once,
    written whole and recorded; no row is lost or torn; every old label is migrated exactly once.

    Without the store lock, two processes take the same version number (one fails with "version file already
    exists") or overwrite each other's manifest record, and the migration can write a relabel twice.
    """
    text = project.schema_path.read_text("utf-8")
    old_schema = text.replace('{ name = "other", key = "0"', '{ name = "commerce" },\n  { name = "other", key = "0"', 1)
    project.schema_path.write_text(old_schema, encoding="utf-8")
    schema = load_schema(project.schema_path)
    store.append_rows(project, schema, [LabelRow(f"o{i}", f"old {i}", "old", topic="commerce") for i in range(60)])
    store.create_version(project, note="before")
    project.schema_path.write_text(text, encoding="utf-8")  # "commerce" leaves the schema; labels must follow
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_versioner, args=(str(project.root), f"w{k}", 8)) for k in range(3)]
    procs += [ctx.Process(target=_writer, args=(str(project.root), f"a{k}", 120)) for k in range(2)]
    procs += [ctx.Process(target=_migrator, args=(str(project.root), 3))]
    for pr in procs:
        pr.start()
    for pr in procs:
        pr.join(240)
    assert [pr.exitcode for pr in procs] == [0] * len(procs)
    versions = store.read_manifest(project)
    assert [v["version"] for v in versions] == list(range(1, 1 + 1 + 3 * 8 + 3))
    assert [v["parent"] for v in versions] == [None] + list(range(1, len(versions)))
    for v in versions:
        store.verify_version(project, v["version"])
    assert sorted(p.name for p in project.versions_dir.glob("v*.csv")) == [f"v{n:04d}.csv" for n in
                                                                           range(1, len(versions) + 1)]
    res = store.read_log(project)
    assert not res.torn
    migrated = [r for r in res.rows if r["annotator"] == "old" and r["topic"] == "trade"]
    assert len(migrated) == 60 and len(res.rows) == 60 + 60 + 3 * 8 + 2 * 120
    schema = load_schema(project.schema_path)
    store.check_fits_schema(project, schema)
    rec, _ = store.create_version(project, only_if_changed=True)
    assert rec["rows"] == len(store.load_version(project, rec["version"])) == 60 + 3 * 8 + 2 * 120
