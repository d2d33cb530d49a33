"""``chemearth jobs``: the store's job queue — list, show, queue an ingest, run a worker."""

from __future__ import annotations

import json
from pathlib import Path

import click

from chemearth.cli.common import cli, fmt, home_option, load_settings, open_store_at

__all__: list[str] = []


@cli.group(invoke_without_command=True)
@home_option
@click.option("-n", "--limit", default=20, show_default=True, type=click.IntRange(min=1),
              help="Most jobs listed (the latest).")
@click.pass_context
def jobs(ctx: click.Context, home: Path | str | None, limit: int) -> None:
    """Uploads and server-side ingests, as jobs: queued, running, done or failed.

    Without a subcommand: list the latest jobs.
    """
    if ctx.invoked_subcommand is not None:
        return
    frame = open_store_at(home).jobs(limit)
    if frame.empty:
        click.echo("no jobs", err=True)
        return
    for rec in frame.to_dict("records"):
        created = rec["created_at"].strftime("%Y-%m-%d %H:%M:%S") if rec["created_at"] else ""
        click.echo(
            f"{rec['job_id']}  {created}  {rec['state']:<7} {rec['progress']:>4.0%}  "
            f"{rec['dataset_id'] or '-':<24} {rec['message'] or rec['step'] or ''}"
        )


@jobs.command("show")
@home_option
@click.argument("job_id")
def jobs_show(home: Path | str | None, job_id: str) -> None:
    """One job: its state, progress, step, attempts and outcome (JSON)."""
    from chemearth.errors import NotFoundError
    from chemearth.jsonable import plain

    job = open_store_at(home).job(job_id)
    if job is None:
        raise NotFoundError(f"no job {job_id!r} in the store")
    job.pop("payload", None)  # the descriptor and the actor: kept in the store
    click.echo(json.dumps(plain(job, default=lambda v: v.isoformat()), indent=1,
                          ensure_ascii=False))


@jobs.command("submit")
@home_option
@click.argument("survey", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("descriptor", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--strict", is_flag=True, help="Reject the whole file if any row is bad.")
def jobs_submit(home: Path | str | None, survey: Path, descriptor: Path, strict: bool) -> None:
    """Queue the ingest of SURVEY with DESCRIPTOR for the server's workers (as the
    store's administrator); the dataset is published when its grid layers are built.
    Prints the job id."""
    from chemearth.access.catalogue import Catalogue
    from chemearth.access.jobs import submit_upload
    from chemearth.access.policy import Actor, Role

    store = open_store_at(home)
    actor = Actor("chemearth-cli", Role.ADMIN)
    job_id = submit_upload(
        Catalogue(store), actor, survey, descriptor.read_text(encoding="utf-8"),
        file_name=survey.name, descriptor_name=descriptor.name, strict=strict,
    )
    click.echo(job_id)


@jobs.command("run")
@home_option
@click.option("--once", is_flag=True, help="Run what is queued, then stop (default: keep "
              "waiting for jobs until interrupted).")
@click.option("--poll", default=2.0, show_default=True, type=click.FloatRange(min=0.1),
              help="Seconds between looks at the queue when idle.")
def jobs_run(home: Path | str | None, once: bool, poll: float) -> None:
    """Run jobs in this process: a worker beside (or instead of) the website's."""
    import time

    from chemearth.access.jobs import run_pending

    store = open_store_at(home)
    boundaries = load_settings().boundaries
    total = 0
    while True:
        ran = run_pending(store, boundaries)
        total += ran
        if once:
            break
        if not ran:
            time.sleep(poll)
    click.echo(f"{fmt(total)} jobs run", err=True)
