"""Acceptance of issue 18, "bring your own survey": describe -> check -> ingest, no edits.

Each file of the corpus (``byos_corpus.py``: a shared real survey renamed, reprojected and
re-encoded the ways real surveys are) is described, checked and ingested with the proposed
descriptor exactly as proposed, into a fresh embedded store, and compared with ingesting the
original file with its shipped descriptor (once per shipped descriptor). Per case the outcome
must be the expected one: the same samples, locations, units, values and censored flags, or a
stop on a decision naming what to decide. Across the corpus at least 80 % must come out the
same and every other case must stop with a decision: none may ingest silently wrong values.

The oracle tests ingest every file with the shipped descriptor edited by hand for it; they
must all come out the same, which shows that the corpus and the comparison are sound (a case
failing above is a finding about describe/check/ingest).

``chemearth.ingest.check`` is used when it exists; until then the check step is skipped, and
``test_check_step_is_available`` says so (skipped with the reason).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.ingest import byos_corpus as corpus

IDS = [c.id for c in corpus.CASES]
#: Share of the corpus that must come out the same as shipped.
SAME_SHARE = 0.8


@pytest.fixture(scope="module")
def runner(
    tmp_path_factory: pytest.TempPathFactory, data_dir: Path, boundaries: Path
) -> corpus.Runner:
    """Builds the corpus into a temporary folder and caches every run and reference."""
    return corpus.Runner(data_dir, boundaries, tmp_path_factory.mktemp("byos"))


# ------------------------------------------------------------------------ the corpus itself


@pytest.mark.slow
@pytest.mark.parametrize("case_id", IDS)
def test_oracle_descriptor_ingests_the_file_like_the_shipped_one(
    runner: corpus.Runner, case_id: str
) -> None:
    outcome = runner.outcome(corpus.case_by_id(case_id), oracle=True)
    assert outcome.status == corpus.SAME, outcome.explain()


@pytest.mark.slow
def test_comparison_catches_a_wrong_zone_a_wrong_unit_and_lost_censoring(
    runner: corpus.Runner,
) -> None:
    """The comparison is not blind: a descriptor with the neighbouring UTM zone and a wt.%
    column taken as mg/kg, and one ignoring the *Cen flags, are reported."""
    import tomli_w

    case = corpus.case_by_id("kola-units-row")
    raw = corpus.oracle_raw(case, runner.built(case), runner.data_dir)
    raw["coordinates"]["crs"] = "EPSG:32634"
    raw["columns"]["Al_XRF"] = {**raw["columns"]["Al_XRF"], "unit": "mg/kg"}
    out = runner.ingest_and_compare(case, tomli_w.dumps(raw), "wrong-zone-and-unit")
    assert out.status == corpus.DIFFERENT, out.explain()
    text = "\n".join(out.detail)
    assert "locations differ by more than 1 m in" in text, text
    assert "Al_XRF: value differs in" in text, text

    case = corpus.case_by_id("nada-cadmium-cen-flags")
    raw = corpus.oracle_raw(case, runner.built(case), runner.data_dir)
    assert raw["censoring"]["encoding"] == "flag_column"
    raw["censoring"] = {"encoding": "none"}
    out = runner.ingest_and_compare(case, tomli_w.dumps(raw), "censoring-lost")
    assert out.status == corpus.DIFFERENT, out.explain()
    assert "Cd: censored flag differs in 4 rows" in "\n".join(out.detail), out.explain()


def test_corpus_is_large_and_mostly_expected_same() -> None:
    cases = corpus.CASES
    assert len(cases) >= 15
    assert len(set(IDS)) == len(IDS)
    assert len({c.layout.name for c in cases}) == len(cases)
    same = [c for c in cases if c.expect == corpus.SAME]
    assert len(same) >= SAME_SHARE * len(cases)
    for c in cases:
        assert c.expect in (corpus.SAME, corpus.DECISION), c.id
        assert bool(c.decision) == (c.expect == corpus.DECISION), c.id
        assert corpus.load_shipped(c.source).dataset.id == c.source


def test_check_step_is_available() -> None:
    check_file, why = corpus.check_step()
    if check_file is None:
        pytest.skip(why)
    assert callable(check_file)


# ------------------------------------------------------------------------- the acceptance


@pytest.mark.slow
@pytest.mark.parametrize("case_id", IDS)
def test_describe_check_ingest_gives_the_expected_outcome(
    runner: corpus.Runner, case_id: str
) -> None:
    case = corpus.case_by_id(case_id)
    outcome = runner.outcome(case)
    assert outcome.as_expected(case), f"expected {case.expected}; got\n{outcome.explain()}"


@pytest.mark.slow
def test_most_cases_are_same_and_the_rest_stop_on_a_decision(runner: corpus.Runner) -> None:
    outcomes = [runner.outcome(c) for c in corpus.CASES]
    same = [o for o in outcomes if o.status == corpus.SAME]
    wrong = [o for o in outcomes if o.status not in (corpus.SAME, corpus.DECISION)]
    report = "\n\n".join(o.explain() for o in outcomes if o.status != corpus.SAME)
    assert not wrong, (f"{len(wrong)} case(s) neither same nor stopped on a decision "
                       f"({', '.join(o.case for o in wrong)}):\n{report}")
    assert len(same) >= SAME_SHARE * len(outcomes), (
        f"only {len(same)} of {len(outcomes)} cases are the same as shipped:\n{report}")
