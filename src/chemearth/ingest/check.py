"""Check a descriptor against its survey file and list every problem at once (``check``).

``chemearth check FILE -d DESCRIPTOR`` runs the ingest's own checks without writing
anything: the columns named, each column's unit, the coordinates and their CRS, the
countries, the below-detection-limit encoding and every row the ingest would reject. Each
problem has a severity:

* ``error`` — the ingest would stop, or would store something known to be wrong;
* ``decision`` — something the user must decide that the file cannot tell (a CRS, the
  limit behind a constant, whether zeros mean "<DL");
* ``warning`` — rows that would be rejected, values that look implausible, facts worth a look.

A descriptor passes when it has no error and no decision.

Examples
--------
>>> report = check_file(Path("meuse/meuse.csv"), "meuse.toml")     # doctest: +SKIP
>>> report.ok, [p.message for p in report.problems]                # doctest: +SKIP
(True, [])
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chemearth.errors import ChemearthError, DescriptorError, UnitError, UnknownElementError
from chemearth.ingest.descriptor import Descriptor, load_descriptor, parse_descriptor
from chemearth.ingest.readers import RawTable, iter_tables
from chemearth.ingest.samples import Problems

__all__ = ["SEVERITIES", "CheckReport", "Problem", "check_file"]

SEVERITIES = ("error", "decision", "warning")
#: The rows of a file checked at once (the ingest reads larger files in chunks)
_CHUNK = 1 << 30


@dataclass(frozen=True)
class Problem:
    """One problem: how serious, where (a descriptor key, a column or a row), and what."""

    severity: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.where}: {self.message}"


@dataclass
class CheckReport:
    """Every problem found in one file and its descriptor."""

    file: str
    descriptor: str
    problems: list[Problem] = field(default_factory=list)
    n_rows: int = 0

    @property
    def ok(self) -> bool:
        """True when nothing stops the ingest and nothing is left to decide."""
        return not any(p.severity in ("error", "decision") for p in self.problems)

    def add(self, severity: str, where: str, message: str) -> None:
        """Record one problem."""
        self.problems.append(Problem(severity, where, message))

    def count(self, severity: str) -> int:
        """Number of problems of one severity."""
        return sum(p.severity == severity for p in self.problems)

    def as_dict(self) -> dict[str, Any]:
        """A plain dict (for JSON)."""
        return {"file": self.file, "descriptor": self.descriptor, "ok": self.ok,
                "n_rows": self.n_rows, "problems": [asdict(p) for p in self.problems]}

    def lines(self) -> list[str]:
        """Problems sorted by severity, then a summary line."""
        order = {s: i for i, s in enumerate(SEVERITIES)}
        out = [str(p) for p in sorted(self.problems, key=lambda p: order[p.severity])]
        counts = ", ".join(f"{self.count(s)} {s}(s)" for s in SEVERITIES)
        verdict = "ready to ingest" if self.ok else "not ready to ingest"
        out.append(f"{self.file}: {self.n_rows} rows checked against {self.descriptor}: "
                   f"{counts}; {verdict}")
        return out


def _load(descriptor: str | Path | Descriptor) -> Descriptor:
    if isinstance(descriptor, Descriptor):
        return descriptor
    if isinstance(descriptor, Path):
        return load_descriptor(descriptor)
    return parse_descriptor(descriptor)


def check_file(
    path: Path | None,
    descriptor: str | Path | Descriptor,
    *,
    data_dir: Path | None = None,
    boundaries: Path | None = None,
) -> CheckReport:
    """Check ``descriptor`` against the survey file at ``path``; nothing is written.

    Parameters
    ----------
    path : Path or None
        The survey file; None: the descriptor's ``[source].path`` (under ``data_dir``).
    descriptor : str, Path or Descriptor
        TOML text, a descriptor file, or a parsed descriptor.
    data_dir : Path, optional
        Folder that the descriptor's relative paths refer to.
    boundaries : Path, optional
        Natural Earth admin-0 countries (to test where the points fall).

    Returns
    -------
    CheckReport
    """
    from chemearth.ingest.pipeline import expand_replicates, resolve_source, text_columns

    label = str(descriptor) if isinstance(descriptor, Path) else "the descriptor"
    try:
        desc = _load(descriptor)
    except DescriptorError as exc:
        report = CheckReport(str(path or ""), label)
        report.add("error", "descriptor", str(exc))
        return report
    label = desc.where if isinstance(descriptor, Path) else label
    src = resolve_source(desc, path, data_dir)
    report = CheckReport(src.name, label)
    if not src.is_file():
        report.add("error", "[source].path", f"{src}: file not found")
        return report
    try:
        tables = iter_tables(src, desc.source, None, text_columns(desc), chunk_bytes=_CHUNK)
        first = next(tables, None)
        more = first is not None and next(tables, None) is not None
        tables.close()
        if first is None:
            report.add("error", "[source]", f"{src.name}: the file has a header but no data rows")
            return report
        raw = expand_replicates(first, desc)
    except ChemearthError as exc:
        report.add("error", "[source]", str(exc))
        return report
    report.n_rows = raw.table.num_rows
    if more:
        report.add("warning", "[source]", f"the file is larger than {_CHUNK >> 20} MiB: only its "
                   f"first {report.n_rows} rows were checked")
    _declared_keys(desc, report)
    have = _columns_exist(raw, desc, report)
    units_ok = _units(raw, desc, have, report)
    if {desc.coordinates.x, desc.coordinates.y} <= have | {"", "geometry"}:
        _coordinates(raw, desc, boundaries, report)
    if units_ok and not report.count("error"):
        _rows(raw, desc, src, data_dir, boundaries, report)
    return report


def _declared_keys(desc: Descriptor, report: CheckReport) -> None:
    """What the TOML leaves undecided: a CRS for x/y, countries, the medium."""
    raw = tomllib.loads(desc.text) if desc.text else {}
    for item in _to_decide(desc.text):
        report.add("decision", "TO DECIDE", f"{item} (delete the line from the descriptor's "
                   "TO DECIDE list once decided)")
    co = raw.get("coordinates", {})
    if co.get("x") and co.get("x") != "geometry" and "crs" not in co:
        report.add("decision", "[coordinates].crs",
                   f"no CRS is given for {co.get('x')}/{co.get('y')}: set it (an EPSG code); "
                   "without it the values are read as WGS84 longitude/latitude")
    if desc.dataset.medium == "unknown" and desc.dataset.kind == "survey":
        report.add("warning", "[dataset].medium",
                   "the medium is 'unknown': the survey will not join pooled layers of a medium")


def _to_decide(text: str) -> list[str]:
    r"""The items of the "# TO DECIDE" comment block that ``describe`` writes.

    Examples
    --------
    >>> _to_decide("# TO DECIDE before it can be ingested:\n#   - set the CRS\n\n[dataset]")
    ['set the CRS']
    """
    items: list[str] = []
    inside = False
    for line in text.splitlines():
        if line.startswith("# TO DECIDE"):
            inside = True
        elif inside and line.startswith("#   - "):
            items.append(line[6:].strip())
        elif inside:
            break
    return items


def _columns_exist(raw: RawTable, desc: Descriptor, report: CheckReport) -> set[str]:
    """The file's columns; an error for each column the descriptor names that it lacks."""
    have = set(raw.table.column_names) | set(desc.sample.replicate_id_columns)
    for c in desc.referenced_columns():
        if c in have:
            continue
        folded = {h.casefold(): h for h in sorted(have)}
        close = difflib.get_close_matches(c.casefold(), list(folded), n=1)
        hint = f" (did you mean {folded[close[0]]!r}?)" if close else ""
        report.add("error", f"column {c!r}", f"named in the descriptor but not in the file{hint}")
    return have


