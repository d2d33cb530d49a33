"""Acceptance tests: every shipped descriptor ingests its real survey file correctly.

The expected numbers come from ``../shared/data/README.md`` and from the published surveys;
the censoring and unit checks recompute the expected stored values independently from the
files themselves. Every dataset is ingested once per session (``demo_store`` in conftest.py).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chemearth.errors import ChemearthWarning
from chemearth.ingest.descriptor import load_descriptor
from chemearth.ingest.pipeline import ingest

# dataset id: (rows as the README counts them, samples stored, of them not sampled,
#              rejected rows, measurements, censored by the encoding's own marks or limits,
#              expects warnings); cells equal to a declared substitution constant
#              ([censoring.substituted]) are counted independently by _substituted_cells
DATASETS = {
    "usgs-ds801-top5": (4857, 4857, 16, 0, 213004, 19706, False),
    "usgs-ds801-top5-csv": (4857, 4857, 16, 0, 213004, 19706, False),
    "usgs-ds520-colorado": (959, 959, 0, 0, 37401, 240, False),
    "usgs-ngs-il-in": (2858, 2858, 0, 0, 16722, 4394, False),
    "kola-chorizon": (606, 606, 0, 0, 56964, 42, False),
    "kola-chorizon-dl": (606, 606, 0, 0, 32724, 42, False),
    "kola-bhorizon": (609, 609, 0, 0, 27405, 0, False),
    "kola-humus": (617, 617, 0, 0, 25297, 0, False),
    "kola-moss": (598, 598, 0, 0, 18538, 0, False),
    # replicate files: one row per pair, two samples per row
    "kola-chorizon-field-duplicates": (49, 98, 0, 0, 8231, 4, False),
    "kola-chorizon-analytical-duplicates": (52, 104, 0, 0, 8735, 10, False),
    "kola-chorizon-standard": (52, 52, 0, 0, 4368, 2, False),
    "bss-top": (768, 768, 0, 0, 32256, 0, False),
    "bss-bottom": (768, 768, 0, 0, 32256, 0, False),
    # one GEMAS row (line 295) has a mistyped latitude: rejected, see test_rejected_rows
    "gemas": (2108, 2107, 0, 1, 46279, 0, False),
    "meuse": (155, 155, 0, 0, 620, 0, False),
    "meuse-all": (164, 164, 0, 0, 656, 21, False),
    "jura": (359, 359, 0, 0, 2513, 0, False),
    "nada-arsenic": (50, 50, 0, 0, 50, 23, False),
    "nada-cadmium": (19, 19, 0, 0, 19, 4, False),
    "nada-cuzn": (118, 118, 0, 0, 231, 51, False),
    "nada-sedpb": (82, 82, 0, 0, 164, 5, False),
    "qc-crm": (97, 97, 0, 0, 97, 0, False),
    "qc-triplicates": (186, 186, 0, 0, 186, 0, False),
}

KOLA_LOCATED = [
    "kola-chorizon",
    "kola-chorizon-dl",
    "kola-bhorizon",
    "kola-humus",
    "kola-moss",
    "kola-chorizon-field-duplicates",
]
BSS_COUNTRIES = {"NO", "SE", "FI", "RU", "EE", "LV", "LT", "BY", "PL", "DE"}
# GEMAS project country codes -> ISO alpha-2, typed in independently of
# chemearth.reference.countries
GEMAS_A2 = {
    "AUS": "AT",
    "BEL": "BE",
    "BOS": "BA",
    "BUL": "BG",
    "CRO": "HR",
    "CYP": "CY",
    "CZR": "CZ",
    "DEN": "DK",
    "EST": "EE",
    "FIN": "FI",
    "FOM": "MK",
    "FRA": "FR",
    "GER": "DE",
    "HEL": "GR",
    "HUN": "HU",
    "IRL": "IE",
    "ITA": "IT",
    "LAV": "LV",
    "LIT": "LT",
    "LUX": "LU",
    "MON": "ME",
    "NEL": "NL",
    "NOR": "NO",
    "POL": "PL",
    "PTG": "PT",
    "SIL": "CH",
    "SKA": "SK",
    "SLO": "SI",
    "SPA": "ES",
    "SRB": "RS",
    "SWE": "SE",
    "UKR": "UA",
    "UNK": "GB",
}
# IUPAC atomic weights, typed in: mass fraction of Fe in Fe2O3
FE_IN_FE2O3 = 2 * 55.845 / (2 * 55.845 + 3 * 15.999)


def _samples(demo, dataset_id: str) -> pd.DataFrame:
    return demo.store.samples(dataset_id)


def _meas(demo, dataset_id: str, **kw) -> pd.DataFrame:
    return demo.store.measurements(dataset_id, **kw)


def _attrs(samples: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        [json.loads(a) if a else {} for a in samples["attributes"]], index=samples.index
    )


def _norm_id(value: object) -> str:
    """A numeric sample id as text without a trailing ".0" (the Kola files write ID 1 as
    "1.0"; whether the store keeps it verbatim or not, "1.0" and "1" are the same id)."""
    text = str(value)
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if number.is_integer() else text


def _ids(values: object) -> pd.Index:
    return pd.Index([_norm_id(v) for v in values])


def _cell_table(meas: pd.DataFrame, column: str) -> pd.DataFrame:
    """Stored value and censored flag of one source column, indexed by (normalised) id."""
    m = meas[meas["source_column"] == column]
    out = m.set_index("sample_id")[["value", "censored", "original_value"]]
    out.index = _ids(out.index)
    return out


# --------------------------------------------------------------------------- catalogue


def test_every_shipped_descriptor_is_tested(demo_store):
    assert set(demo_store.reports) == set(DATASETS)


def test_per_country_table_counts_each_survey_once(demo_store):
    """Alternate files of a survey (same_samples_as) and QC/textbook data are not counted."""
    table = demo_store.store.country_summary().set_index("country")
    us = ("usgs-ds801-top5", "usgs-ds520-colorado", "usgs-ngs-il-in")
    us_samples = sum(demo_store.reports[d].n_samples for d in us)
    us_items = sum(demo_store.reports[d].n_measurements for d in us)
    assert table.loc["US"].to_dict() == {
        "datasets": 3,
        "samples": us_samples,
        "data_items": us_items,
    }
    surveys = demo_store.store.datasets()
    primary = surveys[(surveys["kind"] == "survey") & (surveys["same_samples_as"] == "")]
    assert table["samples"].sum() == primary["n_samples"].sum()
    assert table["data_items"].sum() == primary["n_measurements"].sum()


@pytest.mark.parametrize("dataset_id", sorted(DATASETS))
def test_descriptor_metadata(demo_store, dataset_id):
    desc = load_descriptor(demo_store.descriptors[dataset_id])
    d = desc.dataset
    assert demo_store.descriptors[dataset_id].stem == d.id
    for key in ("title", "organisation", "licence", "citation", "url"):
        assert getattr(d, key), f"{dataset_id}: [dataset].{key} is empty"
    assert not Path(desc.source.path).is_absolute()
    assert (demo_store.data_dir / desc.source.path).is_file()


@pytest.mark.parametrize("dataset_id", sorted(DATASETS))
def test_counts(demo_store, dataset_id):
    rows, n_samples, n_not_sampled, n_rejected, n_meas, n_cens, warns = DATASETS[dataset_id]
    r = demo_store.reports[dataset_id]
    assert r.status == "ingested"
    expanded = 2 * rows if "duplicates" in dataset_id else rows
    assert r.n_rows == expanded
    assert r.n_samples == n_samples
    assert r.n_samples + r.n_rejected == expanded
    assert r.n_not_sampled == n_not_sampled
    assert r.n_rejected == n_rejected
    assert r.n_measurements == n_meas
    substituted = _substituted_cells(demo_store, dataset_id)
    assert r.n_censored == n_cens + sum(substituted.values())
    assert [int(n.split(": ")[1].split()[0]) for n in r.notes] == list(substituted.values())
    assert bool(demo_store.warnings[dataset_id]) == warns
    samples = _samples(demo_store, dataset_id)
    assert len(samples) == n_samples
    assert samples["sample_id"].is_unique
    assert int((~samples["sampled"]).sum()) == n_not_sampled


def _substituted_cells(demo_store, dataset_id: str) -> dict[str, int]:
    """Per declared substitution constant, the cells of the raw file equal to it (pandas)."""
    desc = load_descriptor(demo_store.descriptors[dataset_id])
    if not desc.censoring.substituted:
        return {}
    df = pd.read_csv(demo_store.data_dir / desc.source.path)
    out = {}
    for column, sub in desc.censoring.substituted.items():
        n = 0
        for prefix in desc.sample.replicate_prefixes or ("",):
            x = pd.to_numeric(df[prefix + column], errors="coerce")
            n += int(np.isclose(x, sub.value, rtol=1e-9, atol=0).sum())
        out[column] = n
    return out


@pytest.mark.parametrize("dataset_id", sorted(DATASETS))
def test_reingest_is_a_no_op(demo_store, dataset_id):
    desc = load_descriptor(demo_store.descriptors[dataset_id])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChemearthWarning)
        r = ingest(
            demo_store.store, desc, data_dir=demo_store.data_dir, boundaries=demo_store.boundaries
        )
    assert r.status == "unchanged"
    assert r.version == demo_store.reports[dataset_id].version


def test_rejected_rows(demo_store):
    for dataset_id, report in demo_store.reports.items():
        if dataset_id != "gemas":
            assert report.rejects.empty, f"{dataset_id}: {report.messages()}"
    rej = demo_store.reports["gemas"].rejects
    assert rej["row"].tolist() == [295]
    assert rej["column"].tolist() == ["longitude/latitude"]
    assert "outside the declared country RS" in rej["reason"].iloc[0]
    stored = demo_store.store.rejects("gemas")
    assert stored["row"].tolist() == [295]
    # the published LAEA coordinates of that row put it at latitude 45.0094 (Serbia):
    # the WGS84 latitude 40.0094 (Albania) is a typo in the file
    row = pd.read_csv(demo_store.data_dir / "gemas/gemas.csv").iloc[295 - 2]
    assert row["COUNTRY"] == "SRB"
    assert row["latitude"] == pytest.approx(40.0094)


# --------------------------------------------------------------------------- locations


@pytest.mark.parametrize("dataset_id", KOLA_LOCATED)
def test_kola_countries(demo_store, dataset_id):
    s = _samples(demo_store, dataset_id)
    assert set(s["country"]) == {"FI", "NO", "RU"}
    assert s["longitude"].between(18, 42).all()
    assert s["latitude"].between(65, 72).all()
    assert (s["crs_orig"] == "EPSG:32635").all()


def test_kola_field_duplicates_countries_match_declared(demo_store):
    s = _samples(demo_store, "kola-chorizon-field-duplicates")
    declared = _attrs(s)["X.COUN"].map({"FIN": "FI", "NOR": "NO", "RUS": "RU"})
    assert (s["country"] == declared).all()


def test_gemas_countries(demo_store):
    s = _samples(demo_store, "gemas")
    codes = _attrs(s)["COUNTRY"]
    assert codes.nunique() == 33
    assert (s["country"] == codes.map(GEMAS_A2)).all()


@pytest.mark.parametrize("dataset_id", ["bss-top", "bss-bottom"])
def test_bss_countries(demo_store, dataset_id):
    s = _samples(demo_store, dataset_id)
    assert set(s["country"]) == BSS_COUNTRIES
    # UTM 35N extended far west of its zone: the westernmost samples (western Norway) have
    # negative eastings and still land in Norway
    west = s.nsmallest(10, "longitude")
    assert (west["x_orig"] < 0).all()
    assert (west["country"] == "NO").all()
    assert (west["longitude"] < 8).all()
    assert (s.loc[s["x_orig"] < 0, "longitude"] < 24).all()


@pytest.mark.parametrize(
    ("dataset_id", "country"),
    [
        ("usgs-ds801-top5", "US"),
        ("usgs-ds801-top5-csv", "US"),
        ("usgs-ds520-colorado", "US"),
        ("usgs-ngs-il-in", "US"),
        ("meuse", "NL"),
        ("meuse-all", "NL"),
        ("jura", "CH"),
    ],
)
def test_single_country(demo_store, dataset_id, country):
    s = _samples(demo_store, dataset_id)
    assert (s["country"] == country).all()
    assert s["longitude"].notna().all()


def test_ngs_albers_coordinates_match_published_lonlat(demo_store):
    s = _samples(demo_store, "usgs-ngs-il-in").set_index("sample_id")
    f = pd.read_csv(
        demo_store.data_dir / "usgs_ngs_il_in/ngs_il_in_subset_geomla.csv", dtype={"LABNO": str}
    ).set_index("LABNO")
    s = s.loc[f.index]
    assert np.allclose(s["longitude"], f["lon"], atol=1e-4)
    assert np.allclose(s["latitude"], f["lat"], atol=1e-4)
    assert s["medium"].value_counts().to_dict() == {
        "stream sediment": 2484,
        "soil": 362,
        "unknown": 12,
    }


# --------------------------------------------------------------------------- censoring


def test_ds801_arsenic(demo_store):
    m = _meas(demo_store, "usgs-ds801-top5", elements=["As"])
    assert len(m) == 4841
    cens = m[m["censored"]]
    assert len(cens) == 56
    assert (cens["value"] == 0.6).all()
    assert (cens["qualifier"] == "<").all()
    assert np.median(m["value"].to_numpy()) == pytest.approx(5.2)


def test_ds801_not_sampled_sites(demo_store, data_dir):
    f = pd.read_csv(data_dir / "usgs_ds801/ds801_top5_raw.csv", dtype=str)
    ns_ids = set(f.loc[f["Top5_LabID"] == "N.S.", "SiteID"])
    assert len(ns_ids) == 16
    s = _samples(demo_store, "usgs-ds801-top5")
    assert set(s.loc[~s["sampled"], "sample_id"]) == ns_ids
    m = _meas(demo_store, "usgs-ds801-top5")
    assert not set(m["sample_id"]) & ns_ids
    # every "<x" string of the file is a censored measurement
    n_lt = int(
        f.iloc[:, f.columns.get_loc("Top5_Ag") :]
        .apply(lambda c: c.str.startswith("<", na=False))
        .to_numpy()
        .sum()
    )
    assert int(m["censored"].sum()) == n_lt


def test_ds801_xls_equals_csv(demo_store):
    key = ["sample_id", "element", "value", "censored"]
    a = _meas(demo_store, "usgs-ds801-top5")[key]
    b = _meas(demo_store, "usgs-ds801-top5-csv")[key]
    a = a.sort_values(key[:2]).reset_index(drop=True)
    b = b.sort_values(key[:2]).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    sa = _samples(demo_store, "usgs-ds801-top5").set_index("sample_id")
    sb = _samples(demo_store, "usgs-ds801-top5-csv").set_index("sample_id").loc[sa.index]
    assert (sa["sampled_on"] == sb["sampled_on"]).all()
    assert np.allclose(sa["longitude"], sb["longitude"])


def test_colorado_flag_file(demo_store, data_dir):
    folder = data_dir / "usgs_ds520_colorado"
    values = pd.read_csv(folder / "colorado_soils_gcclust.csv", dtype={"sample": str})
    flags = pd.read_csv(
        folder / "colorado_soils_gcclust_censor_indicators.csv", dtype=str
    ).set_index("sample")
    values = values.set_index("sample")
    assert set(flags.stack().unique()) == {"no", "left"}
    m = _meas(demo_store, "usgs-ds520-colorado")
    n_left = 0
    for element in flags.columns:
        stored = _cell_table(m, element).loc[values.index]
        left = (flags.loc[values.index, element] == "left").to_numpy()
        n_left += int(left.sum())
        assert (stored["censored"].to_numpy() == left).all(), element
        file_value = values[element].to_numpy()
        assert np.allclose(stored["value"].to_numpy()[left], file_value[left] / 0.65), element
        assert np.allclose(stored["value"].to_numpy()[~left], file_value[~left]), element
    assert n_left == int(m["censored"].sum()) == 240


def test_ngs_negative_values(demo_store, data_dir):
    f = pd.read_csv(
        data_dir / "usgs_ngs_il_in/ngs_il_in_subset_geomla.csv", dtype={"LABNO": str}
    ).set_index("LABNO")
    m = _meas(demo_store, "usgs-ngs-il-in")
    n_negative = 0
    for column, factor in [
        ("PB_ICP40", 1),
        ("CU_ICP40", 1),
        ("CD_ICP40", 1),
        ("AS_ICP40", 1),
        ("MG_ICP40", 1e4),
        ("K_ICP40", 1e4),
    ]:
        x = f[column].dropna()
        stored = _cell_table(m, column).loc[x.index]
        negative = (x < 0).to_numpy()
        n_negative += int(negative.sum())
        assert (stored["censored"].to_numpy() == negative).all(), column
        assert np.allclose(stored["value"].to_numpy(), np.abs(x.to_numpy()) * factor), column
        assert np.allclose(stored["original_value"].to_numpy(), x.to_numpy()), column
    assert n_negative == int(m["censored"].sum()) == 4394


def _kola_limits(data_dir: Path) -> pd.Series:
    lim = pd.read_csv(data_dir / "kola/chorizonDL_detection_limits.csv")
    return lim.set_index("column")["detection_limit"]


def test_kola_chorizon_half_dl(demo_store, data_dir):
    f = pd.read_csv(data_dir / "kola/chorizon.csv")
    f.index = _ids(f["ID"])
    limits = _kola_limits(data_dir)
    m = _meas(demo_store, "kola-chorizon")
    factors = {"%": 1e4}
    n_half = 0
    censored_cells = set()
    for column, dl in limits.items():
        stored = _cell_table(m, column).loc[f.index]
        half = (f[column] <= 0.5 * dl * (1 + 1e-9)).to_numpy()
        n_half += int(half.sum())
        censored_cells |= {(i, column) for i in f.index[half]}
        assert (stored["censored"].to_numpy() == half).all(), column
        unit = m.loc[m["source_column"] == column, "original_unit"].iloc[0]
        expected_dl = dl * factors.get(unit, 1.0)
        assert np.allclose(stored["value"].to_numpy()[half], expected_dl), column
    assert n_half == 42
    # the columns without a published limit: their declared substitution constants
    substituted = _substituted_cells(demo_store, "kola-chorizon")
    assert substituted["Au_INAA"] == 439
    assert substituted["Ni_INAA"] == 523
    assert n_half + sum(substituted.values()) == int(m["censored"].sum())
    # a concrete cell: As = 0.05 (half the DL 0.1) in chorizon.csv is stored censored at 0.1
    as_half = f.index[f["As"] == 0.05]
    assert len(as_half) == 10
    stored = _cell_table(m, "As").loc[as_half]
    assert stored["censored"].all()
    assert (stored["value"] == 0.1).all()
    assert np.allclose(stored["original_value"], 0.05)
    # chorizonDL.csv codes the same cells as 0; they are stored censored at the same limits
    dl_file = pd.read_csv(data_dir / "kola/chorizonDL.csv")
    dl_file.index = _ids(dl_file["*ID"])
    mdl = _meas(demo_store, "kola-chorizon-dl")
    zero_cells = set()
    for column, dl in limits.items():
        stored = _cell_table(mdl, column).loc[dl_file.index]
        zero = (dl_file[column] == 0).to_numpy()
        zero_cells |= {(i, column) for i in dl_file.index[zero]}
        assert (stored["censored"].to_numpy() == zero).all(), column
        unit = mdl.loc[mdl["source_column"] == column, "original_unit"].iloc[0]
        assert np.allclose(stored["value"].to_numpy()[zero], dl * factors.get(unit, 1.0)), column
    assert zero_cells == censored_cells
    assert int(mdl["censored"].sum()) == 42


NADA = {
    "nada-arsenic": ("nada/Arsenic.csv", ["As"]),
    "nada-cadmium": ("nada/Cadmium.csv", ["Cd"]),
    "nada-cuzn": ("nada/CuZn.csv", ["Cu", "Zn"]),
    "nada-sedpb": ("nada/SedPb.csv", ["y2001", "y1996"]),
}


@pytest.mark.parametrize("dataset_id", sorted(NADA))
def test_nada_cen_columns(demo_store, data_dir, dataset_id):
    path, columns = NADA[dataset_id]
    f = pd.read_csv(data_dir / path, dtype=str)
    f.index = [str(i + 2) for i in range(len(f))]  # sample id = line number in the file
    m = _meas(demo_store, dataset_id)
    for column in columns:
        present = f[column].notna()
        stored = _cell_table(m, column)
        assert set(stored.index) == set(f.index[present]), column
        stored = stored.loc[f.index[present]]
        flag = (f.loc[present, column + "Cen"].str.lower() == "true").to_numpy()
        assert (stored["censored"].to_numpy() == flag).all(), column
        assert np.allclose(stored["original_value"], f.loc[present, column].astype(float))


def test_nada_sedpb_two_lead_columns(demo_store):
    m = _meas(demo_store, "nada-sedpb")
    assert set(m["element"]) == {"Pb"}
    assert m.groupby("source_column")["method"].nunique().to_dict() == {"y1996": 1, "y2001": 1}
    assert m["method"].nunique() == 2
    assert not m.duplicated(["sample_id", "element", "method"]).any()


def test_meuse_published_medians(demo_store):
    m = _meas(demo_store, "meuse")
    med = m.groupby("element")["value"].median()
    assert med["Zn"] == pytest.approx(326)
    assert med["Cd"] == pytest.approx(2.1)


def test_meuse_cadmium_below_the_lowest_quantified_value(demo_store, data_dir):
    """meuse_all.csv writes 0 and meuse.csv writes 0.2 for the same 21 cadmium values below
    the limit: both are stored as "< 0.4" (the lowest value quantified), the rest unchanged."""
    f = pd.read_csv(data_dir / "meuse/meuse_all.csv")
    m = _meas(demo_store, "meuse-all", elements=["Cd"])
    zero = f["cadmium"] == 0
    assert int(zero.sum()) == 21
    assert f.loc[~zero, "cadmium"].min() == 0.4
    assert len(m) == 164
    assert int(m["censored"].sum()) == 21
    assert (m.loc[m["censored"], "value"] == 0.4).all()
    short = pd.read_csv(data_dir / "meuse/meuse.csv")
    ms = _meas(demo_store, "meuse", elements=["Cd"])
    assert int((short["cadmium"] == 0.2).sum()) == int(ms["censored"].sum()) == 21
    assert (ms.loc[ms["censored"], "value"] == 0.4).all()
    assert sorted(ms["value"]) == sorted(m.loc[f["in.meuse155"].to_numpy(), "value"])


# --------------------------------------------------------------------------- units


def test_kola_fe2o3_stored_as_fe(demo_store, data_dir):
    f = pd.read_csv(data_dir / "kola/chorizon.csv")
    f.index = _ids(f["ID"])
    stored = _cell_table(_meas(demo_store, "kola-chorizon"), "Fe2O3").loc[f.index]
    expected = f["Fe2O3"].to_numpy() * 10000 * FE_IN_FE2O3
    assert np.allclose(stored["value"].to_numpy(), expected, rtol=1e-9)
    m = _meas(demo_store, "kola-chorizon", elements=["Fe"])
    row = m[m["source_column"] == "Fe2O3"].iloc[0]
    assert row["unit"] == "mg/kg"
    assert row["original_unit"] in ("%", "wt.%")


def test_other_unit_conversions(demo_store, data_dir):
    # DS-801 Al in wt. %
    f = pd.read_csv(data_dir / "usgs_ds801/ds801_top5_raw.csv", dtype=str).set_index("SiteID")
    al = f["Top5_Al"].dropna()
    al = al[al != "N.S."]
    stored = _cell_table(_meas(demo_store, "usgs-ds801-top5", elements=["Al"]), "Top5_Al")
    assert np.allclose(stored.loc[al.index, "value"], al.astype(float) * 1e4)
    # Kola humus conductivity in µS/cm, stored as EC in mS/m
    h = pd.read_csv(data_dir / "kola/humus.csv")
    ec = _cell_table(_meas(demo_store, "kola-humus", elements=["EC"]), "Cond")
    assert np.allclose(ec.loc[_ids(h["ID"]), "value"], h["Cond"].to_numpy() * 0.1)
    # NADA water concentrations in µg/L (= µg/kg) stored in mg/kg
    a = _meas(demo_store, "nada-arsenic")
    assert np.allclose(a["value"], a["original_value"] * 1e-3)


# --------------------------------------------------------------------------- replicates


def test_kola_field_duplicates(demo_store, data_dir):
    s = _samples(demo_store, "kola-chorizon-field-duplicates")
    reps = _attrs(s)["replicate"]
    assert reps.value_counts().to_dict() == {"F1": 49, "F2": 49}
    f = pd.read_csv(data_dir / "kola/CHorFieldDUP.csv")
    assert set(_ids(s.loc[reps == "F1", "sample_id"])) == set(_ids(f["F1_.Loc"]))
    assert set(_ids(s.loc[reps == "F2", "sample_id"])) == set(_ids(f["F2_.Loc"]))
    # the F2 replicates are the routine samples of chorizon.csv, with the same coordinates
    chor = _samples(demo_store, "kola-chorizon")
    chor.index = _ids(chor["sample_id"])
    f2 = s[reps == "F2"]
    f2.index = _ids(f2["sample_id"])
    assert np.allclose(f2["x_orig"], chor.loc[f2.index, "x_orig"], atol=1)
    assert np.allclose(f2["y_orig"], chor.loc[f2.index, "y_orig"], atol=5)
    assert s["sampled_on"].notna().all()
    # both replicates of a pair share the site's coordinates
    pairs = s.groupby("source_row")[["x_orig", "y_orig"]].nunique()
    assert (pairs == 1).all().all()


def test_kola_analytical_duplicates(demo_store):
    s = _samples(demo_store, "kola-chorizon-analytical-duplicates")
    assert _attrs(s)["replicate"].value_counts().to_dict() == {"A1": 52, "A2": 52}
    assert s["longitude"].isna().all()
    m = _meas(demo_store, "kola-chorizon-analytical-duplicates")
    assert not m.duplicated(["sample_id", "element", "method"]).any()


@pytest.mark.parametrize("dataset_id", sorted(DATASETS))
def test_measurement_keys_unique(demo_store, dataset_id):
    m = _meas(demo_store, dataset_id)
    assert not m.duplicated(["sample_id", "element", "method"]).any()
    assert m["value"].notna().all()
    assert (m["value"] >= 0).all()
