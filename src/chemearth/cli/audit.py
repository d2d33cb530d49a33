"""``chemearth audit``: the latest events of the store's audit log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from chemearth.cli.common import cli, home_option, open_store_at

#: Keys shown in their own columns; the others follow as ``key=value``.
_COLUMNS = ("time", "event", "actor", "role", "organisation", "token_id", "dataset", "outcome")


def _line(e: dict[str, Any]) -> str:
    who = f"{e.get('actor', '?')} ({e.get('role', '?')}"
    who += f", {e['organisation']})" if e.get("organisation") else ")"
    rest = "  ".join(
        f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}"
        for k, v in e.items() if k not in _COLUMNS
    )
    return (f"{e.get('time', '?')}  {e.get('event', '?'):<8}  {who}  "
            f"token={e.get('token_id') or '-'}  {e.get('dataset') or '-'}  "
            f"{e.get('outcome') or '-'}  {rest}").rstrip()


@cli.command()
@home_option
@click.option("-n", "--limit", default=50, show_default=True, type=click.IntRange(min=1),
              help="Most events to show (the latest).")
@click.option("--event", type=click.Choice(["upload", "read", "download", "job"]), default=None,
              help="Only events of this kind.")
@click.option("--dataset", default=None, help="Only events of this dataset.")
@click.option("--actor", default=None, help="Only events of this actor name or token id.")
@click.option("--since", default=None, help="Only events from this UTC time on "
              "(e.g. 2025-01-31 or 2025-01-31T12:00).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def audit(home: Path | str | None, limit: int, event: str | None, dataset: str | None,
          actor: str | None, since: str | None, as_json: bool) -> None:
    """Show the latest events of the audit log: uploads, and reads and downloads of data
    that is not public (``<home>/audit.log``)."""
    from chemearth.access.audit import AuditLog

    log = AuditLog(open_store_at(home))
    events = log.read(limit, event=event, dataset=dataset, actor=actor, since=since)
    if not events:
        click.echo(f"no audit events in {log.where}", err=True)
        return
    for e in events:
        click.echo(json.dumps(e, ensure_ascii=False) if as_json else _line(e))
