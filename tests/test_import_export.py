"""Import and export: all-or-nothing import, formula-safe CSV, and exact round trips of any text."""

from __future__ import annotations

import io
import json
import string

from conftest import run_cli
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
    assert rows[0]["sentence_id"] == idx[known][0] and rows[0]["source"] == "import"
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
