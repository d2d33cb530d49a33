"""Soil-quality standards as data: limit values by element, level, land use and soil pH.

A standard file is TOML (the shipped ones are in ``chemearth/reference/data/standards/``;
users add their own in the same form, by path or in ``<CHEMEARTH_HOME>/standards/``)::

    id = "gb15618-2018"                    # the file's id (lowercase, digits, hyphens)
    title = "…"
    citation = "…"                         # shown with every result
    citation_zh = "…"                      # optional: its Chinese form (Chinese standards)
    basis = "total"                        # the digestion the values are for
    unit = "mg/kg"                         # any mass-fraction unit of chemearth.reference.units
    ph_bands = ["pH <= 5.5", "5.5 < pH <= 6.5", "6.5 < pH <= 7.5", "pH > 7.5"]  # optional
    land_uses = ["paddy", "orchard", "other"]                                  # optional
    default_land_use = "other"
    levels = ["screening", "control"]      # increasing limits
    classes = ["priority protection", "safe utilisation", "strict control"]  # levels + 1
    classes_zh = ["优先保护类", "安全利用类", "严格管控类"]  # optional, as many as classes
    notes = ["…"]                          # what a reader of any result must know
    notes_zh = ["…"]                       # optional: the notes in Chinese, as many

    [[limits]]
    level = "screening"
    element = "Cd"
    land_use = "paddy"                     # a name, a list of names, or absent: all
    values = [0.3, 0.4, 0.6, 0.8]          # one per pH band (nan: not defined there)
    # or: value = 0.3 (every band); or by_land_use = { paddy = 0.3, other = [...] }

pH bands are written ``pH <= a``, ``pH < a``, ``a < pH <= b``, ``a <= pH <= b``,
``pH > b`` or ``pH >= b``; they must not overlap and must cover every pH. A sample at a band
edge falls in the band whose inequality includes it (GB 15618-2018: pH 5.5 is in
``pH <= 5.5``, pH 6.5 in ``5.5 < pH <= 6.5``).

A sample without pH is compared with the **most protective** (lowest) limit of the bands;
results say so (``ph_assumed``). A sample's class is the number of levels it exceeds, so a
standard without a control value for an element (GB 15618-2018 Cu, Ni, Zn) never puts it
in the last class. A value below its detection limit is known to be at or below a limit
only when the limit is at least the detection limit; otherwise its class is
indeterminate (:data:`INDETERMINATE`).

Examples
--------
>>> gb = get_standard("gb15618-2018")
>>> gb.limit("Cd", "screening", land_use="paddy", ph=6.5)
0.4
>>> gb.limit("Cd", "screening", land_use="paddy", ph=None)   # most protective band
0.3
>>> c = gb.classify("Cd", [0.2, 0.5, 2.5], ph=[6.0, 6.0, 6.0])
>>> [gb.classes[k] for k in c.class_index]
['priority protection', 'safe utilisation', 'strict control']
"""

from __future__ import annotations

import itertools
import math
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from chemearth.errors import ChemearthError, NotFoundError, UnitError
from chemearth.reference.elements import ELEMENTS
from chemearth.reference.units import parse_unit

__all__ = [
    "INDETERMINATE",
    "Classification",
    "PhBand",
    "Standard",
    "StandardError",
    "available_standards",
    "get_standard",
    "load_standard",
    "shipped_standard_files",
]

#: The shipped standard files (one TOML file per standard; the file stem is its id).
_SHIPPED = Path(__file__).parent / "data" / "standards"


def shipped_standard_files() -> list[Path]:
    """Paths of every shipped standard file, sorted by id.

    The values are facts transcribed from the published standards (see each file's
    ``citation``).

    Examples
    --------
    >>> [p.stem for p in shipped_standard_files()][:2]
    ['ccme-2007', 'dutch-2000']
    """
    return sorted(_SHIPPED.glob("*.toml"))

