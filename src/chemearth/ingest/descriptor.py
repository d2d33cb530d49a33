"""Dataset descriptors: what each column of a survey file means.

A descriptor is a TOML file with the sections ``[dataset]``, ``[source]``,
``[coordinates]``, ``[sample]``, ``[censoring]``, ``[defaults]`` and ``[columns]``;
``docs/descriptors.md`` documents every key. :func:`load_descriptor` parses and
validates one; unknown keys are errors, so a typo never passes silently.

Examples
--------
>>> d = parse_descriptor('''
... [dataset]
... id = "meuse"
... title = "Meuse floodplain topsoils"
... medium = "topsoil"
... [source]
... path = "meuse/meuse.csv"
... [coordinates]
... x = "x"
... y = "y"
... crs = "EPSG:28992"
... [columns]
... zinc = "Zn"
... ''')
>>> d.dataset.id, d.columns[0].element, d.columns[0].unit
('meuse', 'Zn', '')
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chemearth.errors import DescriptorError

__all__ = [
    "CENSORING_ENCODINGS",
    "DIGESTIONS",
    "MEDIA",
    "QC_ORDERS",
    "QC_ROLES",
    "SHARING_POLICIES",
    "Censoring",
    "ColumnSpec",
    "Coordinates",
    "DatasetMeta",
    "Descriptor",
    "QcSpec",
    "SampleSpec",
    "Source",
    "Substitution",
    "load_descriptor",
    "parse_descriptor",
]

#: Sample media vocabulary (``docs/conventions.md``).
MEDIA = (
    "topsoil",
    "subsoil",
    "c-horizon",
    "b-horizon",
    "humus",
    "moss",
    "stream sediment",
    "floodplain sediment",
    "overbank sediment",
    "lake sediment",
    "stream water",
    "soil",
    "rock",
    "reference material",
    "unknown",
)
SHARING_POLICIES = ("public", "aggregated", "restricted")
CENSORING_ENCODINGS = (
    "none",
    "lt_string",
    "negative",
    "zero",
    "substituted",
    "flag_file",
    "flag_column",
)
DIGESTIONS = ("total", "near-total", "aqua-regia", "partial", "unknown")
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


@dataclass(frozen=True)
class DatasetMeta:
    """The ``[dataset]`` section: who, what, where, under which licence."""

    id: str
    title: str
    organisation: str = ""
    countries: tuple[str, ...] = ()
    medium: str = "unknown"
    depth_cm: tuple[float, float] | None = None
    sampling_years: tuple[int, int] | None = None
    licence: str = ""
    citation: str = ""
    url: str = ""
    sharing: str = "public"
    sharing_organisations: tuple[str, ...] = ()
    embargoed_elements: tuple[str, ...] = ()
    kind: str = "survey"
    same_samples_as: str = ""
    #: ids of datasets sampled at the same sites under the same sample ids (another medium
    #: or depth of one survey): their samples pair by id (``chemearth.assess.pairing``)
    same_sites_as: tuple[str, ...] = ()
    notes: str = ""


@dataclass(frozen=True)
class Source:
    """The ``[source]`` section: where and how to read the file."""

    path: str = ""
    format: str = "auto"
    encoding: str = "auto"
    delimiter: str = "auto"
    header_row: int = 1
    units_row: int = 0
    sheet: str | int = 0
    layer: str = ""
    missing: tuple[str, ...] = ("", "NA", "N/A", "-", "n.d.")
    not_sampled: tuple[str, ...] = ()


@dataclass(frozen=True)
class Coordinates:
    """The ``[coordinates]`` section; absent for data without locations (QC, textbook)."""

    x: str = ""
    y: str = ""
    crs: str = "EPSG:4326"
    country: str = ""
    country_column: str = ""
    country_codes: str = ""
    tolerance_km: float = 10.0

    @property
    def located(self) -> bool:
        """True when the file has coordinate columns (or a geometry)."""
        return bool(self.x and self.y) or self.x == "geometry"


@dataclass(frozen=True)
class SampleSpec:
    """The ``[sample]`` section: id, date, medium and kept attribute columns."""

    id: str = ""
    date: str = ""
    date_format: str = ""
    medium_column: str = ""
    medium_map: dict[str, str] = field(default_factory=dict)
    depth_top_column: str = ""
    depth_bottom_column: str = ""
    attributes: tuple[str, ...] = ()
    replicate_prefixes: tuple[str, ...] = ()
    replicate_id_columns: tuple[str, ...] = ()


#: Roles of quality-control datasets (the ``[qc]`` section).
QC_ROLES = ("field-duplicates", "analytical-duplicates", "reference-material", "replicate-status")
#: How the analytical order of QC results is read.
QC_ORDERS = ("sample_id", "source_row")


@dataclass(frozen=True)
class QcSpec:
    """The ``[qc]`` section of a quality-control dataset: what it proves and for whom.

    ``role`` is ``field-duplicates`` or ``analytical-duplicates`` (pairs from
    ``[sample].replicate_prefixes``), ``reference-material`` (repeated analyses of one
    ``material``, or of several named by the attribute ``material_column``) or
    ``replicate-status`` (a routine/duplicate code in the attribute ``status_column``: 0 a
    routine sample, 1 a routine sample with a duplicate, 2 that duplicate, the row after it).
    ``survey`` is the id of the survey dataset whose quality it shows (may be empty).
    ``order`` says where the analytical order is: the numeric ``sample_id`` (a position in
    the analytical sequence) or the file's row; ``batch_size`` groups that many positions
    into one analytical batch (0: each control result is its own batch).
    """

    role: str
    survey: str = ""
    material: str = ""
    material_column: str = ""
    status_column: str = ""
    order: str = "source_row"
    batch_size: int = 0


@dataclass(frozen=True)
class Substitution:
    """A constant written in place of "below the detection limit" in one column.

    Declared under ``[censoring.substituted]``: every cell of the column equal to ``value``
    is stored censored at ``detection_limit``; ``note`` says where the limit comes from
    (e.g. "inferred from a constant in 25 % of rows").
    """

    value: float
    detection_limit: float
    note: str = ""

    def matches(self, number: np.ndarray) -> np.ndarray:
        """True where ``number`` is the constant (to a relative 1e-9, for float text)."""
        return np.abs(number - self.value) <= 1e-9 * max(abs(self.value), 1e-300)


@dataclass(frozen=True)
class Censoring:
    """The ``[censoring]`` section: how below-detection-limit values are written."""

    encoding: str = "lt_string"
    factor: float = 0.5
    limits_file: str = ""
    limits_columns: tuple[str, str] = ("column", "detection_limit")
    flag_file: str = ""
    flag_id_column: str = ""
    flag_values: tuple[str, ...] = ("yes", "true", "left", "1")
    flag_suffix: str = "Cen"
    #: ``[censoring.substituted]``: source column -> the constant that stands for "<DL"
    substituted: dict[str, Substitution] = field(default_factory=dict)


@dataclass(frozen=True)
class ColumnSpec:
    """One analyte column: element (or oxide/parameter) code, unit, method, limit."""

    column: str
    element: str
    unit: str = ""
    method: str = ""
    digestion: str = "unknown"
    detection_limit: float | None = None


@dataclass(frozen=True)
class Descriptor:
    """A parsed and validated dataset descriptor."""

    dataset: DatasetMeta
    source: Source
    coordinates: Coordinates
    sample: SampleSpec
    censoring: Censoring
    columns: tuple[ColumnSpec, ...]
    text: str = ""
    path: Path | None = None
    #: ``[defaults].unit``: used where neither the column nor a units row gives one
    default_unit: str = ""
    #: ``[qc]``: the role of a quality-control dataset (None for other datasets)
    qc: QcSpec | None = None

    def column(self, name: str) -> ColumnSpec:
        """Return the spec of analyte column ``name``."""
        for c in self.columns:
            if c.column == name:
                return c
        raise DescriptorError(f"{self.where}: no analyte column {name!r}")

    @property
    def where(self) -> str:
        """How error messages name this descriptor."""
        return str(self.path) if self.path else f"descriptor {self.dataset.id!r}"

    def referenced_files(self) -> dict[str, str]:
        r"""Every file path the descriptor names, by key (``[censoring].limits_file``…).

        Examples
        --------
        >>> d = parse_descriptor(
        ...     '[dataset]\nid = "a"\ntitle = "A"\n[censoring]\nlimits_file = "dl.csv"\n'
        ...     '[columns]\nZn = "Zn"\n')
        >>> d.referenced_files()
        {'[censoring].limits_file': 'dl.csv'}
        """
        named = {
            "[source].path": self.source.path,
            "[censoring].limits_file": self.censoring.limits_file,
            "[censoring].flag_file": self.censoring.flag_file,
        }
        return {key: value for key, value in named.items() if value}

    def referenced_columns(self) -> list[str]:
        """Every source column the descriptor names (for checking against the file)."""
        names = [c.column for c in self.columns]
        co, s = self.coordinates, self.sample
        names += [n for n in (co.x, co.y, co.country_column) if n and n != "geometry"]
        names += [n for n in (s.id, s.date, s.medium_column) if n]
        names += [n for n in (s.depth_top_column, s.depth_bottom_column) if n]
        names += list(s.attributes)
        names += list(s.replicate_id_columns)
        return names


# --------------------------------------------------------------------------- parsing


def _take(
    section: dict[str, Any], where: str, allowed: dict[str, type | tuple[type, ...]]
) -> dict[str, Any]:
    unknown = sorted(set(section) - set(allowed))
    if unknown:
        raise DescriptorError(
            f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )
    out: dict[str, Any] = {}
    for key, value in section.items():
        types = allowed[key]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in _tuple(types)):
            raise DescriptorError(
                f"{where}.{key}: expected {_typename(types)}, got {type(value).__name__} {value!r}"
            )
        items = value if isinstance(value, list) else [value]
        if any(isinstance(v, float) and not math.isfinite(v) for v in items):
            raise DescriptorError(f"{where}.{key}: {value!r} is not a finite number")
        out[key] = tuple(value) if isinstance(value, list) else value
    return out


def _tuple(t: type | tuple[type, ...]) -> tuple[type, ...]:
    return t if isinstance(t, tuple) else (t,)


def _typename(t: type | tuple[type, ...]) -> str:
    return " or ".join(x.__name__ for x in _tuple(t))


_NUM = (int, float)


def _dataset(raw: dict[str, Any], where: str) -> DatasetMeta:
    kw = _take(
        raw,
        f"{where} [dataset]",
        {
            "id": str,
            "title": str,
            "organisation": str,
            "countries": list,
            "medium": str,
            "depth_cm": list,
            "sampling_years": list,
            "licence": str,
            "citation": str,
            "url": str,
            "sharing": str,
            "sharing_organisations": list,
            "embargoed_elements": list,
            "kind": str,
            "same_samples_as": str,
            "same_sites_as": (str, list),
            "notes": str,
        },
    )
    for key in ("id", "title"):
        if not kw.get(key):
            raise DescriptorError(f"{where} [dataset]: '{key}' is required")
    if not _ID_RE.match(kw["id"]):
        raise DescriptorError(
            f"{where} [dataset].id: {kw['id']!r} must be lowercase letters, digits and hyphens"
        )
    if kw.get("medium", "unknown") not in MEDIA:
        raise DescriptorError(
            f"{where} [dataset].medium: {kw['medium']!r} is not one of {', '.join(MEDIA)}"
        )
    if kw.get("sharing", "public") not in SHARING_POLICIES:
        raise DescriptorError(
            f"{where} [dataset].sharing: {kw['sharing']!r} is not one of "
            f"{', '.join(SHARING_POLICIES)}"
        )
    for key in ("depth_cm", "sampling_years"):
        if key in kw and (len(kw[key]) != 2 or not all(isinstance(v, _NUM) for v in kw[key])):
            raise DescriptorError(f"{where} [dataset].{key}: expected two numbers [from, to]")
    if "same_sites_as" in kw:
        kw["same_sites_as"] = _same_sites(kw["same_sites_as"], kw["id"], where)
    return DatasetMeta(**kw)


def _same_sites(value: str | tuple[object, ...], own: str, where: str) -> tuple[str, ...]:
    """``[dataset].same_sites_as``: one dataset id or a list of them, none the dataset's own."""
    ids = (value,) if isinstance(value, str) else value
    for v in ids:
        if not isinstance(v, str) or not _ID_RE.match(v) or v == own:
            raise DescriptorError(f"{where} [dataset].same_sites_as: {v!r} must be the id of "
                                  "another dataset")
    return tuple(str(v) for v in ids)


