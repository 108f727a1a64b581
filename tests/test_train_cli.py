"""`python -m train` as a user runs it (subprocess): a model is reused when its inputs are unchanged, `--quiet`
prints one line, and `train prelabel` only speaks of a torn chunk when there was one."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest
from conftest import REPO, make_project, run_cli

from label_app import store
from label_app.project import Project
from label_app.schema import load_schema

MODEL = r"m\d{4}-v\d{4}-[0-9a-f]{8}"


@pytest.fixture
def shipped(tmp_path) -> Project:  # noqa: ANN001
    project = make_project(tmp_path / "proj")
    shutil.copy(REPO / "labels" / "labels.csv", project.log_path)
    shutil.copytree(REPO / "labels" / "versions", project.versions_dir)  # as shipped: version 1 holds them
    return project


def train_quiet(project: Project) -> str:
    done = run_cli("--project", str(project.root), "--quiet", module="train")
    assert done.returncode == 0, done.stderr
    return done.stdout


def models(project: Project) -> list[str]:
    return sorted(p.name for p in project.models_dir.glob("m*"))


def test_unchanged_inputs_reuse_the_model_and_quiet_prints_one_line(shipped: Project) -> None:
    first = train_quiet(shipped)
    assert first.count("\n") == 1, first  # one line, not the report
    m = re.fullmatch(rf"trained model ({MODEL}) \(now current\) on labels v1 \(84 labels\) in \d+\.\d s "
                     r"\(topic macro-F1 \d\.\d{3}; stance macro-F1 \d\.\d{3}\)\n", first)
    assert m, first
    model_id = m.group(1)
    # `make run` trains every time: unchanged labels, schema and settings make no second model
    second = train_quiet(shipped)
    assert second.startswith(f"model {model_id} is current: labels, schema, settings and the corpus's unlabelled "
                             "sentences unchanged since it was "
                             "trained on labels v1 (84 labels), so it was reused, not retrained (topic macro-F1 ")
    assert models(shipped) == [model_id]
    # the full report says so too
    done = run_cli("--project", str(shipped.root), module="train")
    assert done.returncode == 0 and "so it was reused, not retrained" in done.stdout
    assert "saved model" not in done.stdout and models(shipped) == [model_id]
    # a changed label is a new input: a new version and a new model
    schema = load_schema(shipped.schema_path)
    row = store.read_log(shipped).rows[0]
    store.append_label(shipped, schema, store.LabelRow(row["sentence_id"], row["text"], "omid", topic="trade",
                                                       stance="favor", article_id=row["article_id"]))
    third = train_quiet(shipped)
    assert re.fullmatch(r"trained model m0002-v0002-[0-9a-f]{8} \(now current\) on labels v2 \(85 labels\), a "
                        r"version created now from changed labels in .*\n", third), third
    assert len(models(shipped)) == 2


def test_a_changed_model_file_is_not_reused(shipped: Project) -> None:
    first = train_quiet(shipped).split()[2]
    card = shipped.models_dir / first / "model_card.md"
    card.write_text(card.read_text() + "tampered\n")
    again = train_quiet(shipped)
    assert again.startswith("trained model m0002-v0001-")  # the same inputs, but the old files no longer check out


def test_prelabel_speaks_of_a_torn_chunk_only_when_there_was_one(shipped: Project) -> None:
    train_quiet(shipped)
    first = run_cli("prelabel", "--project", str(shipped.root), "--jobs", "1", module="train")
    assert first.returncode == 0, first.stderr
    extra = shipped.root / "seeds" / "extra.txt"
    extra.write_text("Iran and Iraq signed a new gas deal on Monday.\nTrade between them grew.\n", encoding="utf-8")
    second = run_cli("prelabel", "--project", str(shipped.root), "--jobs", "1", module="train")
    assert second.returncode == 0, second.stderr
    assert "torn chunk" not in second.stdout and "interrupted" not in second.stdout
    assert "  added to the output of an earlier run" in second.stdout.splitlines()


def test_progress_on_a_log_is_plain_lines_not_a_redrawn_bar(shipped: Project) -> None:
    from train.cli import progress_line
    from train.prelabel import PrelabelProgress

    assert progress_line(PrelabelProgress(12_300_000, 27_000_000, 120_000, 12.6)) == (
        "pre-label: 46% (12.3 of 27.0 MB), 120,000 sentences, 9,524/s, 13 s")
    # stderr here is a pipe, as in a cron job's log or a CI console: no carriage-return bar in it (read as
    # bytes: text mode would turn every \r into \n)
    def raw(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([sys.executable, "-m", "train", *args, "--project", str(shipped.root)],
                              capture_output=True, cwd=REPO, timeout=300)

    trained, labelled = raw(), raw("prelabel", "--jobs", "1")
    for done in (trained, labelled):
        assert done.returncode == 0, done.stderr
        assert b"\r" not in done.stderr, done.stderr
    assert b"81 sentences pre-labeled" in labelled.stdout  # the summary is still printed