#: ``class_index`` of a censored value whose detection limit lies above a limit.
INDETERMINATE = -1

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_SPECIES_RE = re.compile(r"^([A-Z][a-z]?)(\([A-Za-z0-9+-]+\))?$")
_NUM = r"(\d+(?:\.\d+)?)"
_TOP = {"id", "title", "title_zh", "citation", "citation_zh", "jurisdiction", "applies_to",
        "basis", "unit", "ph_bands", "land_uses", "default_land_use", "levels", "classes",
        "classes_zh", "notes", "notes_zh", "limits", "url"}
_LIMIT_KEYS = {"level", "element", "land_use", "value", "values", "by_land_use", "note"}
_BASES = ("total", "near-total", "aqua-regia", "partial")


class StandardError(ChemearthError, ValueError):
    """A standard file that cannot be read, or a request a standard cannot answer."""

    exit_code = 2


@dataclass(frozen=True)
class PhBand:
    """One soil-pH band: ``lo < pH <= hi`` with the inclusiveness of each edge.

    Examples
    --------
    >>> b = PhBand.parse("5.5 < pH <= 6.5")
    >>> b.contains(np.array([5.5, 6.0, 6.5, 7.0])).tolist()
    [False, True, True, False]
    """

    label: str
    lo: float = -math.inf
    lo_closed: bool = False
    hi: float = math.inf
    hi_closed: bool = False

    @classmethod
    def parse(cls, text: str) -> PhBand:
        """A band from ``"pH <= 5.5"``, ``"5.5 < pH <= 6.5"``, ``"pH > 7.5"``…"""
        t = " ".join(str(text).split())
        m = re.fullmatch(rf"{_NUM} (<=?) pH (<=?) {_NUM}", t)
        if m:
            return cls(t, float(m[1]), m[2] == "<=", float(m[4]), m[3] == "<=")
        m = re.fullmatch(rf"pH (<=?) {_NUM}", t)
        if m:
            return cls(t, hi=float(m[2]), hi_closed=m[1] == "<=")
        m = re.fullmatch(rf"pH (>=?) {_NUM}", t)
        if m:
            return cls(t, lo=float(m[2]), lo_closed=m[1] == ">=")
        raise StandardError(
            f"pH band {text!r}: write 'pH <= a', 'a < pH <= b', 'pH > b' (or with < / >=)"
        )

    def contains(self, ph: NDArray[np.float64]) -> NDArray[np.bool_]:
        """Which pH values fall in the band (NaN never does)."""
        lo = ph >= self.lo if self.lo_closed else ph > self.lo
        hi = ph <= self.hi if self.hi_closed else ph < self.hi
        return np.asarray(lo & hi)


@dataclass(frozen=True)
class Classification:
    """The comparison of values of one element with a standard.

    Attributes
    ----------
    class_index : numpy.ndarray
        ``int8`` class of each value: the number of levels exceeded (0 … number of
        levels), or :data:`INDETERMINATE`.
    limits : dict of str to numpy.ndarray
        The limit each value was compared with, per level (NaN: no limit at that level).
    above : dict of str to numpy.ndarray
        Per level, ``int8``: 1 above the limit, 0 at or below it, -1 indeterminate
        (censored with the detection limit above the limit), -2 no limit.
    band : numpy.ndarray
        ``int8`` index of each value's pH band in ``Standard.ph_bands``; -1 where the pH
        is missing (the most protective limits were used).
    """

    class_index: NDArray[np.int8]
    limits: dict[str, NDArray[np.float64]]
    above: dict[str, NDArray[np.int8]]
    band: NDArray[np.int8]

    @property
    def ph_assumed(self) -> NDArray[np.bool_]:
        """Where the pH was missing and the most protective band was used."""
        return np.asarray(self.band < 0)