def _units(raw: RawTable, desc: Descriptor, have: set[str], report: CheckReport) -> bool:
    """Every column's unit converts to its element's canonical unit; magnitudes plausible."""
    from chemearth.ingest.detection_limits import parse_cells
    from chemearth.reference.units import conversion_factor

    ok = True
    for spec in desc.columns:
        unit = spec.unit or raw.units.get(spec.column) or desc.default_unit or "mg/kg"
        try:
            conversion_factor(unit, spec.element)
        except (UnitError, UnknownElementError) as exc:
            report.add("error", f"[columns].{spec.column}", str(exc))
            ok = False
            continue
        if spec.column not in have:
            continue
        cells = parse_cells(raw.table.column(spec.column), desc.source.not_sampled)
        for message in _plausibility(spec.element, unit, cells.number[~cells.lt]):
            report.add("warning", f"[columns].{spec.column}", message)
    return ok


def _plausibility(element: str, unit: str, values: np.ndarray) -> list[str]:
    """Magnitudes against the upper crust (:func:`chemearth.reference.crust.unit_problems`);
    ``values`` as written, in ``unit``."""
    from chemearth.reference.crust import unit_problems

    return unit_problems(element, unit, values)


def _coordinates(raw: RawTable, desc: Descriptor, boundaries: Path | None,
                 report: CheckReport) -> None:
    """Coordinates present where the file has them; the CRS puts the points on land."""
    from chemearth.ingest.infer_crs import (
        MIN_ON_LAND,
        coordinate_candidates,
        evaluate_crs,
        rank_crs,
    )

    co = desc.coordinates
    if not co.located:
        names = [c for c in raw.table.column_names if not c.startswith("__")]
        pairs = coordinate_candidates(raw, names)
        if pairs and desc.dataset.kind == "survey":
            xname, yname = pairs[0]
            report.add("decision", "[coordinates]",
                       f"the file has columns {xname}/{yname} that look like coordinates, but the "
                       "descriptor has no [coordinates]: the samples would be stored without "
                       "locations")
        return
    if co.x == "geometry" or boundaries is None:
        return
    x = _floats(raw, co.x)
    y = _floats(raw, co.y)
    try:
        fit = evaluate_crs(x, y, co.crs, boundaries)
    except ChemearthError as exc:
        report.add("error", "[coordinates].crs", str(exc))
        return
    if fit.share_on_land < MIN_ON_LAND:
        best = ""
        ranked = [f for f in rank_crs(x, y, boundaries) if f.crs != co.crs]
        if ranked and ranked[0].share_on_land >= MIN_ON_LAND:
            b = ranked[0]
            best = (f"; {b.crs} ({b.name}) puts {b.share_on_land:.0%} on land, in "
                    f"{_top(b.countries)}")
        report.add("error", "[coordinates].crs",
                   f"with {co.crs} only {fit.share_on_land:.0%} of the points fall on land"
                   f"{best}")
    declared = set(desc.dataset.countries)
    if not declared and not co.country and not co.country_column and fit.countries:
        report.add("warning", "[dataset].countries",
                   f"not given; the points fall in {_top(fit.countries)}")


