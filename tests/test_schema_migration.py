"""A schema change that would orphan existing labels is refused with the list, or mapped with --rename."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_cli
from streamlit.testing.v1 import AppTest

from label_app import store
from label_app.errors import SchemaMismatch
from label_app.schema import load_schema
from label_app.store import LabelRow

APP = str(Path(__file__).resolve().parent.parent / "label_app" / "app.py")


@pytest.fixture
def renamed(project, schema):
    """Labels using 'trade' and 'favor', then a schema where they became 'commerce' and 'support'."""
    store.append_label(project, schema, LabelRow("s1", "one", "ann", topic="trade", stance="favor"))
    store.append_label(project, schema, LabelRow("s2", "two", "ann", topic="trade", stance="neutral"))
    store.append_label(project, schema, LabelRow("s2", "two", "bob", topic="energy", stance="favor"))
    text = project.schema_path.read_text("utf-8")
    text = text.replace('name = "trade"', 'name = "commerce"').replace('name = "favor"', 'name = "support"')
    project.schema_path.write_text(text, "utf-8")
    return project


def test_orphaning_change_is_refused_with_the_list(renamed):
    schema = load_schema(renamed.schema_path)
    with pytest.raises(SchemaMismatch) as err:
        store.check_fits_schema(renamed, schema)
    assert str(err.value) == (
        f"{renamed.schema_path}: 4 current labels use labels the schema no longer has: stance 'favor' (2), "
        "topic 'trade' (2). Put them back in the schema, or map them: python -m label_app migrate-schema "
        "--rename stance:favor=NEW --rename topic:trade=NEW"
    )
    res = run_cli("migrate-schema", "--project", str(renamed.root))
    assert res.returncode == 1 and res.stderr.startswith("error: ") and "topic 'trade' (2)" in res.stderr
    res = run_cli("--project", str(renamed.root), "--quiet", module="train")
    assert res.returncode == 1 and "use labels the schema no longer has" in res.stderr


def test_app_says_what_is_wrong(renamed, monkeypatch):
    monkeypatch.setenv("LABEL_APP_PROJECT", str(renamed.root))
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["annotator"] = "sara"
    at.run()
    assert not at.exception
    assert "use labels the schema no longer has" in at.error[0].value


def test_rename_maps_old_names_and_keeps_history(renamed):
    before = len(store.read_log(renamed).rows)
    res = run_cli("migrate-schema", "--rename", "trade=commerce", "--rename", "stance:favor=support",
                  "--project", str(renamed.root))
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == f"relabelled 3 current labels to fit {renamed.schema_path}"
    cur = {(r["sentence_id"], r["annotator"]): (r["topic"], r["stance"]) for r in store.current_labels(renamed)}
    assert cur == {("s1", "ann"): ("commerce", "support"), ("s2", "ann"): ("commerce", "neutral"),
                   ("s2", "bob"): ("energy", "support")}
    assert len(store.read_log(renamed).rows) == before + 3  # appended, nothing rewritten
    assert run_cli("migrate-schema", "--project", str(renamed.root)).returncode == 0


def test_partial_or_bad_renames_change_nothing(renamed):
    schema = load_schema(renamed.schema_path)
    before = renamed.log_path.read_bytes()
    with pytest.raises(SchemaMismatch, match="stance 'favor' \\(2\\)"):
        store.migrate_labels(renamed, schema, store.parse_renames(["trade=commerce"], schema))
    with pytest.raises(SchemaMismatch, match="--rename 'trade=weather': 'weather' is not a label in"):
        store.parse_renames(["trade=weather"], schema)
    with pytest.raises(SchemaMismatch, match="use OLD=NEW or TASK:OLD=NEW"):
        store.parse_renames(["trade"], schema)
    assert renamed.log_path.read_bytes() == before


def test_import_with_extra_columns_names_them(project, tmp_path):
    f = tmp_path / "extra.csv"
    f.write_text("text,topic,stance,confidence,notes\nhello there,trade,favor,0.9,x\n", "utf-8")
    res = run_cli("import-labels", str(f), "--project", str(project.root))
    assert res.returncode == 0, res.stderr
    assert "  ignored columns: confidence, notes" in res.stdout.splitlines()
