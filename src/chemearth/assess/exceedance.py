"""Global toxic-metal exceedance over pooled layers, per grid cell and per country.

The ICGG's world map of "the percentage of top samples with toxic metal values exceeding
risk limits" is, for each pooled cell and each country, the share of samples above a
limit. :func:`exceedance` computes it for one element of a **pooled sample frame** (the
samples of every survey of one medium group and method class, see ``docs/global-assessment.md``);
:func:`any_exceedance` for "any toxic metal": the samples above at least one element's
limit.

**Which limit.** By default (:data:`DEFAULT_CRITERIA`) Cd, Hg, As, Pb, Cr, Zn and Ni are
judged against the GB 15618-2018 risk-screening values for agricultural land (land use
``other``: neither paddy nor orchard), and Sb, Co and V, which GB 15618-2018 does not list,
against the GB 36600-2018 **first-class** (residential) screening values; every output says
so in its ``basis`` column. Any other standard is selectable by id (``standard=``), and the
whole table can be replaced (``criteria=``).

**pH.** GB 15618-2018 limits depend on soil pH. A sample with a pH (the frame's ``ph``)
is compared with the limit of its band. A sample without pH is compared, by default, with
the **most protective** (lowest) limit of the bands, the convention of
:mod:`chemearth.assess.screening`; ``assume_ph=`` compares them at the band of a given pH
instead. Outputs count the samples with and without pH and state the assumption.

**Below detection.** A censored value is stored at its detection limit (DL). It is *not
above* a limit when the DL is at or below the limit; when the DL is above the limit it is
**indeterminate**: never counted as above, never as below. ``pct_above_determinate`` is
of the determinate samples; ``pct_above_all`` is of all samples (indeterminate ones in the
denominator only).

Examples
--------
>>> from chemearth.grid.geometry import GLOBAL
>>> lon, lat = [2.35, 2.36, 2.37, -3.70], [48.85, 48.86, 48.87, 40.42]   # Paris, Madrid
>>> frame = pd.DataFrame({
...     "dataset_id": "demo", "version": 1, "sample_id": ["a", "b", "c", "d"],
...     "longitude": lon, "latitude": lat, "country": ["FR", "FR", "FR", "ES"],
...     "value": [0.2, 0.5, 0.5, 0.4], "censored": [False, False, True, False],
...     "cell": GLOBAL.cell_keys(lon, lat, 40_000), "ph": [5.0, 7.0, float("nan"), 8.0]})
>>> frame.attrs.update(element="Cd", medium="topsoil", method="total", unit="mg/kg")
>>> ex = exceedance(frame)
>>> ex.cells[["cell_id", "n", "n_above", "n_not_above", "n_indeterminate", "limit_min"]]
           cell_id  n  n_above  n_not_above  n_indeterminate  limit_min
0  G40km-W009-N118  1        0            1                0        0.6
1  G40km-E005-N137  3        1            1                1        0.3
>>> ex.countries[["country", "n", "n_above", "n_indeterminate", "pct_above_determinate"]]
  country  n  n_above  n_indeterminate  pct_above_determinate
0      ES  1        0                0                    0.0
1      FR  3        1                1                   50.0
>>> ex.basis
'Cd: gb15618-2018 screening, land use other (agricultural land risk-screening value)'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

import numpy as np
import pandas as pd

from chemearth.assess.screening import BASIS_FLAGS
from chemearth.errors import StatisticsError
from chemearth.grid.geometry import INVALID_KEY, get_grid
from chemearth.reference.pooling import PoolingError, pooling_rules
from chemearth.reference.standards import Standard, StandardError, get_standard
from chemearth.reference.units import unit_factor

__all__ = [
    "ABOVE",
    "DEFAULT_CRITERIA",
    "INDETERMINATE_STATE",
    "NOT_ABOVE",
    "NO_LIMIT",
    "TOXIC_METALS",
    "AnyExceedance",
    "Criterion",
    "Exceedance",
    "any_exceedance",
    "exceedance",
    "with_criterion",
]

#: State of a sample: above the limit.
ABOVE: Final = 1
#: State of a sample: at or below the limit (a censored value whose DL is at or below it).
NOT_ABOVE: Final = 0
#: State of a sample: censored, with the detection limit above the limit.
INDETERMINATE_STATE: Final = -1

#: State of a sample in a pH band for which the standard sets no value.
NO_LIMIT: Final = -2

#: Columns a pooled sample frame must have (``ph`` is optional).
FRAME_COLUMNS: Final = ("dataset_id", "sample_id", "country", "value", "censored", "cell")


@dataclass(frozen=True)
class Criterion:
    """The limit an element is judged against.

    Attributes
    ----------
    standard : str
        A standard id (``"gb15618-2018"``) or the path of a standard file.
    land_use : str, optional
        One of the standard's land uses (None: its default).
    level : str, optional
        One of the standard's levels (None: its first, e.g. ``screening``).
    note : str
        Why this standard: shown in every output's ``basis``.
    """

    standard: str
    land_use: str | None = None
    level: str | None = None
    note: str = ""


_GB15618 = Criterion("gb15618-2018", "other", "screening",
                     "agricultural land risk-screening value")


def _gb36600(element: str) -> Criterion:
    return Criterion("gb36600-2018", "class1", "screening",
                     f"GB 15618-2018 lists no {element}: GB 36600-2018 first-class "
                     "(class 1, residential land) screening value instead")


#: The default element -> limit table of the global toxic-metal map: GB 15618-2018
#: risk-screening values (agricultural land, land use ``other``) for Cd, Hg, As, Pb, Cr,
#: Zn and Ni; GB 36600-2018 first-class screening values for Sb, Co and V, which
#: GB 15618-2018 does not list.
DEFAULT_CRITERIA: Final[Mapping[str, Criterion]] = MappingProxyType({
    **dict.fromkeys(("Cd", "Hg", "As", "Pb", "Cr", "Zn", "Ni"), _GB15618),
    **{el: _gb36600(el) for el in ("Sb", "Co", "V")},
})
#: The elements of the default table, in its order.
TOXIC_METALS: Final = tuple(DEFAULT_CRITERIA)


@dataclass
class Exceedance:
    """Exceedance of one element of a pooled sample frame.

    Attributes
    ----------
    element : str
        The element.
    standard : Standard
        The standard it was judged against.
    land_use, level : str
        The land use and level of the limits used.
    cells, countries, world : pandas.DataFrame
        One row per grid cell (``cell``, ``cell_id``), per country (``country``; ``""``
        for samples of unknown country) and for all samples (``world``), then:
        ``element``, ``n`` (samples), ``n_above``, ``n_not_above``, ``n_indeterminate``
        (censored with the DL above the limit: neither above nor below),
        ``pct_above_determinate`` (100 × above ÷ (above + not above); NaN if none is
        determinate), ``pct_above_all`` (100 × above ÷ n), ``n_ph_measured``,
        ``n_ph_missing``, ``limit_min`` and ``limit_max`` (mg/kg: the limits used, which
        differ by pH band), ``standard`` (id), ``level``, ``land_use``, ``ph_assumption``,
        ``basis`` (which standard the element was judged against, and why) and
        ``citation``.
    samples : pandas.DataFrame
        One row per sample: ``dataset_id``, ``sample_id``, ``cell``, ``country``,
        ``value`` (mg/kg), ``censored``, ``ph``, ``limit`` and ``state`` (:data:`ABOVE`,
        :data:`NOT_ABOVE`, :data:`INDETERMINATE_STATE`, or :data:`NO_LIMIT` in a pH band
        without a value).
    notes : list of str
        What a reader must know (pH assumption, indeterminate samples, digestions pooled,
        samples off the grid).
    assumptions : dict
        The choices made, as JSON-ready data.
    """

    element: str
    standard: Standard
    land_use: str
    level: str
    cells: pd.DataFrame
    countries: pd.DataFrame
    world: pd.DataFrame
    samples: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    assumptions: dict[str, Any] = field(default_factory=dict)

    @property
    def basis(self) -> str:
        """Which standard the element was judged against, and why."""
        return str(self.assumptions["basis"])


@dataclass
class AnyExceedance:
    """Samples above at least one element's limit (:func:`any_exceedance`).

    ``cells``, ``countries`` and ``world`` have the lead columns of
    :class:`Exceedance`, then ``n`` (distinct samples: dataset id + sample id),
    ``n_above_any``, ``n_not_above`` (at or below every limit judged),
    ``n_indeterminate`` (above none, indeterminate for at least one),
    ``pct_above_any_determinate``, ``pct_above_any_all``, ``n_all_elements`` (samples
    analysed for every element), ``n_above_<element>`` per element, ``elements``,
    ``ph_assumption`` and ``basis`` (one clause per element).
    ``per_element`` holds each element's :class:`Exceedance`.
    """

    elements: tuple[str, ...]
    cells: pd.DataFrame
    countries: pd.DataFrame
    world: pd.DataFrame
    per_element: dict[str, Exceedance]
    notes: list[str] = field(default_factory=list)
    assumptions: dict[str, Any] = field(default_factory=dict)


def _criterion(element: str, criteria: Mapping[str, Criterion] | None,
               standard: str | Path | Standard | None) -> tuple[Criterion, Standard]:
    if standard is not None:
        std = standard if isinstance(standard, Standard) else get_standard(standard)
        crit = Criterion(std.id, note=f"{std.id} selected")
    else:
        table = DEFAULT_CRITERIA if criteria is None else criteria
        if element not in table:
            raise StandardError(
                f"no criterion for {element}: the table covers {', '.join(table)}; "
                "give standard= (e.g. 'gb15618-2018') or criteria=")
        crit = table[element]
        std = get_standard(crit.standard)
    return crit, std


def _land_use(crit: Criterion, std: Standard, land_use: str | Mapping[str, str] | None) -> str:
    if isinstance(land_use, str):
        return std.land_use_or_default(land_use)
    if land_use is not None and std.id in land_use:
        return std.land_use_or_default(land_use[std.id])
    return std.land_use_or_default(crit.land_use)


def _check_frame(frame: pd.DataFrame) -> None:
    missing = [c for c in FRAME_COLUMNS if c not in frame.columns]
    if missing:
        raise StatisticsError(f"a pooled sample frame needs the columns {', '.join(missing)}")


def _method_notes(method: str, std: Standard, element: str) -> list[str]:
    """Notes on the digestions a pooled method class holds, against the standard's basis."""
    if not method:
        return [f"{element}: method class not given; {std.id} applies to {std.basis} "
                "concentrations"]
    try:
        digestions = pooling_rules().method_class(method).digestions
    except PoolingError:
        digestions = (method,)
    pooled = f"{element}: the {method!r} method class pools {', '.join(digestions)} digestions"
    return [f"{pooled}; {d}: "
            + BASIS_FLAGS.get(d, f"{std.id} applies to {std.basis} concentrations")
            for d in digestions if d != std.basis]


