"""``chemearth --help`` stays light: no command imports a heavy library until it runs.

Heavy modules (pandas, pyarrow, DuckDB, plotting, geometry, web) cost most of a second to
import; they belong inside the commands. Checked with ``python -X importtime``, which
lists every module a fresh interpreter imported (no wall time is asserted).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"

#: top-level packages that ``--help`` must not import
HEAVY = (
    "pandas", "pyarrow", "duckdb", "matplotlib", "geopandas", "scipy", "numpy", "shapely",
    "pyproj", "pyogrio", "fastapi", "starlette", "dask", "distributed", "xarray", "numba",
    "rasterio", "sklearn", "openpyxl", "psycopg",
)  # fmt: skip


def _env() -> dict[str, str]:
    """This checkout's ``src`` first on the path, whatever chemearth is installed."""
    path = os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path}


def _imported(args: list[str]) -> tuple[set[str], str]:
    """Top-level packages a fresh ``python -m chemearth.cli ARGS`` imports, and its output."""
    env = _env()
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "chemearth.cli", *args],
        capture_output=True, text=True, env=env, check=True, timeout=120,
    )  # fmt: skip
    names = set()
    for line in out.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name != "package":  # the header line
                names.add(name.split(".")[0])
    return names, out.stdout


@pytest.mark.parametrize("args", [["--help"], ["ingest", "--help"], ["qc", "--help"],
                                  ["grid", "--help"], ["serve", "--help"],
                                  ["analytics", "--help"], ["analytics", "fractal", "--help"]])
def test_help_imports_no_heavy_module(args: list[str]) -> None:
    names, text = _imported(args)
    assert "Usage:" in text
    assert "chemearth" in names  # the check sees the package's own imports
    assert sorted(names & set(HEAVY)) == []


def test_the_check_would_see_a_heavy_import() -> None:
    """The guard can fail: a command that does import pandas is seen doing so."""
    env = _env()
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import chemearth.cli, pandas"],
        capture_output=True, text=True, env=env, check=True, timeout=120,
    )  # fmt: skip
    assert any(line.rstrip().endswith("| pandas") for line in out.stderr.splitlines())
