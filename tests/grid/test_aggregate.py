"""Per-cell statistics against an independent per-group numpy computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from chemearth.grid.aggregate import PERCENTILES, cell_stats


def _reference(cells: np.ndarray, values: np.ndarray, censored: np.ndarray) -> pd.DataFrame:
    """The same statistics, one group at a time, with numpy directly."""
    rows = []
    for c in np.unique(cells):
        v = values[cells == c]
        cen = censored[cells == c]
        row = {
            "cell": c,
            "n": len(v),
            "n_censored": int(cen.sum()),
            "dl_max": v[cen].max() if cen.any() else np.nan,
            "min": v.min(),
            "max": v.max(),
        }
        for p, name in PERCENTILES.items():
            row[name] = np.percentile(v, p)  # numpy's default: linear (Hyndman-Fan 7)
        row["mad"] = np.median(np.abs(v - np.median(v)))
        logs = np.log10(v[v > 0])
        row["gmean"] = 10 ** logs.mean() if len(logs) else np.nan
        row["log10_sd"] = logs.std(ddof=1) if len(logs) > 1 else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def _compare(got: pd.DataFrame, ref: pd.DataFrame) -> None:
    assert list(got["cell"]) == list(ref["cell"])
    for col in ref.columns:
        np.testing.assert_allclose(
            got[col].to_numpy(float),
            ref[col].to_numpy(float),
            rtol=1e-9,
            atol=1e-12,
            equal_nan=True,
            err_msg=col,
        )


@settings(max_examples=200, deadline=None)
@given(
    arrays(np.int64, st.integers(1, 80), elements=st.integers(0, 6)),
    st.integers(0, 2**32 - 1),
)
def test_matches_numpy_per_group(cells: np.ndarray, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = len(cells)
    values = np.round(rng.lognormal(1, 1.2, n), int(rng.integers(0, 3)))  # with ties
    censored = rng.random(n) < 0.2
    _compare(cell_stats(cells, values, censored), _reference(cells, values, censored))


@pytest.mark.parametrize("column", ["Top5_As", "Top5_Cu", "Top5_Pb"])
def test_real_data_by_state(data_dir, column: str) -> None:
    """DS-801 grouped by state (as stand-in cells), '<DL' cells at their limit."""
    df = pd.read_csv(data_dir / "usgs_ds801" / "ds801_top5_raw.csv", dtype=str)
    df = df[df[column].notna() & (df[column] != "N.S.")]
    text = df[column].str.strip()
    censored = text.str.startswith("<").to_numpy()
    values = text.str.lstrip("<").astype(float).to_numpy()
    cells = pd.factorize(df["StateID"], sort=True)[0].astype(np.int64)
    _compare(cell_stats(cells, values, censored), _reference(cells, values, censored))


def test_shift_and_scale_equivariance() -> None:
    rng = np.random.default_rng(0)
    cells = rng.integers(0, 50, 2000)
    v = rng.lognormal(2, 1, 2000)
    base = cell_stats(cells, v, np.zeros(2000, bool))
    scaled = cell_stats(cells, 3.0 * v + 7.0, np.zeros(2000, bool))
    np.testing.assert_allclose(scaled["median"], 3.0 * base["median"] + 7.0)
    np.testing.assert_allclose(scaled["mad"], 3.0 * base["mad"])
