"""One store a newcomer finds: ``chemearth demo`` builds the store that every other command
opens by default, so ``chemearth catalog`` after the demo lists the demo's datasets.

The demo runs in process on two small shipped surveys (Meuse, Jura) instead of all of them:
what is tested is where the store goes, not the ingest. ``XDG_DATA_HOME`` stands in for the
user's data directory (platformdirs reads it on Linux), so the default folder is the test's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from chemearth.cli import cli

#: The surveys the demo ingests here.
SUBSET = ("meuse", "jura")


@pytest.fixture
def small_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    """``chemearth demo`` ingests :data:`SUBSET` only."""
    from chemearth.ingest import shipped

    paths = [shipped.shipped_descriptor(ds) for ds in SUBSET]
    monkeypatch.setattr(shipped, "shipped_descriptors", lambda: paths)


def _env(env: dict[str, str], tmp_path: Path, home: str | None) -> dict[str, str | None]:
    """The test's environment: the user data directory under ``tmp_path``, and
    ``CHEMEARTH_HOME`` set to ``home`` (relative to ``tmp_path``) or unset."""
    out: dict[str, str | None] = {**env, "XDG_DATA_HOME": str(tmp_path / "xdg"),
                                  "CHEMEARTH_STORE": None}
    out["CHEMEARTH_HOME"] = str(tmp_path / home) if home else None
    return out


def _catalog(env: dict[str, Any]) -> set[str]:
    r = CliRunner().invoke(cli, ["catalog", "--format", "json"], env=env)
    assert r.exit_code == 0, r.output
    return {d["dataset_id"] for d in json.loads(r.output)["datasets"]}


@pytest.mark.parametrize(
    ("home", "where"),
    [(None, "xdg/chemearth"),          # nothing set: the user data directory's store
     ("my-store", "my-store")],        # CHEMEARTH_HOME: that folder, for both commands
    ids=["default", "chemearth-home"],
)
def test_catalog_after_the_demo_lists_the_demo_datasets(
    small_demo: None, env: dict[str, str], tmp_path: Path, home: str | None, where: str
) -> None:
    e = _env(env, tmp_path, home)
    r = CliRunner().invoke(cli, ["demo", "--no-serve"], env=e)
    assert r.exit_code == 0, r.output
    assert f"store: {tmp_path / where}" in r.output
    assert "other commands open" not in r.output  # nothing to point anywhere
    assert _catalog(e) == set(SUBSET)
    r = CliRunner().invoke(cli, ["catalog"], env=e)  # the plain command, as a newcomer types
    assert all(ds in r.output for ds in SUBSET), r.output


def test_an_empty_store_made_before_the_demo_is_used(
    small_demo: None, env: dict[str, str], tmp_path: Path
) -> None:
    """A newcomer who looked at the (empty) catalogue first still gets the demo there."""
    e = _env(env, tmp_path, None)
    assert _catalog(e) == set()  # this makes the empty store at the default place
    assert (tmp_path / "xdg" / "chemearth" / "catalog.duckdb").is_file()
    r = CliRunner().invoke(cli, ["demo", "--no-serve"], env=e)
    assert r.exit_code == 0, r.output
    assert _catalog(e) == set(SUBSET)
    r = CliRunner().invoke(cli, ["demo", "--no-serve"], env=e)  # an earlier demo's: redone
    assert r.exit_code == 0, r.output
    assert _catalog(e) == set(SUBSET)


def test_a_store_with_data_of_ones_own_is_refused_and_kept(
    small_demo: None, env: dict[str, str], tmp_path: Path
) -> None:
    e = _env(env, tmp_path, None)
    runner = CliRunner()
    assert runner.invoke(cli, ["ingest", "-d", "meuse"], env=e).exit_code == 0
    r = runner.invoke(cli, ["demo", "--no-serve"], env=e)
    assert r.exit_code == 2
    assert "was not made by `chemearth demo`" in r.output
    assert _catalog(e) == {"meuse"}


def test_a_demo_elsewhere_says_how_to_reach_it(
    small_demo: None, env: dict[str, str], tmp_path: Path
) -> None:
    e = _env(env, tmp_path, None)
    elsewhere = tmp_path / "elsewhere"
    r = CliRunner().invoke(cli, ["demo", "--no-serve", "--home", str(elsewhere)], env=e)
    assert r.exit_code == 0, r.output
    assert f"export CHEMEARTH_HOME={elsewhere}" in r.output.replace("\n", "")
    assert _catalog({**e, "CHEMEARTH_HOME": str(elsewhere)}) == set(SUBSET)
    assert _catalog(e) == set()  # the default store was left alone
