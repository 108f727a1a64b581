"""Import and export: all-or-nothing import, formula-safe CSV, and exact round trips of any text."""

from __future__ import annotations

import io
import json
import string

from conftest import REPO, run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from label_app import store
from label_app.store import LabelRow, guard_cell, unguard_cell


def _write(path, text):
    path.write_text(text, encoding="utf-8", newline="")
    return path


def test_import_with_one_bad_label_changes_nothing(project, schema, tmp_path):
    store.append_label(project, schema, LabelRow("s0", "existing", "ann", topic="trade"))
    before = project.log_path.read_bytes()
    f = _write(tmp_path / "in.csv", "text,topic,stance\nfine,trade,favor\nbad one,weather,favor\nalso,energy,maybe\n")
    rep = store.import_labels(project, schema, f)
    assert not rep.ok and rep.rows == 0
    assert [(p.row, p.column, p.value) for p in rep.problems] == [(3, "topic", "weather"), (4, "stance", "maybe")]
    assert rep.problem_lines() == [
        "row 3, topic 'weather': unknown topic label 'weather' (known: trade, energy, security, diplomacy, "
        "sanctions_us, politics, society, other)",
        "row 4, stance 'maybe': unknown stance label 'maybe' (known: favor, against, neutral)",
    ]
    assert rep.summary() == f"{f}: nothing imported, 2 problems"
    assert project.log_path.read_bytes() == before
    res = run_cli("import-labels", str(f), "--project", str(project.root))
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert res.stderr.splitlines() == [
        f"error: {f}: nothing imported, 2 problems:",
        f"  {f}: row 3, topic 'weather': unknown topic label 'weather' (known: trade, energy, security, diplomacy, "
        "sanctions_us, politics, society, other)",
        f"  {f}: row 4, stance 'maybe': unknown stance label 'maybe' (known: favor, against, neutral)",
    ]
    assert project.log_path.read_bytes() == before


def test_import_missing_column(project, schema, tmp_path):
    f = _write(tmp_path / "in.csv", "text,topic\nx,trade\n")
    rep = store.import_labels(project, schema, f)
    assert rep.problem_lines() == ["missing column(s) stance (found: text, topic)"]
    res = run_cli("import-labels", str(f), "--project", str(project.root))
    assert res.stderr == f"error: {f}: nothing imported, 1 problem: missing column(s) stance (found: text, topic)\n"


def test_import_finds_corpus_sentences_and_keeps_unknown_texts(project, schema, tmp_path):
    from label_app.cli import corpus_index

    idx = corpus_index(project)
    known = "Iran is one of Iraq’s biggest trading partners."
    f = _write(tmp_path / "in.csv", f'text,topic,stance,annotator\n"{known}",trade,,\nnot in corpus,,neutral,zoe\n')
    rep = store.import_labels(project, schema, f, annotator="kim", corpus_index=idx)
    assert rep.rows == 2 and rep.matched_corpus == 1 and rep.annotators == ["kim", "zoe"]
    rows = store.read_log(project).rows
    assert rows[0]["sentence_id"] == idx[known][0].sentence_id and rows[0]["source"] == "import"
    assert rows[1]["sentence_id"] == store.text_sentence_id("not in corpus") and rows[1]["article_id"] == ""


def test_csv_export_neutralises_formulas(project, schema):
    hostile = ["=HYPERLINK(\"http://x\")", "+1+1", "-2", "@SUM(A1)", "\tTab", "\rCR", "'=quoted"]
    for i, t in enumerate(hostile):
        store.append_label(project, schema, LabelRow(f"s{i}", t, "ann", topic="trade"))
    store.create_version(project)
    text = store.export_csv_text(store.load_version(project, 1))
    import csv
    import io

    for row in csv.DictReader(io.StringIO(text)):
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert guard_cell("=1") == "'=1" and unguard_cell("'=1") == "=1"
    assert guard_cell("'plain") == "'plain" and guard_cell("''=x") == "'''=x"


label_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=80
).filter(lambda t: t.strip() != "")
EXTRA = ['He said "no, never", then left.', "line one\nline two", "עברית ومرحبا", "emoji 🙂🇮🇷", "=cmd|' /C calc'!A0",
         "-3%", "tab\tinside", "back\\slash\\n"]


