"""Shared fixtures: the real survey data folder, the country boundaries and a demo store.

The survey files are never part of the repository: they live in ``../shared/data`` seen from
the project root (``Path(__file__).parents[2] / "shared" / "data"``), or wherever
``CHEMEARTH_DATA`` points. Tests that need them are skipped when the folder is missing.
"""

from __future__ import annotations

import os
import socket
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import chemearth
from chemearth.errors import ChemearthWarning

#: The descriptors shipped with chemearth, one per dataset of the shared data.
DESCRIPTOR_DIR = Path(chemearth.__file__).resolve().parent / "ingest" / "data" / "descriptors"

#: ChemearthWarnings that ingesting the shipped descriptors is expected to give: half-DL
#: substituted values in files without detection limits (Kola, BSS, GEMAS), and zeros meaning
#: "below the detection limit" without a published limit (meuse-all cadmium).
EXPECTED_WARNINGS = (
    "cannot be recognised without a detection limit",
    "but no limit is given",
)


def _data_dir() -> Path:
    env = os.environ.get("CHEMEARTH_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def free_port() -> int:
    """A TCP port on the loopback address that is free now (for a server a test starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The folder of real survey files (``CHEMEARTH_DATA`` or ``../shared/data``)."""
    d = _data_dir()
    if not (d / "README.md").is_file():
        pytest.skip(f"real survey data not found at {d} (set CHEMEARTH_DATA)")
    return d


@pytest.fixture(scope="session")
def boundaries(data_dir: Path) -> Path:
    """Natural Earth 1:10m admin-0 boundaries from the data folder."""
    p = data_dir / "boundaries" / "ne_10m_admin_0_countries_deu.geojson"
    if not p.is_file():
        pytest.skip(f"country boundaries not found at {p}")
    return p


@dataclass
class DemoStore:
    """A store holding every shipped dataset, with what each ingest reported."""

    store: object
    data_dir: Path
    boundaries: Path
    descriptors: dict[str, Path] = field(default_factory=dict)
    reports: dict[str, object] = field(default_factory=dict)
    warnings: dict[str, list[str]] = field(default_factory=dict)


@pytest.fixture(scope="session")
def demo_store(
    tmp_path_factory: pytest.TempPathFactory, data_dir: Path, boundaries: Path
) -> DemoStore:
    """Ingest every shipped descriptor once into a fresh temporary store.

    Only the expected ChemearthWarnings (:data:`EXPECTED_WARNINGS`) are tolerated; they are
    recorded per dataset in ``demo_store.warnings``. Any other ChemearthWarning fails.
    """
    from chemearth.ingest.descriptor import load_descriptor
    from chemearth.ingest.pipeline import ingest
    from chemearth.store import open_store

    demo = DemoStore(open_store(tmp_path_factory.mktemp("demo-store")), data_dir, boundaries)
    for path in sorted(DESCRIPTOR_DIR.glob("*.toml")):
        desc = load_descriptor(path)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ChemearthWarning)
            report = ingest(demo.store, desc, data_dir=data_dir, boundaries=boundaries)
        mine = [str(w.message) for w in caught if issubclass(w.category, ChemearthWarning)]
        for w in caught:  # let other warnings through to pytest's own handling
            if not issubclass(w.category, ChemearthWarning):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        unexpected = [m for m in mine if not any(e in m for e in EXPECTED_WARNINGS)]
        if unexpected:
            pytest.fail(f"{path.name}: unexpected warnings: {unexpected[:5]}")
        demo.descriptors[desc.dataset.id] = path
        demo.reports[desc.dataset.id] = report
        demo.warnings[desc.dataset.id] = mine
    return demo


#: Datasets of the grid store: two CRSs' worth of real surveys, censored and not, one
#: with several methods per element (Kola C-horizon), two grids (Europe and global).
GRID_DATASETS = ("kola-humus", "kola-chorizon", "usgs-ds801-top5", "meuse", "gemas")


