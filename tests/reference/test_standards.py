"""Standards as data: the shipped files against the published tables in the shared data."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chemearth.errors import NotFoundError
from chemearth.reference.standards import (
    INDETERMINATE,
    PhBand,
    StandardError,
    available_standards,
    get_standard,
    load_standard,
)

#: GB 15618-2018 bands as the published table names them, with pH values inside each
#: band, at its edges (5.5, 6.5, 7.5 belong to the band below) and just past them.
GB2018_PH = [
    (4.0, "ph_le_5.5"), (5.5, "ph_le_5.5"), (5.5001, "ph_5.5_6.5"), (6.0, "ph_5.5_6.5"),
    (6.5, "ph_5.5_6.5"), (6.5001, "ph_6.5_7.5"), (7.5, "ph_6.5_7.5"), (7.5001, "ph_gt_7.5"),
    (9.0, "ph_gt_7.5"),
]
BANDS_2018 = ["ph_le_5.5", "ph_5.5_6.5", "ph_6.5_7.5", "ph_gt_7.5"]


def _published(data_dir: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(data_dir / "standards" / name)


def _land_uses(element: str, land_use: str) -> list[str]:
    """The shipped land uses a row of the published GB 15618-2018 table stands for.

    "other" is every land use without a row of its own: orchards for every element
    but Cu, paddy fields for Cu.
    """
    if land_use == "all":
        return ["paddy", "orchard", "other"]
    if land_use == "other":
        return ["other", "paddy" if element == "Cu" else "orchard"]
    return [land_use]


def test_shipped_standards_load() -> None:
    found = available_standards()
    assert sorted(found) == ["ccme-2007", "dutch-2000", "gb15618-1995", "gb15618-2018",
                             "gb36600-2018"]
    for s in found.values():
        assert s.citation
        assert s.title
        assert len(s.classes) == len(s.levels) + 1


@pytest.mark.parametrize(("ph", "column"), GB2018_PH)
def test_gb15618_2018_screening_table(data_dir: Path, ph: float, column: str) -> None:
    gb = get_standard("gb15618-2018")
    table = _published(data_dir, "gb15618_2018_screening.csv")
    for _, row in table.iterrows():
        for lu in _land_uses(row["element"], row["land_use"]):
            got = gb.limit(row["element"], "screening", land_use=lu, ph=ph)
            assert got == row[column], (row["element"], lu, ph)


@pytest.mark.parametrize(("ph", "column"), GB2018_PH)
def test_gb15618_2018_control_table(data_dir: Path, ph: float, column: str) -> None:
    gb = get_standard("gb15618-2018")
    for _, row in _published(data_dir, "gb15618_2018_control.csv").iterrows():
        for lu in ("paddy", "orchard", "other"):
            assert gb.limit(row["element"], "control", land_use=lu, ph=ph) == row[column]
    for element in ("Cu", "Ni", "Zn"):  # no control value
        assert math.isnan(gb.limit(element, "control", ph=ph))


def test_missing_ph_takes_the_most_protective_band(data_dir: Path) -> None:
    gb = get_standard("gb15618-2018")
    for _, row in _published(data_dir, "gb15618_2018_screening.csv").iterrows():
        lu = _land_uses(row["element"], row["land_use"])[0]
        want = min(row[c] for c in BANDS_2018)
        assert gb.limit(row["element"], "screening", land_use=lu, ph=None) == want
        assert gb.limit(row["element"], "screening", land_use=lu, ph=float("nan")) == want
    c = gb.classify("Pb", [75.0, 95.0], ph=[np.nan, 6.0])
    assert c.ph_assumed.tolist() == [True, False]
    assert c.limits["screening"].tolist() == [70.0, 90.0]
    assert c.class_index.tolist() == [1, 1]


#: value, pH, expected class for Cd on other land (screening 0.3/0.3/0.3/0.6,
#: control 1.5/2.0/3.0/4.0): at a limit is at or below it.
CD_CASES = [
    (0.3, 5.5, 0), (0.3001, 5.5, 1), (1.5, 5.5, 1), (1.5001, 5.5, 2),
    (2.0, 6.5, 1), (2.0001, 6.5, 2), (3.0, 7.5, 1), (3.0001, 7.5, 2),
    (0.6, 7.5001, 0), (0.61, 7.6, 1), (4.0, 8.0, 1), (4.01, 8.0, 2),
    (0.31, float("nan"), 1), (1.51, float("nan"), 2),
]


@pytest.mark.parametrize(("value", "ph", "expected"), CD_CASES)
def test_gb15618_2018_classes_at_edges(value: float, ph: float, expected: int) -> None:
    gb = get_standard("gb15618-2018")
    c = gb.classify("Cd", [value], ph=[ph], land_use="other")
    assert int(c.class_index[0]) == expected


def test_no_control_value_caps_the_class() -> None:
    gb = get_standard("gb15618-2018")
    c = gb.classify("Ni", [10_000.0], ph=[6.0])
    assert gb.classes[int(c.class_index[0])] == "safe utilisation"
    assert c.above["control"].tolist() == [-2]


def test_censored_values() -> None:
    gb = get_standard("gb15618-2018")
    # <0.2 is below a 0.3 limit; <0.5 may or may not be
    c = gb.classify("Cd", [0.2, 0.5, 0.5], censored=[True, True, False], ph=6.0)
    assert c.class_index.tolist() == [0, INDETERMINATE, 1]
    assert c.above["screening"].tolist() == [0, -1, 1]


@pytest.mark.parametrize(("ph", "column"), [(6.0, "class2_ph_lt_6.5"), (6.5, "class2_ph_6.5_7.5"),
                                             (7.5, "class2_ph_6.5_7.5"),
                                             (7.6, "class2_ph_gt_7.5")])
def test_gb15618_1995_table(data_dir: Path, ph: float, column: str) -> None:
    s = get_standard("gb15618-1995")
    lu_of = {"all": "dryland", "farmland": "paddy", "paddy": "paddy", "dryland": "dryland",
             "orchard": "orchard"}
    for _, row in _published(data_dir, "gb15618_1995.csv").iterrows():
        lu = lu_of[row["land_use"]]
        assert s.limit(row["element"], "class2", land_use=lu, ph=ph) == row[column]
        want3 = row["class3_ph_gt_6.5"] if ph >= 6.5 else float("nan")  # see the file's notes
        got3 = s.limit(row["element"], "class3", land_use=lu, ph=ph)
        assert got3 == want3 or (math.isnan(got3) and math.isnan(want3))
        if not math.isnan(row["class1_background"]):
            assert s.limit(row["element"], "class1", land_use=lu, ph=ph) == row["class1_background"]


def test_gb36600_ccme_dutch_tables(data_dir: Path) -> None:
    s = get_standard("gb36600-2018")
    for _, row in _published(data_dir, "gb36600_2018_construction.csv").iterrows():
        for k in (1, 2):
            for level in ("screening", "control"):
                want = row[f"{level}_class{k}"]
                assert s.limit(row["element"], level, land_use=f"class{k}") == want
    s = get_standard("ccme-2007")
    for _, row in _published(data_dir, "ccme_2007_soil.csv").iterrows():
        for lu in ("agricultural", "residential_parkland", "commercial", "industrial"):
            assert s.limit(row["element"], "guideline", land_use=lu) == row[lu]
    s = get_standard("dutch-2000")
    for _, row in _published(data_dir, "dutch_2000_target_intervention.csv").iterrows():
        assert s.limit(row["element"], "target") == row["target"]
        assert s.limit(row["element"], "intervention") == row["intervention"]
        assert s.classify(row["element"], [row["intervention"] * 1.01]).class_index[0] == 2


USER_FILE = """
id = "my-limits"
title = "A survey's own action levels"
citation = "Example Survey (2026). Action levels."
unit = "ug/kg"
ph_bands = ["pH < 6", "pH >= 6"]
levels = ["action"]
classes = ["fine", "act"]

