"""Spider and REE normalisation (chemearth.stats.spider) on the Kola C-horizon INAA REE.

Normalised values are checked against a hand division by the shared reference tables
(read here from the CSV files), the anomalies against their formulas written out, and
censored values (robCompositions' ``chorizonDL``: 0 = below the detection limit) are
checked never to be used as measurements.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chemearth.stats.compositional import CompositionError
from chemearth.stats.spider import REE, normalise

INAA_REE = ["La", "Ce", "Nd", "Sm", "Eu", "Tb", "Yb", "Lu"]


def shared_ppm(data_dir: Path, table: str) -> dict[str, float]:
    path = data_dir / "reference_compositions" / f"{table}.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        return {r["var"]: float(r["value"]) for r in csv.DictReader(handle)
                if r["units"] == "ppm" and r["value"]}


@pytest.fixture(scope="module")
def kola_ree(data_dir: Path) -> pd.DataFrame:
    raw = pd.read_csv(data_dir / "kola" / "chorizon.csv").set_index("ID")
    return raw[[f"{e}_INAA" for e in INAA_REE]].rename(columns=lambda c: c[:-5])


@pytest.mark.parametrize(("reference", "table"), [
    ("PAAS", "PAAS_TaylorMcLennan1985"), ("NASC", "NASC_Gromet1984"),
    ("UCC_McLennan2001", "UCC_McLennan2001"), ("UCC", "UCC_RudnickGao2014"),
    ("BCC", "BCC_RudnickGao2003"),
])
@pytest.mark.parametrize("element", ["La", "Eu", "Yb", "Lu"])
def test_normalised_values_equal_hand_division(kola_ree, data_dir: Path, reference: str,
                                               table: str, element: str) -> None:
    out = normalise(kola_ree, reference)
    expected = kola_ree[element] / shared_ppm(data_dir, table)[element]
    np.testing.assert_allclose(out[element], expected, rtol=1e-12)
    assert out.attrs["reference"] == table


def test_ree_are_in_atomic_order_and_anomalies_follow(kola_ree) -> None:
    shuffled = kola_ree[INAA_REE[::-1]]
    out = normalise(shuffled)
    assert list(out.columns) == [*INAA_REE, "Eu/Eu*", "Ce/Ce*"]
    assert list(REE) == sorted(REE, key=["La", "Ce", "Pr", "Nd", "Sm", "Eu", "Gd", "Tb", "Dy",
                                         "Ho", "Er", "Tm", "Yb", "Lu"].index)


def test_eu_and_ce_anomalies_without_gd_and_pr(kola_ree) -> None:
    """Kola INAA gives Tb and Nd, not Gd and Pr: interpolation in atomic number."""
    out = normalise(kola_ree, "PAAS")
    paas = {"La": 38.2, "Ce": 80.0, "Nd": 32.0, "Sm": 5.6, "Eu": 1.1, "Tb": 0.77}
    n = {e: kola_ree[e] / v for e, v in paas.items()}
    eu = n["Eu"] / (n["Sm"] ** (2 / 3) * n["Tb"] ** (1 / 3))
    ce = n["Ce"] / (n["La"] ** (2 / 3) * n["Nd"] ** (1 / 3))
    np.testing.assert_allclose(out["Eu/Eu*"], eu, rtol=1e-12)
    np.testing.assert_allclose(out["Ce/Ce*"], ce, rtol=1e-12)
    assert out.attrs["anomaly_formulas"] == {
        "Eu/Eu*": "Eu_N / (Sm_N^0.667 · Tb_N^0.333)",
        "Ce/Ce*": "Ce_N / (La_N^0.667 · Nd_N^0.333)",
    }
    # this file substitutes half the detection limit (0.25 for Tb < 0.5) without a flag;
    # flagged as censored, those samples get no Eu anomaly rather than a false one
    censored = pd.DataFrame(False, index=kola_ree.index, columns=kola_ree.columns)
    censored["Tb"] = kola_ree["Tb"] == 0.25
    flagged = normalise(kola_ree, "PAAS", censored=censored)
    assert flagged["Eu/Eu*"].notna().sum() == 606 - 439
    assert flagged["Eu/Eu*"][censored["Tb"]].isna().all()
    np.testing.assert_allclose(flagged["Ce/Ce*"], out["Ce/Ce*"])


@pytest.mark.parametrize(("sm", "eu", "gd", "la", "ce", "pr", "eu_star", "ce_star"), [
    (5.6, 1.1, 4.7, 38.2, 80.0, 8.9, 1.0, 1.0),  # PAAS itself
    (11.2, 1.1, 4.7, 38.2, 40.0, 8.9, 1 / np.sqrt(2), 0.5),
    (5.6, 2.2, 18.8, 76.4, 80.0, 35.6, 1.0, 1 / np.sqrt(8)),
])
def test_eu_star_and_ce_star_formulas(sm, eu, gd, la, ce, pr, eu_star, ce_star) -> None:
    """Eu/Eu* = Eu_N / sqrt(Sm_N · Gd_N), Ce/Ce* = Ce_N / sqrt(La_N · Pr_N)."""
    f = pd.DataFrame({"La": [la], "Ce": [ce], "Pr": [pr], "Sm": [sm], "Eu": [eu], "Gd": [gd]})
    out = normalise(f, "PAAS")
    assert out["Eu/Eu*"].iloc[0] == pytest.approx(eu_star)
    assert out["Ce/Ce*"].iloc[0] == pytest.approx(ce_star)
    assert out.attrs["anomaly_formulas"]["Eu/Eu*"] == "Eu_N / sqrt(Sm_N · Gd_N)"


def test_censored_values_are_never_measurements(data_dir: Path) -> None:
    raw = pd.read_csv(data_dir / "kola" / "chorizonDL.csv")
    ree = raw[[f"{e}_INAA" for e in ["La", "Ce", "Nd", "Sm", "Eu", "Yb", "Lu"]]]
    ree = ree.rename(columns=lambda c: c[:-5])
    censored = ree == 0
    assert censored["Nd"].sum() == 8
    ree = ree.where(~censored, 5.0)  # a censored value holds its detection limit (Nd: 5)
    out = normalise(ree, "PAAS", censored=censored)
    assert out["Nd"][censored["Nd"]].isna().all()
    assert out["Ce/Ce*"][censored["Nd"]].isna().all()
    assert out["Ce/Ce*"][~censored["Nd"]].notna().all()
    assert "Eu/Eu*" not in out  # neither Gd nor Tb
    # without the flags, the limit would be taken as a measurement
    assert normalise(ree, "PAAS")["Nd"][censored["Nd"]].notna().all()


def test_any_element_list_for_a_spider_diagram(kola_ree, data_dir: Path) -> None:
    raw = pd.read_csv(data_dir / "kola" / "chorizon.csv").set_index("ID")
    frame = raw[["Th_INAA", "La_INAA", "Sc_INAA"]].rename(columns=lambda c: c[:-5])
    out = normalise(frame, "UCC_McLennan2001", elements=["Th", "La", "Sc"])
    assert list(out.columns) == ["Th", "La", "Sc"]
    np.testing.assert_allclose(out["Th"], frame["Th"] / 10.7)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"elements": ["Au"]}, "not columns"),
    ({"reference": "NASC", "elements": ["La", "Ce"], "frame": pd.DataFrame({"Li": [1.0]})},
     "not columns"),
    ({"frame": pd.DataFrame({"Cu": [1.0]})}, "none of the elements"),
])
def test_bad_requests_are_refused(kola_ree, kwargs, message) -> None:
    frame = kwargs.pop("frame", kola_ree)
    with pytest.raises(CompositionError, match=message):
        normalise(frame, **kwargs)


def test_an_element_the_reference_lacks_is_refused() -> None:
    with pytest.raises(CompositionError, match="NASC_Gromet1984 gives no abundance of Li"):
        normalise(pd.DataFrame({"Li": [1.0]}), "NASC", elements=["Li"])
