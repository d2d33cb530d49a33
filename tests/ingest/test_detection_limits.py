"""The six below-detection-limit encodings, table-driven, on small hand-made columns."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chemearth.ingest.descriptor import Censoring
from chemearth.ingest.detection_limits import apply_censoring, parse_cells

NAN = float("nan")


@pytest.mark.parametrize(
    ("cells", "encoding", "limit", "extra", "value", "censored", "negative_bad"),
    [
        # "<x" strings: value = x, censored, whatever the encoding
        (["<0.6", "5.2", None], "lt_string", None, {}, [0.6, 5.2, NAN], [1, 0, 0], [0, 0, 0]),
        (["<0.6", "5.2"], "none", None, {}, [0.6, 5.2], [1, 0], [0, 0]),
        # negative DL: -2 means <2
        ([-2.0, 7.0, -10.0], "negative", None, {}, [2, 7, 10], [1, 0, 1], [0, 0, 0]),
        # negative values without the negative encoding are flagged bad
        ([-2.0, 7.0], "lt_string", None, {}, [-2, 7], [0, 0], [1, 0]),
        # zero plus a separate limit
        ([0.0, 3.0], "zero", 0.5, {}, [0.5, 3], [1, 0], [0, 0]),
        # zero without a limit: missing (with a warning)
        ([0.0, 3.0], "zero", None, {}, [NAN, 3], [0, 0], [0, 0]),
        # half-DL substituted, limit known
        ([0.05, 0.1, 0.3], "substituted", 0.1, {}, [0.1, 0.1, 0.3], [1, 0, 0], [0, 0, 0]),
        # half-DL substituted, limit unknown: kept as is
        ([0.05, 0.3], "substituted", None, {}, [0.05, 0.3], [0, 0], [0, 0]),
        # 0.65 x DL substituted with a flag file
        (
            [0.65, 3.0],
            "flag_file",
            None,
            {"flags": [True, False], "factor": 0.65},
            [1.0, 3.0],
            [1, 0],
            [0, 0],
        ),
        # boolean *Cen column: the value is the DL where true
        ([1.0, 9.0], "flag_column", None, {"flag_column": [True, False]}, [1, 9], [1, 0], [0, 0]),
    ],
)
def test_encodings(cells, encoding, limit, extra, value, censored, negative_bad):
    c = Censoring(encoding=encoding, factor=extra.get("factor", 0.5))
    flags = np.array(extra["flags"]) if "flags" in extra else None
    fcol = np.array(extra["flag_column"]) if "flag_column" in extra else None
    out = apply_censoring(parse_cells(pa.array(cells)), c, limit, flags, fcol)
    np.testing.assert_allclose(out.value, value, equal_nan=True)
    assert out.censored.tolist() == [bool(x) for x in censored]
    assert out.negative_bad.tolist() == [bool(x) for x in negative_bad]
    dl = np.where(out.censored, out.value, np.nan)
    assert np.all(np.isnan(dl) | (dl == out.value))


@pytest.mark.parametrize(
    ("text", "number", "lt", "gt", "bad"),
    [
        ("<0.6", 0.6, True, False, False),
        ("< 0.6", 0.6, True, False, False),
        ("> 10", 10.0, False, True, False),
        ("1e-3", 0.001, False, False, False),
        (" 5.20 ", 5.2, False, False, False),
        ("12,5", NAN, False, False, True),
        ("abc", NAN, False, False, True),
        ("inf", NAN, False, False, True),
        ("nan", NAN, False, False, True),
    ],
)
def test_parse_cells(text, number, lt, gt, bad):
    c = parse_cells(pa.array([text, "1"]))
    np.testing.assert_allclose(c.number[0], number, equal_nan=True)
    assert (c.lt[0], c.gt[0], c.bad[0]) == (lt, gt, bad)
    if bad:
        assert c.bad_text(0) == text.strip()


def test_not_sampled_markers_are_missing_not_bad():
    c = parse_cells(pa.array(["N.S.", "3"]), not_sampled=("N.S.",))
    assert c.not_sampled.tolist() == [True, False]
    assert c.bad.tolist() == [False, False]
    assert np.isnan(c.number[0])


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)  # loaded CI machines
@given(
    st.lists(st.floats(min_value=1e-6, max_value=1e6, allow_nan=False), min_size=1, max_size=50),
    st.lists(st.booleans(), min_size=50, max_size=50),
)
def test_lt_strings_round_trip(values, flags):
    text = [("<" if f else "") + repr(v) for v, f in zip(values, flags, strict=False)]
    c = parse_cells(pa.array(text))
    out = apply_censoring(c, Censoring(), None)
    np.testing.assert_array_equal(out.value, np.array(values))
    assert out.censored.tolist() == flags[: len(values)]