@dataclass(frozen=True)
class Standard:
    """A soil-quality standard: limits per element, level, land use and pH band.

    ``table[(element, level, land_use)]`` holds the limits in mg/kg, one per pH band
    (NaN where the standard sets none). Read one with :func:`get_standard` or
    :func:`load_standard`.
    """

    id: str
    title: str
    citation: str
    basis: str
    unit: str
    levels: tuple[str, ...]
    classes: tuple[str, ...]
    ph_bands: tuple[PhBand, ...]
    land_uses: tuple[str, ...]
    default_land_use: str
    table: Mapping[tuple[str, str, str], tuple[float, ...]]
    title_zh: str = ""
    classes_zh: tuple[str, ...] = ()
    jurisdiction: str = ""
    applies_to: str = ""
    url: str = ""
    notes: tuple[str, ...] = ()
    source: str = ""
    citation_zh: str = ""
    notes_zh: tuple[str, ...] = ()

    @property
    def elements(self) -> tuple[str, ...]:
        """The elements (and species such as ``Cr(VI)``) the standard sets limits for."""
        return tuple(sorted({e for e, _, _ in self.table}))

    @property
    def n_bands(self) -> int:
        return max(1, len(self.ph_bands))

    def land_use_or_default(self, land_use: str | None) -> str:
        """``land_use``, or the default when None; an unknown one is an error."""
        lu = self.default_land_use if land_use is None else land_use
        if lu not in self.land_uses:
            raise StandardError(
                f"standard {self.id}: unknown land use {lu!r}; one of {', '.join(self.land_uses)}"
            )
        return lu

    def row(self, element: str, level: str, land_use: str | None = None) -> NDArray[np.float64]:
        """The limits of ``element`` at ``level`` for ``land_use``, one per pH band (mg/kg)."""
        if level not in self.levels:
            raise StandardError(f"standard {self.id}: unknown level {level!r}")
        lu = self.land_use_or_default(land_use)
        vals = self.table.get((element, level, lu))
        return np.full(self.n_bands, np.nan) if vals is None else np.array(vals, dtype=float)

    def covers(self, element: str, land_use: str | None = None) -> bool:
        """Whether the standard sets any limit for ``element`` (and land use)."""
        lu = self.land_use_or_default(land_use)
        return any((element, lv, lu) in self.table for lv in self.levels)

    def bands_of(self, ph: ArrayLike) -> NDArray[np.int8]:
        """Index of each pH value's band (-1 for a missing pH)."""
        p = np.atleast_1d(np.asarray(ph, dtype=float))
        out = np.full(p.shape, -1, dtype=np.int8)
        if not self.ph_bands:
            out[np.isfinite(p)] = 0
            return out
        for i, band in enumerate(self.ph_bands):
            out[band.contains(p)] = i
        return out

    def band_label(self, band: int) -> str:
        """The label of band ``band`` (-1: the most protective band, pH missing)."""
        if band < 0:
            return "pH missing: most protective band"
        return self.ph_bands[band].label if self.ph_bands else "any pH"

    def limit(
        self, element: str, level: str, *, land_use: str | None = None, ph: float | None = None
    ) -> float:
        """One limit (mg/kg); NaN if the standard sets none.

        Without ``ph`` (or NaN), the most protective band's limit.
        """
        band = self.bands_of([np.nan if ph is None else ph])
        return float(self._limits(self.row(element, level, land_use), band)[0])

    def _limits(self, row: NDArray[np.float64], band: NDArray[np.int8]) -> NDArray[np.float64]:
        if self.ph_bands:
            defined = row[np.isfinite(row)]
            protective = defined.min() if defined.size else np.nan
            table = np.append(row, protective)  # band -1 -> the appended entry
            return table[band]
        return np.full(band.shape, row[0])

    def classify(
        self,
        element: str,
        values: ArrayLike,
        *,
        censored: ArrayLike | None = None,
        ph: ArrayLike | None = None,
        land_use: str | None = None,
    ) -> Classification:
        """Compare values of ``element`` (mg/kg) with every level of the standard.

        Parameters
        ----------
        element : str
            Element as in the standard (``"Cd"``).
        values : array_like
            Concentrations in mg/kg (the detection limit where censored).
        censored : array_like of bool, optional
            Which values are below their detection limit.
        ph : array_like, optional
            Soil pH of each value (NaN: missing); scalar or per value.
        land_use : str, optional
            One of ``land_uses`` (default ``default_land_use``).

        Raises
        ------
        StandardError
            For an element the standard does not cover or an unknown land use.
        """
        v = np.atleast_1d(np.asarray(values, dtype=float))
        c = (np.zeros(v.shape, bool) if censored is None
             else np.broadcast_to(np.asarray(censored, dtype=bool), v.shape))
        p = np.broadcast_to(np.asarray(np.nan if ph is None else ph, dtype=float), v.shape)
        if not self.covers(element, land_use):
            raise StandardError(f"standard {self.id} sets no limit for {element!r}")
        band = self.bands_of(p)
        cls = np.zeros(v.shape, dtype=np.int8)
        unknown = np.zeros(v.shape, dtype=bool)
        limits: dict[str, NDArray[np.float64]] = {}
        above: dict[str, NDArray[np.int8]] = {}
        for level in self.levels:
            lim = self._limits(self.row(element, level, land_use), band)
            has = np.isfinite(lim)
            over = has & (v > lim)
            undecided = over & c  # a detection limit above the limit: the value may be below
            a = np.where(has, over.astype(np.int8), np.int8(-2)).astype(np.int8)
            a[undecided] = -1
            cls += (over & ~c).astype(np.int8)
            unknown |= undecided
            limits[level], above[level] = lim, a
        cls[unknown] = INDETERMINATE
        cls[~np.isfinite(v)] = INDETERMINATE
        return Classification(class_index=cls, limits=limits, above=above, band=band)

    def to_dict(self) -> dict[str, Any]:
        """The standard as JSON-ready data (limits as rows)."""
        rows = []
        for (el, level, lu), vals in sorted(self.table.items()):
            rows.append({
                "element": el, "level": level, "land_use": lu,
                "limits": [None if math.isnan(x) else x for x in vals],
            })
        return {
            "id": self.id, "title": self.title, "title_zh": self.title_zh,
            "citation": self.citation, "citation_zh": self.citation_zh,
            "jurisdiction": self.jurisdiction,
            "applies_to": self.applies_to, "basis": self.basis, "unit": "mg/kg",
            "ph_bands": [b.label for b in self.ph_bands], "land_uses": list(self.land_uses),
            "default_land_use": self.default_land_use, "levels": list(self.levels),
            "classes": list(self.classes), "classes_zh": list(self.classes_zh),
            "elements": list(self.elements), "notes": list(self.notes),
            "notes_zh": list(self.notes_zh), "limits": rows,
        }