def _roundtrip(project, schema, tmp_path, texts):
    for i, t in enumerate(texts):
        store.append_label(project, schema, LabelRow(f"s{i}", t, f"a{i % 3}", topic="trade", stance="favor"))
    store.create_version(project)
    labels = store.load_version(project, 1)
    assert sorted(r["text"] for r in labels) == sorted(texts)
    expect = sorted((r["sentence_id"], r["annotator"], r["text"], r["topic"], r["stance"]) for r in labels)
    # CSV: export, import into a fresh project, same labels and texts
    out = store.write_export(project, schema, 1, "csv", tmp_path / "e.csv")
    fresh = project.root.parent / "fresh"
    from conftest import make_project

    p2 = make_project(fresh, seeds=False)
    store.import_labels(p2, schema, out)
    got = sorted((r["sentence_id"], r["annotator"], r["text"], r["topic"], r["stance"])
                 for r in store.current_labels(p2))
    assert got == expect
    # JSONL
    out = store.write_export(project, schema, 1, "jsonl", tmp_path / "e.jsonl")
    rows = [json.loads(line) for line in out.read_text("utf-8").split("\n") if line]
    assert sorted((r["sentence_id"], r["annotator"], r["text"], r["topic"], r["stance"]) for r in rows) == expect
    # spaCy DocBin
    import spacy
    from spacy.tokens import DocBin

    out = store.write_export(project, schema, 1, "spacy", tmp_path / "e.spacy", gold=False)
    docs = list(DocBin().from_disk(out).get_docs(spacy.blank("en").vocab))
    got = sorted((d.user_data["sentence_id"], d.user_data["annotator"], d.text,
                  max(d.cats, key=d.cats.get), d.user_data["stance"]) for d in docs)
    assert got == expect
    assert all(sum(d.cats.values()) == 1.0 for d in docs)


def test_roundtrip_of_awkward_texts(project, schema, tmp_path):
    _roundtrip(project, schema, tmp_path, EXTRA)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(label_text, min_size=1, max_size=6, unique=True))
def test_roundtrip_of_any_text(tmp_path_factory, texts):
    from conftest import make_project

    from label_app.schema import load_schema

    base = tmp_path_factory.mktemp("rt")
    project = make_project(base / "proj", seeds=False)
    _roundtrip(project, load_schema(project.schema_path), base, texts)


@settings(max_examples=60, deadline=None)
@given(cell=st.text(alphabet=string.printable + "'=+-@", max_size=12))
def test_guard_is_reversible(cell):
    assert unguard_cell(guard_cell(cell)) == cell
    assert not guard_cell(cell).startswith(("=", "+", "-", "@", "\t", "\r"))


@settings(max_examples=40, deadline=None)
@given(cells=st.lists(st.text(max_size=40), min_size=12, max_size=12))
def test_log_line_roundtrip(cells):
    row = dict(zip(store.LOG_COLUMNS[:-1], cells, strict=False))
    line = store.encode_row(row)
    assert line.count("\n") == 1 and line.endswith("\n")
    assert store.decode_line(line[:-1]) == {k: row.get(k, "") for k in store.LOG_COLUMNS[:-1]}


def test_rows_conflicting_within_the_file_are_named_by_row(project, schema, tmp_path):
    """The same text twice with different labels for the same annotator: reported, nothing imported."""
    f = _write(tmp_path / "in.csv", "text,topic,stance,annotator\n"
                                    "Trade rose.,trade,favor,ann\n"
                                    "Gas flows.,energy,,ann\n"
                                    "Trade rose. ,energy,favor,ann\n"
                                    "Trade rose.,trade,favor,bob\n"
                                    "Gas flows.,energy,,ann\n")
    rep = store.import_labels(project, schema, f)
    assert [(p.row, p.column, p.value) for p in rep.problems] == [(4, "topic", "energy")]
    assert rep.problem_lines() == ["row 4, topic 'energy': conflicts with row 2 (same sentence, annotator 'ann', "
                                   "topic 'trade'): keep one of the two rows"]
    assert store.read_log(project).rows == []
    res = run_cli("import-labels", str(f), "--project", str(project.root))
    assert res.returncode == 1
    assert res.stderr == (f"error: {f}: nothing imported, 1 problem: row 4, topic 'energy': conflicts with row 2 "
                          "(same sentence, annotator 'ann', topic 'trade'): keep one of the two rows\n")


