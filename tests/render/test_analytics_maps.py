"""Maps of the atlas's analytics pages: anomaly zones over cells and factor scores."""

from __future__ import annotations

import numpy as np
import pytest

from chemearth.grid.geometry import GLOBAL
from chemearth.render.analytics_maps import ZONE_COLOURS, score_map, zone_map

LON = np.array([25.0, 26.0, 27.0, 28.0, 25.5])
LAT = np.array([68.0, 68.5, 69.0, 69.5, 69.4])


def _gids(ax) -> dict[str, object]:
    return {c.get_gid(): c for c in ax.collections}


def test_zone_map_draws_each_zone_and_lists_all_three() -> None:
    keys = GLOBAL.cell_keys(LON, LAT, 20_000)
    fig = zone_map(GLOBAL, keys, [2.0, 6.0, 11.0, 30.0, 7.0], [0, 1, 2, 3, -1], 5.0,
                   element="Cu", unit="mg/kg")
    ax = fig.axes[0]
    gids = _gids(ax)
    assert set(gids) == {"zone-0", "zone-1", "zone-2", "zone-3", "zone-unknown"}
    for i, colour in enumerate(ZONE_COLOURS, start=1):
        assert len(gids[f"zone-{i}"].get_paths()) == 1
        assert np.allclose(gids[f"zone-{i}"].get_facecolor()[0][:3],
                           [int(colour[j:j + 2], 16) / 255 for j in (1, 3, 5)])
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["inner zone ≥ 20.0 (4 × T); 1 cells", "middle zone ≥ 10.0 (2 × T); 1 cells",
                     "outer zone ≥ 5.00 (1 × T); 1 cells", "background < 5.00: grey by cell median",
                     "below DL, zone unknown; 1 cells"]
    assert ax.get_legend().get_title().get_text() == "Anomaly zones, Cu (mg/kg)"
    assert any(line.get_gid() == "scalebar" for line in ax.lines)


def test_zone_map_lists_an_empty_zone() -> None:
    keys = GLOBAL.cell_keys(LON[:2], LAT[:2], 20_000)
    fig = zone_map(GLOBAL, keys, [2.0, 6.0], [0, 1], 5.0, element="Ni", unit="mg/kg")
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert texts[0] == "inner zone ≥ 20.0 (4 × T); 0 cells"
    assert "zone-3" not in _gids(fig.axes[0])


def test_score_map_is_centred_on_zero_and_clipped() -> None:
    scores = np.array([-1.0, 0.5, 2.0, -0.2, 40.0])
    fig, lim = score_map(LON, LAT, scores, heading="F1 score")
    assert lim == pytest.approx(np.percentile(np.abs(scores), 98))
    pts = next(c for c in fig.axes[0].collections if c.get_gid() == "scores")
    assert (pts.norm.vmin, pts.norm.vmax) == (-lim, lim)
    assert np.abs(pts.get_array()).max() == pytest.approx(lim)  # the outlier clipped
    assert pts.get_array()[-1] == pytest.approx(lim)  # the strongest drawn last, on top
    assert fig.axes[1].get_ylabel() == "F1 score"  # the colour bar
