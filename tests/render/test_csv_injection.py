"""CSV downloads cannot carry spreadsheet formulas (OWASP "CSV injection").

A text cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return is written
with a leading single quote; numbers (the negative detection limits of sample CSVs
among them) and every other text are written unchanged, and the readers undo it.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from chemearth.render.export import (
    FORMULA_TRIGGERS,
    csv_safe,
    csv_safe_frame,
    csv_unsafe,
    read_atlas_csv,
    write_atlas_csv,
)
from chemearth.render.sample_export import read_samples_csv, samples_wide, write_samples_csv

#: Text a spreadsheet would run, as sample ids of a real survey.
PAYLOADS = (
    "=HYPERLINK(\"http://evil.example\",\"x\")",
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1",
    "\r=1",
    "'=already quoted",
)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=1+2", "'=1+2"),
        ("+1", "+1"),  # a number
        ("+cmd", "'+cmd"),
        ("-1.5", "-1.5"),  # a negative number (the CSV's "below the detection limit")
        ("-0", "-0"),
        ("-1e-05", "-1e-05"),
        ("-.5", "-.5"),
        ("-", "'-"),
        ("-inf", "'-inf"),
        ("-1.5 mg/kg", "'-1.5 mg/kg"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("'=x", "''=x"),
        ("<0.5", "<0.5"),
        ("0.5", "0.5"),
        ("Cu", "Cu"),
        ("mg/kg", "mg/kg"),
        ("", ""),
        ("# citation: Doe (2024)", "# citation: Doe (2024)"),
        ("a=b", "a=b"),
        (-1.5, -1.5),
        (3, 3),
        (None, None),
    ],
)
def test_csv_safe(cell: Any, expected: Any) -> None:
    assert csv_safe(cell) == expected
    if isinstance(cell, str):
        assert csv_unsafe(csv_safe(cell)) == cell


@pytest.mark.parametrize("trigger", FORMULA_TRIGGERS)
def test_every_trigger_is_neutralised(trigger: str) -> None:
    assert csv_safe(trigger + "x").startswith("'")


def _cells(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def test_sample_csv_neutralises_text_and_keeps_negative_limits(
    grid_store: Any, tmp_path: Path
) -> None:
    """DS-801 has values below the detection limit, written as negative numbers."""
    frame = samples_wide(grid_store, "usgs-ds801-top5")
    ids = frame["sample_id"].astype(str).to_numpy(dtype=object)
    ids[: len(PAYLOADS)] = PAYLOADS
    frame["sample_id"] = ids
    frame["medium"] = frame["medium"].astype(object)
    frame.loc[0, "medium"] = "=medium"
    path = write_samples_csv(frame, tmp_path / "s.csv", citation="c", licence="l")
    rows = _cells(path)[3:]
    data = [r for r in rows if r and not r[0].startswith("#")]
    for row, payload in zip(data, PAYLOADS, strict=False):
        assert row[0] == "'" + payload
    assert data[0][4] == "'=medium"
    for row in data:  # no cell of the file starts a formula, unless it is a number
        for cell in row:
            assert not cell.startswith(FORMULA_TRIGGERS) or float(cell) < 0
    negatives = [c for r in data for c in r[5:] if c.startswith("-")]
    assert negatives, "DS-801 has values below the detection limit"
    assert all(float(c) < 0 for c in negatives)
    back = read_samples_csv(path)
    assert back["sample_id"].tolist()[: len(PAYLOADS)] == list(PAYLOADS)
    assert back["medium"].iloc[0] == "=medium"
    for name in back.attrs["columns"]:
        np.testing.assert_allclose(back[name], frame[name], rtol=1e-14)


def test_layer_csv_neutralises_text(grid_store: Any, tmp_path: Path) -> None:
    from chemearth.grid.layers import frame_of

    cells = grid_store.cells("global", dataset_id="meuse", element="Zn", level_m=1_000)
    which = {"dataset_id": "meuse", "version": 1, "element": "Zn", "medium": "sediment",
             "method": "", "unit": "=unit", "grid": "global", "level_m": 1_000,
             "citation": "c", "licence": "l"}
    frame = frame_of(cells, which)
    frame["cell_id"] = frame["cell_id"].astype(object)
    frame.loc[frame.index[0], "cell_id"] = "=1+2"
    path = write_atlas_csv(frame, tmp_path / "zn.csv", detection_limit=0.5)
    rows = _cells(path)
    assert rows[1][-1] == "'=unit"
    assert rows[3][0] == "'=1+2"
    table, meta = read_atlas_csv(path)
    assert meta["Zn"] == "=unit"
    assert table["cell_id"].iloc[0] == "=1+2"
    np.testing.assert_allclose(table["Zn"], frame["median"])


def test_frames_for_to_csv_keep_numbers() -> None:
    frame = pd.DataFrame({"=name": ["=a", "-b", "-1.5", None],
                          "v": [-1.5, 2.0, np.nan, -3.0],
                          "c": pd.Categorical(["@x", "y", "y", "@x"])})
    text = csv_safe_frame(frame).to_csv(index=False)
    assert text.splitlines() == ["'=name,v,c", "'=a,-1.5,'@x", "'-b,2.0,y", "-1.5,,y",
                                 ",-3.0,'@x"]
    assert frame["=name"].iloc[0] == "=a"  # the frame given is unchanged
    assert csv_safe_frame(frame.iloc[:0]).empty


def test_csv_output_reads_as_text_in_pandas() -> None:
    """What a spreadsheet shows as text stays text; numbers stay numbers."""
    frame = pd.DataFrame({"id": ["=1+1"], "v": [-0.5]})
    back = pd.read_csv(io.StringIO(csv_safe_frame(frame).to_csv(index=False)))
    assert back["id"].iloc[0] == "'=1+1"
    assert back["v"].iloc[0] == -0.5
