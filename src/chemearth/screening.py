"""Soil-quality screening: samples, grid cells and regions against a standard.

:func:`screen` compares every sample of a dataset with a :class:`~chemearth.standard.Standard`
(the sample's own pH where the survey measured it; else the most protective pH band, and
the result says so) and gives a :class:`Screening`: one row per sample and element, with
the limits used, whether each was exceeded and the sample's class (for GB 15618-2018:
priority protection, safe utilisation or strict control). :meth:`Screening.by_cell` and
:meth:`Screening.by_region` count and give percentages above each level, and the samples
in each class, per grid cell or per country.

Standards apply to **total** concentrations. Where an element was analysed by several
methods, the one closest to a total is used (total, then near-total, aqua regia, other
partial digestions). A comparison made on anything but a total is flagged in
``basis_flag`` and in the notes, never silently.

Examples
--------
>>> from chemearth.standard import get_standard
>>> frame = pd.DataFrame({"sample_index": [0, 1, 2], "element": "Cd",
...                       "value": [0.2, 0.5, 2.5], "censored": False,
...                       "ph": [5.5, 6.5, float("nan")], "digestion": "total"})
>>> s = screen_frame(frame, get_standard("gb15618-2018"), land_use="paddy")
>>> s.samples["limit_screening"].tolist(), s.samples["class"].tolist()
([0.3, 0.4, 0.3], ['priority protection', 'safe utilisation', 'strict control'])
>>> s.samples["ph_assumed"].tolist()
[False, False, True]
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely

from chemearth.baselines import in_region, parse_region
from chemearth.errors import NotFoundError
from chemearth.grids import INVALID_KEY, get_grid
from chemearth.layers import parse_level
from chemearth.standard import INDETERMINATE, Standard, StandardError
from chemearth.store.base import Store

__all__ = [
    "BASIS_FLAGS",
    "DIGESTION_PREFERENCE",
    "Screening",
    "choose_methods",
    "screen",
    "screen_frame",
]

#: Digestions in the order their results are preferred for a comparison with totals.
DIGESTION_PREFERENCE = ("total", "near-total", "aqua-regia", "partial", "unknown")

#: Why a comparison on each non-total digestion is flagged.
BASIS_FLAGS = {
    "near-total": "near-total digestion (e.g. 4-acid): close to, but not always, the total "
                  "the standard applies to (resistant minerals such as chromite are not dissolved)",
    "aqua-regia": "aqua regia is a partial digestion: it understates the total concentration "
                  "the standard applies to, so exceedances may be missed",
    "partial": "partial digestion: it understates the total concentration the standard "
               "applies to, so exceedances may be missed",
    "unknown": "digestion unknown: the standard applies to total concentrations",
}

_SITE_COLS = ("sample_index", "sample_id", "longitude", "latitude", "country", "medium")


@dataclass
class Screening:
    """The result of screening one dataset against one standard.

    Attributes
    ----------
    standard : Standard
        The standard used.
    land_use : str
        The land use whose limits were used.
    samples : pandas.DataFrame
        One row per sample and element: sample columns, ``element``, ``method``,
        ``digestion``, ``value`` (mg/kg; the detection limit where ``censored``), ``ph``,
        ``ph_band``, ``ph_assumed``, ``limit_<level>`` and ``above_<level>`` per level
        (1 above, 0 at or below, -1 indeterminate, -2 no limit), ``class_index``
        (-1 indeterminate), ``class`` and ``basis_flag`` (None for a total).
    notes : list of str
        What the reader must know: missing pH, partial digestions, species not analysed.
    dataset_id : str
        The dataset screened ("" for a frame).
    """

    standard: Standard
    land_use: str
    samples: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    dataset_id: str = ""
    _sites: pd.DataFrame | None = field(default=None, repr=False)
    _site_of_row: np.ndarray | None = field(default=None, repr=False)

    @property
    def levels(self) -> tuple[str, ...]:
        return self.standard.levels

    def _site_table(self) -> tuple[pd.DataFrame, np.ndarray]:
        if self._sites is None or self._site_of_row is None:
            idx = self.samples["sample_index"].to_numpy()
            uniq, pos = np.unique(idx, return_inverse=True)
            first = np.zeros(len(uniq), dtype=np.int64)
            first[pos[::-1]] = np.arange(len(idx))[::-1]
            cols = [c for c in _SITE_COLS if c in self.samples.columns]
            self._sites = self.samples[cols].iloc[first].reset_index(drop=True)
            self._site_of_row = pos
        return self._sites, self._site_of_row

    def by_cell(self, grid: str = "global", level: int | str = "10km") -> pd.DataFrame:
        """Exceedance per grid cell and element.

        Returns
        -------
        pandas.DataFrame
            ``grid``, ``level_m``, ``cell``, ``cell_id``, ``element`` and the columns of
            :meth:`by_region` (``n``, ``n_<class>``, ``n_indeterminate``,
            ``n_above_<level>``, ``pct_above_<level>``, ``worst_class``…).
        """
        g = get_grid(grid)
        level_m = parse_level(level)
        sites, site_of_row = self._site_table()
        keys = g.cell_keys(sites["longitude"].to_numpy(float), sites["latitude"].to_numpy(float),
                           level_m)
        return self._cells_from_keys(g.name, level_m, keys, site_of_row)

    def _cells_from_keys(
        self, grid: str, level_m: int, site_keys: np.ndarray, site_of_row: np.ndarray
    ) -> pd.DataFrame:
        g = get_grid(grid)
        ok = site_keys != INVALID_KEY
        cells, code = np.unique(site_keys[ok], return_inverse=True)
        site_code = np.full(len(site_keys), -1, dtype=np.int64)
        site_code[ok] = code
        out = self._tally(site_code[site_of_row], len(cells))
        out["cell"] = cells[out.pop("group").to_numpy()]
        out.insert(0, "cell_id", g.key_to_id(out["cell"].to_numpy()))
        out.insert(0, "level_m", level_m)
        out.insert(0, "grid", grid)
        cols = ["grid", "level_m", "cell", "cell_id"]
        return out[cols + [c for c in out.columns if c not in cols]]

    def by_region(self, by: str = "country") -> pd.DataFrame:
        """Exceedance per region (``by``: ``country``, ``medium`` or ``all``) and element.

        Returns
        -------
        pandas.DataFrame
            ``by``, ``element``, ``n`` (comparisons), ``n_<class name>`` per class,
            ``n_indeterminate``, per level ``n_above_<level>`` and ``pct_above_<level>``
            (of the samples whose comparison is determinate), ``worst_class``,
            ``ph_assumed`` (samples compared at the most protective band) and
            ``basis_flag``.
        """
        sites, site_of_row = self._site_table()
        if by == "all":
            labels = np.array(["all"], dtype=object)
            site_code = np.zeros(len(sites), dtype=np.int64)
        elif by in sites.columns:
            codes, uniques = pd.factorize(sites[by].astype("string").fillna(""))
            site_code, labels = codes.astype(np.int64), np.asarray(uniques, dtype=object)
        else:
            raise StandardError(f"cannot group by {by!r}: use country, medium or all")
        out = self._tally(site_code[site_of_row], len(labels))
        out.insert(0, by, np.asarray(labels, dtype=object)[out.pop("group").to_numpy()])
        return out

    def _tally(self, group: np.ndarray, n_groups: int) -> pd.DataFrame:
        """Counts per (group, element) with numpy: ``group`` is each row's group code."""
        s = self.samples
        std = self.standard
        k = len(std.classes)
        frames = []
        element_codes, elements = pd.factorize(s["element"])
        cls_all = s["class_index"].to_numpy(np.int64)
        assumed_all = s["ph_assumed"].to_numpy(bool)
        for e_code, element in enumerate(elements):
            rows = np.flatnonzero((element_codes == e_code) & (group >= 0))
            g = group[rows]
            n = np.bincount(g, minlength=n_groups)
            present = np.flatnonzero(n)
            cls = cls_all[rows]
            counts = np.bincount(g * (k + 1) + np.where(cls < 0, k, cls),
                                 minlength=n_groups * (k + 1)).reshape(n_groups, k + 1)
            part: dict[str, Any] = {"group": present, "element": element, "n": n[present]}
            for i, name in enumerate(std.classes):
                part[f"n_{_slug(name)}"] = counts[present, i]
            part["n_indeterminate"] = counts[present, k]
            for level in std.levels:
                a = s[f"above_{level}"].to_numpy()[rows]
                above = np.bincount(g, weights=(a == 1), minlength=n_groups)[present]
                decided = np.bincount(g, weights=(a >= 0), minlength=n_groups)[present]
                part[f"n_above_{level}"] = above.astype(np.int64)
                with np.errstate(invalid="ignore", divide="ignore"):
                    part[f"pct_above_{level}"] = np.where(decided > 0, 100 * above / decided,
                                                          np.nan)
            worst = np.full(n_groups, -1, dtype=np.int64)
            np.maximum.at(worst, g, cls)
            part["worst_class"] = worst[present]
            part["ph_assumed"] = np.bincount(g, weights=assumed_all[rows],
                                             minlength=n_groups)[present].astype(np.int64)
            flags = s["basis_flag"].iloc[rows[:1]].tolist() if len(rows) else [None]
            part["basis_flag"] = flags[0]
            frames.append(pd.DataFrame(part))
        if not frames:
            return pd.DataFrame(columns=["group", "element", "n"])
        return pd.concat(frames, ignore_index=True)

    def summary(self) -> pd.DataFrame:
        """Exceedance per element over the whole dataset (``by_region("all")``)."""
        return self.by_region("all").drop(columns="all")


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name.lower()).strip("_")


