"""Labels that survive edited articles and segmentation changes; orphaned labels reported and re-attachable."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from label_app import store
from label_app.corpus import assign_ids, ingest, load_corpus, own_sentence_ids, source_article_id
from label_app.orphans import Orphan, find_orphans, reattach_rows, suggest_sentence, summarise
from label_app.project import Project
from label_app.schema import load_schema

REPO = Path(__file__).resolve().parent.parent
SEED0 = "000_5719b8656de3c067.txt"
APP = str(REPO / "label_app" / "app.py")


@pytest.fixture
def shipped(tmp_path: Path) -> Project:
    """A copy of the shipped project: schema, 84 starter labels (log and version 1) and the five seeds."""
    root = tmp_path / "shipped"
    shutil.copytree(REPO / "labels", root / "labels")
    shutil.copytree(REPO / "seeds", root / "seeds")
    return Project.at(root)


def _attached(project: Project) -> tuple[int, int]:
    ids = set(load_corpus(project, refresh=False)["sentence_id"])
    labels = store.current_labels(project)
    return sum(lab["sentence_id"] in ids for lab in labels), len(labels)


def test_shipped_project_keeps_all_84_starter_labels(shipped: Project) -> None:
    rep = ingest(shipped)
    assert rep.orphans == [] and rep.attached_labels == 84
    assert _attached(shipped) == (84, 84)
    store.verify_version(shipped, 1)  # versions are never rewritten: the manifest's sha256 still holds
    assert "orphaned" not in rep.summary()


def test_issue_case_5_one_word_fix_keeps_17_of_18_labels(shipped: Project) -> None:
    ingest(shipped)
    seed = shipped.seeds_dir / SEED0
    labels = [lab for lab in store.current_labels(shipped) if lab["article_id"] == "a25cc58988ab5"]
    assert len(labels) == 18
    seed.write_text(seed.read_text("utf-8").replace("continues campaign", "continued campaign"), "utf-8")
    rep = ingest(shipped)
    assert (rep.new_articles, rep.changed_articles, rep.articles) == (0, 1, 5)
    assert _attached(shipped) == (83, 84)
    assert len(rep.orphans) == 1
    orphan = rep.orphans[0]
    assert orphan.file == SEED0 and orphan.sentence_id == "a25cc58988ab5-0000"
    assert orphan.text.startswith("Tabnak \u2013 Despite Washington\u2019s continues campaign")
    lines = rep.summary().splitlines()
    assert lines[0] == ("5 articles (0 new, 1 changed), 81 sentences, 7 non-sentence lines, "
                        "from 5 files; 0 files skipped")
    assert lines[1] == ("1 label orphaned: the sentence's text is no longer in its article, or was never in the "
                        "corpus (kept in the log; re-attach or drop them in Browse > Orphaned labels)")
    assert lines[2] == f"  orphaned in {SEED0}: 1"
    assert lines[3].startswith(f"  orphan: {SEED0}: a25cc58988ab5-0000 (seed: diplomacy / favor): Tabnak")
    # the 17 unchanged sentences are labelled, so they are not served again
    corpus = load_corpus(shipped, refresh=False)
    art = corpus[(corpus["article_id"] == "a25cc58988ab5") & (corpus["kind"] == "sentence")]
    labelled = {lab["sentence_id"] for lab in labels}
    assert sum(sid in labelled for sid in art["sentence_id"]) == 17
    # the log still holds the orphan, and version 1 is untouched
    assert any(r["sentence_id"] == "a25cc58988ab5-0000" for r in store.read_log(shipped).rows)
    store.verify_version(shipped, 1)


def test_renamed_file_keeps_its_labels(shipped: Project) -> None:
    ingest(shipped)
    (shipped.seeds_dir / SEED0).rename(shipped.seeds_dir / "renamed.txt")
    rep = ingest(shipped)
    assert rep.orphans == [] and _attached(shipped) == (84, 84)


def test_removed_article_orphans_are_reported_with_their_file(shipped: Project) -> None:
    ingest(shipped)
    (shipped.seeds_dir / SEED0).unlink()
    rep = ingest(shipped)
    assert rep.removed_articles == 1 and len(rep.orphans) == 18
    assert {o.file for o in rep.orphans} == {SEED0}
    assert f"  orphaned in {SEED0}: 18" in rep.summary().splitlines()


def test_segmentation_change_keeps_labels_whose_text_still_exists(empty_project: Project) -> None:
    # labels made when the corpus split "Maj. Gen. ..." after "Maj." (the old sentencizer), with position ids
    (empty_project.seeds_dir / "a.txt").write_text(
        "Salami warns Washington\n\nMaj. Gen. Hossein Salami warned Washington on Friday. Iraq stayed silent.\n",
        "utf-8")
    schema = load_schema(empty_project.schema_path)
    old = "a0123456789ab"
    rows = [store.LabelRow(sentence_id=f"{old}-0001", article_id=old, text="Maj.", annotator="ali", topic="security",
                           stance="neutral"),
            store.LabelRow(sentence_id=f"{old}-0003", article_id=old, text="Iraq stayed silent.", annotator="ali",
                           topic="diplomacy", stance="neutral")]
    store.append_rows(empty_project, schema, rows)
    rep = ingest(empty_project)
    corpus = load_corpus(empty_project, refresh=False)
    assert corpus["text"].tolist() == ["Salami warns Washington",
                                       "Maj. Gen. Hossein Salami warned Washington on Friday.", "Iraq stayed silent."]
    assert corpus["sentence_id"].tolist()[2] == f"{old}-0003"  # attached through the segmentation change
    assert set(corpus["article_id"]) == {old}  # the article took the labels' article id
    assert [o.sentence_id for o in rep.orphans] == [f"{old}-0001"]  # "Maj." is no sentence any more: reported


def test_label_with_nbsp_and_trailing_space_attaches(empty_project: Project) -> None:  # issue case 4, ingest side
    (empty_project.seeds_dir / "a.txt").write_text("Iran and\u00a0Iraq signed a gas deal on Monday.\n", "utf-8")
    schema = load_schema(empty_project.schema_path)
    # an imported label that matched no corpus sentence when it was imported: text id, no article
    store.append_rows(empty_project, schema, [store.LabelRow(
        sentence_id="t000000000001", text="Iran and Iraq signed a gas deal on Monday. ", annotator="imp",
        topic="energy", stance="neutral", source="import")])
    rep = ingest(empty_project)
    assert rep.orphans == []
    assert load_corpus(empty_project, refresh=False)["sentence_id"].tolist() == ["t000000000001"]


def test_sentence_ids_come_from_text_not_position() -> None:
    a = source_article_id("x.txt")
    before = own_sentence_ids(a, ["One.", "Two.", "Three."])
    after = own_sentence_ids(a, ["Zero.", "One.", "Three."])
    assert before[0] == after[1] and before[2] == after[2] and before[1] not in after
    assert own_sentence_ids(a, ["Same.", "Same."])[1] == own_sentence_ids(a, ["Same."])[0] + ".2"


def test_assign_ids_is_deterministic_and_unique() -> None:
    arts = [(source_article_id("a.txt"), ["A one.", "A two."]), (source_article_id("b.txt"), ["A one.", "B two."])]
    labels = [{"sentence_id": "old-1", "article_id": "old", "text": "A one."},
              {"sentence_id": "old-2", "article_id": "old", "text": "A two."}]
    one, two = assign_ids(arts, labels), assign_ids(arts, list(reversed(labels)))
    assert one.sentence_ids == two.sentence_ids and one.article_ids == two.article_ids
    assert one.article_ids[0] == "old" and one.sentence_ids[0] == ["old-1", "old-2"]
    flat = [s for ids in one.sentence_ids for s in ids]
    assert len(flat) == len(set(flat))


def test_orphan_pure_functions() -> None:
    labels = [{"sentence_id": "s1", "article_id": "a", "annotator": "x", "topic": "trade", "stance": "favor",
               "text": "Old text.", "action": "label"},
              {"sentence_id": "s2", "article_id": "a", "annotator": "x", "topic": "trade", "stance": "",
               "text": "Kept.", "action": "label"}]
    orphans = find_orphans(labels, {"s2"}, {"a": "a.txt"})
    assert orphans == [Orphan("s1", "a", "x", "trade", "favor", "Old text.", "a.txt")]
    assert summarise(orphans)[1:3] == ["  orphaned in a.txt: 1", "  orphan: a.txt: s1 (x: trade / favor): Old text."]
    assert suggest_sentence("Iran continues its campaign.", [("n1", "Iran continued its campaign."),
                                                              ("n2", "Something else entirely.")])[0] == "n1"
    assert suggest_sentence("Iran continues its campaign.", [("n2", "Something else entirely.")]) is None


def test_reattach_rows_attach_the_label_and_clear_the_orphan(shipped: Project) -> None:
    ingest(shipped)
    seed = shipped.seeds_dir / SEED0
    seed.write_text(seed.read_text("utf-8").replace("continues campaign", "continued campaign"), "utf-8")
    orphan = ingest(shipped).orphans[0]
    corpus = load_corpus(shipped, refresh=False)
    target = corpus[corpus["text"].str.contains("continued campaign")].iloc[0]
    store.append_rows(shipped, load_schema(shipped.schema_path),
                      reattach_rows(orphan, target["sentence_id"], target["text"], target["article_id"]))
    rep = ingest(shipped)
    assert rep.orphans == [] and _attached(shipped) == (84, 84)
    moved = [lab for lab in store.current_labels(shipped) if lab["sentence_id"] == target["sentence_id"]]
    assert [(m["topic"], m["stance"], m["annotator"]) for m in moved] == [("diplomacy", "favor", "seed")]
    store.verify_version(shipped, 1)


def test_browse_lists_orphans_and_reattaches(shipped: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    ingest(shipped)
    seed = shipped.seeds_dir / SEED0
    seed.write_text(seed.read_text("utf-8").replace("continues campaign", "continued campaign"), "utf-8")
    monkeypatch.setenv("LABEL_APP_PROJECT", str(shipped.root))
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["annotator"] = "lead"
    at.run()
    at.switch_page("views/browse.py").run()
    assert not at.exception
    assert [e.label for e in at.expander] == ["Orphaned labels (1): their sentence changed or is gone"]
    box = at.selectbox(key="br_orphan_to_a25cc58988ab5-0000")
    assert box.value.startswith("a25cc58988ab5-") and box.value != "a25cc58988ab5-0000"  # the suggested sentence
    at.button(key="br_orphan_attach").click().run()
    assert not at.exception
    assert _attached(shipped) == (84, 84)
    assert not [e for e in at.expander if e.label.startswith("Orphaned labels")]


def test_a_label_imported_for_a_text_outside_the_corpus_is_not_said_to_have_lost_its_article() -> None:
    from label_app.orphans import Orphan, summarise

    lines = summarise([Orphan("td532734b7fa8", "", "tester", "trade", "", "A text no article holds.", ""),
                       Orphan("a1-0001", "a1", "seed", "trade", "favor", "Gone from its article.", "")])
    assert lines[1:3] == ["  orphaned in (article no longer in seeds/): 1",
                          "  orphaned in (no article: imported for a text not in the corpus): 1"]