def _columns(raw: dict[str, Any], defaults: dict[str, Any], where: str) -> tuple[ColumnSpec, ...]:
    base = _take(
        defaults,
        f"{where} [defaults]",
        {"unit": str, "method": str, "digestion": str},
    )
    specs = []
    for name, entry in raw.items():
        value = {"element": entry} if isinstance(entry, str) else entry
        if not isinstance(value, dict):
            raise DescriptorError(
                f"{where} [columns].{name}: expected an element code or a table, got {value!r}"
            )
        kw = _take(
            value,
            f"{where} [columns].{name}",
            {
                "element": str,
                "unit": str,
                "method": str,
                "digestion": str,
                "detection_limit": _NUM,
            },
        )
        if "element" not in kw:
            raise DescriptorError(f"{where} [columns].{name}: 'element' is required")
        merged = {**{k: v for k, v in base.items() if k != "unit"}, **kw}
        _check_code(merged["element"], f"{where} [columns].{name}.element")
        if merged.get("digestion", "unknown") not in DIGESTIONS:
            raise DescriptorError(
                f"{where} [columns].{name}.digestion: {merged['digestion']!r} is not one of "
                f"{', '.join(DIGESTIONS)}"
            )
        if "detection_limit" in merged:
            merged["detection_limit"] = float(merged["detection_limit"])
        specs.append(ColumnSpec(column=name, **merged))
    if not specs:
        raise DescriptorError(f"{where} [columns]: no analyte columns are declared")
    return tuple(specs)