@pytest.fixture(scope="session")
def grid_store(tmp_path_factory: pytest.TempPathFactory, data_dir: Path, boundaries: Path):
    """A store with :data:`GRID_DATASETS` ingested and every grid layer built.

    Tests must not write to it; ``grid_store.home`` is its folder.
    """
    from chemearth.grid.layers import build_layers
    from chemearth.ingest.descriptor import load_descriptor
    from chemearth.ingest.pipeline import ingest
    from chemearth.ingest.shipped import shipped_descriptor
    from chemearth.store import open_store

    store = open_store(tmp_path_factory.mktemp("grid-layers"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChemearthWarning)
        for ds in GRID_DATASETS:
            desc = load_descriptor(shipped_descriptor(ds))
            ingest(store, desc, data_dir=data_dir, boundaries=boundaries)
    build_layers(store)
    return store


@pytest.fixture
def env(tmp_path: Path, data_dir: Path, boundaries: Path) -> dict[str, str]:
    """Environment of a command run on an empty store in ``tmp_path`` with the real data."""
    return {
        "CHEMEARTH_HOME": str(tmp_path / "store"),
        "CHEMEARTH_DATA": str(data_dir),
        "CHEMEARTH_BOUNDARIES": str(boundaries),
    }


# ------------------------------------------------------------------ a PostgreSQL server


#: The database with PostGIS that ``fresh_pg_url`` copies (nobody connects to it).
PG_TEMPLATE = "test_template_postgis"


@pytest.fixture(scope="session")
def pg_cluster():
    """A local PostgreSQL + PostGIS server (``chemearth.store.pgcluster.Cluster``) for the
    session, on a free port of 127.0.0.1; each pytest-xdist worker gets its own.

    Its folder is made under ``/tmp`` (mode 0755), not by ``tmp_path_factory``: as root the
    server runs as the ``postgres`` user, who cannot enter pytest's ``/tmp/pytest-of-root``.
    Fails (never skips) when PostgreSQL or PostGIS is missing: ``make test`` installs them.
    """
    import shutil
    import tempfile

    from chemearth.errors import StoreError
    from chemearth.store.pgcluster import Cluster

    folder = Path(tempfile.mkdtemp(prefix="chemearth-pg-", dir="/tmp"))
    folder.chmod(0o755)
    cluster = Cluster(folder / "postgres")
    try:
        cluster.start()  # on a free port (another if a worker's server took it first)
    except StoreError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.fail(f"cannot start a PostgreSQL server for the tests (`make test` installs "
                    f"Debian's postgresql and postgresql-15-postgis-3): {exc}", pytrace=False)
    try:
        cluster.create_database(PG_TEMPLATE)  # PostGIS once: fresh databases copy it
        yield cluster
    finally:
        try:
            cluster.stop()
        finally:
            shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_url(pg_cluster) -> str:
    """The URL of the session server's ``chemearth`` database (role ``chemearth``, PostGIS)."""
    return str(pg_cluster.url())


@pytest.fixture
def fresh_pg_url(pg_cluster):
    """The URL of a new, empty database with PostGIS (owned by ``chemearth``), dropped after
    the test."""
    import uuid

    name = f"test_{uuid.uuid4().hex[:12]}"
    pg_cluster.create_database(name, template=PG_TEMPLATE)
    try:
        yield pg_cluster.url(name)
    finally:
        pg_cluster.drop_database(name)


#: The two store backends every parametrised store test runs on.
BACKENDS = ("embedded", "postgres")


@pytest.fixture(params=BACKENDS)
def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a new, empty store is: a folder (embedded) or a fresh PostgreSQL database."""
    if request.param == "embedded":
        return str(tmp_path / "store")
    return str(request.getfixturevalue("fresh_pg_url"))


@pytest.fixture
def open_folder():
    """A folder under /tmp that a local cluster's OS user (``postgres`` as root) can enter;
    a cluster left in ``<folder>/postgres`` is stopped and the folder removed afterwards."""
    import shutil
    import tempfile

    from chemearth.store.pgcluster import Cluster

    folder = Path(tempfile.mkdtemp(prefix="chemearth-pg-test-", dir="/tmp"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        cluster = Cluster(folder / "postgres")
        if cluster.initialized:
            cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)
