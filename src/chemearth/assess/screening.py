"""Soil-quality screening: samples, grid cells and regions against a standard.

:func:`screen` compares every sample of a dataset with a
:class:`~chemearth.reference.standards.Standard`
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
>>> from chemearth.reference.standards import get_standard
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
from scipy import sparse

from chemearth.errors import NotFoundError
from chemearth.grid.geometry import INVALID_KEY, get_grid
from chemearth.grid.levels import parse_level
from chemearth.reference.standards import INDETERMINATE, Standard, StandardError
from chemearth.stats.baselines import in_region, parse_region
from chemearth.store.base import Store
from chemearth.store.selectors import choose_methods

__all__ = [
    "BASIS_FLAGS",
    "BASIS_FLAGS_ZH",
    "Screening",
    "screen",
    "screen_frame",
]

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

#: :data:`BASIS_FLAGS` in Chinese (the notes' ``notes_zh``).
BASIS_FLAGS_ZH = {
    "near-total": "近全量消解（如四酸消解）：接近但不总是等于标准所针对的全量（铬铁矿等难溶矿物"
                  "不被溶解）",
    "aqua-regia": "王水为部分消解：低于标准所针对的全量，可能漏判超标",
    "partial": "部分消解：低于标准所针对的全量，可能漏判超标",
    "unknown": "消解方式不明：标准针对的是全量",
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
    notes_zh : list of str
        The notes in Chinese, in the same order.
    """

    standard: Standard
    land_use: str
    samples: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    dataset_id: str = ""
    notes_zh: list[str] = field(default_factory=list)
    _sites: pd.DataFrame | None = field(default=None, repr=False)
    _site_of_row: np.ndarray | None = field(default=None, repr=False)
    _codes: np.ndarray | None = field(default=None, repr=False)
    _meaning: np.ndarray | None = field(default=None, repr=False)

    @property
    def levels(self) -> tuple[str, ...]:
        return self.standard.levels

    def _site_table(self) -> tuple[pd.DataFrame, np.ndarray]:
        if self._sites is None or self._site_of_row is None:
            idx = self.samples["sample_index"].to_numpy(np.int64)
            uniq, pos = _dense_unique(idx)
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
        data = self._tally(site_code[site_of_row], len(cells))
        group = data.pop("group")
        n = len(group)
        lead = {
            "grid": pd.Categorical.from_codes(np.zeros(n, np.int64),
                                           categories=pd.Index([grid])),
            "level_m": np.full(n, level_m, dtype=np.int64),
            "cell": cells[group],
            # each cell's id made once; a categorical, not millions of strings
            "cell_id": pd.Categorical.from_codes(group, categories=pd.Index(
                g.key_to_id(cells), dtype=object)),
        }
        return pd.DataFrame({**lead, **data}, copy=False)

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
        data = self._tally(site_code[site_of_row], len(labels))
        group = data.pop("group")
        return pd.DataFrame({by: np.asarray(labels, dtype=object)[group], **data})

    def _states(self) -> tuple[np.ndarray, np.ndarray]:
        """Each row's combined state (class, every level's comparison, pH assumed) as a
        dense code, and the table ``(m, k + 1 + 2·levels + 1)`` saying what each code
        counts towards: a class, above / decided per level, and pH assumed."""
        if self._codes is None or self._meaning is None:
            s, std = self.samples, self.standard
            k = len(std.classes)
            cls = s["class_index"].to_numpy(np.int64)
            code = np.where(cls < 0, k, cls)
            for level in std.levels:
                code = code * 4 + (s[f"above_{level}"].to_numpy(np.int8).astype(np.int64) + 2)
            code = code * 2 + s["ph_assumed"].to_numpy(bool)
            used = np.flatnonzero(np.bincount(code)) if len(code) else np.zeros(0, np.int64)
            lut = np.zeros(int(used.max()) + 1 if len(used) else 1, dtype=np.int64)
            lut[used] = np.arange(len(used))
            meaning = np.zeros((len(used), k + 1 + 2 * len(std.levels) + 1), dtype=np.int64)
            for r, value in enumerate(used.tolist()):
                meaning[r, -1] = value % 2
                rest = value // 2
                for j in reversed(range(len(std.levels))):
                    st = rest % 4
                    meaning[r, k + 1 + 2 * j] = st == 3  # above
                    meaning[r, k + 2 + 2 * j] = st >= 2  # decided
                    rest //= 4
                meaning[r, rest] = 1
            self._codes, self._meaning = lut[code], meaning
        return self._codes, self._meaning

    def _tally(self, group: np.ndarray, n_groups: int) -> dict[str, Any]:
        """Counts per (group, element): ``group`` is each row's group code (-1: none).

        The rows of :attr:`samples` are grouped by element (as :func:`screen_frame` leaves
        them), so each element is a slice. Per element, one integer ``bincount`` of
        ``group × states + state`` (:meth:`_states`) counts every combination, and a small
        matrix product turns them into the counts of each class and level.
        """
        s = self.samples
        std = self.standard
        k = len(std.classes)
        e_codes, elements = pd.factorize(s["element"], sort=False)
        codes, meaning = self._states()
        m = max(1, meaning.shape[0])
        flag_all = s["basis_flag"].to_numpy(object)
        bounds = np.flatnonzero(np.r_[True, e_codes[1:] != e_codes[:-1], True]).tolist()
        parts, elems, flag_of = [], [], []
        for a, b in itertools.pairwise(bounds):
            ok = group[a:b] >= 0
            key = group[a:b][ok] * m + codes[a:b][ok]
            if len(key) == 0:
                parts.append((np.zeros(0, np.int64), np.zeros((0, meaning.shape[1]), np.int64)))
            elif n_groups * m <= 4 * len(key):  # dense: count into an array of every pair
                combos = np.bincount(key, minlength=n_groups * m).reshape(n_groups, m)
                present = np.flatnonzero(combos.any(axis=1))
                parts.append((present, combos[present] @ meaning))
            else:  # sparse (many small groups): sort the keys, add up runs
                uniq, count = np.unique(key, return_counts=True)
                grp = uniq // m
                new = np.r_[True, grp[1:] != grp[:-1]]
                rank = np.cumsum(new) - 1
                pairs = sparse.csr_matrix((count, (rank, uniq % m)), shape=(rank[-1] + 1, m))
                parts.append((grp[new], np.asarray(pairs @ meaning)))
            elems.append(np.full(len(parts[-1][0]), e_codes[a], dtype=np.int32))
            flag_of.append(flag_all[a])
        group_ids = np.concatenate([p for p, _ in parts]) if parts else np.zeros(0, np.int64)
        tallies = (np.concatenate([t for _, t in parts]) if parts
                   else np.zeros((0, meaning.shape[1]), np.int64))
        data: dict[str, Any] = {"group": group_ids}
        data["element"] = pd.Categorical.from_codes(
            np.concatenate(elems) if elems else np.zeros(0, np.int32),
            categories=pd.Index([str(e) for e in elements]))
        data["n"] = tallies[:, : k + 1].sum(axis=1).astype(np.int32)
        for i, name in enumerate(std.classes):
            data[f"n_{_slug(name)}"] = tallies[:, i].astype(np.int32)
        data["n_indeterminate"] = tallies[:, k].astype(np.int32)
        for j, level in enumerate(std.levels):
            above, decided = tallies[:, k + 1 + 2 * j], tallies[:, k + 2 + 2 * j]
            data[f"n_above_{level}"] = above.astype(np.int32)
            with np.errstate(invalid="ignore", divide="ignore"):
                data[f"pct_above_{level}"] = np.where(decided > 0, 100 * above / decided, np.nan)
        # the highest class present (-1 where every comparison is indeterminate)
        data["worst_class"] = np.where(tallies[:, :k] > 0, np.arange(k), -1).max(
            axis=1, initial=-1).astype(np.int8)
        data["ph_assumed"] = tallies[:, -1].astype(np.int32)
        texts = sorted({str(f) for f in flag_of if f is not None})
        per_el = np.array([texts.index(str(f)) if f is not None else -1 for f in flag_of],
                          dtype=np.int32)
        sizes = [len(p) for p, _ in parts]
        data["basis_flag"] = pd.Categorical.from_codes(
            np.repeat(per_el, sizes) if sizes else np.zeros(0, np.int32),
            categories=pd.Index(texts, dtype=object))
        return data

    def summary(self) -> pd.DataFrame:
        """Exceedance per element over the whole dataset (``by_region("all")``)."""
        return self.by_region("all").drop(columns="all")