def _fail(path: Path | str, where: str, message: str) -> StandardError:
    return StandardError(f"{path}: {where}: {message}")


def _strings(
    path: Path, doc: Mapping[str, Any], key: str, default: Sequence[str] = ()
) -> tuple[str, ...]:
    val = doc.get(key, list(default))
    if not isinstance(val, list) or not all(isinstance(x, str) and x for x in val):
        raise _fail(path, key, "must be a list of non-empty strings")
    if len(set(val)) != len(val):
        raise _fail(path, key, "has duplicates")
    return tuple(val)


def _check_bands(path: Path, bands: tuple[PhBand, ...]) -> None:
    """Bands in order, touching, not overlapping, covering every pH."""
    if not bands:
        return
    if bands[0].lo != -math.inf or bands[-1].hi != math.inf:
        raise _fail(path, "ph_bands", "must start with 'pH <…' and end with 'pH >…'")
    for a, b in itertools.pairwise(bands):
        if a.hi != b.lo or a.hi_closed == b.lo_closed:
            raise _fail(path, "ph_bands", f"{a.label!r} and {b.label!r} must meet at one edge, "
                        "which exactly one of them includes")


def _band_values(path: Path, where: str, raw: Any, n_bands: int) -> tuple[float, ...]:
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return (float(raw),) * n_bands
    if isinstance(raw, list) and all(isinstance(x, int | float) and not isinstance(x, bool)
                                     for x in raw):
        if len(raw) != n_bands:
            raise _fail(path, where, f"has {len(raw)} values for {n_bands} pH bands")
        return tuple(float(x) for x in raw)
    raise _fail(path, where, "must be a number or a list of numbers (one per pH band)")


