"""Schema loading and validation: messages name the file, the key and the problem."""

from __future__ import annotations

import pytest
from conftest import REPO

from label_app.errors import SchemaError, UnknownLabel
from label_app.schema import load_schema, parse_schema

GOOD = """
[topic]
labels = [ { name = "trade", key = "1" }, { name = "other", key = "0" } ]
[stance]
target = "x"
labels = [ { name = "favor", key = "f" }, { name = "against", key = "a" } ]
"""


def test_shipped_schema_loads():
    s = load_schema(REPO / "labels" / "schema.toml")
    assert "other" in s.topic.names and s.stance.target == "closer Iran–Iraq ties"
    assert s.stance.names == ["favor", "against", "neutral"]
    assert all(lab.description for t in s.tasks for lab in t.labels)


@pytest.mark.parametrize(
    "text, message",
    [
        ("[topic]\nlabels = [\n", "s.toml: not valid TOML"),
        (GOOD.replace("[stance]", "[stanse]"), "s.toml: [stanse]: unknown section (allowed: topic, stance)"),
        ("[topic]\nlabels=[{name='a'}]\n", "s.toml: [stance]: section is missing"),
        (GOOD.replace('labels = [ { name = "trade", key = "1" }, { name = "other", key = "0" } ]', ""),
         "s.toml: [topic].labels: is missing"),
        (GOOD.replace('name = "other"', 'name = "trade"'), "s.toml: [topic].labels[1].name: duplicate label 'trade'"),
        (GOOD.replace('key = "0"', 'key = "Enter"'),
         "s.toml: [topic].labels[1].key: 'Enter' must be one lower-case letter or digit"),
        (GOOD.replace('key = "a"', 'key = "1"'),
         "s.toml: [stance].labels[1].key: key '1' is already used by topic label 'trade'"),
        (GOOD.replace('{ name = "favor", key = "f" }', '{ name = "favor", colour = "red" }'),
         "s.toml: [stance].labels[0].colour: unknown key (allowed: description, key, name)"),
        (GOOD.replace('name = "favor"', 'name = "fa|vor"'), "s.toml: [stance].labels[0].name: 'fa|vor' is not a valid"),
        (GOOD.replace("[topic]", "[topic]\nmulti_label = 'yes'"), "s.toml: [topic].multi_label: must be true or false"),
        (GOOD.replace('labels = [ { name = "favor"', 'labels = [] #'), "s.toml: [stance].labels: must be a non-empty"),
    ],
)
def test_schema_errors_name_key_and_problem(text, message):
    with pytest.raises(SchemaError) as err:
        parse_schema(text, "s.toml")
    assert str(err.value).startswith(message)


def test_missing_schema_file(tmp_path):
    with pytest.raises(SchemaError, match="schema file not found"):
        load_schema(tmp_path / "nope.toml")


def test_normalise_labels():
    s = parse_schema(GOOD.replace("[topic]", "[topic]\nmulti_label = true"))
    assert s.topic.normalise("other|trade") == "trade|other"
    assert s.stance.normalise("") == ""
    with pytest.raises(UnknownLabel, match="unknown stance label 'maybe'"):
        s.stance.normalise("maybe")
    with pytest.raises(UnknownLabel, match="stance takes one label"):
        parse_schema(GOOD).stance.normalise("favor|against")


def test_fingerprint_changes_with_labels():
    a = parse_schema(GOOD)
    b = parse_schema(GOOD.replace('"other"', '"misc"'))
    assert a.fingerprint() != b.fingerprint()
    assert a.fingerprint() == parse_schema(GOOD.replace('target = "x"', 'target = "y"')).fingerprint()
