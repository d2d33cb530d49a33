"""Spider and REE diagrams: concentrations normalised to a reference composition.

:func:`normalise` divides each sample's concentrations (mg/kg) by those of a published
reference composition (:mod:`chemearth.reference.compositions`: PAAS, NASC, the upper and
bulk continental crust; **no chondrite is shipped**, as the shared data hold none). By
default the rare earth elements present are taken in the order of :data:`REE` (La … Lu,
by atomic number; Pm does not occur in nature and Y is not among them); any other list
of elements may be given, in the order of the diagram.

A value below the detection limit is not a measurement: where ``censored`` is true the
normalised value is NaN (a diagram may draw the limit divided by the reference as an upper
bound, but it never enters an anomaly). Zero, negative and missing values are NaN too.

Anomalies (computed on the normalised values of one row; NaN when a value is missing):

* ``Eu/Eu*`` = Eu_N / sqrt(Sm_N · Gd_N) (Taylor & McLennan 1985); without Gd,
  Eu_N / (Sm_N^(2/3) · Tb_N^(1/3)), the same log-linear interpolation in atomic number
  (Sm 62, Eu 63, Tb 65) through the neighbours that were analysed (INAA gives Tb, not Gd);
* ``Ce/Ce*`` = Ce_N / sqrt(La_N · Pr_N); without Pr, Ce_N / (La_N^(2/3) · Nd_N^(1/3))
  (La 57, Ce 58, Nd 60; Lawrence et al. 2006 discuss both).

The formula used is given in ``attrs["anomaly_formulas"]`` of the result; an anomaly whose
neighbours are not among the columns is not computed.

Examples
--------
>>> f = pd.DataFrame({"La": [38.2], "Ce": [40.0], "Nd": [32.0], "Sm": [5.6], "Eu": [1.1],
...                   "Gd": [4.7]})
>>> n = normalise(f, "PAAS")
>>> n.round(3).iloc[0].tolist()
[1.0, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5]
>>> list(n.columns)
['La', 'Ce', 'Nd', 'Sm', 'Eu', 'Gd', 'Eu/Eu*', 'Ce/Ce*']
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from chemearth.reference.compositions import reference_composition
from chemearth.stats.compositional import CompositionError

__all__ = ["ANOMALIES", "REE", "normalise"]

#: The rare earth elements in diagram order (atomic number 57 to 71 without Pm).
REE = ("La", "Ce", "Pr", "Nd", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu")

#: Anomaly -> (element, formulas in order of preference: {neighbour: exponent}).
ANOMALIES: dict[str, tuple[str, tuple[dict[str, float], ...]]] = {
    "Eu/Eu*": ("Eu", ({"Sm": 0.5, "Gd": 0.5}, {"Sm": 2 / 3, "Tb": 1 / 3})),
    "Ce/Ce*": ("Ce", ({"La": 0.5, "Pr": 0.5}, {"La": 2 / 3, "Nd": 1 / 3})),
}


def _formula(element: str, weights: dict[str, float]) -> str:
    parts = [f"{el}_N^{w:.3g}" if w != 0.5 else f"{el}_N" for el, w in weights.items()]
    if all(w == 0.5 for w in weights.values()):
        return f"{element}_N / sqrt({' · '.join(parts)})"
    return f"{element}_N / ({' · '.join(parts)})"


def normalise(
    frame: pd.DataFrame,
    reference: str = "PAAS",
    *,
    elements: Sequence[str] | None = None,
    censored: pd.DataFrame | None = None,
    anomalies: bool = True,
) -> pd.DataFrame:
    """Concentrations divided by a reference composition, with Eu and Ce anomalies.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per sample, one column per element (code as ``"La"``), in mg/kg.
    reference : str
        A reference composition or alias (``PAAS``, ``NASC``, ``UCC``, ``BCC``,
        ``UCC_McLennan2001``…; see :mod:`chemearth.reference.compositions`).
    elements : sequence of str, optional
        Elements in diagram order; default: those of :data:`REE` in ``frame``.
    censored : pandas.DataFrame, optional
        Booleans (same index, columns of the elements): true below the detection limit.
    anomalies : bool
        Add ``Eu/Eu*`` and ``Ce/Ce*`` where their elements are present.

    Returns
    -------
    pandas.DataFrame
        Index of ``frame``; the normalised elements in order, then the anomalies.
        ``attrs`` holds ``reference`` (name), ``citation`` and ``anomaly_formulas``.
    """
    ref = reference_composition(reference)
    els = list(elements) if elements is not None else [e for e in REE if e in frame.columns]
    if not els:
        raise CompositionError("the frame holds none of the elements to normalise (for "
                               f"REE: columns named {', '.join(REE)})")
    absent = [e for e in els if e not in frame.columns]
    if absent:
        raise CompositionError(f"elements {', '.join(absent)} are not columns of the frame")
    unknown = [e for e in els if e not in ref.abundance]
    if unknown:
        raise CompositionError(f"{ref.name} gives no abundance of {', '.join(unknown)}")
    x = frame[els].to_numpy(dtype=float)
    if censored is not None:
        lacking = [e for e in els if e not in censored.columns]
        if lacking:
            raise CompositionError(f"the censored flags lack {', '.join(lacking)}")
        c = censored[els].reindex(frame.index, fill_value=False).to_numpy(dtype=bool)
        x = np.where(c, np.nan, x)
    x = np.where(np.isfinite(x) & (x > 0), x, np.nan)
    out = pd.DataFrame(x / np.array([ref.abundance[e] for e in els]), index=frame.index,
                       columns=els)
    formulas: dict[str, str] = {}
    if anomalies:
        for name, (element, options) in ANOMALIES.items():
            if element not in out.columns:
                continue
            for weights in options:
                if all(n in out.columns for n in weights):
                    star = np.exp(sum(w * np.log(out[n].to_numpy()) for n, w in weights.items()))
                    out[name] = out[element].to_numpy() / star
                    formulas[name] = _formula(element, weights)
                    break
    out.attrs.update(reference=ref.name, citation=ref.citation, anomaly_formulas=formulas)
    return out