def test_import_counts_relabels_repeats_and_unchanged_rows(project, schema, tmp_path):
    store.append_label(project, schema, LabelRow(store.text_sentence_id("Trade rose."), "Trade rose.", "ann",
                                                 topic="energy", source="import"))
    store.append_label(project, schema, LabelRow(store.text_sentence_id("Gas flows."), "Gas flows.", "ann",
                                                 topic="energy", source="import"))
    f = _write(tmp_path / "in.csv", "text,topic,stance,annotator,note\n"
                                    "Trade rose.,trade,,ann,x\n"
                                    "Gas flows.,energy,,ann,y\n"
                                    "New one.,other,,ann,z\n"
                                    "New one.,other,,ann,z\n"
                                    "Nothing here.,,,ann,\n")
    rep = store.import_labels(project, schema, f)
    assert rep.ok
    assert (rep.rows, rep.relabelled, rep.unchanged, rep.duplicates, rep.skipped_empty) == (2, 1, 1, 1, 1)
    assert rep.ignored_columns == ["note"]
    assert rep.summary() == (f"imported 2 labels from {f} (annotators: ann; 0 matched corpus sentences); 1 relabel "
                             "earlier labels; 1 already current, not added again; 1 repeated rows counted once; 1 rows "
                             "without topic or stance skipped; ignored columns: note")
    assert [(r["text"], r["topic"]) for r in store.current_labels(project)] == [("Gas flows.", "energy"),
                                                                               ("Trade rose.", "trade"),
                                                                               ("New one.", "other")]


def test_problems_name_row_column_and_value(project, schema, tmp_path):
    f = _write(tmp_path / "in.csv", "text,topic,stance,annotator,source,timestamp,seconds,action\n"
                                    ",trade,,ann,,,,\n"
                                    "a,trade,,bad name,,,,\n"
                                    "b,trade,,ann,Reuters,,,\n"
                                    "c,trade,,ann,,yesterday,,\n"
                                    "d,trade,,ann,,,-1,\n"
                                    "e,trade,,ann,,,,skip\n"
                                    "f,trade|energy,,ann,,,,\n")
    rep = store.import_labels(project, schema, f)
    assert [(p.row, p.column, p.value) for p in rep.problems] == [
        (2, "text", ""), (3, "annotator", "bad name"), (4, "source", "Reuters"), (5, "timestamp", "yesterday"),
        (6, "seconds", "-1"), (7, "action", "skip"), (8, "topic", "trade|energy")]
    assert rep.problems[2].message == ("not a label source (known: manual, suggestion-accepted, suggestion-corrected, "
                                       "import, adjudicated); rename the column if it means something else")
    assert rep.problems[6].message == "topic takes one label, got 'trade|energy'"
    assert store.read_log(project).rows == []


def test_import_from_text_bytes_and_stream(project, schema):
    text = "text,topic,stance\nfrom text,trade,\n"
    assert store.import_labels(project, schema, text, name="a.csv").rows == 1
    assert store.import_labels(project, schema, b'{"text": "from bytes", "topic": "energy", "stance": ""}\n',
                               name="b.jsonl").rows == 1
    assert store.import_labels(project, schema, io.StringIO("text,topic,stance\nfrom a stream,other,\n", newline=""),
                               name="c.csv").rows == 1
    assert [r["text"] for r in store.read_log(project).rows] == ["from text", "from bytes", "from a stream"]


# ------------------------------------------------ a label text found in several articles (issue: fresh user replay)

SHARED = "Iran and Iraq signed a new trade deal."
REPEATED = "No agreement was reached on water."


def shared_text_project(project):
    """Three articles: SHARED in all three (twice in three.txt), REPEATED twice in three.txt only."""
    seeds = project.seeds_dir
    for f in seeds.iterdir():
        f.unlink()
    (seeds / "one.txt").write_text(f"Talks in Baghdad went well. {SHARED}\n", "utf-8")
    (seeds / "two.txt").write_text(f"{SHARED} Oil exports rose again.\n", "utf-8")
    (seeds / "three.txt").write_text(f"{SHARED} {REPEATED} Pilgrims crossed at Mehran. {REPEATED} {SHARED}\n",
                                     "utf-8")
    return project


SHARED_FILE = (f"text,topic,stance,annotator,article_id\n{SHARED} ,trade,favor,,\n{REPEATED},other,,,\n"
               f"Oil exports rose again.,energy,,,\n{SHARED},diplomacy,,zoe,{{two}}\n")


