"""The data-quality report of a dataset, and the qc and level commands.

The report's figures are those of the modules tested on their own (test_precision,
test_control, test_levelling); here: that the report joins the right quality-control
datasets to the right elements and methods, hides what it is told to, reads detection
limits and censoring right (against pandas on the stored measurements), and that the CLI
prints and writes them.
"""

from __future__ import annotations

import json
import shutil
import warnings

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from chemearth.cli import cli
from chemearth.errors import ChemearthWarning, DescriptorError, StatisticsError
from chemearth.ingest.descriptor import parse_descriptor
from chemearth.qc.report import (
    anova_table,
    control_results,
    control_table,
    duplicate_pairs,
    linked_qc,
    precision_table,
    qc_spec,
    quality_report,
)

AR = "aqua regia extraction; ICP-AES or graphite-furnace AAS"
INAA = "INAA (instrumental neutron activation)"


@pytest.fixture(scope="module")
def kola_report(demo_store):
    return quality_report(demo_store.store, "kola-chorizon")


def test_survey_is_linked_to_its_qc_datasets(demo_store, kola_report):
    assert linked_qc(demo_store.store, "kola-chorizon").keys() == {
        "kola-chorizon-field-duplicates", "kola-chorizon-analytical-duplicates",
        "kola-chorizon-standard"}
    assert kola_report.qc == {"kola-chorizon-field-duplicates": "field-duplicates",
                              "kola-chorizon-analytical-duplicates": "analytical-duplicates",
                              "kola-chorizon-standard": "reference-material"}
    assert linked_qc(demo_store.store, "kola-humus") == {}


def test_report_rows_join_the_qc_figures_by_element_and_method(demo_store, kola_report):
    st = demo_store.store
    rows = kola_report.elements.set_index(["element", "method"])
    field = precision_table(duplicate_pairs(st, "kola-chorizon-field-duplicates")).set_index(
        ["element", "method"])
    anal = precision_table(duplicate_pairs(st, "kola-chorizon-analytical-duplicates")
                           ).set_index(["element", "method"])
    anova = anova_table(duplicate_pairs(st, "kola-chorizon-field-duplicates"),
                        duplicate_pairs(st, "kola-chorizon-analytical-duplicates"),
                        st.measurements("kola-chorizon")).set_index(["element", "method"])
    spec = qc_spec(st, "kola-chorizon-standard")
    _, _, controls = control_table(control_results(st, "kola-chorizon-standard", spec), spec)
    controls = controls.set_index(["element", "method"])
    for key in [("Cu", AR), ("Cr", INAA), ("Ni", INAA), ("Pb", AR)]:
        r = rows.loc[key]
        assert r["rsd_field_pct"] == field.loc[key, "rsd_pct"]
        if key not in anal.index:  # no analytical pair above the limit in both (INAA Ni)
            assert np.isnan(r["rsd_analytical_pct"])
            continue
        assert r["rsd_analytical_pct"] == anal.loc[key, "rsd_pct"]
        assert r["measurement_pct"] == anova.loc[key, "measurement_pct"]
        assert r["survey_share_pct"] == anova.loc[key, "survey_share_pct"]
        assert r["fit_for_mapping"] == anova.loc[key, "fit_for_mapping"]
        assert r["control_rsd_pct"] == controls.loc[key, "rsd_pct"]
        assert r["batches_rejected"] == controls.loc[key, "rejected"]


def test_detection_limits_and_censoring_equal_pandas(demo_store, kola_report):
    m = demo_store.store.measurements("kola-chorizon")
    rows = kola_report.elements.set_index(["element", "method"])
    for (el, meth), g in m.groupby(["element", "method"]):
        r = rows.loc[(el, meth)]
        assert r["n"] == len(g)
        assert r["n_censored"] == int(g["censored"].sum())
        assert r["pct_censored"] == pytest.approx(100 * g["censored"].mean())
        dl = g["detection_limit"].max()
        assert (np.isnan(r["dl_max"]) and pd.isna(dl)) or r["dl_max"] == dl
    assert rows.loc[("As", AR), "n_censored"] == 10  # the survey's published count


def test_qc_dataset_reports_its_own_results(demo_store):
    crm = quality_report(demo_store.store, "qc-crm")
    assert crm.role == "reference-material"
    assert crm.controls["materials"].tolist() == [6]  # X, Y, Z, STSD-1, STSD-3, TILL-4
    trip = quality_report(demo_store.store, "qc-triplicates")
    row = trip.elements.iloc[0]
    assert (row["element"], row["n_field_pairs"]) == ("Ba", 9)
    assert row["survey_share_pct"] > 0
    assert "rsd_analytical_pct" not in trip.elements.columns


def test_hidden_elements_leave_no_trace(demo_store):
    rep = quality_report(demo_store.store, "kola-chorizon", elements=["Cu", "Ni", "Pb"],
                         hidden={"kola-chorizon": {"Pb"},
                                 "kola-chorizon-analytical-duplicates": {"Ni"}})
    rows = rep.elements.set_index(["element", "method"])
    assert "Pb" not in rows.index.get_level_values(0)
    assert rows.loc[("Ni", AR), "rsd_field_pct"] > 0  # still from the field duplicates
    assert np.isnan(rows.loc[("Ni", AR), "rsd_analytical_pct"])
    assert rows.loc[("Cu", AR), "rsd_analytical_pct"] > 0


