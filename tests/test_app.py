"""AppTest flows for every page, on temporary projects built from the shipped schema and seeds."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import card_data, card_send
from streamlit.testing.v1 import AppTest

from label_app import store
from label_app.corpus import load_corpus
from label_app.project import Project
from label_app.settings import Settings, save_settings

APP = str(Path(__file__).resolve().parent.parent / "label_app" / "app.py")


@pytest.fixture
def app_project(project: Project, monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.setenv("LABEL_APP_PROJECT", str(project.root))
    return project


def open_app(annotator: str | None = "sara", page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if annotator:
        at.query_params["annotator"] = annotator
    at.run()
    assert not at.exception
    if page:
        at.switch_page(page).run()
        assert not at.exception
    return at


def press(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click().run()
    assert not at.exception
    return at


def log_rows(project: Project) -> list[dict[str, str]]:
    return store.read_log(project).rows


def corpus_sentences(project: Project) -> int:
    df = load_corpus(project)
    return int((df["kind"] == "sentence").sum())


def shown_sentence(at: AppTest) -> str:
    return card_data(at)["text"]


def test_pick_annotator_goes_into_the_url(app_project: Project) -> None:
    at = open_app(annotator=None)
    at.text_input(key="ann_name").input("bad name!")
    at.button[0].click().run()
    assert at.error[0].value == ("invalid annotator name 'bad name!': use 1-40 letters, digits, '.', '_' or '-', "
                                 "starting with a letter or digit")
    at.text_input(key="ann_name").input("sara")
    at.button[0].click().run()
    assert not at.exception
    assert at.query_params["annotator"] == ["sara"] or at.query_params["annotator"] == "sara"
    assert card_data(at)["sentence_id"]


def test_label_by_choices_saves_before_the_next_sentence(app_project: Project) -> None:
    at = open_app()
    first = card_data(at)
    assert first["position"] == "sentence 1 of 18"
    d = card_send(at, topic=["trade"], stance=["favor"])
    rows = log_rows(app_project)
    assert [(r["annotator"], r["topic"], r["stance"], r["action"], r["source"], r["sentence_id"]) for r in rows] == [
        ("sara", "trade", "favor", "label", "manual", first["sentence_id"])]
    assert float(rows[0]["seconds"]) >= 0
    assert d["status"] == {"kind": "success", "text": "Saved trade · favor for sentence 1 of 18."}
    assert d["ack"] == {"client": "test-client", "seq": 1}  # the browser shows this card only after the ack
    assert d["text"] != first["text"] and d["position"] == "sentence 2 of 18"
    assert d["progress"].startswith("1 yours · ")
    # the new sentence starts with no choice made
    assert d["selection"] == {"topic": [], "stance": []}


def test_save_without_a_choice_is_refused(app_project: Project) -> None:
    at = open_app()
    d = card_send(at)
    assert d["status"] == {"kind": "error", "text": "Choose a topic or a stance first (or press → to skip)."}
    assert log_rows(app_project) == []


def test_skip_and_not_a_sentence(app_project: Project) -> None:
    at = open_app()
    first = shown_sentence(at)
    card_send(at, "skip")
    second = shown_sentence(at)
    assert second != first
    card_send(at, "not-sentence")
    assert shown_sentence(at) not in (first, second)
    assert [r["action"] for r in log_rows(app_project)] == ["skip", "not-sentence"]
    # a reload (new session, same URL) resumes after the handled sentences
    assert shown_sentence(open_app()) not in (first, second)


def test_back_and_relabel(app_project: Project) -> None:
    at = open_app()
    texts = []
    for topic in ("trade", "energy"):
        texts.append(shown_sentence(at))
        card_send(at, topic=[topic], na=("stance",))
    d = card_send(at, "back")
    assert d["text"] == texts[1]
    assert d["selection"] == {"topic": ["energy"], "stance": []}  # their label, pre-filled
    d = card_send(at, "back")
    assert d["text"] == texts[0]
    assert d["back"].startswith("Going back (2 of 2); you saved label: trade / -.")
    assert "→: forward (no change)." in d["keys_help"] and [a["id"] for a in d["actions"]][:2] == ["save", "forward"]
    card_send(at, topic=["security"], stance=["against"])
    # saved, and moved forward to the more recent one
    assert shown_sentence(at) == texts[1]
    card_send(at, "forward")  # leaves the label as it was
    assert shown_sentence(at) not in texts
    latest = store.current_labels(app_project)
    assert sorted((r["topic"], r["stance"]) for r in latest) == [("energy", ""), ("security", "against")]
    assert [r["action"] for r in log_rows(app_project)] == ["label"] * 3


def test_two_annotators_get_different_sentences(app_project: Project) -> None:
    a = open_app("sara")
    b = open_app("omid")
    assert shown_sentence(a) != shown_sentence(b)
    # the same annotator reloading keeps their sentence
    assert shown_sentence(open_app("sara")) == shown_sentence(a)


def test_article_text_is_never_rendered_as_html(app_project: Project) -> None:
    text = "<script>alert('x')</script> is what the attacker wrote into this very long sentence today."
    (app_project.seeds_dir / "zz.txt").write_text(text + "\n")
    for f in app_project.seeds_dir.glob("0*.txt"):
        f.unlink()
    at = open_app()
    assert shown_sentence(at) == text  # sent as data; the card sets it with textContent (see test_browser)
    js = (Path(APP).parent / "components" / "card" / "card.js").read_text()
    assert "innerHTML" not in js and "insertAdjacentHTML" not in js and "outerHTML" not in js


def test_browse_filter_search_and_relabel(app_project: Project) -> None:
    at = open_app()
    card_send(at, topic=["energy"], na=("stance",))
    at.switch_page("views/browse.py").run()
    assert not at.exception
    df = at.dataframe(key="br_table").value
    assert len(df) == corpus_sentences(app_project)
    at.multiselect(key="br_topics").set_value(["energy"]).run()
    df = at.dataframe(key="br_table").value
    assert list(df["topic"]) == ["energy"] and list(df["annotator"]) == ["sara"]
    at.text_input(key="br_search").input("NO SUCH WORDS").run()
    assert len(at.dataframe(key="br_table").value) == 0
    at.text_input(key="br_search").input("").run()
    sid = store.read_log(app_project).rows[0]["sentence_id"]
    at.text_input(key="br_open_id").input(sid).run()
    # the editor starts from the sentence's current label; without accounts it saves under the session's name
    assert at.selectbox(key=f"br_topic_{sid}").value == "energy"
    at.selectbox(key=f"br_topic_{sid}").set_value("trade").run()
    press(at, "br_save")
    assert at.success[0].value == f"Saved the final label trade for {sid} as sara (adjudicated)."
    # sara's final label replaces her own annotation (one current label per sentence and annotator)
    assert [(r["topic"], r["stance"], r["source"]) for r in store.current_labels(app_project)] == [
        ("trade", "", "adjudicated")]
    # the table is refreshed: the row left the "energy" filter, and shows its new label without it
    assert at.dataframe(key="br_table").value.empty
    at.multiselect(key="br_topics").set_value(["trade"]).run()
    df = at.dataframe(key="br_table").value
    assert df[["sentence_id", "topic", "source"]].values.tolist() == [[sid, "trade", "adjudicated"]]


def test_data_versions_diff_and_exports(app_project: Project) -> None:
    at = open_app()
    card_send(at, topic=["trade"], na=("stance",))
    at.switch_page("views/data.py").run()
    at.text_input(key="data_note").input("first batch")
    at.button[0].click().run()  # the form's submit button
    assert not at.exception
    assert at.success[0].value == "Created version 1 with 1 labels."
    table = at.dataframe[0].value
    assert list(table["note"]) == ["first batch"] and list(table["check"]) == ["ok"]
    assert any(c.value == "1 → current: 0 added, 0 changed, 0 removed" for c in at.caption)
    assert store.read_manifest(app_project)[0]["rows"] == 1
    at.switch_page("views/annotate.py").run()
    card_send(at, topic=["energy"], na=("stance",))
    at.switch_page("views/data.py").run()
    assert any(c.value == "1 → current: 1 added, 0 changed, 0 removed" for c in at.caption)
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Download CSV", "Download CSV", "Gold CSV (topic)", "Gold JSONL (topic)",
                      "spaCy DocBin (topic)", "All labels CSV", "All labels JSONL"]


def test_upload_a_bad_label_file_shows_the_error(app_project: Project) -> None:
    at = open_app(page="views/data.py")
    at.file_uploader(key="data_labels").set_value(("my labels.csv", b"text,label\nhello,trade\n", "text/csv")).run()
    press(at, "data_import")
    assert at.error[0].value == ("my_labels.csv: nothing imported, 1 problem: missing column(s) topic, stance "
                                 "(found: text, label)")
    assert log_rows(app_project) == []
    bad = b"text,topic,stance\nhello there,weather,favor\n"
    at.file_uploader(key="data_labels").set_value(("l.csv", bad, "text/csv")).run()
    press(at, "data_import")
    assert at.error[0].value == "l.csv: nothing imported, 1 problem. Fix these rows and import the file again:"
    problems = at.dataframe[-1].value
    assert problems.to_dict("records") == [{"row": 2, "column": "topic", "value": "weather", "problem": (
        "unknown topic label 'weather' (known: trade, energy, security, diplomacy, sanctions_us, politics, "
        "society, other)")}]


def test_upload_a_good_label_file_and_articles(app_project: Project) -> None:
    at = open_app(page="views/data.py")
    good = b"text,topic,stance\nSome text not in the corpus.,trade,favor\n"
    at.file_uploader(key="data_labels").set_value(("good.csv", good, "text/csv")).run()
    press(at, "data_import")
    assert at.success[0].value == "Imported 1 label (annotators: import; 0 matched corpus sentences)."
    article = b"Iran and Iraq signed a new agreement on electricity exports on Monday.\n"
    at.file_uploader(key="data_articles").set_value([("../../evil name.txt", article, "text/plain"),
                                                      ("empty.txt", b"  \n", "text/plain")]).run()
    press(at, "data_add_articles")
    assert at.error[0].value == "empty.txt: not added: empty file"
    assert at.success[0].value == "Saved into seeds/: evil_name.txt"
    assert (app_project.seeds_dir / "evil_name.txt").read_bytes() == article


def test_dashboard_without_a_model(app_project: Project) -> None:
    at = open_app()
    card_send(at, topic=["trade"], stance=["favor"])
    at.switch_page("views/dashboard.py").run()
    assert not at.exception
    assert at.info[0].value == "No model trained yet: run `python -m train` to train one."
    n = corpus_sentences(app_project)
    assert at.caption[0].value == f"1 of {n} sentences labelled; 1 current label from 1 annotator"


def test_settings_page_saves_the_suggestion_mode(app_project: Project) -> None:
    at = open_app(page="views/settings.py")
    at.radio(key="set_mode").set_value("hidden")
    at.button[0].click().run()
    assert not at.exception
    assert at.success[0].value == "Settings saved."
    assert '"suggestion_mode": "hidden"' in app_project.settings_path.read_text()


def test_settings_keep_foreign_keys(app_project: Project) -> None:
    app_project.settings_path.write_text('{"spacy_model": "x"}')
    save_settings(app_project, Settings(queue_order="article"))
    text = app_project.settings_path.read_text()
    assert '"spacy_model": "x"' in text and '"queue_order": "article"' in text


def trained_project(project: Project) -> Project:
    """The project with the shipped starter labels and a model trained by `python -m train`."""
    import subprocess
    import sys

    try:
        import train
    except ImportError:
        pytest.skip("the train package is not importable yet")
    if not (Path(train.__file__).parent / "__main__.py").exists():
        pytest.skip("`python -m train` does not exist yet (the training part is being built)")
    import shutil

    shutil.copy(Path(APP).parent.parent / "labels" / "labels.csv", project.log_path)
    done = subprocess.run([sys.executable, "-m", "train", "--project", str(project.root)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return project


def test_accept_a_suggestion_records_the_model(app_project: Project) -> None:
    trained_project(app_project)
    save_settings(app_project, Settings(suggestion_mode="hint"))
    at = open_app()
    d = card_data(at)
    sug = d["suggestion"]
    assert sug["topic"] and 0 < sug["topic_prob"] <= 1 and sug["model"]
    stance, prob = sug["stance_by_topic"][""]
    assert sug["stance_by_topic"][sug["topic"]] == [stance, prob]
    assert "Shift+Enter: accept suggestion & next." in d["keys_help"]
    assert d["selection"] == {"topic": [], "stance": []} and not d["prefilled"]
    # what Shift+Enter sends: the suggestion, explicitly accepted
    card_send(at, topic=[sug["topic"]], stance=[stance], accept=True)
    row = [r for r in log_rows(app_project) if r["annotator"] == "sara"][0]
    assert (row["topic"], row["stance"]) == (sug["topic"], stance)
    assert row["source"] == "suggestion-accepted" and row["model_version"] == sug["model"]
    # the same choice made with the label keys and Enter is not an accept: shown, chosen independently
    d = card_data(at)
    sug = d["suggestion"]
    card_send(at, topic=[sug["topic"]], stance=[sug["stance_by_topic"][""][0]])
    row = [r for r in log_rows(app_project) if r["annotator"] == "sara"][-1]
    assert (row["source"], row["model_version"]) == ("manual", sug["model"])


def test_hidden_suggestions_leave_no_hint(app_project: Project) -> None:
    trained_project(app_project)
    save_settings(app_project, Settings(suggestion_mode="hidden"))
    d = card_data(open_app())
    assert d["suggestion"] is None and not d["accept"]
    assert "Shift+Enter" not in d["keys_help"] and "accept" not in [a["id"] for a in d["actions"]]


def test_preselected_suggestion_corrected(app_project: Project) -> None:
    trained_project(app_project)
    save_settings(app_project, Settings(suggestion_mode="preselect"))
    at = open_app()
    d = card_data(at)
    assert d["prefilled"] and len(d["selection"]["topic"]) == 1
    assert d["selection"]["topic"] == [d["suggestion"]["topic"]]
    other = next(n for n in ("trade", "energy") if n != d["selection"]["topic"][0])
    card_send(at, topic=[other], stance=d["selection"]["stance"])
    row = [r for r in log_rows(app_project) if r["annotator"] == "sara"][0]
    assert (row["topic"], row["source"]) == (other, "suggestion-corrected")


def test_disk_full_shows_label_not_saved_and_stays(app_project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_app()
    first = shown_sentence(at)

    def full_disk(fd: int, data: bytes) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store.os, "write", full_disk)  # the disk fills up before Save
    d = card_send(at, topic=["trade"], stance=["favor"])
    monkeypatch.undo()
    assert d["status"]["kind"] == "error" and "label NOT saved: No space left on device" in d["status"]["text"]
    assert d["text"] == first  # the page did not move on
    assert d["ack"]["seq"] == 1  # answered, so the browser keeps the card (and the choices) instead of resending
    assert log_rows(app_project) == []


def test_toggled_selection() -> None:
    from label_app.ui import toggled

    empty = {"topic": [], "stance": []}
    one = toggled(empty, "topic", "trade", multi=False)
    assert one == {"topic": ["trade"], "stance": []} and empty == {"topic": [], "stance": []}
    assert toggled(one, "topic", "energy", multi=False)["topic"] == ["energy"]
    assert toggled(one, "topic", "trade", multi=False)["topic"] == []
    two = toggled(one, "topic", "energy", multi=True)
    assert two["topic"] == ["trade", "energy"] and toggled(two, "topic", "trade", multi=True)["topic"] == ["energy"]
