"""Article uploads (issue 11 case 9): refuse what ingestion would skip; ask before replacing a near-duplicate."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from label_app import store, tables
from label_app.corpus import MAX_ARTICLE_BYTES, ingest, load_corpus, near_duplicates
from label_app.dataops import check_uploads, upload_articles
from label_app.project import Project

REPO = Path(__file__).resolve().parent.parent
APP = str(REPO / "label_app" / "app.py")
SEED0 = "000_5719b8656de3c067.txt"


def _shipped(tmp_path: Path) -> Project:
    import shutil

    root = tmp_path / "shipped"
    shutil.copytree(REPO / "labels", root / "labels")
    shutil.copytree(REPO / "seeds", root / "seeds")
    return Project.at(root)


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("junk.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file, not text (contains NUL bytes)"),
        ("empty.txt", b"  \n\n", "empty file"),
        ("notes.pdf", b"%PDF-1.4", "unsupported file type '.pdf' (use .txt, .md, .csv, .jsonl)"),
        ("big.txt", b"x" * (MAX_ARTICLE_BYTES + 1), "too large (21.0 MB; the limit is 20 MiB)"),
        ("t.csv", b"body\nhello\n", "missing column(s) text (found: body)"),
        ("t.csv", b"id,text,title,text\n1,a,b,c\n", "duplicate column 'text' (columns 2 and 4)"),
        ("t.jsonl", b'{"text": ""}\n', "no rows with text"),
    ],
)
def test_refused_with_ingestion_reason(empty_project: Project, name: str, data: bytes, reason: str) -> None:
    [check] = check_uploads(empty_project, [(name, data)])
    assert check.reason == reason
    res = upload_articles(empty_project, [(name, data)])
    assert res.rejected == [(name, reason)] and res.saved == [] and res.report is None
    assert list(empty_project.seeds_dir.iterdir()) == []  # nothing left behind to be skipped at every ingest


def test_near_duplicate_by_name_and_by_sentences(tmp_path: Path) -> None:
    project = _shipped(tmp_path)
    ingest(project)
    text = (project.seeds_dir / SEED0).read_text("utf-8").replace("continues campaign", "continued campaign")
    [same_name] = check_uploads(project, [(SEED0, text.encode())])
    assert [(d.source, d.same_name) for d in same_name.duplicates] == [(SEED0, True)]
    [other_name] = check_uploads(project, [("edited.txt", text.encode())])
    [dup] = other_name.duplicates
    assert dup.source == SEED0 and not dup.same_name and dup.shared > 0.9
    assert dup.reason.endswith("of its sentences already there")
    [fresh] = check_uploads(project, [("new.txt", b"A new article about pilgrims crossing at Mehran.\n")])
    assert fresh.duplicates == [] and not fresh.refused
    assert near_duplicates("x.txt", [], []) == []


def test_replace_keeps_the_article_and_its_labels(tmp_path: Path) -> None:
    project = _shipped(tmp_path)
    ingest(project)
    text = (project.seeds_dir / SEED0).read_text("utf-8").replace("continues campaign", "continued campaign")
    res = upload_articles(project, [("edited.txt", text.encode())], replace={"edited.txt": SEED0})
    assert res.replaced == [SEED0] and res.saved == []
    assert res.report.articles == 5 and res.report.changed_articles == 1 and len(res.report.orphans) == 1
    assert not (project.seeds_dir / "edited.txt").exists()
    # adding it as a new article instead would have made a sixth article
    res2 = upload_articles(project, [("other.txt", b"Another article entirely about border trade.\n")])
    assert res2.saved == ["other.txt"] and res2.report.articles == 6


def test_data_page_refuses_binary_and_asks_before_replacing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = _shipped(tmp_path)
    ingest(project)
    monkeypatch.setenv("LABEL_APP_PROJECT", str(project.root))
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["annotator"] = "lead"
    at.run()
    at.switch_page("views/data.py").run()
    assert not at.exception
    # issue case 9: a binary junk.txt is refused at upload, with the reason, and never saved
    at.file_uploader(key="data_articles").set_value([("junk.txt", b"\x00\x01\x02binary", "text/plain")]).run()
    assert [e.value for e in at.error] == ["junk.txt: not added: binary file, not text (contains NUL bytes)"]
    assert not any(b.key == "data_add_articles" for b in at.button)
    assert not (project.seeds_dir / "junk.txt").exists()
    # issue case 9: re-uploading an edited article asks whether it replaces the existing one
    text = (project.seeds_dir / SEED0).read_text("utf-8").replace("continues campaign", "continued campaign")
    at.file_uploader(key="data_articles").set_value([(SEED0, text.encode(), "text/plain")]).run()
    assert not at.exception
    [warning] = at.warning
    assert warning.value.startswith(f"{SEED0} looks like a new version of {SEED0} (")
    assert "same file name" in warning.value
    at.radio(key=f"data_dup_{SEED0}").set_value("Replace that article").run()
    at.button(key="data_add_articles").click().run()
    assert not at.exception
    assert at.success[0].value == f"Replaced in seeds/: {SEED0}"
    assert sorted(p.name for p in project.seeds_dir.iterdir()) == sorted(p.name for p in (REPO / "seeds").iterdir())
    corpus = load_corpus(project, refresh=False)
    assert corpus["article_id"].nunique() == 5
    labelled = {lab["sentence_id"] for lab in store.current_labels(project)}
    assert len(labelled & set(corpus["sentence_id"])) == 83  # one sentence changed: one orphan, 83 attached


def test_table_with_the_same_name_is_offered_once_and_replaced(empty_project: Project) -> None:
    table = b'id,text\n1,"Iraq pays for gas."\n2,"Talks resume in May."\n'
    upload_articles(empty_project, [("batch.csv", table)])
    newer = table + b'3,"A third article."\n'
    [check] = check_uploads(empty_project, [("batch.csv", newer)])
    assert [(d.source, d.same_name) for d in check.duplicates] == [("batch.csv", True)]
    res = upload_articles(empty_project, [("batch.csv", newer)], replace={"batch.csv": "batch.csv"})
    assert res.replaced == ["batch.csv"] and res.report.articles == 3 and res.report.new_articles == 1


def test_a_table_with_an_oversized_row_is_accepted_without_it(empty_project: Project,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The upload check reads tables as ingestion does: a row with a cell over the limit is named (file, line,
    column, size, limit) and left out; the rest of the table goes in. On the Data page it is a warning before
    "Add to the corpus"; a table with no other row is refused, with the reason."""
    import re

    monkeypatch.setattr(tables, "MAX_CELL_CHARS", 50)
    table = b'id,text\n1,"' + b"x" * 51 + b'"\n2,Iraq pays for gas.\n'
    note = "line 2: column 'text' holds 51 characters; the limit is 50 per cell; row skipped, the file's other rows were read"
    [check] = check_uploads(empty_project, [("batch.csv", table)])
    assert not check.refused and check.articles == 1 and check.notes == [note]
    [alone] = check_uploads(empty_project, [("alone.csv", b'id,text\n1,"' + b"x" * 51 + b'"\n')])
    assert alone.reason == "no rows with text (line 2: column 'text' holds 51 characters; the limit is 50 per cell)"
    monkeypatch.setenv("LABEL_APP_PROJECT", str(empty_project.root))
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["annotator"] = "lead"
    at.run()
    at.switch_page("views/data.py").run()
    at.file_uploader(key="data_articles").set_value([("batch.csv", table, "text/csv")]).run()
    assert not at.exception
    assert [re.sub(r"\\(.)", r"\1", w.value) for w in at.warning] == [f"batch.csv: {note}"]  # markdown-escaped
    at.button(key="data_add_articles").click().run()
    assert not at.exception
    assert at.success[0].value == "Saved into seeds/: batch.csv"
    assert load_corpus(empty_project, refresh=False)["text"].tolist() == ["Iraq pays for gas."]
