"""Fixtures of the website tests: a live server, and a store with sharing rules.

The *secure store* holds three real surveys under three policies:

============  ===========  ==============  ====================================
dataset       policy       organisation    notes
============  ===========  ==============  ====================================
jura          public       EPFL            everything shared
kola-humus    aggregated   NGU             Ni and Cu embargoed; k = 3
secret-meuse  restricted   NGU             the Meuse survey under another id
============  ===========  ==============  ====================================

four quality-control datasets linked to them by their ``[qc].survey`` (copies of the
Kola C-horizon QC files, cut to a few elements, labelled with their survey's methods):

=============================  ===========  ============  ===============================
dataset                        policy       survey        notes
=============================  ===========  ============  ===============================
kola-humus-field-duplicates    public       kola-humus    Ni embargoed (Cu only in the
                                                          survey)
jura-field-duplicates          aggregated   jura          Cu embargoed
jura-confidential-standard     restricted   jura          a public survey's restricted QC
secret-meuse-field-duplicates  restricted   secret-meuse
=============================  ===========  ============  ===============================

all of NGU; pooled layers of every survey (:mod:`chemearth.access.pooling`) on the global
grid, of the public scope (``pooled:public``: Jura in full, Kola humus under disclosure
control without Ni and Cu, the Meuse survey never) and NGU's own (``pooled:org:NGU``: Kola
humus and the Meuse survey in full); and six actors: anonymous, public (a token without
grants), partner (granted kola-humus), other-organisation (a data owner of GTK), data owner
(NGU) and admin. A photo of a sampling site of each survey and a video of a Jura site are
attached (``tests/web/site_media.py``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import free_port

from chemearth.errors import ChemearthWarning

CHEMEARTH = str(Path(sys.executable).with_name("chemearth"))

SECRET = "secret-meuse"
SECRET_TITLE = "Confidential floodplain survey"
AGGREGATED = "kola-humus"
EMBARGO = ("Ni", "Cu")
PUBLIC = "jura"
OWNER_ORG = "NGU"

#: quality-control datasets (see the module docstring)
QC_PUBLIC = "kola-humus-field-duplicates"
QC_AGGREGATED = "jura-field-duplicates"
QC_RESTRICTED = "jura-confidential-standard"
QC_SECRET = "secret-meuse-field-duplicates"
#: id -> (shipped descriptor copied, survey, sharing, embargo, elements)
QC_DATASETS: dict[str, tuple[str, str, str, tuple[str, ...], tuple[str, ...]]] = {
    QC_PUBLIC: ("kola-chorizon-field-duplicates", AGGREGATED, "public", ("Ni",),
                ("Pb", "Zn", *EMBARGO)),
    QC_AGGREGATED: ("kola-chorizon-field-duplicates", PUBLIC, "aggregated", ("Cu",),
                    ("Pb", "Zn", "Cu")),
    QC_RESTRICTED: ("kola-chorizon-standard", PUBLIC, "restricted", (), ("Pb", "Zn", "Cu")),
    QC_SECRET: ("kola-chorizon-field-duplicates", SECRET, "restricted", (), ("Pb", "Zn")),
}

#: actor -> (role, organisation, grants); None = no token
ACTORS: dict[str, tuple[str, str, tuple[str, ...]] | None] = {
    "anonymous": None,
    "public": ("public", "", ()),
    "partner": ("partner", "", (AGGREGATED,)),
    "other-org": ("owner", "GTK", ()),
    "owner": ("owner", OWNER_ORG, ()),
    "admin": ("admin", "", ()),
}

#: levels of the datasets' own layers (every grid) and of the pooled layers (the global
#: grid, 160 km added: global coverage and resource totals are per 160 km cell)
LAYER_LEVELS = (80_000, 40_000, 20_000, 10_000, 4_000, 2_000, 1_000, 500)
POOLED_LEVELS = (160_000, *LAYER_LEVELS)
#: the pooled layers' pseudo-datasets: everyone's, and NGU's own (its restricted data in)
POOLED_PUBLIC = "pooled:public"
POOLED_ORG = f"pooled:org:{OWNER_ORG}"
POOLED_SCOPES = ("public", f"org:{OWNER_ORG}")

#: which actors have full access to which dataset
FULL_ACCESS = {
    SECRET: {"owner", "admin"},
    AGGREGATED: {"partner", "owner", "admin"},
    PUBLIC: set(ACTORS),
}
#: who may see NGU's own pooled layers (its data owners and partners, and administrators)
ORG_VIEWERS = {"owner", "admin"}


@dataclass
class SecureStore:
    """The store with sharing rules, its home and one token per actor."""

    store: Any
    home: Path
    tokens: dict[str, str | None] = field(default_factory=dict)

    def headers(self, actor: str) -> dict[str, str]:
        """Request headers of ``actor``."""
        token = self.tokens[actor]
        return {"Authorization": f"Bearer {token}"} if token else {}


def _with_policy(desc: Any, **changes: Any) -> Any:
    return dataclasses.replace(desc, dataset=dataclasses.replace(desc.dataset, **changes))


def _qc_descriptor(qc_id: str, surveys: dict[str, Any]) -> Any:
    """A copy of a shipped Kola QC descriptor as :data:`QC_DATASETS` says, its columns
    labelled with the survey's method and unit (the text is edited: the store keeps it and
    reads the ``[qc]`` link from it)."""
    from chemearth.ingest.descriptor import parse_descriptor
    from chemearth.ingest.shipped import shipped_descriptor

    source, survey, sharing, embargo, elements = QC_DATASETS[qc_id]
    path = shipped_descriptor(source)
    head = path.read_text().split("\n[columns]\n")[0]
    head = re.sub(r'(?m)^id = ".*"$', f'id = "{qc_id}"', head, count=1)
    head = re.sub(r'(?m)^organisation = ".*"$', f'organisation = "{OWNER_ORG}"', head, count=1)
    head = head.replace('survey = "kola-chorizon"', f'survey = "{survey}"').replace(
        'sharing = "public"',
        f'sharing = "{sharing}"\nembargoed_elements = {json.dumps(list(embargo))}')
    constant = re.compile(r'^"([^"]+)" = \{ value = ')  # keep those of the kept columns only
    head = "\n".join(ln for ln in head.split("\n")
                     if not (m := constant.match(ln)) or m.group(1) in elements)
    spec = {c.element: c for c in reversed(surveys[survey].columns)}
    cols = "".join(f'{e} = {{ element = "{e}", method = "{spec[e].method}" }}\n'
                   for e in elements)
    return parse_descriptor(f"{head}\n[columns]\n{cols}", path)


@pytest.fixture(scope="session")
def secure_store(
    tmp_path_factory: pytest.TempPathFactory, data_dir: Path, boundaries: Path
) -> SecureStore:
    """Real surveys under the three sharing policies, gridded, with a token per actor."""
    from chemearth.store import open_store

    home = tmp_path_factory.mktemp("secure-store")
    return build_secure_store(open_store(home), home, data_dir, boundaries)


def build_secure_store(store: Any, home: Any, data_dir: Path, boundaries: Path) -> SecureStore:
    """Ingest and grid the secure store's surveys into ``store`` (of either backend) and
    make a token per actor."""
    from chemearth.access.gateway import Gateway
    from chemearth.access.pooling import build_scope
    from chemearth.access.tokens import TokenStore
    from chemearth.grid.layers import build_layers
    from chemearth.ingest.descriptor import load_descriptor
    from chemearth.ingest.pipeline import ingest
    from chemearth.ingest.shipped import shipped_descriptor

    descs = [
        _with_policy(load_descriptor(shipped_descriptor(PUBLIC)), organisation="EPFL"),
        _with_policy(
            load_descriptor(shipped_descriptor(AGGREGATED)),
            organisation=OWNER_ORG,
            sharing="aggregated",
            embargoed_elements=EMBARGO,
        ),
        _with_policy(
            load_descriptor(shipped_descriptor("meuse")),
            id=SECRET,
            title=SECRET_TITLE,
            organisation=OWNER_ORG,
            sharing="restricted",
            citation="Confidential report CR-7741, not for publication.",
        ),
    ]
    surveys = {d.dataset.id: d for d in descs}
    descs += [_qc_descriptor(qc_id, surveys) for qc_id in QC_DATASETS]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChemearthWarning)
        for desc in descs:
            ingest(store, desc, data_dir=data_dir, boundaries=boundaries)
    build_layers(store, levels=LAYER_LEVELS)
    gateway = Gateway(store)
    for scope in POOLED_SCOPES:
        build_scope(gateway, scope, grids=("global",), levels=POOLED_LEVELS)
    from tests.web.site_media import attach_site_media  # a photo of a site of each survey

    attach_site_media(gateway, store)
    tokens = TokenStore(store)
    out = SecureStore(store, home)
    for name, spec in ACTORS.items():
        if spec is None:
            out.tokens[name] = None
        else:
            role, org, grants = spec
            out.tokens[name] = tokens.create(name, role, organisation=org, grants=grants)
    return out


@pytest.fixture(scope="session")
def secure_store_pg(pg_cluster: Any, data_dir: Path, boundaries: Path) -> SecureStore:
    """The secure store built the same way on the PostgreSQL server store."""
    from chemearth.store import open_store

    pg_cluster.create_database("secure_store")
    url = pg_cluster.url("secure_store")
    return build_secure_store(open_store(url), url, data_dir, boundaries)


@pytest.fixture(scope="session")
def secure_client_pg(secure_store_pg: SecureStore, boundaries: Path) -> Any:
    """An in-process HTTP client of the secure website on the server store."""
    from fastapi.testclient import TestClient

    from chemearth.web import WebSettings, create_app

    return TestClient(create_app(secure_store_pg.store,
                                 WebSettings(boundaries=boundaries, timeout_s=120)))


@pytest.fixture(scope="session")
def secure_app(secure_store: SecureStore, boundaries: Path) -> Any:
    """The website over the secure store."""
    from chemearth.web import WebSettings, create_app

    return create_app(secure_store.store, WebSettings(boundaries=boundaries, timeout_s=120))


@pytest.fixture(scope="session")
def secure_client(secure_app: Any) -> Any:
    """An in-process HTTP client of the secure website."""
    from fastapi.testclient import TestClient

    return TestClient(secure_app)


def _start(home: Path, data_dir: Path, log: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "CHEMEARTH_HOME": str(home), "CHEMEARTH_DATA": str(data_dir)}
    with log.open("w") as fh:
        proc = subprocess.Popen(
            [CHEMEARTH, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=fh, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        import httpx

        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/api", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def live_server(grid_store: Any, data_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """Base URL of ``chemearth serve`` running over the grid store (a real uvicorn)."""
    log = tmp_path_factory.mktemp("server") / "serve.log"
    yield from _start(Path(grid_store.home), data_dir, log)


@pytest.fixture(scope="session")
def secure_server(
    secure_store: SecureStore, data_dir: Path, tmp_path_factory: pytest.TempPathFactory
):
    """Base URL of ``chemearth serve`` over the secure store."""
    log = tmp_path_factory.mktemp("server") / "serve-secure.log"
    yield from _start(secure_store.home, data_dir, log)


@pytest.fixture(scope="session")
def pooled_server(grid_store: Any, data_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """Base URL of ``chemearth serve`` over a copy of the grid store with the public pooled
    layers ("All surveys") built on the global grid (the grid store itself is left as is)."""
    import shutil

    from chemearth.access.gateway import Gateway
    from chemearth.access.pooling import build_scope
    from chemearth.store import open_store

    home = tmp_path_factory.mktemp("pooled-store") / "store"
    shutil.copytree(Path(grid_store.home), home)
    store = open_store(home)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ChemearthWarning)
            build_scope(Gateway(store), "public", grids=("global",))
    finally:
        store.close()
    log = tmp_path_factory.mktemp("server") / "serve-pooled.log"
    yield from _start(home, data_dir, log)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium driven by Playwright (never `playwright install`), one per module."""
    from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS

    if not CHROMIUM.is_file():
        pytest.skip(f"no browser: {CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()