def screen_frame(
    frame: pd.DataFrame,
    standard: Standard,
    *,
    land_use: str | None = None,
    dataset_id: str = "",
) -> Screening:
    """Screen a long table of analyses against ``standard``.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per analysis: ``sample_index``, ``element``, ``value`` (mg/kg; the
        detection limit where censored), ``censored``, ``ph`` (NaN where missing) and
        ``digestion``; other columns (``sample_id``, ``longitude``…) are kept.
        Elements the standard does not cover are dropped.
    standard : Standard
        The standard.
    land_use : str, optional
        One of ``standard.land_uses`` (default: the standard's default).
    dataset_id : str
        Recorded in the result.
    """
    lu = standard._land_use(land_use)
    covered = [e for e in pd.unique(frame["element"]) if standard.covers(e, lu)]
    frame = frame[frame["element"].isin(covered)]
    order = np.argsort(pd.Categorical(frame["element"], categories=covered).codes, kind="stable")
    out = frame.iloc[order].reset_index(drop=True)
    n = len(out)
    cls = np.empty(n, dtype=np.int8)
    band = np.empty(n, dtype=np.int8)
    limits = {lv: np.empty(n) for lv in standard.levels}
    above = {lv: np.empty(n, dtype=np.int8) for lv in standard.levels}
    elements = out["element"].to_numpy()
    values = out["value"].to_numpy(dtype=float)
    censored = out["censored"].to_numpy(dtype=bool)
    ph = out["ph"].to_numpy(dtype=float)
    bounds = np.flatnonzero(np.r_[True, elements[1:] != elements[:-1], True])
    for a, b in itertools.pairwise(bounds):
        c = standard.classify(elements[a], values[a:b], censored=censored[a:b], ph=ph[a:b],
                              land_use=lu)
        cls[a:b], band[a:b] = c.class_index, c.band
        for lv in standard.levels:
            limits[lv][a:b], above[lv][a:b] = c.limits[lv], c.above[lv]
    out["land_use"] = lu
    band_names = [b.label for b in standard.ph_bands] or ["any pH"]
    out["ph_band"] = pd.Categorical.from_codes(
        np.where(band < 0, len(band_names), band).astype(np.int64),
        categories=pd.Index([*band_names, standard.band_label(-1)]),
    )
    out["ph_assumed"] = band < 0
    for lv in standard.levels:
        out[f"limit_{lv}"] = limits[lv]
        out[f"above_{lv}"] = above[lv]
    out["class_index"] = cls
    out["class"] = pd.Categorical.from_codes(
        np.where(cls < 0, len(standard.classes), cls).astype(np.int64),
        categories=pd.Index([*standard.classes, "indeterminate"]),
    )
    digestion = out["digestion"].astype("string").fillna("unknown")
    flag = digestion.map(lambda d: None if d == standard.basis else BASIS_FLAGS.get(
        d, f"{d} digestion: the standard applies to {standard.basis} concentrations"))
    out["basis_flag"] = flag.astype(object)
    return Screening(standard=standard, land_use=lu, samples=out, notes=_notes(out, standard),
                     dataset_id=dataset_id)


