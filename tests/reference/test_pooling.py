"""Pooling rules (:mod:`chemearth.reference.pooling`): the shipped file, its checks, and the
method class of every analysis of the shipped descriptors."""

from __future__ import annotations

import math
import os
import tomllib
from collections import Counter
from pathlib import Path

import pytest

from chemearth.errors import ChemearthError
from chemearth.grid.pool_plan import rules_digest
from chemearth.ingest.descriptor import load_descriptor
from chemearth.ingest.shipped import shipped_descriptors
from chemearth.reference.pooling import (
    DEFAULT_RULES_FILE,
    PoolingError,
    media_of,
    parse_rules,
    pooling_rules,
)

SHIPPED_TEXT = DEFAULT_RULES_FILE.read_text(encoding="utf-8")


def test_the_shipped_rules_parse() -> None:
    rules = pooling_rules()
    assert rules.source == str(DEFAULT_RULES_FILE)
    assert [g.id for g in rules.groups] == [
        "topsoil", "subsoil", "stream-sediment", "floodplain", "humus", "moss",
        "lake-sediment", "water"]
    assert rules.group("subsoil").media == ("c-horizon", "subsoil", "b-horizon")
    assert rules.group("topsoil").soil_max_bottom_cm == 30
    assert [c.id for c in rules.classes] == ["total", "aqua-regia", "nitric-acid", "ph-water",
                                            "loi"]
    assert rules.method_class("total").digestions == ("total", "near-total")
    assert rules.equivalences == ()
    assert media_of(rules, ["floodplain", "humus"]) == ["floodplain sediment",
                                                        "overbank sediment", "humus"]
    described = rules.describe()
    assert [g["id"] for g in described["groups"]] == [g.id for g in rules.groups]
    assert described["equivalences"] == []
    # the same text read again gives equal rules (and the cached object)
    assert pooling_rules(DEFAULT_RULES_FILE) is rules
    assert parse_rules(tomllib.loads(SHIPPED_TEXT), str(DEFAULT_RULES_FILE)) == rules


def test_unknown_group_or_class_names_the_choices() -> None:
    rules = pooling_rules()
    with pytest.raises(PoolingError, match="no medium group 'sediment'; groups: topsoil"):
        rules.group("sediment")
    with pytest.raises(PoolingError, match="no method class 'xrf'; classes: total"):
        rules.method_class("xrf")


def test_each_medium_is_in_at_most_one_group_of_the_shipped_file() -> None:
    doc = tomllib.loads(SHIPPED_TEXT)
    counts = Counter(m for g in doc["groups"].values() for m in g["media"])
    assert counts
    assert max(counts.values()) == 1, counts


#: The group of every medium the shipped descriptors declare (None: never pooled).
SHIPPED_MEDIA = {
    "topsoil": "topsoil",
    "subsoil": "subsoil",
    "c-horizon": "subsoil",
    "b-horizon": "subsoil",
    "humus": "humus",
    "moss": "moss",
    "floodplain sediment": "floodplain",
    "stream sediment": "stream-sediment",
    "soil": None,  # USGS NGS Illinois-Indiana: of unstated depth (topsoil only to 30 cm)
    "reference material": None,
    "unknown": None,
}


def test_every_shipped_medium_has_its_group() -> None:
    rules = pooling_rules()
    declared = set()
    for path in shipped_descriptors():
        desc = load_descriptor(path)
        declared.add(desc.dataset.medium)
        declared |= set(desc.sample.medium_map.values())
    assert declared == set(SHIPPED_MEDIA)
    for medium, group in SHIPPED_MEDIA.items():
        assert rules.group_of(medium) == group, medium
        in_groups = [g.id for g in rules.groups if medium in g.media]
        assert in_groups == ([] if group is None else [group]), medium


@pytest.mark.parametrize(("medium", "bottom_cm", "group"), [
    ("stream water", None, "water"),  # never pooled with solids: a group of its own
    ("lake sediment", None, "lake-sediment"),
    ("overbank sediment", None, "floodplain"),
    ("soil", 5.0, "topsoil"),
    ("soil", 30.0, "topsoil"),  # at most 30 cm
    ("soil", 30.5, None),
    ("soil", 75.0, None),
    ("soil", None, None),  # unstated depth: could be any horizon
    ("soil", math.nan, None),
    ("topsoil", 75.0, "topsoil"),  # a named medium keeps its group whatever the depth
    ("rock", None, None),
])
def test_group_of(medium: str, bottom_cm: float | None, group: str | None) -> None:
    assert pooling_rules().group_of(medium, bottom_cm=bottom_cm) == group


def test_media_are_preferred_in_their_listed_order() -> None:
    rules = pooling_rules()
    ranks = [rules.preference(m) for m in ("c-horizon", "subsoil", "b-horizon")]
    assert ranks == [0, 1, 2]
    assert rules.preference("soil") > max(ranks)


# ---------------------------------------------------------------------- classes

