"""Lossless round trips: export -> import into an empty project -> export gives back every column; gold labels
and agreement are unchanged; a file that is not our export is read exactly as it is."""

from __future__ import annotations

import csv
import io
import json

from conftest import make_project
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from label_app import store
from label_app.agreement import agreement_report, report_json
from label_app.cli import corpus_index
from label_app.corpus import ingest, load_corpus
from label_app.gold import resolve_gold
from label_app.project import Project
from label_app.schema import Schema, load_schema
from label_app.store import LabelRow

SOURCES = ["manual", "suggestion-accepted", "suggestion-corrected", "import", "adjudicated"]


def team(project: Project, schema: Schema) -> None:
    """Two annotators who disagree, a reviewer who adjudicates, suggestions with model versions and seconds."""
    rows = [
        LabelRow("s1", "Trade rose.", "ann", topic="trade", stance="favor", article_id="a1", seconds=3.25,
                 source="suggestion-accepted", model_version="m-20250101-abc"),
        LabelRow("s1", "Trade rose.", "bob", topic="energy", stance="favor", article_id="a1", seconds=7.5),
        LabelRow("s1", "Trade rose.", "rev", topic="energy", stance="favor", article_id="a1", source="adjudicated"),
        LabelRow("s2", "=HYPERLINK(\"http://example.invalid/x\",\"Click\") was pasted", "ann", topic="other",
                 article_id="a1", source="suggestion-corrected", model_version="m-2", seconds=0.0),
        LabelRow("s2", "=HYPERLINK(\"http://example.invalid/x\",\"Click\") was pasted", "bob", topic="trade",
                 article_id="a1"),
        LabelRow("s3", "-5% was the drop in exports", "ann", stance="against", article_id="a2"),
        LabelRow("s3", "-5% was the drop in exports", "bob", stance="against", article_id="a2"),
    ]
    store.append_rows(project, schema, rows)


def _version_rows(project: Project, number: int) -> list[dict[str, str]]:
    return store.load_version(project, number)


def test_roundtrip_keeps_every_column_gold_and_agreement(project, schema, tmp_path):
    team(project, schema)
    store.create_version(project)
    before = _version_rows(project, 1)
    for fmt in ("csv", "jsonl"):
        out = store.write_export(project, schema, 1, fmt, tmp_path / f"e.{fmt}")
        fresh = make_project(tmp_path / f"fresh-{fmt}", seeds=False)
        rep = store.import_labels(fresh, schema, out)
        assert rep.ok and rep.rows == 7 and rep.our_export == (7 if fmt == "csv" else 0)
        store.create_version(fresh)
        after = _version_rows(fresh, 1)
        assert after == before  # every column, row ids and timestamps included
        again = store.write_export(fresh, schema, 1, fmt, tmp_path / f"again.{fmt}")
        assert again.read_bytes() == out.read_bytes()
        gold_before, gold_after = resolve_gold(before, schema), resolve_gold(after, schema)
        assert gold_after == gold_before
        assert gold_after["topic"].items[0].label == "energy" and gold_after["topic"].items[0].votes == "adjudicated"
        assert report_json(agreement_report(after, schema)) == report_json(agreement_report(before, schema))
        # the reviewer is still a reviewer: not an annotator in agreement
        assert agreement_report(after, schema)["topic"].annotators == ["ann", "bob"]


def test_reimport_into_the_same_project_adds_nothing(project, schema, tmp_path):
    team(project, schema)
    store.create_version(project)
    out = store.write_export(project, schema, 1, "csv", tmp_path / "e.csv")
    log = project.log_path.read_bytes()
    rep = store.import_labels(project, schema, out)
    assert rep.ok and rep.rows == 0 and rep.unchanged == 7
    assert project.log_path.read_bytes() == log


def test_an_export_saved_again_by_a_spreadsheet_still_imports_exactly(project, schema, tmp_path):
    """A spreadsheet keeps the label_app_export column; it may drop the quotes and write CRLF line ends."""
    team(project, schema)
    store.create_version(project)
    out = store.write_export(project, schema, 1, "csv", tmp_path / "e.csv")
    records = list(csv.reader(io.StringIO(out.read_text("utf-8"), newline="")))
    assert records[0][-1] == "label_app_export" and {r[-1] for r in records[1:]} == {"1"}
    assert all(not c.startswith(("=", "+", "-", "@")) for r in records for c in r)
    resaved = io.StringIO()
    csv.writer(resaved, lineterminator="\r\n").writerows(records)
    f = tmp_path / "resaved.csv"
    f.write_bytes(b"\xef\xbb\xbf" + resaved.getvalue().encode("utf-8"))
    fresh = make_project(tmp_path / "fresh", seeds=False)
    assert store.import_labels(fresh, schema, f).ok
    store.create_version(fresh)
    assert _version_rows(fresh, 1) == _version_rows(project, 1)