def _dense_unique(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(idx, return_inverse=True)`` for small non-negative integers, by counting
    (sample indexes are row numbers: no sort of millions of rows needed)."""
    if len(idx) == 0 or idx.min() < 0 or idx.max() > 4 * len(idx) + 1024:
        uniq, pos = np.unique(idx, return_inverse=True)
        return uniq, pos
    present = np.bincount(idx) > 0
    rank = np.cumsum(present) - 1
    return np.flatnonzero(present), rank[idx]


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
    lu = standard.land_use_or_default(land_use)
    codes, names = pd.factorize(frame["element"])
    keep = np.array([standard.covers(str(e), lu) for e in names], dtype=bool)
    codes = np.where(keep[codes], codes, -1) if len(names) else codes
    if len(codes) and (np.any(codes < 0) or np.any(np.diff(codes) < 0)):
        rows = np.flatnonzero(codes >= 0)
        order = rows[np.argsort(codes[rows], kind="stable")]
        out, codes = frame.iloc[order].reset_index(drop=True), codes[order]
    else:  # already grouped by element (the usual case): no copy of the rows
        out = frame.reset_index(drop=True)
    out["element"] = pd.Categorical.from_codes(codes, categories=pd.Index(
        [str(e) for e in names]))
    n = len(out)
    cls = np.empty(n, dtype=np.int8)
    band = np.empty(n, dtype=np.int8)
    limits = {lv: np.empty(n) for lv in standard.levels}
    above = {lv: np.empty(n, dtype=np.int8) for lv in standard.levels}
    values = out["value"].to_numpy(dtype=float)
    censored = out["censored"].to_numpy(dtype=bool)
    ph = out["ph"].to_numpy(dtype=float)
    bounds: list[int] = (np.flatnonzero(np.r_[True, codes[1:] != codes[:-1], True]).tolist()
                         if n else [])
    for a, b in itertools.pairwise(bounds):
        c = standard.classify(str(names[codes[a]]), values[a:b], censored=censored[a:b],
                              ph=ph[a:b], land_use=lu)
        cls[a:b], band[a:b] = c.class_index, c.band
        for lv in standard.levels:
            limits[lv][a:b], above[lv][a:b] = c.limits[lv], c.above[lv]
    out["land_use"] = pd.Categorical.from_codes(np.zeros(n, np.int64),
                                                categories=pd.Index([lu]))
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
    d_codes, digestions = pd.factorize(out["digestion"].astype("string").fillna("unknown"))
    flags = [None if d == standard.basis else BASIS_FLAGS.get(
        str(d), f"{d} digestion: the standard applies to {standard.basis} concentrations")
        for d in digestions]
    out["basis_flag"] = np.asarray([*flags, None], dtype=object)[d_codes]
    notes, notes_zh = _notes(out, standard, codes, names, d_codes, digestions)
    return Screening(standard=standard, land_use=lu, samples=out, notes=notes,
                     dataset_id=dataset_id, notes_zh=notes_zh)


def _notes(out: pd.DataFrame, standard: Standard, codes: np.ndarray, names: pd.Index,
           d_codes: np.ndarray, digestions: pd.Index) -> tuple[list[str], list[str]]:
    """What the reader must know, counted in O(n) (no sort or groupby of the rows), in
    English and in Chinese."""
    notes: list[str] = []
    zh: list[str] = []
    if not len(out):
        return notes, zh
    idx = out["sample_index"].to_numpy(np.int64)
    assumed = out["ph_assumed"].to_numpy(bool)
    missing, total = len(_dense_unique(idx[assumed])[0]), len(_dense_unique(idx)[0])
    if missing and standard.ph_bands:
        notes.append(
            f"pH missing for {missing} of {total} samples: they were compared with the "
            "most protective (lowest) limits of the pH bands"
        )
        zh.append(f"共 {total} 个样品中有 {missing} 个缺少 pH：按各 pH 分段中最严格（最低）的"
                  "限值比较")
    k = len(digestions)
    seen = np.flatnonzero(np.bincount(codes * k + d_codes, minlength=len(names) * k))
    for e_code, d in sorted(((int(c) // k, str(digestions[int(c) % k])) for c in seen),
                            key=lambda t: (str(names[t[0]]), t[1])):
        if d != standard.basis:
            notes.append(f"{names[e_code]}: {BASIS_FLAGS.get(d, d)}")
            zh.append(f"{names[e_code]}：" + BASIS_FLAGS_ZH.get(
                d, f"消解方式 `{d}`：标准针对 `{standard.basis}` 含量"))
    undecided = int((out["class_index"].to_numpy() == INDETERMINATE).sum())
    if undecided:
        notes.append(f"{undecided} comparisons are indeterminate: the value is below a "
                     "detection limit that lies above the limit")
        zh.append(f"{undecided} 次比较无法判定：数值低于检出限，而检出限高于限值")
    return notes, zh


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
        See :func:`chemearth.reference.standards.get_standard`.
    land_use : str, optional
        Which of the standard's land uses to apply (default: its default).
    elements : sequence of str, optional
        Restrict to these elements (default: every element the standard covers and the
        dataset holds).
    methods : dict, optional
        Element -> a text the chosen method must contain (default: the method closest
        to a total digestion).
    region : str or shapely geometry, optional
        Restrict to a region (:func:`chemearth.stats.baselines.parse_region`).

    Examples
    --------
    >>> from chemearth.reference.standards import get_standard
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
