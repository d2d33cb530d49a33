"""Fixtures of the command-line tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def env(tmp_path: Path, data_dir: Path, boundaries: Path) -> dict[str, str]:
    """Environment of a command run on an empty store in ``tmp_path`` with the real data."""
    return {
        "CHEMEARTH_HOME": str(tmp_path / "store"),
        "CHEMEARTH_DATA": str(data_dir),
        "CHEMEARTH_BOUNDARIES": str(boundaries),
    }