def _notes(out: pd.DataFrame, standard: Standard) -> list[str]:
    notes = []
    if len(out):
        missing = out.loc[out["ph_assumed"], "sample_index"].nunique()
        total = out["sample_index"].nunique()
        if missing and standard.ph_bands:
            notes.append(
                f"pH missing for {missing} of {total} samples: they were compared with the "
                "most protective (lowest) limits of the pH bands"
            )
        for (element, digestion), _ in out[out["basis_flag"].notna()].groupby(
            ["element", out["digestion"].astype("string").fillna("unknown")], sort=True
        ):
            notes.append(f"{element}: {BASIS_FLAGS.get(str(digestion), str(digestion))}")
        undecided = int((out["class_index"] == INDETERMINATE).sum())
        if undecided:
            notes.append(f"{undecided} comparisons are indeterminate: the value is below a "
                         "detection limit that lies above the limit")
    return notes


def choose_methods(columns: pd.DataFrame, elements: Sequence[str],
                   methods: dict[str, str] | None = None) -> dict[str, str]:
    """The method used for each element: the user's, else the one closest to a total.

    ``columns`` is :meth:`Store.measurement_columns`; ties go to the first column.
    """
    out: dict[str, str] = {}
    rank = {d: i for i, d in enumerate(DIGESTION_PREFERENCE)}
    for el in elements:
        rows = columns[columns["element"] == el]
        if rows.empty:
            continue
        if methods and el in methods:
            hit = rows[rows["method"].fillna("").str.contains(methods[el], regex=False)]
            if hit.empty:
                raise NotFoundError(f"{el}: no method matching {methods[el]!r}; "
                                    f"methods: {', '.join(map(str, rows['method']))}")
            out[el] = str(hit["method"].iloc[0])
            continue
        r = rows["digestion"].fillna("unknown").map(lambda d: rank.get(d, len(rank)))
        out[el] = str(rows.iloc[int(np.argmin(r.to_numpy()))]["method"])
    return out