#: (method, digestion) of every analysis column of the shipped descriptors, an element it
#: is given for, and its method class (None: not pooled).
SHIPPED_METHODS = [
    ("XRF (total)", "total", "Cr", "total"),
    ("XRF (total), recalculated to element wt.%", "total", "Fe", "total"),
    ("XRF (total), reported as oxide", "total", "Fe2O3", "total"),
    ("INAA (instrumental neutron activation)", "total", "Ni", "total"),
    ("ICP-AES/ICP-MS after near-total four-acid digestion (HCl-HNO3-HClO4-HF)", "near-total",
     "Zn", "total"),  # near-total pools with total; the HNO3 in it is no nitric extraction
    ("ICP-AES after near-total four-acid digestion (USGS ICP-40)", "near-total", "Cu", "total"),
    ("hydride-generation AAS after sodium peroxide-sodium hydroxide fusion", "total", "As",
     "total"),
    ("CVAAS (cold-vapour atomic absorption) after HNO3-sodium dichromate digestion",
     "near-total", "Hg", "total"),
    ("CHN analyser (combustion)", "total", "C", "total"),
    ("combustion (total carbon analyser)", "total", "C", "total"),
    ("coulometric titration of CO2 evolved by acid (carbonate carbon)", "total", "C_inorg",
     "total"),
    ("total C minus inorganic C (by difference)", "total", "C_org", "total"),
    ("aqua regia extraction; ICP-AES or graphite-furnace AAS", "aqua-regia", "Ni",
     "aqua-regia"),
    ("aqua regia extraction; cold-vapour AAS", "aqua-regia", "Hg", "aqua-regia"),
    ("AAS after aqua regia digestion", "aqua-regia", "Cd", "aqua-regia"),
    ("HNO3 digestion; ICP-AES/ICP-MS", "partial", "Cu", "nitric-acid"),
    ("CV-AAS after HNO3 digestion", "partial", "Hg", "nitric-acid"),
    ("AAS after HNO3 extraction", "partial", "Pb", "nitric-acid"),
    ("pH in water suspension", "unknown", "pH", "ph-water"),
    ("loss on ignition", "unknown", "LOI", "loi"),
    ("electrical conductivity of a water extract", "unknown", "EC", None),  # water, not pH
    ("dissolved (filtered water)", "unknown", "Cu", None),
    ("dissolved (filtered water), USGS NAWQA", "unknown", "As", None),
    ("hydride-generation AAS", "unknown", "Se", None),  # digestion not stated
    ("grain size analysis", "unknown", "clay", None),
    ("not documented", "unknown", "Cd", None),
    ("not documented in the package copy (total-level values, not aqua regia)", "unknown",
     "Rb", None),
    ("stream-sediment survey 1996 (before the wildfires)", "unknown", "Pb", None),
    ("stream-sediment survey 2001 (after the wildfires)", "unknown", "Pb", None),
    ("", "unknown", "Cu", None),  # quality-control files without a method
]


@pytest.mark.parametrize(("method", "digestion", "element", "cls"), SHIPPED_METHODS,
                         ids=[f"{m[:30] or 'none'}-{e}" for m, _, e, _ in SHIPPED_METHODS])
def test_class_of_the_shipped_methods(method: str, digestion: str, element: str,
                                      cls: str | None) -> None:
    rules = pooling_rules()
    assert rules.class_of(element, method, digestion) == cls
    assert rules.pooled_class(element, method, digestion) == cls


def test_the_table_covers_every_analysis_of_the_shipped_descriptors() -> None:
    rules = pooling_rules()
    table = {(m, d): cls for m, d, _, cls in SHIPPED_METHODS}
    seen = set()
    for path in shipped_descriptors():
        for col in load_descriptor(path).columns:
            key = (col.method, col.digestion)
            assert key in table, (path.name, col.column, key)
            assert rules.class_of(col.element, col.method, col.digestion) == table[key], (
                path.name, col.column)
            seen.add(key)
    assert seen == set(table)


@pytest.mark.parametrize(("element", "method", "digestion", "cls"), [
    ("pH", "pH (H2O)", "unknown", "ph-water"),
    ("pH", "pH in 0.01 M CaCl2", "unknown", None),  # not water: not pooled with pH in water
    ("EC", "electrical conductivity of a water extract", "unknown", None),
    ("LOI", "loss on ignition at 1000 C", "unknown", "loi"),
    ("Cu", "loss on ignition", "unknown", None),  # the class is for LOI only
    ("Cu", "EDTA extraction", "partial", None),  # partial, but not nitric acid
    ("Cu", "hno3 extraction", "partial", None),  # the pattern is case-sensitive
    ("Ni", "XRF", "total", "total"),
    ("Ni", "XRF", "", None),  # an empty digestion is "unknown"
    ("Ni", "", None, None),  # no digestion: "unknown"
])
def test_class_of_made_up_columns(element: str, method: str, digestion: str | None,
                                  cls: str | None) -> None:
    assert pooling_rules().class_of(element, method, digestion) == cls  # type: ignore[arg-type]