def _floats(raw: RawTable, name: str) -> np.ndarray:
    from chemearth.ingest.detection_limits import parse_cells

    return parse_cells(raw.table.column(name)).number


def _top(countries: dict[str, int], k: int = 6) -> str:
    items = sorted(countries.items(), key=lambda kv: -kv[1])
    more = f" and {len(items) - k} more" if len(items) > k else ""
    return ", ".join(f"{c} ({n})" for c, n in items[:k]) + more


def _rows(raw: RawTable, desc: Descriptor, src: Path, data_dir: Path | None,
          boundaries: Path | None, report: CheckReport) -> None:
    """The ingest's own row checks and encodings, summarised per column and reason."""
    from chemearth.ingest.columns import load_flags, load_limits, parse_columns
    from chemearth.ingest.samples import prepare_samples

    ref_dir = data_dir if data_dir is not None else src.parent
    problems = Problems()
    try:
        limits = load_limits(desc, ref_dir)
        flags = load_flags(desc, ref_dir)
        frame = prepare_samples(raw, desc, problems, boundaries)
        parsed = parse_columns(raw, desc, frame, problems, limits, flags)
    except ChemearthError as exc:
        report.add("error", "rows", str(exc))
        return
    for w in frame.warnings + [w for p in parsed for w in p.warnings]:
        report.add("decision" if "kept as missing" in w else "warning", "encoding", w)
    _constants(parsed, desc, report)
    _summarise(problems, raw, report)


def _constants(parsed: list[Any], desc: Descriptor, report: CheckReport) -> None:
    from chemearth.ingest.columns import undeclared_constants

    for column, message in undeclared_constants(parsed, desc):
        report.add("decision", f"[censoring.substituted].{column}", message)
    for p in parsed:
        sub = desc.censoring.substituted.get(p.spec.column)
        if sub is not None and p.n_substituted == 0:
            report.add("warning", f"[censoring.substituted].{p.spec.column}",
                       f"no cell equals the declared constant {sub.value:g}")


def _summarise(problems: Problems, raw: RawTable, report: CheckReport) -> None:
    """One warning per (column, reason): how many rows, the first rows and values."""
    if not len(problems):
        return
    groups: dict[tuple[str, str], list[int]] = {}
    for i, (col, reason) in enumerate(zip(problems.column, problems.reason, strict=True)):
        key = (col, reason if len(reason) < 120 else reason[:117] + "...")
        groups.setdefault(key, []).append(i)
    rejected = len(set(problems.index))
    for (col, reason), items in groups.items():
        rows = [int(raw.lines[problems.index[i]]) if problems.index[i] >= 0 else -1
                for i in items[:3]]
        values = [problems.value[i] for i in items[:3]]
        shown = ", ".join(f"row {r} ({v!r})" if v else f"row {r}"
                          for r, v in zip(rows, values, strict=True))
        report.add("warning", f"column {col!r}" if col else "rows",
                   f"{len(items)} row(s) would be rejected: {reason}; e.g. {shown}")
    severity = "error" if rejected >= report.n_rows else "warning"
    report.add(severity, "rows", f"{rejected} of {report.n_rows} rows would be rejected")