def _check_code(code: str, where: str) -> None:
    """Element codes are case-sensitive in descriptors: ``TI`` could be Ti or Tl."""
    from chemearth.errors import UnknownElementError
    from chemearth.reference.elements import lookup

    try:
        canonical = lookup(code)
    except UnknownElementError as exc:
        raise DescriptorError(f"{where}: {exc}") from None
    if canonical != code.strip():
        raise DescriptorError(
            f"{where}: write the code as {canonical!r}, not {code!r} (element symbols are "
            "case-sensitive: 'TI' could be Ti or Tl)"
        )


def parse_descriptor(text: str, path: Path | None = None) -> Descriptor:
    """Parse and validate descriptor TOML ``text``.

    Parameters
    ----------
    text : str
        The TOML document.
    path : Path, optional
        Where it came from, for error messages.

    Returns
    -------
    Descriptor

    Raises
    ------
    DescriptorError
        On a TOML syntax error, an unknown key, a wrong type or a bad value; the message
        names the file and the key.
    """
    where = str(path) if path else "descriptor"
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DescriptorError(f"{where}: not valid TOML: {exc}") from None
    _take(
        raw,
        where,
        {
            "dataset": dict,
            "source": dict,
            "coordinates": dict,
            "sample": dict,
            "censoring": dict,
            "defaults": dict,
            "columns": dict,
            "qc": dict,
        },
    )
    if "dataset" not in raw:
        raise DescriptorError(f"{where}: the [dataset] section is required")
    dataset = _dataset(raw["dataset"], where)
    source = Source(
        **_take(
            raw.get("source", {}),
            f"{where} [source]",
            {
                "path": str,
                "format": str,
                "encoding": str,
                "delimiter": str,
                "header_row": int,
                "units_row": int,
                "sheet": (str, int),
                "layer": str,
                "missing": list,
                "not_sampled": list,
            },
        )
    )
    if source.header_row < 1 or source.units_row < 0:
        raise DescriptorError(f"{where} [source]: header_row starts at 1; units_row 0 means none")
    coords = Coordinates(
        **_take(
            raw.get("coordinates", {}),
            f"{where} [coordinates]",
            {
                "x": str,
                "y": str,
                "crs": str,
                "country": str,
                "country_column": str,
                "country_codes": str,
                "tolerance_km": _NUM,
            },
        )
    )
    sample_kw = _take(
        raw.get("sample", {}),
        f"{where} [sample]",
        {
            "id": str,
            "date": str,
            "date_format": str,
            "medium_column": str,
            "medium_map": dict,
            "depth_top_column": str,
            "depth_bottom_column": str,
            "attributes": list,
            "replicate_prefixes": list,
            "replicate_id_columns": list,
        },
    )
    for medium in sample_kw.get("medium_map", {}).values():
        if medium not in MEDIA:
            raise DescriptorError(f"{where} [sample].medium_map: {medium!r} is not a medium")
    sample = SampleSpec(**sample_kw)
    if len(sample.replicate_prefixes) != len(sample.replicate_id_columns) and (
        sample.replicate_id_columns
    ):
        raise DescriptorError(
            f"{where} [sample]: replicate_id_columns needs one column per replicate prefix"
        )
    cens_kw = _take(
        raw.get("censoring", {}),
        f"{where} [censoring]",
        {
            "encoding": str,
            "factor": _NUM,
            "limits_file": str,
            "limits_columns": list,
            "flag_file": str,
            "flag_id_column": str,
            "flag_values": list,
            "flag_suffix": str,
            "substituted": dict,
        },
    )
    if "substituted" in cens_kw:
        cens_kw["substituted"] = _substitutions(cens_kw["substituted"], where)
    censoring = Censoring(**cens_kw)
    if censoring.encoding not in CENSORING_ENCODINGS:
        raise DescriptorError(
            f"{where} [censoring].encoding: {censoring.encoding!r} is not one of "
            f"{', '.join(CENSORING_ENCODINGS)}"
        )
    if censoring.encoding == "flag_file" and not censoring.flag_file:
        raise DescriptorError(f"{where} [censoring]: encoding 'flag_file' needs 'flag_file'")
    columns = _columns(raw.get("columns", {}), raw.get("defaults", {}), where)
    unknown = sorted(set(censoring.substituted) - {c.column for c in columns})
    if unknown:
        raise DescriptorError(
            f"{where} [censoring.substituted]: {', '.join(map(repr, unknown))} "
            "not declared in [columns]")
    default_unit = str(raw.get("defaults", {}).get("unit", ""))
    qc = _qc(raw["qc"], dataset, sample, where) if "qc" in raw else None
    return Descriptor(
        dataset,
        source,
        coords,
        sample,
        censoring,
        columns,
        text=text,
        path=path,
        default_unit=default_unit,
        qc=qc,
    )