def exceedance(
    frame: pd.DataFrame,
    *,
    element: str | None = None,
    standard: str | Path | Standard | None = None,
    criteria: Mapping[str, Criterion] | None = None,
    land_use: str | Mapping[str, str] | None = None,
    level: str | None = None,
    assume_ph: float | None = None,
    grid: str = "global",
) -> Exceedance:
    """Exceedance of one element of a pooled sample frame, per cell, country and world.

    Parameters
    ----------
    frame : pandas.DataFrame
        A pooled sample frame of one element: ``dataset_id``, ``sample_id``,
        ``country``, ``value`` (the DL where censored), ``censored``, ``cell`` (-1 off
        the grid), optionally ``ph``; attrs ``element``, ``method`` (class) and ``unit``
        (converted to mg/kg).
    element : str, optional
        Default: ``frame.attrs["element"]``.
    standard : str, path or Standard, optional
        Judge against this standard instead of the :data:`DEFAULT_CRITERIA` table.
    criteria : mapping of str to Criterion, optional
        Replaces :data:`DEFAULT_CRITERIA`.
    land_use : str or mapping, optional
        A land use of the standard used, or standard id -> land use (default: the
        criterion's; GB 15618-2018 ``other``, GB 36600-2018 ``class1``).
    level : str, optional
        The level compared with (default: the criterion's, else the standard's first).
    assume_ph : float, optional
        The pH at which samples without one are compared. Default None: the most
        protective (lowest) limit of the pH bands.
    grid : str
        The grid of the ``cell`` keys (for ``cell_id``).

    Raises
    ------
    StandardError
        For an element without a criterion, or one the standard does not cover.
    StatisticsError
        For a frame without the pooled columns.
    """
    _check_frame(frame)
    el = element or str(frame.attrs.get("element", ""))
    if not el:
        raise StatisticsError("name the element (element=, or the frame's attrs)")
    crit, std = _criterion(el, criteria, standard)
    lu = _land_use(crit, std, land_use)
    lv = level or crit.level or std.levels[0]
    if lv not in std.levels:
        raise StandardError(f"standard {std.id} has no level {lv!r}; "
                            f"levels: {', '.join(std.levels)}")
    if not std.covers(el, lu) or not np.isfinite(std.row(el, lv, lu)).any():
        raise StandardError(f"standard {std.id} sets no {lv} value for {el} ({lu})")
    factor = unit_factor(str(frame.attrs.get("unit", "mg/kg")), "mg/kg")
    notes: list[str] = []
    values = frame["value"].to_numpy(float) * factor
    ok = np.isfinite(values)
    if not ok.all():
        notes.append(f"{int((~ok).sum())} samples without a value were left out")
    f = frame.reset_index(drop=True) if ok.all() else frame.loc[ok].reset_index(drop=True)
    values = values[ok]
    censored = f["censored"].to_numpy(bool)
    ph = (f["ph"].to_numpy(float) if "ph" in f.columns else np.full(len(f), np.nan))
    measured = np.isfinite(ph)
    use_ph = ph if assume_ph is None else np.where(measured, ph, float(assume_ph))
    c = std.classify(el, values, censored=censored, ph=use_ph, land_use=lu)
    state = c.above[lv].astype(np.int8)  # 1 above, 0 not above, -1 indeterminate
    limit = c.limits[lv]
    assumption = _ph_assumption(std, assume_ph)
    basis = f"{el}: {std.id} {lv}, land use {lu}" + (f" ({crit.note})" if crit.note else "")
    samples = pd.DataFrame({  # the id columns as they came: no copy into Python strings
        "dataset_id": f["dataset_id"], "sample_id": f["sample_id"],
        "cell": f["cell"].to_numpy(np.int64), "country": f["country"],
        "value": values, "censored": censored, "ph": ph, "limit": limit, "state": state,
    })
    const = {"element": el, "standard": std.id, "level": lv, "land_use": lu,
             "ph_assumption": assumption, "basis": basis, "citation": std.citation}
    tables = _tables(samples, measured, grid, const)
    notes += _notes(el, std, samples, measured, assumption, str(frame.attrs.get("method", "")))
    assumptions = {
        "element": el, "standard": std.id, "citation": std.citation, "level": lv,
        "land_use": lu, "basis": basis, "ph_assumption": assumption,
        "assume_ph": assume_ph, "unit": "mg/kg",
        "limits_by_band": {std.band_label(b): float(v) for b, v in
                           enumerate(std.row(el, lv, lu))} if std.ph_bands
        else {"any pH": float(std.row(el, lv, lu)[0])},
        "medium": frame.attrs.get("medium", ""), "method": frame.attrs.get("method", ""),
        "indeterminate": "censored values whose detection limit is above the limit are "
                         "neither above nor below it: left out of pct_above_determinate, "
                         "in the denominator of pct_above_all",
    }
    return Exceedance(el, std, lu, lv, *tables, samples, notes, assumptions)