[[limits]]
level = "action"
element = "Hg"
values = [300, 500]
"""


def test_user_standard_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "standards").mkdir()
    path = tmp_path / "standards" / "my-limits.toml"
    path.write_text(USER_FILE)
    s = load_standard(path)
    assert s.limit("Hg", "action", ph=6.0) == pytest.approx(0.5)  # µg/kg -> mg/kg
    assert s.limit("Hg", "action", ph=5.99) == pytest.approx(0.3)
    assert "my-limits" in available_standards(home=tmp_path)
    assert get_standard("my-limits", home=tmp_path).citation.startswith("Example")
    assert get_standard(str(path)).id == "my-limits"
    with pytest.raises(NotFoundError, match="my-limits"):
        get_standard("my-limits")


@pytest.mark.parametrize(("edit", "message"), [
    (("values = [300, 500]", "values = [300]"), "1 values for 2 pH bands"),
    (('element = "Hg"', 'element = "Xx"'), "unknown element 'Xx'"),
    (('["pH < 6", "pH >= 6"]', '["pH < 6", "pH > 6"]'), "must meet at one edge"),
    (('["pH < 6", "pH >= 6"]', '["pH <= 6", "pH >= 6"]'), "must meet at one edge"),
    (('unit = "ug/kg"', 'unit = "pH"'), "not a mass fraction"),
    (('classes = ["fine", "act"]', 'classes = ["fine"]'), "needs 2 names"),
    (('level = "action"', 'level = "acton"'), "level 'acton' is not in levels"),
    (("id =", "idd ="), "idd: unknown key"),
])
def test_bad_standard_files(tmp_path: Path, edit: tuple[str, str], message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(USER_FILE.replace(*edit))
    with pytest.raises(StandardError, match=message) as info:
        load_standard(path)
    assert str(path) in str(info.value)


def test_decreasing_levels_are_refused(tmp_path: Path) -> None:
    text = USER_FILE.replace('levels = ["action"]', 'levels = ["action", "urgent"]').replace(
        'classes = ["fine", "act"]', 'classes = ["fine", "act", "urgent"]'
    ) + '\n[[limits]]\nlevel = "urgent"\nelement = "Hg"\nvalues = [200, 900]\n'
    path = tmp_path / "order.toml"
    path.write_text(text)
    with pytest.raises(StandardError, match="urgent limit 200 is below the action limit 300"):
        load_standard(path)


@pytest.mark.parametrize(("text", "inside", "outside"), [
    ("pH <= 5.5", [5.5, 3.0], [5.50001]),
    ("5.5 < pH <= 6.5", [5.50001, 6.5], [5.5, 6.50001]),
    ("6.5 <= pH <= 7.5", [6.5, 7.5], [6.49999, 7.50001]),
    ("pH > 7.5", [7.50001], [7.5, float("nan")]),
])
def test_ph_band_edges(text: str, inside: list[float], outside: list[float]) -> None:
    band = PhBand.parse(text)
    assert band.contains(np.array(inside)).all()
    assert not band.contains(np.array(outside)).any()