def screen(
    store: Store,
    dataset_id: str,
    standard: Standard,
    *,
    land_use: str | None = None,
    elements: Sequence[str] | None = None,
    methods: dict[str, str] | None = None,
    region: str | shapely.Geometry | None = None,
) -> Screening:
    """Screen the samples of a dataset against a standard.

    Parameters
    ----------
    store : Store
        Where the dataset is.
    dataset_id : str
        The dataset (latest version).
    standard : Standard
        See :func:`chemearth.standard.get_standard`.
    land_use : str, optional
        Which of the standard's land uses to apply (default: its default).
    elements : sequence of str, optional
        Restrict to these elements (default: every element the standard covers and the
        dataset holds).
    methods : dict, optional
        Element -> a text the chosen method must contain (default: the method closest
        to a total digestion).
    region : str or shapely geometry, optional
        Restrict to a region (:func:`chemearth.baselines.parse_region`).

    Examples
    --------
    >>> from chemearth.standard import get_standard
    >>> s = screen(store, "kola-chorizon", get_standard("gb15618-2018"))  # doctest: +SKIP
    >>> s.by_region("country")[["country", "element", "pct_above_screening"]]  # doctest: +SKIP
    """
    columns = store.measurement_columns(dataset_id)
    wanted = [e for e in (elements or standard.elements) if "(" not in e]
    unknown = [e for e in wanted if e not in standard.elements]
    if unknown:
        raise StandardError(f"standard {standard.id} sets no limit for {', '.join(unknown)}")
    chosen = choose_methods(columns, wanted, methods)
    if not chosen:
        raise NotFoundError(f"dataset {dataset_id!r} holds none of the elements of "
                            f"{standard.id} ({', '.join(standard.elements)})")
    m = store.measurements(dataset_id, elements=[*chosen, "pH"])
    ph_rows = m[m["element"] == "pH"]
    m = m[(m["element"] != "pH") & m["value"].notna()]
    m = m[m["method"].astype(str).to_numpy() == m["element"].map(chosen).to_numpy()]
    if not ph_rows.empty:
        ph = ph_rows.drop_duplicates("sample_index").set_index("sample_index")["value"]
        m = m.assign(ph=m["sample_index"].map(ph).astype(float))
    else:
        m = m.assign(ph=np.nan)
    if region is not None:
        m = m[in_region(m, parse_region(region))]
    cols = [*_SITE_COLS, "element", "method", "digestion", "unit", "value", "censored",
            "detection_limit", "ph"]
    result = screen_frame(m[cols].reset_index(drop=True), standard, land_use=land_use,
                          dataset_id=dataset_id)
    species = [e for e in standard.elements if "(" in e]
    if species and elements is None:
        result.notes.append(f"{', '.join(species)}: a species the survey's total analyses "
                            "cannot be compared with")
    return result