def shared_text_notes(name):
    """The notes an import of SHARED_FILE gives, naming the file, the row, the text and the articles."""
    return [
        f"{name}: row 2: the text {SHARED!r} is in 3 articles (one.txt, three.txt 2 times, two.txt): the label "
        "was added to each",
        f"{name}: row 3: the text {REPEATED!r} is 2 sentences of one article (three.txt): the label was added to "
        "each",
    ]


def shared_text_expected(project):
    """(sentence_id, topic) of every label SHARED_FILE must give: each occurrence of a text found several times."""
    from label_app.corpus import load_corpus

    df = load_corpus(project)
    two = df[df["source"] == "two.txt"]["article_id"].iloc[0]
    ids = {t: df[df["text"] == t]["sentence_id"].tolist() for t in (SHARED, REPEATED, "Oil exports rose again.")}
    assert len(ids[SHARED]) == 4 and len(ids[REPEATED]) == 2
    two_shared = df[(df["text"] == SHARED) & (df["article_id"] == two)]["sentence_id"].tolist()
    expected = {(sid, "trade") for sid in ids[SHARED]} | {(sid, "other") for sid in ids[REPEATED]}
    return two, expected | {(ids["Oil exports rose again."][0], "energy")}, two_shared


def test_a_text_in_several_articles_is_labelled_in_each_with_a_note(project, schema, tmp_path):
    from label_app.cli import corpus_index

    shared_text_project(project)
    two, expected, two_shared = shared_text_expected(project)
    f = _write(tmp_path / "in.csv", SHARED_FILE.format(two=two))
    rep = store.import_labels(project, schema, f, corpus_index=corpus_index(project), name="in.csv")
    assert rep.ok, rep.problem_lines()
    assert rep.notes == shared_text_notes("in.csv")
    assert rep.matched_corpus == 8 and rep.rows == 8  # every label went to a corpus sentence
    rows = store.read_log(project).rows
    # row 5 names two.txt's article: only that article's sentence is labelled (by zoe), and no note
    assert {(r["sentence_id"], r["topic"]) for r in rows[:7]} == expected
    assert [(r["sentence_id"], r["topic"]) for r in rows[7:]] == [(two_shared[0], "diplomacy")]
    assert all(r["text"] in (SHARED, REPEATED, "Oil exports rose again.") for r in rows)  # the corpus's text
    assert {r["article_id"] for r in rows} == {r["sentence_id"].split("-")[0] for r in rows}


def test_cli_import_names_every_article_of_a_shared_text(project, tmp_path):
    shared_text_project(project)
    two, expected, two_shared = shared_text_expected(project)
    f = _write(tmp_path / "in.csv", SHARED_FILE.format(two=two))
    res = run_cli("import-labels", str(f), "--project", str(project.root))
    assert res.returncode == 0, res.stderr
    assert res.stderr.splitlines() == [f"note: {line}" for line in shared_text_notes(str(f))]
    assert res.stdout.splitlines()[0] == f"imported 8 labels from {f} (annotators: import, zoe; 8 matched corpus sentences)"
    rows = store.read_log(project).rows
    assert {(r["sentence_id"], r["topic"]) for r in rows[:7]} == expected


def test_data_page_import_names_every_article_of_a_shared_text(project, tmp_path, monkeypatch):
    """The Data page gives the same labels and the same notes as the CLI (one import function, one index)."""
    import re

    from streamlit.testing.v1 import AppTest

    shared_text_project(project)
    two, expected, two_shared = shared_text_expected(project)
    monkeypatch.setenv("LABEL_APP_PROJECT", str(project.root))
    at = AppTest.from_file(str(REPO / "label_app" / "app.py"), default_timeout=60)
    at.query_params["annotator"] = "sara"
    at.run()
    at.switch_page("views/data.py").run()
    assert not at.exception
    data = SHARED_FILE.format(two=two).encode()
    at.file_uploader(key="data_labels").set_value(("in.csv", data, "text/csv")).run()
    at.button(key="data_import").click().run()
    assert not at.exception
    assert [re.sub(r"\\(.)", r"\1", i.value) for i in at.info] == shared_text_notes("in.csv")  # markdown-escaped
    assert at.success[0].value == "Imported 8 labels (annotators: import, zoe; 8 matched corpus sentences)."
    rows = store.read_log(project).rows
    assert {(r["sentence_id"], r["topic"]) for r in rows[:7]} == expected
    assert [(r["sentence_id"], r["topic"]) for r in rows[7:]] == [(two_shared[0], "diplomacy")]


