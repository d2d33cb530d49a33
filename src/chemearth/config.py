"""Typed settings, overridable by ``CHEMEARTH_*`` environment variables.

=====================  ==============================================  =========================
variable               meaning                                         default
=====================  ==============================================  =========================
``CHEMEARTH_HOME``     the store directory                             user data dir/chemearth
``CHEMEARTH_DATA``     folder of survey files (``chemearth demo``)     ``../shared/data`` if found
``CHEMEARTH_BOUNDARIES`` Natural Earth admin-0 GeoJSON for countries   ``<data>/boundaries/...``
=====================  ==============================================  =========================
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BOUNDARIES_FILE", "Settings", "default_data_dir"]

#: The boundaries file looked for under the data folder.
BOUNDARIES_FILE = Path("boundaries") / "ne_10m_admin_0_countries_deu.geojson"


def default_data_dir() -> Path | None:
    """``CHEMEARTH_DATA``, else ``../shared/data`` seen from the working directory or the
    project checkout, else None."""
    env = os.environ.get("CHEMEARTH_DATA")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for base in (Path.cwd(), *here.parents):
        cand = base.parent / "shared" / "data"
        if (cand / "README.md").is_file():
            return cand
    return None


@dataclass(frozen=True)
class Settings:
    """chemearth settings."""

    home: Path
    data_dir: Path | None
    boundaries: Path | None

    @classmethod
    def from_env(cls) -> Settings:
        """Settings from the environment and defaults."""
        from platformdirs import user_data_dir

        home = Path(os.environ.get("CHEMEARTH_HOME") or user_data_dir("chemearth"))
        data = default_data_dir()
        b_env = os.environ.get("CHEMEARTH_BOUNDARIES")
        boundaries = Path(b_env) if b_env else None
        if boundaries is None and data is not None and (data / BOUNDARIES_FILE).is_file():
            boundaries = data / BOUNDARIES_FILE
        return cls(home=home, data_dir=data, boundaries=boundaries)
