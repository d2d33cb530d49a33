"""Typed settings, overridable by ``CHEMEARTH_*`` environment variables.

This module is the only place that reads the environment: every other module asks it.

=============================  =========================================  =========================
variable                       meaning                                    default
=============================  =========================================  =========================
``CHEMEARTH_HOME``             the store directory                        user data dir/chemearth
``CHEMEARTH_STORE``            a ``postgresql://`` URL (or a folder)      ``CHEMEARTH_HOME``
``CHEMEARTH_DB_USER``          OS user that runs ``chemearth db start``   ``postgres`` as root
``CHEMEARTH_DATA``             survey files folder (``chemearth demo``)   ``../shared/data``
``CHEMEARTH_BOUNDARIES``       Natural Earth admin-0 GeoJSON (countries)  ``<data>/boundaries/...``
``CHEMEARTH_CACHE``            folder of prepared boundaries (``off``)    user cache dir/chemearth
``CHEMEARTH_DEBUG``            show tracebacks of internal errors         unset
``CHEMEARTH_MIN_CELL_N``       fewest samples behind a published cell     3
``CHEMEARTH_TILE_CACHE``       tiles the server keeps in memory           20000
``CHEMEARTH_WARM_S``           seconds a server worker warms up at start  10
``CHEMEARTH_AUTH_FAILURES``    failed tokens per client a minute (429)    10
``CHEMEARTH_SECURE_COOKIES``   always mark the session cookie Secure      unset
``CHEMEARTH_TRUSTED_PROXIES``  proxies whose X-Forwarded-* are believed   unset
``CHEMEARTH_NODE_MODULES``     where ``npm ci`` put Leaflet               ``./node_modules``
``CHEMEARTH_STANDARDS``        folders of your soil-quality standards     unset
``CHEMEARTH_ACCESS_LOG``       the server's access log (``-``, ``off``)   <home>/logs/access.log
``CHEMEARTH_FAULT``            test only: pause a store write here        unset
``CHEMEARTH_FAULT_FLAG``       test only: touched when the pause starts   ``/dev/null``
=============================  =========================================  =========================

Examples
--------
>>> s = Settings.from_env()
>>> s.min_cell_n >= 1
True
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from chemearth.errors import ChemearthError

__all__ = [
    "BOUNDARIES_FILE",
    "DEFAULT_AUTH_FAILURES",
    "DEFAULT_MIN_CELL_N",
    "DEFAULT_TILE_CACHE",
    "DEFAULT_WARM_S",
    "Settings",
    "access_log_target",
    "boundaries_cache_dir",
    "debug_enabled",
    "default_data_dir",
    "default_home",
    "fault_point",
    "node_modules_dir",
    "standards_dirs",
]

#: The boundaries file looked for under the data folder.
BOUNDARIES_FILE = Path("boundaries") / "ne_10m_admin_0_countries_deu.geojson"

#: Fewest samples behind a published cell of an aggregated-only dataset (k-anonymity).
DEFAULT_MIN_CELL_N = 3

#: Tiles the server keeps in memory.
DEFAULT_TILE_CACHE = 20_000
#: Seconds a server worker warms up at start (chemearth.web.warmup).
DEFAULT_WARM_S = 10

#: Failed API-token attempts one client address may make per minute before a 429.
DEFAULT_AUTH_FAILURES = 10


def _env(name: str) -> str | None:
    """The variable's value, or None when it is unset or empty."""
    value = os.environ.get(name)
    return value or None