def test_data_page_shows_many_notes_as_one_table(project, monkeypatch):
    import re

    from streamlit.testing.v1 import AppTest

    for f in project.seeds_dir.iterdir():
        f.unlink()
    texts = [f"Talks about {w} went well." for w in ("gas", "oil", "water", "rice", "wheat", "steel", "cars", "power",
                                                      "pilgrims", "trucks", "wool", "dates")]
    for name in ("one.txt", "two.txt"):  # the last sentence differs: identical articles are kept once
        (project.seeds_dir / name).write_text(" ".join(texts) + f" This is {name}.\n", "utf-8")
    monkeypatch.setenv("LABEL_APP_PROJECT", str(project.root))
    at = AppTest.from_file(str(REPO / "label_app" / "app.py"), default_timeout=60)
    at.query_params["annotator"] = "sara"
    at.run()
    at.switch_page("views/data.py").run()
    data = ("text,topic,stance\n" + "".join(f"{t},trade,\n" for t in texts)).encode()
    at.file_uploader(key="data_labels").set_value(("in.csv", data, "text/csv")).run()
    at.button(key="data_import").click().run()
    assert not at.exception
    assert [re.sub(r"\\(.)", r"\1", i.value) for i in at.info] == ["12 notes on in.csv:"]
    notes = at.dataframe[-1].value["note"].tolist()
    assert len(notes) == 12 and notes[11] == (f"in.csv: row 13: the text {texts[11]!r} is in 2 articles (one.txt, "
                                              "two.txt): the label was added to each")
    assert at.success[0].value == "Imported 24 labels (annotators: import; 24 matched corpus sentences)."


def test_a_label_imported_before_its_text_came_in_two_articles_is_reported_with_them(empty_project, schema):
    """Ingestion cannot add labels: a label imported for a text not yet in the corpus attaches at ingest to the
    one sentence with its text; when two articles then hold it, it stays an orphan that names both."""
    from label_app.corpus import ingest

    rep = store.import_labels(empty_project, schema, f"text,topic,stance\n{SHARED},trade,\n", name="in.csv")
    assert rep.rows == 1 and rep.matched_corpus == 0
    shared_text_project(empty_project)
    (empty_project.seeds_dir / "three.txt").unlink()
    ingest_report = ingest(empty_project)
    [orphan] = ingest_report.orphans
    assert orphan.matches == ("one.txt", "two.txt")
    summary = ingest_report.summary().splitlines()
    assert summary[2] == "  orphaned in (no article: its text is in several articles): 1"
    assert summary[3] == (f"  orphan: ?: {store.text_sentence_id(SHARED)} (import: trade / -): {SHARED} [not "
                          "attached: its text is in 2 articles (one.txt, two.txt); re-attach it to the right one in "
                          "Browse > Orphaned labels]")
    (empty_project.seeds_dir / "two.txt").unlink()  # one article left with the text: the label attaches to it
    assert ingest(empty_project).orphans == []


def test_an_oversized_cell_is_one_row_problem_and_the_rest_is_checked(project, schema, tmp_path, monkeypatch):
    from label_app import tables

    monkeypatch.setattr(tables, "MAX_CELL_CHARS", 30)
    before = project.log_path.read_bytes() if project.log_path.exists() else b""
    f = _write(tmp_path / "in.csv", 'text,topic,stance\nfine,trade,\n"' + "x" * 31 + '",trade,\nok,weather,\n')
    rep = store.import_labels(project, schema, f, name="in.csv")
    assert rep.problem_lines() == [
        "row 3, text: 31 characters; the limit is 30 per cell",
        "row 4, topic 'weather': unknown topic label 'weather' (known: trade, energy, security, diplomacy, "
        "sanctions_us, politics, society, other)",
    ]
    assert rep.rows == 0 and (project.log_path.read_bytes() if project.log_path.exists() else b"") == before


def test_no_note_says_a_label_was_added_when_nothing_was(project, schema, tmp_path):
    from label_app.cli import corpus_index

    shared_text_project(project)
    f = _write(tmp_path / "in.csv", f"text,topic,stance\n{SHARED},trade,\nOther.,weather,\n")
    rep = store.import_labels(project, schema, f, corpus_index=corpus_index(project), name="in.csv")
    assert rep.rows == 0 and rep.notes == [] and [p.row for p in rep.problems] == [3]
