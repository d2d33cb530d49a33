"""Tests of the cumulative-frequency colour classes, palette and legend."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

from chemearth.errors import ChemearthError
from chemearth.stats import baselines
from chemearth.stats.classes import (
    CLASS_PERCENTS,
    NO_CLASS,
    ClassError,
    Legend,
    class_breaks,
    classify,
    legend,
    palette,
)

HEX = re.compile(r"#[0-9a-f]{6}")


def _lognormal(seed: int, n: int) -> np.ndarray:
    return np.random.default_rng(seed).lognormal(2.0, 1.0, n)


def _luminance(colour: str) -> float:
    r, g, b = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_class_percents_are_the_baselines_percents() -> None:
    assert CLASS_PERCENTS == baselines.CLASS_PERCENTS == (5, 10, 25, 50, 75, 90, 95, 98)


# --------------------------------------------------------------------------- class_breaks
@pytest.mark.parametrize(
    ("seed", "n", "percents"),
    [
        (1, 2, CLASS_PERCENTS),
        (2, 10, CLASS_PERCENTS),
        (3, 101, CLASS_PERCENTS),
        (4, 5_000, CLASS_PERCENTS),
        (5, 777, (25, 50, 75)),
        (6, 40, (1, 99)),
        (7, 1_000, (12.5, 33.3, 66.6, 87.5)),
    ],
)
def test_breaks_are_numpy_percentiles_of_distinct_data(
    seed: int, n: int, percents: tuple[float, ...]
) -> None:
    values = _lognormal(seed, n)
    expected = np.percentile(values, percents, method="linear")
    got = class_breaks(values, percents)
    np.testing.assert_array_equal(got, expected)
    assert got.dtype == np.float64


def test_breaks_ignore_nan_and_infinities_and_take_any_shape() -> None:
    values = _lognormal(8, 500)
    dirty = np.concatenate([values, [np.nan, np.inf, -np.inf, np.nan]]).reshape(2, 252)
    np.testing.assert_array_equal(class_breaks(dirty), np.percentile(values, CLASS_PERCENTS))
    np.testing.assert_array_equal(class_breaks(values.tolist()), class_breaks(values))


@pytest.mark.parametrize(
    ("values", "percents", "expected"),
    [
        # 40 % censored at the DL (the minimum): P5 = P10 = P25 = DL are dropped
        ([0.5] * 4 + [1, 2, 3, 4, 5, 6], (5, 10, 25, 50, 75), [1.5, 3.75]),
        # many ties in the middle: P25 = P50 = P75 = 3 merge into one limit
        ([1, 2, 3, 3, 3, 3, 3, 3, 4, 5], (25, 50, 75), [3.0]),
        # ties at the maximum: P75 = P90 = max are dropped
        ([1, 2, 3, 4, 9, 9, 9, 9, 9, 9], (10, 50, 75, 90), [1.9]),
        ([2.0] * 7, CLASS_PERCENTS, []),
        ([3.5], CLASS_PERCENTS, []),
        ([], CLASS_PERCENTS, []),
        ([np.nan, np.inf], CLASS_PERCENTS, []),
        ([1, 2], (50,), [1.5]),
    ],
)
def test_tied_limits_are_merged_and_limits_at_min_or_max_dropped(
    values: list[float], percents: tuple[float, ...], expected: list[float]
) -> None:
    got = class_breaks(values, percents)
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    # what is kept is exactly the distinct percentiles strictly between min and max
    if finite.size:
        p = np.percentile(finite, percents)
        want = np.unique(p[(p > finite.min()) & (p < finite.max())])
        np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(got, [v for v in expected if v < max(values, default=0)])
    assert np.all(np.diff(got) > 0)


def test_no_class_is_empty_width_with_heavy_censoring() -> None:
    rng = np.random.default_rng(9)
    values = np.maximum(rng.lognormal(0, 1, 2_000), 0.8)  # ~41 % at the DL of 0.8
    breaks = class_breaks(values)
    limits = np.concatenate([[values.min()], breaks, [values.max()]])
    assert np.all(np.diff(limits) > 0)
    assert breaks[0] > 0.8
    classes = classify(values, breaks)
    assert np.all(np.bincount(classes, minlength=breaks.size + 1) > 0)


@pytest.mark.parametrize(
    "percents",
    [(50, 25), (0, 50), (50, 100), (-5,), (5, 5), (np.nan,), [[5, 10]], tuple(range(1, 300))],
)
def test_invalid_percents_raise(percents: object) -> None:
    with pytest.raises(ClassError, match="percents"):
        class_breaks([1.0, 2.0, 3.0], percents)  # type: ignore[arg-type]


def test_class_error_is_a_chemearth_value_error() -> None:
    with pytest.raises(ChemearthError):
        class_breaks(["a", "b"])
    assert issubclass(ClassError, ValueError)


# --------------------------------------------------------------------------- classify
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.5, 0),
        (1.0, 1),  # equal to a limit: the class above
        (1.5, 1),
        (2.0, 2),
        (2.9999999, 2),
        (3.0, 3),
        (7.0, 3),
        (-np.inf, 0),
        (np.inf, 3),
        (np.nan, NO_CLASS),
    ],
)
def test_classify_conventions(value: float, expected: int) -> None:
    got = classify([value], [1.0, 2.0, 3.0])
    assert got.dtype == np.uint8
    assert got.tolist() == [expected]


def test_classify_matches_numpy_digitize_and_keeps_shape() -> None:
    values = _lognormal(10, 3_000).reshape(30, 100)
    values[3, 7] = np.nan
    breaks = class_breaks(values)
    got = classify(values, breaks)
    assert got.shape == values.shape
    expected = np.where(np.isnan(values), 255, np.digitize(values, breaks, right=False))
    np.testing.assert_array_equal(got, expected)
    # the cumulative shares of the classes are the percents
    counts = np.bincount(got[got != 255], minlength=breaks.size + 1)
    cumulative = np.cumsum(counts)[:-1] / counts.sum() * 100
    np.testing.assert_allclose(cumulative, CLASS_PERCENTS, atol=0.1)


def test_classify_without_limits_is_one_class() -> None:
    assert classify([1.0, 5.0, np.nan], []).tolist() == [0, 0, 255]


@pytest.mark.parametrize(
    "breaks", [[2.0, 1.0], [1.0, 1.0], [np.nan], [1.0, np.inf], [[1.0, 2.0]], list(range(255))]
)
def test_classify_rejects_bad_limits(breaks: object) -> None:
    with pytest.raises(ClassError, match="limits"):
        classify([1.0], breaks)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- palette
@pytest.mark.parametrize("n", [1, 2, 5, 9, 20, 255])
def test_palette_is_distinct_hex_dark_to_light(n: int) -> None:
    colours = palette(n)
    assert isinstance(colours, list)
    assert len(colours) == n
    assert all(HEX.fullmatch(c) for c in colours)
    assert len(set(colours)) == n or n > 200  # 255 samples of a 256-colour map may repeat
    lum = [_luminance(c) for c in colours]
    assert lum == sorted(lum) or n > 200
    if n > 1:
        assert colours[0] == "#440154"  # viridis' dark end
        assert colours[-1] == "#fde725"  # and its light end


def test_palette_of_one_is_the_middle_and_zero_is_empty() -> None:
    assert palette(1) == ["#21918c"]
    assert palette(0) == []


def test_palette_returns_a_fresh_list() -> None:
    first = palette(3)
    first[0] = "#000000"
    assert palette(3)[0] == "#440154"


@pytest.mark.parametrize("n", [-1, 256, 2.5, "3", True, None])
def test_palette_rejects_bad_sizes(n: object) -> None:
    with pytest.raises(ClassError, match="palette size"):
        palette(n)  # type: ignore[arg-type]


def test_importing_classes_and_tiles_imports_no_web_framework_or_matplotlib() -> None:
    code = (
        "import sys, chemearth.stats.classes, chemearth.render.tiles\n"
        "bad = [m for m in ('fastapi', 'starlette', 'uvicorn', 'matplotlib') if m in sys.modules]\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# --------------------------------------------------------------------------- legend
def test_legend_of_data() -> None:
    values = np.concatenate([_lognormal(11, 999), [np.nan]])
    lg = legend(values, "mg/kg", "median")
    finite = values[np.isfinite(values)]
    breaks = class_breaks(values)
    assert lg.n_classes == 9
    assert lg.limits == (finite.min(), *breaks.tolist(), finite.max())
    assert lg.breaks == tuple(breaks.tolist())
    assert lg.colours == tuple(palette(9))
    assert lg.percent_lower == (0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 98.0)
    assert lg.percent_upper == (5.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 98.0, 100.0)
    d = lg.to_dict()
    assert d["unit"] == "mg/kg"
    assert d["stat"] == "median"
    assert len(d["classes"]) == 9
    assert d["classes"][0]["lower"] == finite.min()
    assert d["classes"][-1]["upper"] == finite.max()
    for a, b in zip(d["classes"], d["classes"][1:], strict=False):
        assert a["upper"] == b["lower"]
        assert a["lower"] < a["upper"]
    assert set(d["classes"][0]) == {"lower", "upper", "colour", "percent_lower", "percent_upper"}
    assert all(type(v) in (float, str) for c in d["classes"] for v in c.values())


def test_legend_with_ties_leaves_a_percent_gap_for_the_tied_values() -> None:
    lg = legend([1, 2, 3, 3, 3, 3, 3, 3, 4, 5], "mg/kg", "mean", percents=(25, 50, 75))
    assert lg.limits == (1.0, 3.0, 5.0)
    assert lg.percent_lower == (0.0, 75.0)
    assert lg.percent_upper == (25.0, 100.0)
    assert lg.colours == tuple(palette(2))


def test_legend_of_censored_data_starts_at_the_dl() -> None:
    lg = legend([0.5] * 4 + [1, 2, 3, 4, 5, 6], "mg/kg", "P90", percents=(5, 10, 25, 50, 75))
    assert lg.limits == (0.5, 1.5, 3.75, 6.0)
    assert lg.percent_lower == (0.0, 50.0, 75.0)
    assert lg.percent_upper == (50.0, 75.0, 100.0)


@pytest.mark.parametrize(
    ("values", "n_classes", "limits"),
    [([], 0, ()), ([np.nan], 0, ()), ([4.0, 4.0], 1, (4.0, 4.0)), ([7.0], 1, (7.0, 7.0))],
)
def test_legend_of_no_or_constant_data(
    values: list[float], n_classes: int, limits: tuple[float, ...]
) -> None:
    lg = legend(values, "%", "median")
    assert lg.n_classes == n_classes
    assert lg.limits == limits
    assert len(lg.to_dict()["classes"]) == n_classes
    if n_classes:
        assert lg.to_dict()["classes"][0]["percent_lower"] == 0.0
        assert lg.to_dict()["classes"][0]["percent_upper"] == 100.0


@pytest.mark.parametrize(
    ("limits", "colours", "lower", "upper"),
    [
        ((0.0, 1.0), ("#000000", "#ffffff"), (0.0, 50.0), (50.0, 100.0)),
        ((0.0, 1.0, 2.0), ("#000000", "#ffffff"), (0.0,), (50.0, 100.0)),
        ((0.0,), (), (), ()),
    ],
)
def test_legend_checks_its_lengths(
    limits: tuple[float, ...],
    colours: tuple[str, ...],
    lower: tuple[float, ...],
    upper: tuple[float, ...],
) -> None:
    with pytest.raises(ClassError):
        Legend(limits, colours, lower, upper, "mg/kg", "median")
