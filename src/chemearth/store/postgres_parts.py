"""Collections of binary parts in the PostgreSQL store (see :mod:`.parts_files`).

Parts live in ``chemearth.parts`` (collection, part, data) and manifests in
``chemearth.part_manifests``; a write replaces the given parts and the manifest in one
transaction and bumps the store's generation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from psycopg import Connection as PgConnection

from chemearth.store.parts_files import check_name
from chemearth.store.postgres_common import SCHEMA, Pool, sql

__all__ = ["MIGRATION", "list_parts", "read_manifest", "read_part", "write_parts"]

#: The schema change that adds the tables (appended to the store's migrations).
MIGRATION = (
    "collections of binary parts (pooled layers)",
    [
        f"""CREATE TABLE {SCHEMA}.parts (
            collection text COLLATE "C" NOT NULL, part text COLLATE "C" NOT NULL,
            data bytea NOT NULL, PRIMARY KEY (collection, part))""",
        f"""CREATE TABLE {SCHEMA}.part_manifests (
            collection text COLLATE "C" PRIMARY KEY, manifest jsonb NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now())""",
    ],
)


def read_manifest(pool: Pool[PgConnection], collection: str) -> dict[str, Any] | None:
    """The manifest of ``collection`` (None if never written)."""
    with pool.connection() as conn:
        row = conn.execute(
            sql(f"SELECT manifest::text FROM {SCHEMA}.part_manifests WHERE collection = %s"),
            [collection],
        ).fetchone()
    return None if row is None else dict(json.loads(row[0]))


def read_part(pool: Pool[PgConnection], collection: str, name: str) -> bytes | None:
    """The bytes of one part (None if absent)."""
    with pool.connection() as conn:
        row = conn.execute(
            sql(f"SELECT data FROM {SCHEMA}.parts WHERE collection = %s AND part = %s"),
            [collection, check_name(name)],
        ).fetchone()
    return None if row is None else bytes(row[0])


def list_parts(pool: Pool[PgConnection], collection: str) -> list[str]:
    """The part names of ``collection``."""
    with pool.connection() as conn:
        rows = conn.execute(
            sql(f"SELECT part FROM {SCHEMA}.parts WHERE collection = %s ORDER BY part"),
            [collection],
        ).fetchall()
    return [str(r[0]) for r in rows]


def write_parts(pool: Pool[PgConnection], collection: str,
                parts: Mapping[str, bytes | None], manifest: Mapping[str, Any]) -> None:
    """Replace the given parts (None: delete) and the manifest, in one transaction."""
    for name in parts:
        check_name(name)
    with pool.connection() as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"parts:{collection}"])
        for name, data in parts.items():
            if data is None:
                conn.execute(sql(f"DELETE FROM {SCHEMA}.parts WHERE collection = %s "
                                 "AND part = %s"), [collection, name])
            else:
                conn.execute(
                    sql(f"INSERT INTO {SCHEMA}.parts VALUES (%s, %s, %s) ON CONFLICT "
                        "(collection, part) DO UPDATE SET data = excluded.data"),
                    [collection, name, data],
                )
        conn.execute(
            sql(f"INSERT INTO {SCHEMA}.part_manifests VALUES (%s, %s::jsonb, now()) "
                "ON CONFLICT (collection) DO UPDATE SET manifest = excluded.manifest, "
                "updated_at = excluded.updated_at"),
            [collection, json.dumps(dict(manifest), sort_keys=True)],
        )
        conn.execute(sql(f"UPDATE {SCHEMA}.meta SET value = value + 1 WHERE key = 'generation'"))