def _substitutions(raw: dict[str, Any], where: str) -> dict[str, Substitution]:
    """``[censoring.substituted]``: column = { value, detection_limit, note }."""
    out = {}
    for column, entry in raw.items():
        at = f"{where} [censoring.substituted].{column}"
        if not isinstance(entry, dict):
            raise DescriptorError(f"{at}: expected {{ value = …, detection_limit = … }}, "
                                  f"got {entry!r}")
        kw = _take(entry, at, {"value": _NUM, "detection_limit": _NUM, "note": str})
        for key in ("value", "detection_limit"):
            if key not in kw:
                raise DescriptorError(f"{at}: '{key}' is required")
        value, limit = float(kw["value"]), float(kw["detection_limit"])
        if not 0 < value <= limit:
            raise DescriptorError(
                f"{at}: the constant ({value:g}) must be positive and not above the "
                f"detection limit ({limit:g})")
        out[column] = Substitution(value, limit, kw.get("note", ""))
    return out


def _qc(raw: dict[str, Any], dataset: DatasetMeta, sample: SampleSpec, where: str) -> QcSpec:
    kw = _take(raw, f"{where} [qc]", {"role": str, "survey": str, "material": str,
                                       "material_column": str, "status_column": str,
                                       "order": str, "batch_size": int})
    role = kw.get("role", "")
    if role not in QC_ROLES:
        raise DescriptorError(f"{where} [qc].role: {role!r} is not one of {', '.join(QC_ROLES)}")
    if dataset.kind != "qc":
        raise DescriptorError(f"{where} [qc]: only a dataset of kind 'qc' has a [qc] section")
    if kw.get("order", "source_row") not in QC_ORDERS:
        raise DescriptorError(f"{where} [qc].order: {kw['order']!r} is not one of "
                              f"{', '.join(QC_ORDERS)}")
    if kw.get("batch_size", 0) < 0:
        raise DescriptorError(f"{where} [qc].batch_size: must be 0 or more")
    for key in ("material_column", "status_column"):
        if kw.get(key) and kw[key] not in sample.attributes:
            raise DescriptorError(f"{where} [qc].{key}: {kw[key]!r} must be one of the "
                                  f"[sample].attributes")
    if role in ("field-duplicates", "analytical-duplicates") and len(
            sample.replicate_prefixes) != 2:
        raise DescriptorError(f"{where} [qc]: role {role!r} needs two "
                              "[sample].replicate_prefixes, one per duplicate")
    if role == "replicate-status" and not kw.get("status_column"):
        raise DescriptorError(f"{where} [qc]: role 'replicate-status' needs 'status_column'")
    if role == "reference-material" and not (kw.get("material") or kw.get("material_column")):
        raise DescriptorError(f"{where} [qc]: role 'reference-material' needs 'material' or "
                              "'material_column'")
    if kw.get("survey") and not _ID_RE.match(kw["survey"]):
        raise DescriptorError(f"{where} [qc].survey: {kw['survey']!r} is not a dataset id")
    return QcSpec(**kw)


def load_descriptor(path: str | Path) -> Descriptor:
    """Read and validate the descriptor at ``path``.

    Raises
    ------
    DescriptorError
        When the file is missing or invalid.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DescriptorError(f"{p}: descriptor file not found") from None
    except UnicodeDecodeError as exc:
        raise DescriptorError(f"{p}: descriptor is not UTF-8 ({exc.reason})") from None
    return parse_descriptor(text, p)
