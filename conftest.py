"""Doctests of ``src/chemearth`` run from the shared data folder, so their examples can
name real files by their path inside it (``boundaries/...``, ``meuse/meuse.csv``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _doctests_in_data_folder(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    if isinstance(request.node, pytest.DoctestItem):
        data = Path(
            os.environ.get("CHEMEARTH_DATA")
            or Path(__file__).resolve().parent.parent / "shared" / "data"
        )
        if not data.is_dir():
            pytest.skip(f"real survey data not found at {data}")
        monkeypatch.chdir(data)
