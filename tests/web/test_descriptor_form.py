"""The upload form's fields written into a descriptor's TOML: only the statements edited
change, whatever the TOML around them looks like."""

from __future__ import annotations

import tomllib

import pytest

from chemearth.errors import DescriptorError
from chemearth.web.descriptor_form import apply_fields, form_fields, to_decide, toml_value

#: Hand-written TOML with the shapes a line editor gets wrong: a "#" and "=" in strings, a
#: multi-line array and strings of both kinds (holding "[x]" lines), a key put out of use,
#: a column written as its own table, and no newline at the end.
TRICKY = '''# a survey   # with a comment in a comment
[dataset]
id = "tricky"
title = "Cu # not a comment = not a key"   # a real comment
organisation = 'Survey of "X"'
notes = """
[coordinates]
crs = "EPSG:1"
"""
countries = [
  "NO",   # Norway
  "FI",
]
citation = \'\'\'a
[columns]
b\'\'\'

[coordinates]
x = "x"
y = "y"
# crs = ""   # TO DECIDE

[columns]
"Cu ppm" = "Cu"
zinc = { element = "Zn", method = "ICP-MS" }   # zinc, as published

[columns."lead [ppm]"]
element = "Pb"
unit = "ppm"'''


def test_the_tricky_text_is_valid_toml() -> None:
    doc = tomllib.loads(TRICKY)
    assert "crs" not in doc["coordinates"]
    assert doc["dataset"]["notes"].startswith("[coordinates]")


def test_fields_are_read() -> None:
    fields = form_fields(TRICKY)
    assert fields is not None
    assert fields["title"] == "Cu # not a comment = not a key"
    assert fields["organisation"] == 'Survey of "X"'
    assert fields["countries"] == ["NO", "FI"]
    assert fields["crs"] == ""
    assert (fields["x"], fields["y"]) == ("x", "y")
    assert [(c["column"], c["element"], c["unit"]) for c in fields["columns"]] == [
        ("Cu ppm", "Cu", ""), ("zinc", "Zn", ""), ("lead [ppm]", "Pb", "ppm")]
    assert form_fields("[dataset\n") is None


def test_every_field_is_written_and_nothing_else_changes() -> None:
    edits = {"id": "tricky-2", "title": 'a "quoted" # title', "organisation": "NGU",
             "countries": "SE, NO", "crs": "EPSG:32635", "citation": "short",
             "medium": "moss", "encoding": "none",
             "columns": [{"column": "Cu ppm", "unit": "ppm"},
                         {"column": "zinc", "element": "Zn", "unit": "mg/kg"},
                         {"column": "lead [ppm]", "unit": ""},
                         {"column": "Ni", "element": "Ni"}]}
    out = apply_fields(TRICKY, edits)
    doc = tomllib.loads(out)
    ds = doc["dataset"]
    assert (ds["id"], ds["title"], ds["organisation"]) == ("tricky-2", 'a "quoted" # title', "NGU")
    assert (ds["countries"], ds["citation"], ds["medium"]) == (["SE", "NO"], "short", "moss")
    assert ds["notes"] == tomllib.loads(TRICKY)["dataset"]["notes"]  # "[coordinates]" inside
    assert doc["coordinates"] == {"x": "x", "y": "y", "crs": "EPSG:32635"}
    assert doc["censoring"] == {"encoding": "none"}  # a new table
    assert doc["columns"] == {
        "Cu ppm": {"element": "Cu", "unit": "ppm"},
        "zinc": {"element": "Zn", "method": "ICP-MS", "unit": "mg/kg"},
        "lead [ppm]": {"element": "Pb"},
        "Ni": {"element": "Ni"},
    }
    lines = out.splitlines()
    assert 'title = "a \\"quoted\\" # title"   # a real comment' in lines
    assert lines[0] == "# a survey   # with a comment in a comment"
    assert '"zinc" = { element = "Zn", method = "ICP-MS", unit = "mg/kg" }   # zinc, as published' \
        in lines
    assert "# crs = \"\"   # TO DECIDE" not in lines  # the key put out of use is set instead
    assert not out.endswith("\n")


def test_empty_optional_fields_remove_their_key_and_an_empty_element_drops_a_column() -> None:
    out = apply_fields(TRICKY, {"countries": [], "crs": "",
                                "columns": [{"column": "zinc", "element": ""}]})
    doc = tomllib.loads(out)
    assert "countries" not in doc["dataset"]
    assert "zinc" not in doc["columns"]
    assert "# zinc, as published" not in out
    assert "Norway" not in out  # the whole multi-line statement went


def test_an_unchanged_form_leaves_the_text_as_it_was() -> None:
    assert apply_fields(TRICKY, {}) == TRICKY
    fields = form_fields(TRICKY)
    assert fields is not None
    same = {k: fields[k] for k in ("id", "organisation", "countries")}
    assert tomllib.loads(apply_fields(TRICKY, same)) == tomllib.loads(TRICKY)


@pytest.mark.parametrize(
    ("fields", "words"),
    [({"colour": "red"}, "unknown"), ({"title": 3}, "expected text"),
     ({"countries": [1]}, "list of texts"), ({"columns": "Cu"}, "list"),
     ({"decided": "set the CRS"}, "list of texts"),
     ({"columns": [{"column": "zinc", "unit": 5}]}, "'column'"),
     ({"columns": [{"column": "new"}]}, "give its element"),
     ({"columns": [{"column": "lead [ppm]", "element": ""}]}, "own table")],
)
def test_bad_fields_are_refused(fields: dict[str, object], words: str) -> None:
    with pytest.raises(DescriptorError, match=words):
        apply_fields(TRICKY, fields)


def test_a_text_that_is_not_toml_is_refused() -> None:
    with pytest.raises(DescriptorError, match="not valid TOML"):
        apply_fields("[dataset\n", {"title": "x"})


@pytest.mark.parametrize("value", ["tab\there", "del\x7fete", "\u00e9t\u00e9 \u4e2d\u6587",
                                   'q"q', "back\\slash", "nul\x00"])
def test_any_text_is_written_as_a_valid_toml_string(value: str) -> None:
    assert tomllib.loads(f"v = {toml_value(value)}")["v"] == value


PROPOSED = """# Descriptor proposed by `chemearth describe` for s.csv.
# Review every line, then:
#   chemearth check s.csv -d s.toml
#
# TO DECIDE before it can be ingested:
#   - set [coordinates].crs for x/y
#   - confirm the limit behind 2.5 in Cu

[dataset]
id = "s"   # - not an item
"""


def test_decided_items_leave_the_to_decide_block() -> None:
    items = ["set [coordinates].crs for x/y", "confirm the limit behind 2.5 in Cu"]
    assert to_decide(PROPOSED) == items
    fields = form_fields(PROPOSED)
    assert fields is not None
    assert fields["to_decide"] == items
    one = apply_fields(PROPOSED, {"decided": [items[0]]})
    assert to_decide(one) == items[1:]
    assert one == PROPOSED.replace(f"#   - {items[0]}\n", "")
    none = apply_fields(one, {"decided": [items[1], "not an item"]})
    assert to_decide(none) == []
    head = PROPOSED.split("#\n# TO DECIDE", maxsplit=1)[0]
    assert none == head + '\n[dataset]\nid = "s"   # - not an item\n'
    assert apply_fields(none, {"decided": items}) == none
