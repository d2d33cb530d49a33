"""``chemearth token``: create, list, revoke and grant access tokens."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from chemearth.cli.common import (
    cli,
    home_option,
    open_store_at,
)

if TYPE_CHECKING:

    pass


@cli.group()
def token() -> None:
    """API tokens and grants (kept hashed in the store's access.json)."""


@token.command("create")
@home_option
@click.argument("name")
@click.option("--role", type=click.Choice(["public", "partner", "owner", "admin"]), required=True)
@click.option("--organisation", default="", help="The organisation (as in descriptors).")
@click.option("--grant", "grants", multiple=True, help="A dataset to grant (partners).")
def token_create(
    home: Path | str | None, name: str, role: str, organisation: str, grants: tuple[str, ...]
) -> None:
    """Create a token and print it once (only its hash is kept)."""
    from chemearth.access.tokens import TokenStore

    tokens = TokenStore(open_store_at(home))
    click.echo(tokens.create(name, role, organisation=organisation, grants=grants))


@token.command("list")
@home_option
def token_list(home: Path | str | None) -> None:
    """List tokens (never the secrets)."""
    from chemearth.access.tokens import TokenStore

    tokens = TokenStore(open_store_at(home))
    for rec in tokens.records().values():
        d = rec.to_dict(secret_hash=False)
        click.echo(
            f"{d['token_id']}  {d['name']:<16} {d['role']:<8} {d['organisation'] or '-':<20} "
            f"grants={','.join(d['grants']) or '-'}{'  REVOKED' if d['revoked'] else ''}"
        )


@token.command("revoke")
@home_option
@click.argument("token_id")
def token_revoke(home: Path | str | None, token_id: str) -> None:
    """Revoke a token by its id."""
    from chemearth.access.tokens import TokenStore

    TokenStore(open_store_at(home)).revoke(token_id)
    click.echo(f"revoked {token_id}")


@token.command("grant")
@home_option
@click.argument("token_id")
@click.argument("dataset")
@click.option("--revoke", is_flag=True, help="Withdraw the grant instead.")
def token_grant(home: Path | str | None, token_id: str, dataset: str, revoke: bool) -> None:
    """Grant a token full access to a dataset (or withdraw it)."""
    from chemearth.access.tokens import TokenStore

    TokenStore(open_store_at(home)).grant(token_id, dataset, revoke=revoke)
    click.echo(f"{'withdrew' if revoke else 'granted'} {dataset} {'from' if revoke else 'to'} "
               f"{token_id}")
