"""The PostgreSQL store's schema: versioned migrations, and one QGIS view per dataset.

Migrations
----------
:data:`MIGRATIONS` is the ordered list of schema changes; ``chemearth.schema_migrations``
records those applied. :func:`migrate` applies the missing ones when a store is opened,
each in its own transaction under an advisory lock, so that several workers opening the
same database at once apply each migration exactly once. A database whose schema is newer
than this chemearth knows is refused (:class:`~chemearth.errors.StoreError`): upgrade
chemearth. A new migration is appended to the list, never inserted or edited.

Tables (schema ``chemearth``)
-----------------------------
======================  ====================================================================
``versions``            one row per dataset version (the catalogue; ``published``, ``vid``)
``version_columns``     what each analyte column ``k`` of a version holds
``version_countries``   samples and measurements per country of a version
``version_cells``       which grids a version has cell tables on
``rejects``             the rejected rows of a version (CSV text)
``samples``             the samples of the published versions: one partition
                        ``samples_<vid>`` per version (attached when it is published),
                        with a PostGIS ``geom geometry(Point, 4326)`` and a GiST index
``measurement_chunks``  the wide measurement table in Parquet chunks: per version, chunk of
                        rows and analyte column ``k`` (``column_id`` -1: ``sample_index``)
``cell_chunks``         cell statistics in Parquet chunks, one per version, grid, level,
                        medium, element, method and unit
``documents``           small text documents (the access tokens)
``audit``               the audit log, append-only
``jobs``, ``job_files`` the job queue and the files given with the jobs
``meta``                the ``generation`` counter (bumped by every catalogue change)
``parts``,              collections of binary parts and their manifests (the pooled
``part_manifests``      layers: :mod:`chemearth.store.postgres_parts`)
``media``,              photos and videos attached to samples, their parts in chunks
``media_parts``         (:mod:`chemearth.store.postgres_media`)
======================  ====================================================================

QGIS views and database roles
-----------------------------
Each published dataset gets a view ``chemearth_views."<dataset id>"`` of its latest
published version, for desktop GIS (QGIS: *Add PostgreSQL layer*, schema
``chemearth_views``; the key column is ``sample_index``). Its columns are ``sample_index``,
``sample_id``, ``geom`` (``geometry(Point, 4326)``, NULL without a location), ``country``,
``medium`` and, per analyte column, its value in the stored unit, named by element and unit
(``cu_mg_kg``; with method and digestion added when an element has several columns), and a
boolean ``<name>_below_dl`` (true where the value is a detection limit). The values come
from ``chemearth.qgis_<vid>`` (``sample_index``, ``v<k>``, the flags packed in one
``bytea``), written with the version. A dataset's
``embargoed_elements`` are never in its view.

The role ``chemearth_reader`` (``NOLOGIN``; created when missing if the store's role may
create roles, else create it as a superuser) is what desktop users are given::

    CREATE ROLE chemearth_reader NOLOGIN;                -- once, if the store could not
    CREATE ROLE alice LOGIN PASSWORD '...' IN ROLE chemearth_reader;

It gets ``USAGE`` on the schema ``chemearth_views`` and ``SELECT`` on the views of
datasets whose sharing is ``public`` only; the views of other datasets, and every table
of the schema ``chemearth``, are not granted to it (a view reads the tables with its
owner's rights). Grants follow each dataset's latest published version.

Examples
--------
>>> cols = [{"column_id": 0, "element": "Cu", "unit": "mg/kg", "method": "ICP", "digestion": ""},
...         {"column_id": 1, "element": "As", "unit": "µg/kg", "method": "", "digestion": ""},
...         {"column_id": 2, "element": "Cu", "unit": "mg/kg", "method": "XRF", "digestion": ""},
...         {"column_id": 3, "element": "U", "unit": "mg/kg", "method": "", "digestion": ""}]
>>> view_columns(cols, embargoed={"U"})
[(0, 'cu_mg_kg_icp'), (1, 'as_ug_kg'), (2, 'cu_mg_kg_xrf')]
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.compute as pc

from chemearth.errors import StoreError
from chemearth.store.postgres_common import (
    LOCK_MIGRATIONS,
    LOCK_VIEWS,
    SCHEMA,
    VIEWS_SCHEMA,
    AdbcConnection,
    arrow_query,
    sql,
)
from chemearth.store.postgres_media import MIGRATION as MEDIA_MIGRATION
from chemearth.store.postgres_parts import MIGRATION as PARTS_MIGRATION

__all__ = [
    "MIGRATIONS",
    "READER_ROLE",
    "ident",
    "literal",
    "migrate",
    "qgis_rows",
    "refresh_view",
    "schema_version",
    "view_columns",
    "view_name",
]

#: The role given SELECT on the views of public datasets.
READER_ROLE = "chemearth_reader"

_C = 'COLLATE "C"'  # byte order, as the embedded store sorts

_V1 = [
    "CREATE EXTENSION IF NOT EXISTS postgis",
    f"CREATE SCHEMA IF NOT EXISTS {VIEWS_SCHEMA}",
    f"CREATE TABLE {SCHEMA}.meta (key text PRIMARY KEY, value bigint NOT NULL)",
    f"INSERT INTO {SCHEMA}.meta VALUES ('generation', 0)",
    f"CREATE SEQUENCE {SCHEMA}.vid_seq AS integer",
    f"""CREATE TABLE {SCHEMA}.versions (
        dataset_id text {_C} NOT NULL, version integer NOT NULL,
        title text, organisation text, countries text[], media text[],
        depth_top_cm float8, depth_bottom_cm float8, sampling_years integer[], methods text[],
        licence text, citation text, url text, sharing text, sharing_organisations text[],
        embargoed_elements text[], kind text, same_samples_as text, source_file text,
        source_sha256 text, descriptor_sha256 text, descriptor text,
        n_rows bigint, n_samples bigint, n_measurements bigint, n_rejected bigint,
        elements text[], ingested_at timestamptz, extra json,
        published boolean NOT NULL DEFAULT true,
        vid integer NOT NULL UNIQUE,
        wide_schema bytea,
        n_chunks integer NOT NULL DEFAULT 0,
        PRIMARY KEY (dataset_id, version))""",
    f"""CREATE TABLE {SCHEMA}.version_columns (
        dataset_id text {_C} NOT NULL, version integer NOT NULL, column_id integer NOT NULL,
        source_column text, element text {_C}, unit text {_C}, method text {_C},
        digestion text, original_unit text, factor float8, detection_limit float8,
        PRIMARY KEY (dataset_id, version, column_id))""",
    f"""CREATE TABLE {SCHEMA}.version_countries (
        dataset_id text {_C} NOT NULL, version integer NOT NULL, country text {_C},
        n_samples bigint, n_measurements bigint)""",
    f"CREATE INDEX ON {SCHEMA}.version_countries (dataset_id, version)",
    f"""CREATE TABLE {SCHEMA}.version_cells (
        dataset_id text {_C} NOT NULL, version integer NOT NULL, grid text {_C} NOT NULL,
        n_rows bigint, built_at timestamptz, cell_schema bytea,
        PRIMARY KEY (dataset_id, version, grid))""",
    f"""CREATE TABLE {SCHEMA}.rejects (
        dataset_id text {_C} NOT NULL, version integer NOT NULL, csv text NOT NULL,
        PRIMARY KEY (dataset_id, version))""",
    f"""CREATE TABLE {SCHEMA}.samples (
        vid integer NOT NULL, seq integer NOT NULL, sample_index integer NOT NULL,
        sample_id text, longitude float8, latitude float8, x_orig float8, y_orig float8,
        crs_orig text, country text {_C}, medium text {_C}, depth_top_cm float8,
        depth_bottom_cm float8, sampled_on date, sampled boolean, attributes text,
        source_row bigint,
        geom geometry(Point, 4326) GENERATED ALWAYS AS (
            CASE WHEN longitude IS NOT NULL AND latitude IS NOT NULL
            THEN ST_SetSRID(ST_MakePoint(longitude, latitude), 4326) END) STORED
    ) PARTITION BY LIST (vid)""",
    f"CREATE INDEX samples_vid_sample_index ON {SCHEMA}.samples (vid, sample_index)",
    f"CREATE INDEX samples_geom ON {SCHEMA}.samples USING gist (geom)",
    f"""CREATE TABLE {SCHEMA}.measurement_chunks (
        vid integer NOT NULL, column_id integer NOT NULL, chunk integer NOT NULL,
        n_rows integer NOT NULL, data bytea NOT NULL,
        PRIMARY KEY (vid, column_id, chunk))""",
    f"ALTER TABLE {SCHEMA}.measurement_chunks ALTER COLUMN data SET STORAGE EXTERNAL",
    f"""CREATE TABLE {SCHEMA}.cell_chunks (
        vid integer NOT NULL, grid text {_C} NOT NULL, part integer NOT NULL,
        level_m integer, medium text {_C}, element text {_C}, method text {_C},
        unit text {_C}, n_rows bigint NOT NULL, n_n3 bigint NOT NULL, data bytea NOT NULL,
        PRIMARY KEY (vid, grid, part))""",
    f"CREATE INDEX ON {SCHEMA}.cell_chunks (grid, element, level_m)",
    f"ALTER TABLE {SCHEMA}.cell_chunks ALTER COLUMN data SET STORAGE EXTERNAL",
    f"""CREATE TABLE {SCHEMA}.dataset_views (
        dataset_id text {_C} PRIMARY KEY, vid integer NOT NULL, view_name text NOT NULL)""",
    f"CREATE SEQUENCE {SCHEMA}.document_revision",
    f"""CREATE TABLE {SCHEMA}.documents (
        name text PRIMARY KEY, body text NOT NULL, revision bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now())""",
    f"""CREATE TABLE {SCHEMA}.audit (
        id bigserial PRIMARY KEY, line text NOT NULL,
        logged_at timestamptz NOT NULL DEFAULT now())""",
    f"""CREATE TABLE {SCHEMA}.jobs (
        job_id text {_C} PRIMARY KEY, kind text NOT NULL,
        state text NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
        dataset_id text NOT NULL DEFAULT '', actor text NOT NULL DEFAULT '',
        organisation text NOT NULL DEFAULT '', token_id text NOT NULL DEFAULT '',
        created_at timestamptz NOT NULL, started_at timestamptz, finished_at timestamptz,
        updated_at timestamptz NOT NULL, progress float8 NOT NULL DEFAULT 0,
        step text NOT NULL DEFAULT '', message text NOT NULL DEFAULT '',
        attempts integer NOT NULL DEFAULT 0, payload jsonb NOT NULL DEFAULT '{{}}',
        result jsonb NOT NULL DEFAULT '{{}}', worker text NOT NULL DEFAULT '',
        lock_key serial NOT NULL UNIQUE)""",
    f"CREATE INDEX ON {SCHEMA}.jobs (state, created_at)",
    f"CREATE INDEX ON {SCHEMA}.jobs (created_at)",
    f"""CREATE TABLE {SCHEMA}.job_files (
        job_id text {_C} NOT NULL REFERENCES {SCHEMA}.jobs ON DELETE CASCADE,
        name text NOT NULL, data bytea NOT NULL, PRIMARY KEY (job_id, name))""",
    # the reader role of the QGIS views: made when missing, if this role may make roles
    f"""DO $$
    BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{READER_ROLE}') THEN
            BEGIN
                CREATE ROLE {READER_ROLE} NOLOGIN;
            EXCEPTION WHEN insufficient_privilege OR duplicate_object OR unique_violation THEN
                NULL;
            END;
        END IF;
    END $$""",
]

#: The schema migrations, in order: (description, statements). Append, never edit.
MIGRATIONS: list[tuple[str, list[str]]] = [
    ("catalogue, samples, measurement and cell chunks, views, documents, audit, jobs", _V1),
    PARTS_MIGRATION,
    MEDIA_MIGRATION,
]


def schema_version(conn: psycopg.Connection[Any]) -> int:
    """The number of migrations applied to the database (0: none, no chemearth schema)."""
    row = conn.execute(
        sql(f"SELECT to_regclass('{SCHEMA}.schema_migrations') IS NOT NULL")
    ).fetchone()
    if not row or not row[0]:
        return 0
    found = conn.execute(
        sql(f"SELECT coalesce(max(version), 0) FROM {SCHEMA}.schema_migrations")
    ).fetchone()
    return int(found[0]) if found else 0


def _newer(where: str, found: int) -> StoreError:
    return StoreError(
        f"PostgreSQL store {where} has schema version {found}, newer than this chemearth "
        f"knows ({len(MIGRATIONS)}): upgrade chemearth"
    )


def migrate(conn: psycopg.Connection[Any], where: str, read_only: bool = False) -> int:
    """Apply the missing migrations (each in a transaction, under an advisory lock);
    return the schema version. ``conn`` is in autocommit mode.

    Raises
    ------
    StoreError
        The schema is newer than :data:`MIGRATIONS`; or it is older and ``read_only``.
    """
    latest = len(MIGRATIONS)
    current = schema_version(conn)
    if current > latest:
        raise _newer(where, current)
    if current == latest:
        return current
    if read_only:
        raise StoreError(
            f"PostgreSQL store {where} has schema version {current}, this chemearth needs "
            f"{latest}: open it once read-write to upgrade it"
        )
    _postgis(conn, where)
    for number, (description, statements) in enumerate(MIGRATIONS, start=1):
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s, 0)", [LOCK_MIGRATIONS])
            conn.execute(sql(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
            conn.execute(sql(
                f"CREATE TABLE IF NOT EXISTS {SCHEMA}.schema_migrations ("
                "version integer PRIMARY KEY, description text NOT NULL, "
                "applied_at timestamptz NOT NULL DEFAULT now())"
            ))
            done = schema_version(conn)
            if done > latest:
                raise _newer(where, done)
            if number <= done:
                continue  # another process applied it meanwhile
            for statement in statements:
                conn.execute(sql(statement))
            conn.execute(
                sql(f"INSERT INTO {SCHEMA}.schema_migrations (version, description) "
                    "VALUES (%s, %s)"),
                [number, description],
            )
    return latest


def _postgis(conn: psycopg.Connection[Any], where: str) -> None:
    """Enable PostGIS, or say clearly who must."""
    if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").fetchone():
        return
    try:
        with conn.transaction():
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    except psycopg.Error as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise StoreError(
            f"PostgreSQL store {where} has no PostGIS and cannot enable it ({reason}): "
            "a superuser must run CREATE EXTENSION postgis in that database (Debian: "
            "install postgresql-<version>-postgis-3 on the server first)"
        ) from None


# ---------------------------------------------------------------------- QGIS views


def ident(name: str) -> str:
    """``name`` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """``text`` as a quoted SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _slug(text: str) -> str:
    text = text.lower().replace("%", "pct").replace("µ", "u").replace("μ", "u")
    text = text.replace("‰", "permil")
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def view_name(dataset_id: str) -> str:
    """The name of a dataset's view: its id (shortened, with a hash, beyond 63 bytes).

    Examples
    --------
    >>> view_name("kola-chorizon")
    'kola-chorizon'
    """
    if len(dataset_id.encode()) <= 63:
        return dataset_id
    digest = hashlib.sha256(dataset_id.encode()).hexdigest()[:8]
    return dataset_id.encode()[:54].decode(errors="ignore") + "_" + digest


def view_columns(
    columns: Iterable[dict[str, Any]], embargoed: Iterable[str] = ()
) -> list[tuple[int, str]]:
    """(column_id, column name) of each analyte column a dataset's view shows.

    A column is named by its element and unit; method and digestion are added when the
    element has several columns. Embargoed elements are left out.
    """
    hidden = set(embargoed)
    shown = [c for c in columns if str(c["element"]) not in hidden]
    per_element: dict[str, int] = {}
    for c in shown:
        per_element[str(c["element"])] = per_element.get(str(c["element"]), 0) + 1
    out: list[tuple[int, str]] = []
    used: set[str] = {"sample_index", "sample_id", "geom", "country", "medium"}
    for c in shown:
        parts = [str(c["element"]), str(c.get("unit") or "")]
        if per_element[str(c["element"])] > 1:
            parts += [str(c.get("method") or ""), str(c.get("digestion") or "")]
        base = "_".join(p for p in (_slug(x) for x in parts) if p)[:50] or "column"
        if base[0].isdigit():
            base = "c_" + base
        name, n = base, 1
        while name in used:
            n += 1
            name = f"{base}_{n}"
        used.add(name)
        out.append((int(c["column_id"]), name))
    return out


def _reader_exists(conn: AdbcConnection) -> bool:
    t = arrow_query(conn, "SELECT count(*) AS n FROM pg_roles WHERE rolname = $1", (READER_ROLE,))
    return bool(t.column("n")[0].as_py())


def refresh_view(
    conn: AdbcConnection,
    dataset_id: str,
    load_columns: Callable[[int, list[int]], pa.Table | None],
) -> None:
    """Point ``chemearth_views."<dataset_id>"`` at the dataset's latest published version,
    in the caller's transaction (a no-op when it shows that version already).

    ``load_columns(vid, column_ids)`` returns the version's ``sample_index`` and its
    ``v<k>``, ``c<k>`` columns (None when it has no measurements).
    """
    _execute_p(conn, f"SELECT pg_advisory_xact_lock({LOCK_VIEWS}, hashtext($1))", (dataset_id,))
    latest = arrow_query(
        conn,
        f"SELECT vid, version, title, citation, licence, sharing, embargoed_elements "
        f"FROM {SCHEMA}.versions WHERE dataset_id = $1 AND published "
        "ORDER BY version DESC LIMIT 1",
        (dataset_id,),
    ).to_pylist()
    shown = arrow_query(
        conn, f"SELECT vid FROM {SCHEMA}.dataset_views WHERE dataset_id = $1", (dataset_id,)
    ).to_pylist()
    old_vid = int(shown[0]["vid"]) if shown else None
    view = f"{VIEWS_SCHEMA}.{ident(view_name(dataset_id))}"
    if not latest:
        _execute(conn, f"DROP VIEW IF EXISTS {view}")
        if old_vid is not None:
            _execute(conn, f"DROP TABLE IF EXISTS {SCHEMA}.qgis_{old_vid}")
        _execute_p(conn, f"DELETE FROM {SCHEMA}.dataset_views WHERE dataset_id = $1",
                   (dataset_id,))
        return
    row = latest[0]
    vid = int(row["vid"])
    if old_vid == vid:
        return
    columns = arrow_query(
        conn,
        f"SELECT column_id, element, unit, method, digestion FROM {SCHEMA}.version_columns "
        "WHERE dataset_id = $1 AND version = $2 ORDER BY column_id",
        (dataset_id, int(row["version"])),
    ).to_pylist()
    names = view_columns(columns, row["embargoed_elements"] or [])
    bits = _qgis_bits(conn, vid)
    if bits is None and names:  # written without its value table: make it now
        every = [int(c["column_id"]) for c in columns]
        values = load_columns(vid, every)
        if values is not None:
            with conn.cursor() as cur:
                cur.adbc_ingest(f"qgis_{vid}", qgis_rows(values, every), mode="create",
                                db_schema_name=SCHEMA)
            bits = {k: i for i, k in enumerate(every)}
    select = ["s.sample_index", "s.sample_id", "s.geom", "s.country", "s.medium"]
    source = f"{SCHEMA}.samples_{vid} s"
    if bits is not None:
        _execute(conn, f"CREATE INDEX IF NOT EXISTS qgis_{vid}_sample_index "
                       f"ON {SCHEMA}.qgis_{vid} (sample_index)")
        source += f" LEFT JOIN {SCHEMA}.qgis_{vid} q ON q.sample_index = s.sample_index"
    for k, name in names:
        if bits is not None and k in bits:
            value = f"q.v{k}"
            below = (f"CASE WHEN {value} IS NULL THEN NULL "
                     f"ELSE get_bit(q._below_dl, {bits[k]}) = 1 END")
        else:
            value, below = "NULL::float8", "NULL::boolean"
        select += [f"{value} AS {ident(name)}", f"{below} AS {ident(name + '_below_dl')}"]
    _execute(conn, f"DROP VIEW IF EXISTS {view}")
    _execute(conn, f"CREATE VIEW {view} AS SELECT {', '.join(select)} FROM {source}")
    about = (f"{row['title'] or dataset_id}. {row['citation'] or ''} "
             f"Licence: {row['licence']}. Version {row['version']}.")
    _execute(conn, f"COMMENT ON VIEW {view} IS {literal(about)}")
    if _reader_exists(conn):
        _execute(conn, f"GRANT USAGE ON SCHEMA {VIEWS_SCHEMA} TO {READER_ROLE}")
        if (row["sharing"] or "public") == "public":
            _execute(conn, f"GRANT SELECT ON {view} TO {READER_ROLE}")
    if old_vid is not None:
        _execute(conn, f"DROP TABLE IF EXISTS {SCHEMA}.qgis_{old_vid}")
    _execute_p(
        conn,
        f"INSERT INTO {SCHEMA}.dataset_views VALUES ($1, $2, $3) ON CONFLICT (dataset_id) "
        "DO UPDATE SET vid = excluded.vid, view_name = excluded.view_name",
        (dataset_id, vid, view_name(dataset_id)),
    )


def qgis_rows(values: pa.Table, column_ids: list[int]) -> pa.Table:
    """Rows of ``chemearth.qgis_<vid>`` (what the views show) from a wide measurement
    table: ``sample_index``, ``v<k>`` for each of ``column_ids`` and ``_below_dl``, whose
    bit ``i`` (``get_bit``) is 1 where ``v<column_ids[i]>`` is a detection limit. The
    flags are packed in one ``bytea``: ``COPY`` pays per field, and one boolean column
    per analyte would double the fields.

    Examples
    --------
    >>> t = pa.table({"sample_index": [0, 1], "v0": [1.0, None], "c0": [True, True],
    ...               "v3": [2.0, 5.0], "c3": [False, True]})
    >>> qgis_rows(t, [0, 3]).column("_below_dl").to_pylist()
    [b'\\x01', b'\\x02']
    """
    n = values.num_rows
    cols: dict[str, Any] = {"sample_index": values.column("sample_index")}
    flags = np.zeros((n, len(column_ids)), dtype=bool)
    for i, k in enumerate(column_ids):
        v = values.column(f"v{k}")
        cols[f"v{k}"] = v
        if f"c{k}" in values.column_names:
            c = pc.fill_null(values.column(f"c{k}").cast(pa.bool_()), False)
            flags[:, i] = pc.and_(pc.is_valid(v), c).to_numpy(zero_copy_only=False)
    packed = np.packbits(flags, axis=1, bitorder="little")
    offsets = np.arange(n + 1, dtype=np.int32) * packed.shape[1]
    cols["_below_dl"] = pa.BinaryArray.from_buffers(
        pa.binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(packed.tobytes())]
    )
    return pa.table(cols)


def _qgis_bits(conn: AdbcConnection, vid: int) -> dict[int, int] | None:
    """The bit of each analyte column in ``chemearth.qgis_<vid>`` (None: no such table)."""
    names = arrow_query(
        conn,
        "SELECT column_name FROM information_schema.columns WHERE table_schema = $1 "
        "AND table_name = $2 ORDER BY ordinal_position",
        (SCHEMA, f"qgis_{int(vid)}"),
    ).column("column_name").to_pylist()
    if not names:
        return None
    ks = [int(n[1:]) for n in names if re.fullmatch(r"v\d+", n)]
    return {k: i for i, k in enumerate(ks)}


def _execute(conn: AdbcConnection, sql: str) -> None:
    with conn.cursor() as cur:
        cur.execute(sql)


def _execute_p(conn: AdbcConnection, sql: str, params: tuple[Any, ...]) -> None:
    with conn.cursor() as cur:
        cur.execute(sql, params)
