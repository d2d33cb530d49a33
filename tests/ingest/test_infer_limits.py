"""Substitution constants found in real columns (``chemearth.ingest.infer_limits``).

The independent reference is the published detection-limit table of the Kola C-horizon
(``chorizonDL_detection_limits.csv``, robCompositions): where a column has a limit there,
the constant found in the half-DL copy (``chorizon.csv``) must be half of it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from chemearth.ingest.infer_limits import find_constant, propose_censoring
from chemearth.ingest.readers import RawTable


def _column(data_dir: Path, file: str, column: str) -> np.ndarray:
    return pd.to_numeric(pd.read_csv(data_dir / file)[column], errors="coerce").to_numpy(float)


def test_constants_are_half_the_published_limits(data_dir: Path) -> None:
    """Every C-horizon column with a published limit and a constant at its bottom: the
    constant is half the limit, and the limit inferred is the published one."""
    limits = pd.read_csv(data_dir / "kola/chorizonDL_detection_limits.csv")
    limits = limits.set_index("column")["detection_limit"]
    data = pd.read_csv(data_dir / "kola/chorizon.csv")
    compared = 0
    for column, dl in limits.items():
        found = find_constant(pd.to_numeric(data[column], errors="coerce").to_numpy(float))
        if found is None:
            continue
        assert found.kind == "bottom", column
        assert found.value == pytest.approx(0.5 * dl, rel=1e-9), column
        assert found.detection_limit == pytest.approx(dl, rel=1e-9), column
        compared += 1
    assert compared >= 2  # Bi (0.0025 of 0.005) and Nd_INAA (2.5 of 5) at least


@pytest.mark.parametrize(("file", "column"), [
    ("meuse/meuse.csv", "zinc"), ("meuse/meuse.csv", "copper"), ("meuse/meuse.csv", "lead"),
    ("jura/jura_pred_val.csv", "Cd"), ("jura/jura_pred_val.csv", "Zn"),
    ("jura/jura_pred_val.csv", "Ni"),
    ("gemas/gemas.csv", "Al"), ("gemas/gemas.csv", "Y"), ("gemas/gemas.csv", "Nb"),
    ("kola/moss.csv", "Cu"), ("kola/humus.csv", "Pb"),
])
def test_measured_columns_hold_no_constant(data_dir: Path, file: str, column: str) -> None:
    assert find_constant(_column(data_dir, file, column)) is None


def test_a_constant_inside_the_distribution_is_left_to_the_user(data_dir: Path) -> None:
    """53 % of a real column set to one value, with real values below and above it (as a
    survey that wrote Cl = 100 for '<DL' in a batch with a higher limit): found, not
    declared."""
    cu = _column(data_dir, "kola/chorizon.csv", "Cu").copy()
    rng = np.random.default_rng(18)
    const = float(np.median(cu))
    cu[rng.random(len(cu)) < 0.53] = const
    found = find_constant(cu)
    assert found is not None
    assert found.kind == "inside"
    assert found.value == const
    assert found.detection_limit is None
    with pytest.raises(ValueError, match="no detection limit"):
        found.substitution()
    raw = RawTable(Path("cu.csv"), pa.table({"Cu": cu}), np.arange(len(cu)))
    proposal = propose_censoring(raw, ["Cu"])
    assert "[censoring.substituted]" not in "\n".join(proposal.lines)
    assert len(proposal.decisions) == 1
    assert "If it stands for '<DL', declare it" in proposal.decisions[0]


def test_bss_bottom_nickel(data_dir: Path) -> None:
    """The issue's example: a quarter of the BSS bottom-layer Ni stacked at 1.5 mg/kg."""
    found = find_constant(_column(data_dir, "bss/bssbot.csv", "Ni_B"))
    assert found is not None
    assert (found.kind, found.value, found.count, found.n, found.detection_limit) == (
        "bottom", 1.5, 187, 768, 3.0)
    assert found.evidence.startswith("1.5 in 187 of 768 rows (24%), the smallest value")