def test_a_file_that_is_not_our_export_is_read_as_it_is(tmp_path):
    """Two ASCII apostrophes open a quotation in news text; the formula-guard reversal must not touch them."""
    quote = "''We will not leave Iraq until the job is done,'' the commander told reporters on Sunday."
    project = make_project(tmp_path / "p", seeds=False)
    (project.seeds_dir / "quote.txt").write_text(
        f"Commander vows to stay\n\n{quote} Officials in Baghdad did not comment.\n", encoding="utf-8")
    ingest(project)
    schema = load_schema(project.schema_path)
    corpus = load_corpus(project)
    assert quote in set(corpus["text"])
    f = tmp_path / "theirs.csv"
    f.write_text(f'text,topic,stance\n"{quote}",security,\n"\'=not a formula, just text",other,\n', encoding="utf-8")
    rep = store.import_labels(project, schema, f, corpus_index=corpus_index(project))
    assert rep.ok and rep.rows == 2 and rep.matched_corpus == 1 and rep.our_export == 0
    rows = store.read_log(project).rows
    assert rows[0]["text"] == quote
    sid = corpus.loc[corpus["text"] == quote, "sentence_id"].iloc[0]
    assert rows[0]["sentence_id"] == sid
    assert rows[1]["text"] == "'=not a formula, just text"


def test_trailing_space_and_nbsp_still_find_their_sentence(project, schema, tmp_path):
    corpus = load_corpus(project)
    sentence = corpus.loc[corpus["kind"] == "sentence"].iloc[3]
    spaced = sentence["text"].replace(" ", "\u00a0", 1) + " "
    f = tmp_path / "in.jsonl"
    f.write_text(json.dumps({"text": spaced, "topic": "trade", "stance": ""}) + "\n", encoding="utf-8")
    rep = store.import_labels(project, schema, f, corpus_index=corpus_index(project))
    assert rep.ok and rep.matched_corpus == 1
    row = store.read_log(project).rows[0]
    assert (row["sentence_id"], row["article_id"], row["text"]) == (
        sentence["sentence_id"], sentence["article_id"], sentence["text"])


label_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                     min_size=1, max_size=60).filter(lambda t: t.strip() != "")
row_strategy = st.fixed_dictionaries({
    "text": label_text,
    "annotator": st.sampled_from(["ann", "bob", "cem.k", "r-2"]),
    "source": st.sampled_from(SOURCES),
    "topic": st.sampled_from(["", "trade", "energy", "other"]),
    "stance": st.sampled_from(["", "favor", "against"]),
    "model_version": st.sampled_from(["", "m-1", "=cmd|' /C calc'!A0", "-x"]),
    "seconds": st.one_of(st.none(), st.floats(min_value=0, max_value=1e5, allow_nan=False)),
}).filter(lambda r: r["topic"] or r["stance"])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(row_strategy, min_size=1, max_size=8))
def test_full_column_roundtrip_of_any_text_and_any_mix_of_sources(tmp_path_factory, rows):
    base = tmp_path_factory.mktemp("rt")
    project = make_project(base / "src", seeds=False)
    schema = load_schema(project.schema_path)
    store.append_rows(project, schema, [LabelRow(f"s{i}", r["text"], r["annotator"], topic=r["topic"],
                                                 stance=r["stance"], source=r["source"],
                                                 model_version=r["model_version"], seconds=r["seconds"],
                                                 article_id=f"a{i % 2}") for i, r in enumerate(rows)])
    store.create_version(project)
    before = _version_rows(project, 1)
    for fmt in ("csv", "jsonl"):
        out = store.write_export(project, schema, 1, fmt, base / f"e.{fmt}")
        fresh = make_project(base / f"dst-{fmt}", seeds=False)
        rep = store.import_labels(fresh, schema, out)
        assert rep.ok, rep.problem_lines()
        store.create_version(fresh)
        after = _version_rows(fresh, 1)
        assert after == before
        assert store.write_export(fresh, schema, 1, fmt, base / f"again.{fmt}").read_bytes() == out.read_bytes()
        assert resolve_gold(after, schema) == resolve_gold(before, schema)
        assert report_json(agreement_report(after, schema)) == report_json(agreement_report(before, schema))


def test_an_export_from_before_the_mark_is_still_recognised(empty_project, tmp_path):
    """CSV exports written before the label_app_export column had exactly these eight columns, guarded."""
    schema = load_schema(empty_project.schema_path)
    f = tmp_path / "old.csv"
    f.write_text('"sentence_id","article_id","annotator","text","topic","stance","source","timestamp"\n'
                 '"s1","a1","ann","\'=1+1","trade","favor","adjudicated","2025-01-02T03:04:05.000Z"\n', encoding="utf-8")
    rep = store.import_labels(empty_project, schema, f)
    assert rep.ok and rep.our_export == 1
    row = store.read_log(empty_project).rows[0]
    assert (row["text"], row["source"], row["timestamp"]) == ("=1+1", "adjudicated", "2025-01-02T03:04:05.000Z")
