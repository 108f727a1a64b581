"""Damaged files under .cache/ (replay 17 #9): the corpus cache cut short, not UTF-8 or of another shape is
rebuilt from seeds/ by ingest and by load_corpus, and named in one line (file, line, how to rebuild) by readers
that do not ingest (`python -m train`); the ingest file index and the retrain status likewise never crash."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import REPO, run_cli

from label_app.corpus import CORPUS_FORMAT, SEGMENTER_NAME, ingest, iter_corpus_records, load_corpus
from label_app.errors import DamagedCache
from label_app.jobs import read_status, status_path


def _records(project) -> list[dict]:
    return [json.loads(line) for line in project.corpus_path.read_text("utf-8").splitlines()]


@pytest.fixture
def labelled(project):
    """The five seeds ingested with the 84 shipped starter labels."""
    shutil.copy(REPO / "labels" / "labels.csv", project.log_path)
    rep = ingest(project)
    assert rep.attached_labels == 84
    return project


def test_a_truncated_corpus_cache_is_rebuilt_by_ingest_with_one_note(labelled):
    before = _records(labelled)
    data = labelled.corpus_path.read_bytes()
    labelled.corpus_path.write_bytes(data[:-200])  # the replay's damage: the last 200 bytes cut off
    res = run_cli("ingest", "--project", str(labelled.root))
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == "5 articles (5 new), 81 sentences, 7 non-sentence lines, from 5 files; 0 files skipped"
    assert len(lines) == 2 and lines[1].startswith(f"  note: {labelled.corpus_path}: damaged at line 5 (not JSON: ")
    assert lines[1].endswith("); rebuilt from seeds/")
    assert _records(labelled) == before  # same articles, same sentence ids: the labels stay attached
    assert ingest(labelled).attached_labels == 84


def test_readers_name_the_file_and_line_and_load_corpus_rebuilds(labelled):
    frame = load_corpus(labelled, refresh=False)
    text = labelled.corpus_path.read_text("utf-8").splitlines(keepends=True)
    labelled.corpus_path.write_text("".join(text[:2]) + '{"article_id": "a1"}\n' + "".join(text[2:]), "utf-8")
    with pytest.raises(DamagedCache) as err:
        list(iter_corpus_records(labelled))
    assert str(err.value) == (
        f"{labelled.corpus_path}, line 3: damaged cache file (an article record needs article_id, title and "
        f"segments); it is rebuilt from seeds/ by `python -m label_app ingest --project {labelled.root}`")
    assert load_corpus(labelled, refresh=False).equals(frame)  # rebuilt, though refresh was not asked


def test_a_corpus_cache_cut_inside_a_character_is_named_not_utf8(labelled):
    data = labelled.corpus_path.read_bytes()
    cut = data.index("\u2019".encode()) + 1  # inside the three bytes of a typographic apostrophe
    labelled.corpus_path.write_bytes(data[:cut])
    line = data[:cut].count(b"\n") + 1
    with pytest.raises(DamagedCache, match=rf", line {line}: damaged cache file \(not UTF-8\); it is rebuilt"):
        list(iter_corpus_records(labelled))
    rep = ingest(labelled)
    assert rep.notes == [(str(labelled.corpus_path), f"damaged at line {line} (not UTF-8); rebuilt from seeds/")]
    assert rep.attached_labels == 84


def test_train_on_a_damaged_corpus_cache_says_one_line_not_a_traceback(labelled):
    labelled.corpus_path.write_bytes(labelled.corpus_path.read_bytes()[:-200])
    res = run_cli("--project", str(labelled.root), "--quiet", module="train")
    assert res.returncode == 1
    assert "Traceback" not in res.stderr
    err = res.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {labelled.corpus_path}, line 5: damaged cache file (not JSON: ")
    assert err[0].endswith(f"it is rebuilt from seeds/ by `python -m label_app ingest --project {labelled.root}`")


@pytest.mark.parametrize("content", ["", '{"__format__": 2, "segmenter": "x", "000_5719b8656de3c067.txt": {"si',
                                     "[]", "\xff\xfe",
                                     json.dumps({"__format__": CORPUS_FORMAT, "segmenter": SEGMENTER_NAME,
                                                 "000_5719b8656de3c067.txt": 3})])
def test_a_damaged_ingest_file_index_means_every_file_is_read_again(labelled, content):
    before = _records(labelled)
    labelled.ingest_cache_path.write_bytes(content.encode("latin-1"))
    rep = ingest(labelled)
    assert (rep.articles, rep.sentences, rep.attached_labels, rep.notes) == (5, 81, 84, [])
    assert _records(labelled) == before


def test_a_truncated_retrain_status_is_reported_not_raised(project):
    status_path(project).parent.mkdir(parents=True, exist_ok=True)
    status_path(project).write_text('{"state": "running", "job_id": "ab', "utf-8")
    status = read_status(project)
    assert (status.state, status.error) == ("failed", f"{status_path(project)}: unreadable status file")