def _ph_assumption(std: Standard, assume_ph: float | None) -> str:
    if not std.ph_bands:
        return f"not used: {std.id} has no pH bands"
    if assume_ph is None:
        return "samples without pH: the most protective (lowest) limit of the pH bands"
    band = int(std.bands_of([assume_ph])[0])
    return f"samples without pH: assumed pH {assume_ph:g} ({std.band_label(band)})"


def _notes(el: str, std: Standard, samples: pd.DataFrame, measured: np.ndarray,
           assumption: str, method: str) -> list[str]:
    notes = []
    n_missing = int((~measured).sum())
    if std.ph_bands and n_missing:
        notes.append(f"{el}: pH missing for {n_missing} of {len(samples)} samples; "
                     f"{assumption}")
    no_limit = int((samples["state"] == NO_LIMIT).sum())
    if no_limit:
        notes.append(f"{el}: {no_limit} samples fall in a pH band without a {std.id} value: "
                     "counted in n only")
    undecided = int((samples["state"] == INDETERMINATE_STATE).sum())
    if undecided:
        notes.append(f"{el}: {undecided} samples are indeterminate: below a detection limit "
                     "that lies above the limit, so counted neither as above nor as below")
    off = int((samples["cell"] == INVALID_KEY).sum())
    if off:
        notes.append(f"{el}: {off} samples lie off the grid: in the country and world "
                     "tables, not in the cell table")
    notes += _method_notes(method, std, el)
    return notes


