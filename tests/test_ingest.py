"""Corpus ingestion: segmentation of messy lines, stable ids, encodings, bad files, table inputs."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import REPO, run_cli

from label_app import tables
from label_app.corpus import (
    KIND_HEADING,
    KIND_META,
    KIND_SENTENCE,
    article_id_for,
    classify_line,
    ingest,
    load_corpus,
    safe_filename,
    split_lines,
)


def _by_text(df):
    return {t: k for t, k in zip(df["text"], df["kind"], strict=True)}


def test_seed_tricky_lines_stay_apart_and_are_marked(project):
    df = load_corpus(project)
    kinds = _by_text(df)
    for meta in ["Saturday 31 October 2020", "News ID: 83280", "Publish Date: 27 September 2020 - 22:21",
                 "* Comment:"]:
        assert kinds[meta] == KIND_META, meta
    assert kinds["Says ambassador in Tehran"] == KIND_HEADING
    assert kinds["Iraq aims to boost annual trade with Iran to $20 billion"] == KIND_HEADING
    # no sentence swallowed a dateline or a headline
    for text in df["text"]:
        assert "News ID" not in text or text == "News ID: 83280"
        assert not text.startswith("Saturday 31 October 2020 ")
    # a sentence broken over a blank line (NBSP) in 001 is joined back into one
    assert ("Iranian Foreign Minister Muhammad Javad Zarif called for the protection of diplomatic "
            "installations in Iraq as he hosted his Iraqi counterpart.") in kinds
    assert int((df["kind"] == KIND_SENTENCE).sum()) == 81
    assert df["article_id"].nunique() == 5


def test_classify_line_examples():
    assert classify_line("Saturday 31 October 2020") == KIND_META
    assert classify_line("News ID: 83280") == KIND_META
    assert classify_line("* Comment:") == KIND_META
    assert classify_line("12/03/2021 14:05") == KIND_META
    assert classify_line("Iran and Iraq sign a gas deal") == KIND_HEADING
    assert classify_line("Iran and Iraq signed a gas deal on Monday.") == KIND_SENTENCE


def test_line_breaks_end_sentences():
    text = "Headline Without Stop\nThe first sentence. The second one.\nSaturday 31 October 2020\nNext line."
    assert split_lines(text) == [
        "Headline Without Stop", "The first sentence. The second one.", "Saturday 31 October 2020", "Next line."
    ]


def test_ids_are_stable_across_reingest_and_new_articles(project):
    first = load_corpus(project)[["sentence_id", "text"]].values.tolist()
    again = ingest(project)
    assert again.new_articles == 0
    (project.seeds_dir / "zz_new.txt").write_text("A new article arrives. It has two sentences.\n", "utf-8")
    rep = ingest(project)
    assert rep.new_articles == 1 and rep.articles == 6
    after = load_corpus(project)[["sentence_id", "text"]].values.tolist()
    assert after[: len(first)] == first
    assert len(after) == len(first) + 2


def test_identical_article_is_one_article_whatever_the_encoding_details(project):
    src = (REPO / "seeds" / "002_0ddcefdb2f5e0a12.txt").read_text("utf-8")
    (project.seeds_dir / "copy_crlf_bom.txt").write_bytes(b"\xef\xbb\xbf" + src.replace("\n", "\r\n").encode())
    rep = ingest(project)
    assert rep.articles == 5 and rep.files == 6 and not rep.skipped
    assert article_id_for(src) == article_id_for("\ufeff" + src.replace("\n", "\r\n"))


def test_binary_and_undecodable_files_are_reported_and_skipped(project):
    (project.seeds_dir / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR")
    (project.seeds_dir / "empty.txt").write_bytes(b"")
    (project.seeds_dir / "notes.pdf").write_bytes(b"%PDF-1.4")
    rep = ingest(project)
    skipped = dict(rep.skipped)
    assert skipped["image.txt"] == "binary file, not text (contains NUL bytes)"
    assert skipped["empty.txt"] == "empty file"
    assert skipped["notes.pdf"] == "unsupported file type '.pdf' (use .txt, .md, .csv, .jsonl)"
    assert rep.articles == 5


def test_cp1252_text_is_decoded_and_noted(empty_project):
    (empty_project.seeds_dir / "old.txt").write_bytes("Caf\u00e9 talks \u201cwent well\u201d in Baghdad.".encode("cp1252"))
    rep = ingest(empty_project)
    assert rep.articles == 1 and ("old.txt", "not UTF-8, read as cp1252") in rep.notes
    assert load_corpus(empty_project)["text"].tolist() == ["Caf\u00e9 talks \u201cwent well\u201d in Baghdad."]


def test_csv_and_jsonl_inputs(empty_project):
    seeds = empty_project.seeds_dir
    (seeds / "batch.csv").write_text('id,title,text\n7,Gas deal,"Iraq pays for gas. Talks continue."\n8,,Second one.\n',
                                     "utf-8")
    (seeds / "more.jsonl").write_text(json.dumps({"text": "From JSON lines.", "id": "x1"}) + "\n", "utf-8")
    (seeds / "bad.csv").write_text("body\nno text column\n", "utf-8")
    (seeds / "bad.jsonl").write_text('{"text": "ok"}\n{broken\n', "utf-8")
    rep = ingest(empty_project)
    assert rep.articles == 4  # bad.jsonl's good line is read: one broken line no longer skips its file
    assert dict(rep.skipped) == {"bad.csv": "missing column(s) text (found: body)"}
    assert ("bad.jsonl", "line 2: not valid JSON (Expecting property name enclosed in double quotes); row skipped, "
            "the file's other rows were read") in rep.notes
    df = load_corpus(empty_project)
    assert df[df["text"] == "Iraq pays for gas."]["title"].tolist() == ["Gas deal"]


def test_ingest_paths_are_copied_into_seeds_with_safe_names(empty_project, tmp_path):
    outside = tmp_path / "incoming"
    outside.mkdir()
    (outside / "my article (1).txt").write_text("Iraq and Iran met again. They agreed.\n", "utf-8")
    rep = ingest(empty_project, [outside])
    assert rep.copied == ["my_article_1.txt"]
    assert (empty_project.seeds_dir / "my_article_1.txt").exists()
    assert rep.articles == 1


def test_symlink_out_of_the_folder_is_refused(empty_project, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("Top secret sentence.\n", "utf-8")
    (empty_project.seeds_dir / "link.txt").symlink_to(secret)
    rep = ingest(empty_project)
    assert dict(rep.skipped) == {"link.txt": "symlink points outside the folder"}
    assert rep.articles == 0


def test_safe_filename():
    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename("a;rm -rf $HOME.txt") == "a_rm_-rf_HOME.txt"
    assert safe_filename("..\\evil.TXT") == "evil.txt"


def test_cli_ingest_prints_summary(project):
    shutil.copy(REPO / "seeds" / "000_5719b8656de3c067.txt", project.seeds_dir / "dup.txt")
    res = run_cli("ingest", "--project", str(project.root))
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines()[0] == (
        "5 articles (5 new), 81 sentences, 7 non-sentence lines, from 6 files; 0 files skipped"
    )
    assert res.stdout.splitlines()[1:] == ["  note: dup.txt: same text as 000_5719b8656de3c067.txt: kept once"]


def test_cli_ingest_by_path_refuses_what_ingestion_would_skip_and_notes_an_edited_copy(project, tmp_path):
    """Files given by path go through the upload check: a file ingestion would skip is not copied into seeds/
    (it would be reported as skipped at every later ingest) and the command fails; an edited copy of a seed
    article is added with a note naming the article it looks like a new version of (issue 11, case 9 by CLI)."""
    (tmp_path / "junk.txt").write_bytes(b"\x00\x01binary")
    (tmp_path / "empty.txt").write_text("   \n", encoding="utf-8")
    edited = tmp_path / "000_5719b8656de3c067.txt"
    edited.write_text((REPO / "seeds" / "000_5719b8656de3c067.txt").read_text(encoding="utf-8")
                      .replace("continues campaign", "continued campaign"), encoding="utf-8")
    assert run_cli("ingest", "--project", str(project.root)).returncode == 0
    before = sorted(p.name for p in project.seeds_dir.iterdir())
    res = run_cli("ingest", "--project", str(project.root), str(tmp_path / "junk.txt"), str(tmp_path / "empty.txt"),
                  str(tmp_path / "missing.txt"), str(edited))
    assert res.returncode == 1, res.stderr
    out = res.stdout.splitlines()
    assert f"  not copied into seeds/: {tmp_path / 'junk.txt'}: binary file, not text (contains NUL bytes)" in out
    assert f"  not copied into seeds/: {tmp_path / 'empty.txt'}: empty file" in out
    assert f"  not copied into seeds/: {tmp_path / 'missing.txt'}: no such file or folder" in out
    assert "  copied into seeds/: 000_5719b8656de3c067-1.txt" in out
    assert ("  note: 000_5719b8656de3c067-1.txt: added as a new article, but it looks like a new version of "
            "seeds/000_5719b8656de3c067.txt (same file name, 94% of its sentences already there); to replace "
            "that article and keep its labels, copy the file over it instead") in out
    assert sorted(p.name for p in project.seeds_dir.iterdir()) == sorted(before + ["000_5719b8656de3c067-1.txt"])


# ---------------------------------------------------------------- issue 11: limits, headers, encodings, titles


def test_issue_case_6_big_csv_cell_is_ingested_like_txt_and_jsonl(empty_project):
    body = ("Iran and Iraq agreed to expand trade in gas and electricity. " * 2400)[:141_149].strip()
    seeds = empty_project.seeds_dir
    with open(seeds / "big.csv", "w", encoding="utf-8", newline="") as fh:
        fh.write(f'id,text\n1,"{body}"\n2,"A second, short article."\n')
    (seeds / "big.jsonl").write_text(json.dumps({"id": "j", "text": body + " JSONL."}) + "\n", "utf-8")
    (seeds / "big.txt").write_text(body + " TXT.", "utf-8")
    rep = ingest(empty_project)
    assert rep.skipped == [] and rep.articles == 4
    assert set(load_corpus(empty_project, refresh=False)["source"]) == {"big.csv#1", "big.csv#2", "big.jsonl#j",
                                                                        "big.txt"}


def test_issue_case_7_headers_padded_accepted_duplicate_refused(empty_project):
    seeds = empty_project.seeds_dir
    (seeds / "padded.csv").write_text('id, text , title\n1,"Iraq pays for gas.",Gas\n', "utf-8")
    (seeds / "dup.csv").write_text('id,text,title,text\n1,"Iraq pays.",T,"Other."\n', "utf-8")
    (seeds / "blank.csv").write_text('id,,text\n1,x,"Iraq pays."\n', "utf-8")
    rep = ingest(empty_project)
    assert dict(rep.skipped) == {"dup.csv": "duplicate column 'text' (columns 2 and 4)",
                                 "blank.csv": "blank column name (column 2)"}
    df = load_corpus(empty_project, refresh=False)
    assert df["text"].tolist() == ["Iraq pays for gas."] and df["title"].tolist() == ["Gas"]


def test_issue_case_8_cp1252_table_read_with_a_note(empty_project):
    (empty_project.seeds_dir / "old.csv").write_bytes('text\n"Caf\u00e9 talks \u201cwent well\u201d."\n'.encode("cp1252"))
    rep = ingest(empty_project)
    assert rep.notes == [("old.csv", "not UTF-8, read as cp1252")]
    assert load_corpus(empty_project, refresh=False)["text"].tolist() == ["Caf\u00e9 talks \u201cwent well\u201d."]


def test_title_is_the_first_heading_and_file_has_its_own_column(project):
    df = load_corpus(project)
    first = df.drop_duplicates("article_id").set_index("file")
    assert first.loc["002_0ddcefdb2f5e0a12.txt", "title"] == (
        "Iran\u2019s President to Make First Official Foreign Trip to Iraq Amid Tensions in the Region")
    # no heading before the first sentence: the first sentence, shortened
    assert first.loc["001_1c7e78d4233ff01a.txt", "title"].startswith("TEHRAN (Dispatches) -- Iran and Iraq")
    assert first.loc["001_1c7e78d4233ff01a.txt", "title"].endswith("\u2026")
    assert set(df["file"]) == {p.name for p in (REPO / "seeds").glob("*.txt")}


def test_unchanged_files_are_not_read_again_and_ids_are_stable(project):
    first = load_corpus(project)
    rep = ingest(project)
    assert (rep.new_articles, rep.changed_articles, rep.removed_articles) == (0, 0, 0)
    assert load_corpus(project, refresh=False)["sentence_id"].tolist() == first["sentence_id"].tolist()


def test_claims_and_headlines_in_a_table_reach_the_queue_as_sentences(empty_project):
    # replay 17 #7: one-line rows without a full stop were "non-sentence lines"
    claims = ["violent video games cause aggression", "Democracy is the best form of government",
              "Sanctions on Iran hurt ordinary people", "Iraq should buy more Iranian gas"]
    rows = "".join(f'{i},"{c}"\n' for i, c in enumerate(claims, 1))
    (empty_project.seeds_dir / "claims.csv").write_text(
        "id,text\n" + rows + '9,"Border trade deal\n\nIran and Iraq signed a deal on Monday."\n', "utf-8")
    rep = ingest(empty_project)
    assert rep.summary().splitlines()[0] == (
        "5 articles (5 new), 5 sentences, 1 non-sentence lines, from 1 files; 0 files skipped")
    df = load_corpus(empty_project, refresh=False)
    assert _by_text(df) == {**dict.fromkeys(claims, KIND_SENTENCE), "Border trade deal": KIND_HEADING,
                            "Iran and Iraq signed a deal on Monday.": KIND_SENTENCE}


def test_summary_lists_at_most_ten_duplicates_and_skipped_files_the_report_keeps_all(empty_project):
    seeds = empty_project.seeds_dir
    (seeds / "a.txt").write_text("Iran and Iraq signed a deal on Monday.\n", "utf-8")
    for i in range(12):
        (seeds / f"copy{i:02d}.txt").write_text("Iran and Iraq signed a deal on Monday.\n", "utf-8")
    for i in range(11):
        (seeds / f"x{i:02d}.pdf").write_bytes(b"%PDF")
    rep = ingest(empty_project)
    assert len(rep.duplicates) == 12 and len(rep.skipped) == 11
    assert rep.duplicates[0] == ("copy00.txt", "a.txt")
    assert rep.summary().splitlines() == [
        "1 articles (1 new), 1 sentences, 0 non-sentence lines, from 13 files; 11 files skipped",
        *[f"  note: copy{i:02d}.txt: same text as a.txt: kept once" for i in range(10)],
        "  ... and 2 more articles with the same text as another, each kept once",
        *[f"  skipped: x{i:02d}.pdf: unsupported file type '.pdf' (use .txt, .md, .csv, .jsonl)" for i in range(10)],
        "  ... and 1 more file skipped",
    ]
    assert len(rep.summary(limit=100).splitlines()) == 1 + 12 + 11


def test_one_oversized_row_of_a_table_skips_only_that_row(empty_project, monkeypatch: pytest.MonkeyPatch):
    """Issue case (fresh user replay): one cell over the cell limit made ingestion skip its whole table. Now only
    that row is left out, with a note naming file, line, column, size and limit, at every ingest (the note is
    kept with the file's cache entry), and a table an earlier reader skipped whole is read again."""
    monkeypatch.setattr(tables, "MAX_CELL_CHARS", 100)
    seeds = empty_project.seeds_dir
    long = "Iran and Iraq met. " * 6  # 114 characters
    (seeds / "batch.csv").write_text(f'id,text\n1,Iraq pays for gas.\n2,"{long}\nand more."\n3,Talks resume.\n',
                                     "utf-8")
    (seeds / "batch.jsonl").write_text(json.dumps({"text": long}) + "\n" + json.dumps({"text": "Trade grew."}) + "\n",
                                       "utf-8")
    notes = [
        ("batch.csv", "line 3: column 'text' holds 124 characters; the limit is 100 per cell; row skipped, the "
                      "file's other rows were read"),
        ("batch.jsonl", "line 1: column 'text' holds 114 characters; the limit is 100 per cell; row skipped, the "
                        "file's other rows were read"),
    ]
    rep = ingest(empty_project)
    assert rep.skipped == [] and rep.notes == notes and rep.articles == 3
    assert sorted(load_corpus(empty_project)["text"]) == ["Iraq pays for gas.", "Talks resume.", "Trade grew."]
    again = ingest(empty_project)  # nothing changed: files not read again, notes still given
    assert again.notes == notes and again.articles == 3 and again.new_articles == 0
    cache = json.loads(empty_project.ingest_cache_path.read_text("utf-8"))
    cache["batch.csv"] = {"sig": cache["batch.csv"]["sig"], "sources": [],
                          "skipped": "line 3: broken CSV: field larger than field limit (20971520)"}
    empty_project.ingest_cache_path.write_text(json.dumps(cache), "utf-8")
    healed = ingest(empty_project)
    assert healed.skipped == [] and healed.articles == 3
    # `ingest PATH` copies such a table into seeds/ (it is not refused) and the ingest that follows notes it
    outside = empty_project.root / "incoming"
    outside.mkdir()
    (outside / "more.csv").write_text(f'text\n"{long}"\nBorder trade grew.\n', "utf-8")
    copied = ingest(empty_project, [outside / "more.csv"])
    assert copied.copied == ["more.csv"] and copied.refused == [] and copied.articles == 4
    assert ("more.csv", "line 2: column 'text' holds 114 characters; the limit is 100 per cell; row skipped, the "
                        "file's other rows were read") in copied.notes


def test_cli_ingest_of_real_oversized_cell_and_article(empty_project):
    """Through the CLI, at the real limits (20 MiB): a table row with a bigger cell is left out and named, the
    table's other rows are read; an article file over 20 MiB is skipped with one line naming it."""
    seeds = empty_project.seeds_dir
    big = "Iran and Iraq. " * (tables.MAX_CELL_CHARS // 15 + 1)  # 20,971,530 characters
    (seeds / "big.csv").write_text(f"id,text\n1,{big}\n2,Iraq pays for gas.\n", "utf-8")
    (seeds / "big.md").write_text("# Title\n" + "x" * tables.MAX_ARTICLE_BYTES, "utf-8")
    (seeds / "small.txt").write_text("Talks resume in May.\n", "utf-8")
    res = run_cli("ingest", "--project", str(empty_project.root))
    assert res.returncode == 0, res.stderr
    out = res.stdout.splitlines()
    assert out[0] == "2 articles (2 new), 2 sentences, 0 non-sentence lines, from 2 files; 1 files skipped"
    assert out[1:] == [
        "  note: big.csv: line 2: column 'text' holds 20,971,530 characters; the limit is 20,971,520 per cell; row "
        "skipped, the file's other rows were read",
        "  skipped: big.md: too large (21.0 MB; the limit is 20 MiB per article file)",
    ]