def _check_element(path: Path, where: str, element: Any) -> str:
    if not isinstance(element, str):
        raise _fail(path, where, "element must be a string")
    m = _SPECIES_RE.match(element)
    if not m or m[1] not in ELEMENTS:
        raise _fail(path, where, f"unknown element {element!r} (use a symbol such as 'Cd', "
                    "or a species such as 'Cr(VI)')")
    return element


def load_standard(path: str | Path) -> Standard:
    """Read a standard file.

    Raises
    ------
    StandardError
        Naming the file and the key or ``limits`` entry at fault.

    Examples
    --------
    >>> s = load_standard(shipped_standard_files()[0])
    >>> s.id, s.levels
    ('ccme-2007', ('guideline',))
    """
    p = Path(path)
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StandardError(f"{p}: no such standard file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise StandardError(f"{p}: not valid TOML: {exc}") from None
    unknown = sorted(set(doc) - _TOP)
    if unknown:
        raise _fail(p, ", ".join(unknown), "unknown key")
    for key in ("id", "title", "citation", "levels", "classes", "limits"):
        if key not in doc:
            raise _fail(p, key, "missing")
    sid = doc["id"]
    if not isinstance(sid, str) or not _ID_RE.match(sid):
        raise _fail(p, "id", "must be lowercase letters, digits and hyphens")
    basis = doc.get("basis", "total")
    if basis not in _BASES:
        raise _fail(p, "basis", f"must be one of {', '.join(_BASES)}")
    unit = doc.get("unit", "mg/kg")
    try:
        u = parse_unit(unit)
    except UnitError as exc:
        raise _fail(p, "unit", str(exc)) from None
    if u.dimension != "mass_fraction":
        raise _fail(p, "unit", f"{unit!r} is not a mass fraction")
    levels = _strings(p, doc, "levels")
    classes = _strings(p, doc, "classes")
    if not levels or len(classes) != len(levels) + 1:
        raise _fail(p, "classes", f"needs {len(levels) + 1} names for {len(levels)} levels")
    classes_zh = _strings(p, doc, "classes_zh")
    if classes_zh and len(classes_zh) != len(classes):
        raise _fail(p, "classes_zh", "needs as many names as classes")
    notes, notes_zh = _strings(p, doc, "notes"), _strings(p, doc, "notes_zh")
    if notes_zh and len(notes_zh) != len(notes):
        raise _fail(p, "notes_zh", "needs as many notes as notes")
    bands = tuple(PhBand.parse(b) for b in _strings(p, doc, "ph_bands"))
    _check_bands(p, bands)
    n_bands = max(1, len(bands))
    land_uses = _strings(p, doc, "land_uses", ("all",))
    default_lu = doc.get("default_land_use", land_uses[0])
    if default_lu not in land_uses:
        raise _fail(p, "default_land_use", f"{default_lu!r} is not in land_uses")
    table = _limits_table(p, doc["limits"], levels, land_uses, n_bands)
    _check_order(p, levels, table)  # in the file's unit, as its messages say
    table = {k: tuple(x * u.scale for x in v) for k, v in table.items()}
    return Standard(
        id=sid, title=str(doc["title"]), citation=str(doc["citation"]), basis=basis,
        unit="mg/kg", levels=levels, classes=classes, ph_bands=bands, land_uses=land_uses,
        default_land_use=default_lu, table=table, title_zh=str(doc.get("title_zh", "")),
        classes_zh=classes_zh, jurisdiction=str(doc.get("jurisdiction", "")),
        applies_to=str(doc.get("applies_to", "")), url=str(doc.get("url", "")),
        notes=notes, source=str(p), citation_zh=str(doc.get("citation_zh", "")),
        notes_zh=notes_zh,
    )


def _limits_table(
    p: Path, limits: Any, levels: tuple[str, ...], land_uses: tuple[str, ...], n_bands: int
) -> dict[tuple[str, str, str], tuple[float, ...]]:
    """The ``[[limits]]`` entries as (element, level, land use) -> limit per pH band."""
    table: dict[tuple[str, str, str], tuple[float, ...]] = {}
    if not isinstance(limits, list):
        raise _fail(p, "limits", "must be an array of tables ([[limits]])")
    for i, lim in enumerate(limits, start=1):
        where = f"limits entry {i}"
        if not isinstance(lim, dict):
            raise _fail(p, where, "must be a table")
        bad = sorted(set(lim) - _LIMIT_KEYS)
        if bad:
            raise _fail(p, where, f"unknown key {', '.join(bad)}")
        el = _check_element(p, where, lim.get("element"))
        where = f"limits entry {i} ({el})"
        level = lim.get("level")
        if level not in levels:
            raise _fail(p, where, f"level {level!r} is not in levels")
        given = [k for k in ("value", "values", "by_land_use") if k in lim]
        if len(given) != 1:
            raise _fail(p, where, "give exactly one of value, values, by_land_use")
        if "by_land_use" in lim:
            if "land_use" in lim or not isinstance(lim["by_land_use"], dict):
                raise _fail(p, where, "by_land_use must be a table and excludes land_use")
            per = {lu: _band_values(p, f"{where}, {lu}", raw, n_bands)
                   for lu, raw in lim["by_land_use"].items()}
        else:
            lus = lim.get("land_use", list(land_uses))
            lus = [lus] if isinstance(lus, str) else lus
            vals = _band_values(p, where, lim[given[0]], n_bands)
            per = dict.fromkeys(lus, vals)
        for lu, vals in per.items():
            if lu not in land_uses:
                raise _fail(p, where, f"land use {lu!r} is not in land_uses")
            if any(x < 0 for x in vals if not math.isnan(x)):
                raise _fail(p, where, "limits must not be negative")
            if (el, level, lu) in table:
                raise _fail(p, where, f"{el} {level} for {lu} is given twice")
            table[(el, level, lu)] = vals
    return table


def _check_order(
    path: Path, levels: tuple[str, ...], table: Mapping[tuple[str, str, str], tuple[float, ...]]
) -> None:
    """Limits must not decrease from one level to the next (same element, land use, band)."""
    for (el, level, lu), vals in table.items():
        i = levels.index(level)
        for higher in levels[i + 1:]:
            up = table.get((el, higher, lu))
            if up is None:
                continue
            for a, b in zip(vals, up, strict=True):
                if a > b:  # NaN compares False
                    raise _fail(path, f"{el} ({lu})", f"the {higher} limit {b:g} is below "
                                f"the {level} limit {a:g}")


def _user_dirs(home: Path | None) -> list[Path]:
    from chemearth.config import standards_dirs

    dirs = standards_dirs()
    if home is not None:
        dirs.append(Path(home) / "standards")
    return dirs


def available_standards(home: str | Path | None = None) -> dict[str, Standard]:
    """Every standard: the shipped ones, then ``CHEMEARTH_STANDARDS`` folders and
    ``<home>/standards/`` (a user file with a shipped id replaces it).

    Examples
    --------
    >>> sorted(available_standards())
    ['ccme-2007', 'dutch-2000', 'gb15618-1995', 'gb15618-2018', 'gb36600-2018']
    """
    files: list[Path] = list(shipped_standard_files())
    for d in _user_dirs(Path(home) if home is not None else None):
        if d.is_dir():
            files += sorted(d.glob("*.toml"))
    out: dict[str, Standard] = {}
    for f in files:
        s = _cached(f)
        out[s.id] = s
    return out


_CACHE: dict[tuple[str, float], Standard] = {}


def _cached(path: Path) -> Standard:
    key = (str(path.resolve()), path.stat().st_mtime)
    s = _CACHE.get(key)
    if s is None:
        s = _CACHE[key] = load_standard(path)
    return s


def get_standard(name: str | Path, home: str | Path | None = None) -> Standard:
    """A standard by id (``"gb15618-2018"``) or by the path of a standard file.

    Raises
    ------
    NotFoundError
        For an unknown id.
    """
    text = str(name)
    if text.endswith(".toml") or os.sep in text:
        return load_standard(text)
    found = available_standards(home)
    if text not in found:
        raise NotFoundError(
            f"no standard {text!r}; available: {', '.join(sorted(found))}"
        )
    return found[text]