# ---------------------------------------------------------------------- equivalences

EQUIVALENCE = """
[[equivalences]]
element = "Hg"
from = "aqua-regia"
to = "total"
reason = "aqua regia extracts Hg completely from these soils"
"""


def test_an_equivalence_moves_one_elements_class(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(SHIPPED_TEXT + EQUIVALENCE, encoding="utf-8")
    rules, shipped = pooling_rules(path), pooling_rules()
    hg = ("Hg", "aqua regia extraction; cold-vapour AAS", "aqua-regia")
    cu = ("Cu", "aqua regia extraction; ICP-AES or graphite-furnace AAS", "aqua-regia")
    assert rules.class_of(*hg) == "aqua-regia"  # before equivalences
    assert rules.pooled_class(*hg) == "total"
    assert shipped.pooled_class(*hg) == "aqua-regia"
    assert rules.pooled_class(*cu) == "aqua-regia"  # other elements keep their class
    assert rules.pooled_class("Hg", "HNO3 digestion; ICP-AES/ICP-MS", "partial") == \
        "nitric-acid"  # only from the class it names
    assert rules.describe()["equivalences"] == [{
        "element": "Hg", "from": "aqua-regia", "to": "total",
        "reason": "aqua regia extracts Hg completely from these soils"}]
    assert rules.source == str(path)
    # a change of rules is a change of every pooled layer
    assert rules_digest(rules) != rules_digest(shipped)
    assert rules_digest(pooling_rules(path)) == rules_digest(rules)


def test_an_edited_rules_file_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(SHIPPED_TEXT, encoding="utf-8")
    first = pooling_rules(path)
    assert first.equivalences == ()
    path.write_text(SHIPPED_TEXT + EQUIVALENCE, encoding="utf-8")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert len(pooling_rules(path).equivalences) == 1


# ---------------------------------------------------------------------- bad files

BAD = [
    ("not toml", "[groups.topsoil\nmedia = 1", ""),
    ("medium twice", '[groups.a]\nmedia = ["topsoil"]\n[groups.b]\nmedia = ["moss", "topsoil"]',
     "[groups.b]: medium 'topsoil' is already in group 'a'"),
    ("media empty", "[groups.a]\nmedia = []", "[groups.a]: media is empty"),
    ("media not strings", "[groups.a]\nmedia = [1]",
     "[groups.a]: media must be a list of strings"),
    ("media a string", '[groups.a]\nmedia = "topsoil"',
     "[groups.a]: media must be a list of strings"),
    ("class without id", '[[classes]]\nid = "total"\ndigestions = ["total"]\n'
     '[[classes]]\ndigestions = ["partial"]', "[[classes]] #2: no id"),
    ("bad pattern", '[[classes]]\nid = "x"\ndigestions = ["partial"]\nmethod_pattern = "HNO3("',
     "[[classes]] #1: method_pattern 'HNO3('"),
    ("digestions not strings", '[[classes]]\nid = "x"\ndigestions = "total"',
     "[[classes]] #1: digestions must be a list of strings"),
    ("equivalence without reason", '[[classes]]\nid = "total"\ndigestions = ["total"]\n'
     '[[equivalences]]\nelement = "Hg"\nfrom = "total"\nto = "total"',
     "[[equivalences]] #1: missing reason"),
    ("groups not a table", "groups = 1", "[groups]: must be a table"),
    ("group not a table", '[groups]\na = "topsoil"', "[groups.a]: must be a table"),
    ("depth not a number", '[groups.a]\nmedia = ["topsoil"]\nsoil_max_bottom_cm = "deep"',
     "[groups.a]: soil_max_bottom_cm must be a number"),
    ("classes not an array", 'classes = "total"',
     "classes: must be an array of tables ([[classes]])"),
    ("class not a table", "classes = [1]", "[[classes]] #1: must be a table"),
    ("equivalence not a table", 'equivalences = ["Hg"]', "[[equivalences]] #1: must be a table"),
    ("equivalence to no class", '[[classes]]\nid = "total"\ndigestions = ["total"]\n'
     '[[equivalences]]\nelement = "Hg"\nfrom = "total"\nto = "aqua-regia"\nreason = "r"',
     "[[equivalences]] #1: to = 'aqua-regia' is not a class (total)"),
]


@pytest.mark.parametrize(("text", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_rules_name_the_file_and_the_entry(tmp_path: Path, text: str,
                                               message: str) -> None:
    path = tmp_path / "bad-rules.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PoolingError) as info:
        pooling_rules(path)
    assert str(path) in str(info.value)
    assert message in str(info.value)
    assert isinstance(info.value, ChemearthError)
    assert isinstance(info.value, ValueError)


def test_a_missing_rules_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    with pytest.raises(PoolingError) as info:
        pooling_rules(path)
    assert str(path) in str(info.value)
