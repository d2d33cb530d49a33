"""The write path: uploads of survey files by data owners, behind the sharing rules.

Reading is :mod:`chemearth.access.catalogue` and :mod:`chemearth.access.gateway`; this is
the one door that changes the store on an actor's behalf. An upload is ingested with the
same validation as ``chemearth ingest`` (atomically: the store is unchanged on any error),
only by data owners and administrators, only for the owner's own organisation, and never
over a dataset id that another organisation holds.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from chemearth.access.catalogue import Catalogue
from chemearth.access.policy import Actor, Role
from chemearth.errors import AccessDenied
from chemearth.store.base import Store

__all__ = ["upload"]


def upload(
catalogue: Catalogue,
    actor: Actor,
    survey: Path,
    descriptor_text: str,
    *,
    boundaries: Path | None = None,
    strict: bool = False,
    build: Callable[[Store, str], object] | None = None,
) -> Any:
    """Ingest an uploaded survey file with its descriptor, as a data owner or admin.

    The same validation as ``chemearth ingest``; the store is unchanged on any error.
    Returns the :class:`~chemearth.ingest.pipeline.IngestReport`; ``build(store, dataset_id)``
    then builds its grid layers. ``catalogue`` says which dataset ids are taken, and by whom.
    """
    from chemearth.ingest.descriptor import parse_descriptor
    from chemearth.ingest.pipeline import ingest

    if actor.role not in (Role.OWNER, Role.ADMIN):
        raise AccessDenied("uploads need a data owner's or an administrator's token")
    desc = parse_descriptor(descriptor_text, Path(f"upload:{survey.name}.toml"))
    if not actor.is_admin and desc.dataset.organisation != actor.organisation:
        raise AccessDenied(
            f"a data owner of {actor.organisation!r} may upload only datasets whose "
            f"descriptor names that organisation (got {desc.dataset.organisation!r})"
        )
    existing = catalogue.snapshot().policies.get(desc.dataset.id)
    if existing is not None and not existing.full_access(actor):
        raise AccessDenied(f"dataset id {desc.dataset.id!r} is taken; choose another id")
    report = ingest(catalogue.store, desc, survey, boundaries=boundaries, strict=strict)
    if build is not None and report.status != "unchanged":
        build(catalogue.store, desc.dataset.id)
    return report