def _int_env(name: str, default: int, minimum: int) -> int:
    raw = _env(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ChemearthError(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise ChemearthError(f"{name}={value} is below its minimum of {minimum}")
    return value


def _flag_env(name: str) -> bool:
    raw = (_env(name) or "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ChemearthError(f"{name}={raw!r} is not one of 1, true, yes, on, 0, false, no, off")


def default_data_dir() -> Path | None:
    """``CHEMEARTH_DATA``, else ``../shared/data`` seen from the working directory or the
    project checkout, else None."""
    env = _env("CHEMEARTH_DATA")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for base in (Path.cwd(), *here.parents):
        cand = base.parent / "shared" / "data"
        if (cand / "README.md").is_file():
            return cand
    return None


def default_home() -> Path | None:
    """``CHEMEARTH_HOME`` if set, else None (the caller picks its own default)."""
    env = _env("CHEMEARTH_HOME")
    return Path(env) if env else None


def db_os_user() -> str | None:
    """The unprivileged OS user a local PostgreSQL cluster runs as (``CHEMEARTH_DB_USER``)."""
    return _env("CHEMEARTH_DB_USER")


def debug_enabled() -> bool:
    """Whether internal errors show their traceback (``CHEMEARTH_DEBUG``)."""
    return _env("CHEMEARTH_DEBUG") is not None


def boundaries_cache_dir() -> Path | None:
    """Where prepared country boundaries are cached (``CHEMEARTH_CACHE`` or the user cache
    directory), or None when caching is switched off (``CHEMEARTH_CACHE=off``)."""
    setting = _env("CHEMEARTH_CACHE")
    if setting == "off":
        return None
    if setting:
        return Path(setting)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("chemearth"))


def node_modules_dir() -> Path | None:
    """``CHEMEARTH_NODE_MODULES``, the folder ``npm ci`` installed into, if set."""
    env = _env("CHEMEARTH_NODE_MODULES")
    return Path(env) if env else None


def standards_dirs() -> list[Path]:
    """The folders of ``CHEMEARTH_STANDARDS`` (``os.pathsep``-separated), in order."""
    env = _env("CHEMEARTH_STANDARDS")
    return [Path(p) for p in env.split(os.pathsep) if p] if env else []


def access_log_target(home: Path) -> Path | str | None:
    """Where ``chemearth serve`` writes its access log: ``CHEMEARTH_ACCESS_LOG`` (a file,
    ``-`` for standard error, ``off`` for none), else ``<home>/logs/access.log``."""
    env = _env("CHEMEARTH_ACCESS_LOG")
    if env is None:
        return home / "logs" / "access.log"
    if env.strip().lower() == "off":
        return None
    return "-" if env.strip() == "-" else Path(env)


def fault_point() -> tuple[str | None, Path]:
    """Test-only fault injection: the store write point named by ``CHEMEARTH_FAULT`` and
    the file touched when the write pauses there (``CHEMEARTH_FAULT_FLAG``)."""
    return _env("CHEMEARTH_FAULT"), Path(_env("CHEMEARTH_FAULT_FLAG") or os.devnull)


@dataclass(frozen=True)
class Settings:
    """chemearth settings.

    Attributes
    ----------
    home : Path
        The store directory (also where a local PostgreSQL cluster is kept).
    store : str
        The store to open: ``CHEMEARTH_STORE`` (a folder or a ``postgresql://`` URL),
        else ``home``.
    data_dir : Path or None
        The folder of survey files.
    boundaries : Path or None
        Natural Earth admin-0 countries (GeoJSON).
    min_cell_n : int
        Fewest samples behind a published cell of an aggregated-only dataset.
    tile_cache : int
        Tiles the server keeps in memory.
    warm_s : int
        Seconds a server worker spends computing what the first pages need before it
        answers (:mod:`chemearth.web.warmup`; 0: none).
    auth_failures : int
        Failed API-token attempts per client address and minute before 429 (0: no limit).
    secure_cookies : bool
        Always mark the session cookie ``Secure``.
    trusted_proxies : tuple of str
        Addresses of reverse proxies whose ``X-Forwarded-*`` headers are believed.
    """

    home: Path
    data_dir: Path | None
    boundaries: Path | None
    min_cell_n: int = DEFAULT_MIN_CELL_N
    tile_cache: int = DEFAULT_TILE_CACHE
    warm_s: int = DEFAULT_WARM_S
    auth_failures: int = DEFAULT_AUTH_FAILURES
    secure_cookies: bool = False
    trusted_proxies: tuple[str, ...] = ()
    store: str = ""

    @classmethod
    def from_env(cls) -> Settings:
        """Settings from the environment and defaults."""
        from platformdirs import user_data_dir

        home = default_home() or Path(user_data_dir("chemearth"))
        data = default_data_dir()
        b_env = _env("CHEMEARTH_BOUNDARIES")
        boundaries = Path(b_env) if b_env else None
        if boundaries is None and data is not None and (data / BOUNDARIES_FILE).is_file():
            boundaries = data / BOUNDARIES_FILE
        return cls(
            home=home,
            data_dir=data,
            boundaries=boundaries,
            min_cell_n=_int_env("CHEMEARTH_MIN_CELL_N", DEFAULT_MIN_CELL_N, 1),
            tile_cache=_int_env("CHEMEARTH_TILE_CACHE", DEFAULT_TILE_CACHE, 0),
            warm_s=_int_env("CHEMEARTH_WARM_S", DEFAULT_WARM_S, 0),
            auth_failures=_int_env("CHEMEARTH_AUTH_FAILURES", DEFAULT_AUTH_FAILURES, 0),
            secure_cookies=_flag_env("CHEMEARTH_SECURE_COOKIES"),
            trusted_proxies=tuple(
                a.strip() for a in (_env("CHEMEARTH_TRUSTED_PROXIES") or "").split(",")
                if a.strip()
            ),
            store=_env("CHEMEARTH_STORE") or str(home),
        )