@pytest.mark.parametrize(("section", "message"), [
    ('role = "blanks"', "is not one of"),
    ('role = "field-duplicates"', "two \\[sample\\].replicate_prefixes"),
    ('role = "replicate-status"', "needs 'status_column'"),
    ('role = "reference-material"', "needs 'material'"),
    ('role = "reference-material"\nmaterial_column = "CRM2"', "must be one of the"),
    ('role = "reference-material"\nmaterial = "S"\norder = "time"', "order"),
])
def test_bad_qc_sections_are_named(section, message):
    text = f"""
[dataset]
id = "x"
title = "x"
kind = "qc"
[sample]
attributes = ["CRM"]
[columns]
Cu = "Cu"
[qc]
{section}
"""
    with pytest.raises(DescriptorError, match=message):
        parse_descriptor(text)


def test_qc_section_needs_a_qc_dataset():
    with pytest.raises(DescriptorError, match="only a dataset of kind 'qc'"):
        parse_descriptor('[dataset]\nid = "x"\ntitle = "x"\n[columns]\nCu = "Cu"\n[qc]\n'
                         'role = "reference-material"\nmaterial = "S"\n')


def test_duplicates_of_a_reference_material_dataset_are_refused(demo_store):
    with pytest.raises(StatisticsError, match="not duplicate pairs"):
        duplicate_pairs(demo_store.store, "qc-crm")
    with pytest.raises(StatisticsError, match="not a quality-control dataset"):
        duplicate_pairs(demo_store.store, "kola-chorizon")


# ---------------------------------------------------------------------------- the CLI


@pytest.fixture(scope="module")
def qc_home(tmp_path_factory, data_dir, boundaries):
    """A writable store: the Kola C-horizon with its QC datasets."""
    from chemearth.ingest.descriptor import load_descriptor
    from chemearth.ingest.pipeline import ingest
    from chemearth.ingest.shipped import shipped_descriptor
    from chemearth.store import open_store

    home = tmp_path_factory.mktemp("qc-cli")
    store = open_store(home)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChemearthWarning)
        for ds in ("kola-chorizon", "kola-chorizon-field-duplicates",
                   "kola-chorizon-analytical-duplicates", "kola-chorizon-standard"):
            ingest(store, load_descriptor(shipped_descriptor(ds)), data_dir=data_dir,
                   boundaries=boundaries)
    return home


def _run(home, *args: str):
    return CliRunner().invoke(cli, [*args, "--home", str(home)], catch_exceptions=False)


def test_cli_qc_prints_and_writes_the_report(qc_home, tmp_path):
    out = tmp_path / "q.json"
    r = _run(qc_home, "qc", "kola-chorizon", "--element", "Ni", "--element", "Cu",
             "--element", "Au", "-o", str(out), "--figures", str(tmp_path / "fig"))
    assert r.exit_code == 0, r.output
    assert "kola-chorizon-field-duplicates (field-duplicates)" in r.output
    assert "unfit for mapping (sampling + analytical variance > 20 % of the total): Au (INAA)" \
        in r.output
    data = json.loads(out.read_text())
    au = next(e for e in data["elements"] if e["element"] == "Au" and e["method"] == INAA)
    assert au["fit_for_mapping"] is False
    # INAA Ni: its 10 mg/kg half-limit constant is below the limit, not a measurement
    ni = next(e for e in data["elements"] if e["element"] == "Ni" and e["method"] == INAA)
    assert ni["n_censored"] == 523
    figs = sorted(p.name for p in (tmp_path / "fig").iterdir())
    assert "th_kola-chorizon-field-duplicates_Cu_aqua-regia-extraction.png" in figs
    assert any(f.startswith("control_kola-chorizon-standard_Ni_INAA") for f in figs)
    assert all((tmp_path / "fig" / f).read_bytes()[:4] == b"\x89PNG" for f in figs)


def test_cli_threshold_changes_the_flag(qc_home):
    r = _run(qc_home, "qc", "kola-chorizon", "--element", "Cu", "--threshold", "5")
    assert "unfit for mapping (sampling + analytical variance > 5 % of the total): Cu" \
        in r.output


def test_cli_level_apply_then_report(qc_home, tmp_path):
    home = tmp_path / "copy"
    shutil.copytree(qc_home, home)
    plot = tmp_path / "cr.png"
    r = _run(home, "level", "kola-chorizon", "Cr", "--from", AR, "--to", INAA,
             "--transform", "rma", "--plot", str(plot), "--apply")
    assert r.exit_code == 0, r.output
    assert "fitted on 424 pairs" in r.output
    assert "agreement with the target on 182 held-out pairs" in r.output
    assert "kola-chorizon v2: Cr by" in r.output
    assert plot.read_bytes()[:4] == b"\x89PNG"
    r = _run(home, "qc", "kola-chorizon", "--element", "Cr")
    assert "levelled: Cr aqua regia extraction -> kola-chorizon INAA: log10 y = " in r.output
    assert "held-out bias -69" in r.output or "held-out bias -70" in r.output


def test_cli_level_unknown_method_is_a_clear_error(qc_home):
    from chemearth.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["level", "kola-chorizon", "Cr", "--from", "ICP-MS", "--to", INAA,
              "--home", str(qc_home)])
    assert exc.value.code != 0