def _count(codes: np.ndarray, n_groups: int, state: np.ndarray,
           measured: np.ndarray) -> dict[str, np.ndarray]:
    """Counts per group (``codes`` in 0 … n_groups - 1)."""
    def bc(mask: np.ndarray) -> np.ndarray:
        return np.bincount(codes[mask], minlength=n_groups).astype(np.int64)

    every = np.ones(len(codes), dtype=bool)
    n, above = bc(every), bc(state == ABOVE)
    below, undecided = bc(state == NOT_ABOVE), bc(state == INDETERMINATE_STATE)
    decided = above + below
    with np.errstate(invalid="ignore", divide="ignore"):
        pct_det = np.where(decided > 0, 100.0 * above / np.maximum(decided, 1), np.nan)
        pct_all = np.where(n > 0, 100.0 * above / np.maximum(n, 1), np.nan)
    return {"n": n, "n_above": above, "n_not_above": below, "n_indeterminate": undecided,
            "pct_above_determinate": pct_det, "pct_above_all": pct_all,
            "n_ph_measured": bc(measured), "n_ph_missing": bc(~measured)}


def _sorted_codes(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(keys, return_inverse=True)`` by hashing: sorts the uniques only."""
    codes, uniques = pd.factorize(keys)
    uniques = np.asarray(uniques, dtype=np.int64)
    order = np.argsort(uniques, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return uniques[order], rank[codes]


def _groups(samples: pd.DataFrame, grid: str
            ) -> list[tuple[dict[str, Any], np.ndarray, np.ndarray]]:
    """(lead columns, row mask, group code of the masked rows) for cells, countries, world."""
    cell = samples["cell"].to_numpy(np.int64)
    on = cell != INVALID_KEY
    cells, cell_code = _sorted_codes(cell[on])
    country_code, countries = pd.factorize(samples["country"].astype("string").fillna(""),
                                           sort=True)
    every = np.ones(len(samples), dtype=bool)
    return [
        ({"cell": cells, "cell_id": get_grid(grid).key_to_id(cells)}, on, cell_code),
        ({"country": np.asarray(countries, dtype=object)}, every,
         country_code.astype(np.int64)),
        ({"world": np.array(["world"], dtype=object)}, every,
         np.zeros(len(samples), dtype=np.int64)),
    ]


def _tables(samples: pd.DataFrame, measured: np.ndarray, grid: str,
            const: dict[str, str]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    state = samples["state"].to_numpy(np.int8)
    limit = samples["limit"].to_numpy(float)
    out = []
    for lead, mask, code in _groups(samples, grid):
        k = len(next(iter(lead.values())))
        counts = _count(code, k, state[mask], measured[mask])
        lo = np.full(k, np.inf)
        hi = np.full(k, -np.inf)
        np.minimum.at(lo, code, limit[mask])
        np.maximum.at(hi, code, limit[mask])
        data: dict[str, Any] = {**lead, "element": const["element"], **counts,
                                "limit_min": np.where(counts["n"] > 0, lo, np.nan),
                                "limit_max": np.where(counts["n"] > 0, hi, np.nan)}
        table = pd.DataFrame(data)
        for name in ("standard", "level", "land_use", "ph_assumption", "basis", "citation"):
            table[name] = _constant(const[name], k)
        out.append(table)
    return out[0], out[1], out[2]


def any_exceedance(
    frames: Sequence[pd.DataFrame | Exceedance],
    **options: Any,
) -> AnyExceedance:
    """Samples above the limit of at least one element, per cell, country and world.

    Parameters
    ----------
    frames : sequence of pandas.DataFrame or Exceedance
        Pooled sample frames of different elements (of one medium group and level), or
        results of :func:`exceedance`. A sample is ``dataset_id`` + ``sample_id``; it
        must lie in the same cell and country in every frame.
    **options
        Passed to :func:`exceedance` for each frame (``standard``, ``criteria``,
        ``land_use`` (a mapping by standard id when the elements use several
        standards), ``level``, ``assume_ph``, ``grid``).

    Notes
    -----
    A sample is *above* if it is above the limit of any element analysed for it; *not
    above* if it is at or below every limit judged; otherwise *indeterminate*. A sample
    is judged on the elements analysed for it: one analysed for fewer elements can only
    understate (``n_all_elements`` counts those analysed for every element).

    Examples
    --------
    >>> from chemearth.grid.geometry import GLOBAL
    >>> cells = GLOBAL.cell_keys([2.35, 2.36, 4.84], [48.85, 48.86, 45.76], 40_000)
    >>> def frame(el, values):
    ...     f = pd.DataFrame({"dataset_id": "d", "version": 1, "sample_id": ["a", "b", "c"],
    ...                       "country": "FR", "value": values, "censored": False,
    ...                       "cell": cells})
    ...     f.attrs.update(element=el, method="total", unit="mg/kg")
    ...     return f
    >>> a = any_exceedance([frame("Pb", [10.0, 500.0, 10.0]), frame("Cd", [1.0, 0.1, 0.1])])
    >>> a.cells[["cell_id", "n", "n_above_any", "n_above_Pb", "n_above_Cd"]]
               cell_id  n  n_above_any  n_above_Pb  n_above_Cd
    0  G40km-E005-N137  2            2           1           1
    1  G40km-E011-N131  1            0           0           0
    """
    grid = str(options.get("grid", "global"))
    results = [f if isinstance(f, Exceedance) else exceedance(f, **options) for f in frames]
    if not results:
        raise StatisticsError("give at least one element frame")
    elements = tuple(r.element for r in results)
    if len(set(elements)) != len(elements):
        raise StatisticsError(f"an element is given twice: {', '.join(elements)}")
    ident, first, elem, state_rows = _identities(results)
    n_samples = len(first)
    # per sample: above any element; else indeterminate for any; else not above
    above = np.bincount(ident, weights=state_rows == ABOVE, minlength=n_samples) > 0
    maybe = np.bincount(ident, weights=state_rows == INDETERMINATE_STATE,
                        minlength=n_samples) > 0
    state = np.where(above, ABOVE, np.where(maybe, INDETERMINATE_STATE, NOT_ABOVE))
    n_elements = np.zeros(n_samples, dtype=np.int64)  # elements analysed per sample
    for j in range(len(elements)):
        n_elements += np.bincount(ident[elem == j], minlength=n_samples) > 0
    rows = pd.concat([r.samples[["dataset_id", "sample_id", "cell", "country"]]
                      for r in results], ignore_index=True)
    samples = rows.iloc[first].reset_index(drop=True).assign(state=state)
    basis = "; ".join(r.basis for r in results)
    assumptions_ph = sorted({str(r.assumptions["ph_assumption"]) for r in results})
    tables = []
    for lead, mask, code in _groups(samples, grid):
        k = len(next(iter(lead.values())))
        group = np.full(n_samples, -1, dtype=np.int64)
        group[mask] = code
        counts = _count(code, k, state[mask], np.ones(int(mask.sum()), bool))
        data: dict[str, Any] = {
            **lead, "n": counts["n"], "n_above_any": counts["n_above"],
            "n_not_above": counts["n_not_above"], "n_indeterminate": counts["n_indeterminate"],
            "pct_above_any_determinate": counts["pct_above_determinate"],
            "pct_above_any_all": counts["pct_above_all"],
            "n_all_elements": np.bincount(code, weights=(n_elements == len(elements))[mask],
                                          minlength=k).astype(np.int64),
        }
        for j, el in enumerate(elements):
            g = group[ident[(elem == j) & (state_rows == ABOVE)]]
            data[f"n_above_{el}"] = np.bincount(g[g >= 0], minlength=k).astype(np.int64)
        table = pd.DataFrame(data)
        table["elements"] = _constant(",".join(elements), k)
        table["ph_assumption"] = _constant(" | ".join(assumptions_ph), k)
        table["basis"] = _constant(basis, k)
        tables.append(table)
    notes = [n for r in results for n in r.notes]
    partial = int((n_elements < len(elements)).sum())
    if partial:
        notes.append(f"{partial} of {n_samples} samples were not analysed for every element: "
                     "each is judged on the elements analysed for it")
    assumptions = {"elements": list(elements), "basis": basis,
                   "sample identity": "dataset_id + sample_id",
                   "per_element": {r.element: r.assumptions for r in results}}
    return AnyExceedance(elements, tables[0], tables[1], tables[2],
                         {r.element: r for r in results}, notes, assumptions)


def _identities(results: Sequence[Exceedance]
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each row's sample (dataset id + sample id) as a code, the first row of each sample,
    each row's element index and state; checks a sample's cell and country agree."""
    parts = [r.samples for r in results]
    ds_code, _ = pd.factorize(pd.concat([p["dataset_id"] for p in parts], ignore_index=True))
    id_code, _ = pd.factorize(pd.concat([p["sample_id"] for p in parts], ignore_index=True))
    key = ds_code.astype(np.int64) * (int(id_code.max(initial=0)) + 1) + id_code
    ident, uniq = pd.factorize(key)
    ident = ident.astype(np.int64)
    first = np.empty(len(uniq), dtype=np.int64)
    first[ident[::-1]] = np.arange(len(ident))[::-1]
    cell = np.concatenate([p["cell"].to_numpy(np.int64) for p in parts])
    country, _ = pd.factorize(pd.concat([p["country"] for p in parts], ignore_index=True)
                              .astype("string").fillna(""))
    moved = (cell != cell[first][ident]) | (country != country[first][ident])
    if moved.any():
        row = int(first[ident[np.flatnonzero(moved)[0]]])
        sample = pd.concat([p[["dataset_id", "sample_id"]] for p in parts],
                           ignore_index=True).iloc[row]
        raise StatisticsError(
            f"sample {sample['sample_id']!r} of {sample['dataset_id']!r} lies in different "
            "cells or countries in different element frames: give frames of one grid level")
    elem = np.repeat(np.arange(len(parts)), [len(p) for p in parts])
    state = np.concatenate([p["state"].to_numpy(np.int8) for p in parts])
    return ident, first, elem, state


def _constant(text: str, k: int) -> pd.Categorical[str]:
    """``k`` copies of ``text`` as a categorical (one string, not k)."""
    return pd.Categorical.from_codes(np.zeros(k, dtype=np.int64), categories=pd.Index([text]))


def with_criterion(element: str, criterion: Criterion,
                   base: Mapping[str, Criterion] | None = None) -> dict[str, Criterion]:
    """A copy of ``base`` (default :data:`DEFAULT_CRITERIA`) with ``element`` judged by
    ``criterion``.

    Examples
    --------
    >>> t = with_criterion("Cu", Criterion("gb15618-2018", "other"))
    >>> t["Cu"].standard, len(t) == len(DEFAULT_CRITERIA) + 1
    ('gb15618-2018', True)
    """
    out = dict(DEFAULT_CRITERIA if base is None else base)
    out[element] = replace(criterion)
    return out
