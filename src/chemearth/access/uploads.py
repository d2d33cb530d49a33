"""The write path: uploads of survey files by data owners, behind the sharing rules.

Reading is :mod:`chemearth.access.catalogue` and :mod:`chemearth.access.gateway`; this is
the one door that changes the store on an actor's behalf. An upload is ingested with the
same validation as ``chemearth ingest`` (atomically: the store is unchanged on any error),
only by data owners and administrators, only for the owner's own organisation, and never
over a dataset id that another organisation holds. Unlike a local ingest:

* the descriptor may name no file of the server: a path in it (``[censoring].limits_file``,
  ``[censoring].flag_file``, an absolute or ``..`` ``[source].path``) is refused before any
  file is opened, with one message whether the path exists or not (:func:`check_references`);
  a relative ``[source].path`` is ignored, the uploaded file being the survey;
* a descriptor that does not say how the dataset is shared makes it ``restricted`` to its
  organisation (:data:`UPLOAD_DEFAULT_SHARING`), and the policy in effect is returned;
* the commit can be called off (:class:`CommitGate`) when the request is given up, so that
  an error answer never comes with committed data.
"""

from __future__ import annotations

import logging
import threading
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from chemearth.access.catalogue import Catalogue
from chemearth.access.policy import Action, Actor, Resource, Role, allowed
from chemearth.errors import AccessDenied, DescriptorError
from chemearth.store.base import Store
from chemearth.store.selectors import string_list

if TYPE_CHECKING:
    from chemearth.ingest.descriptor import Descriptor
    from chemearth.ingest.pipeline import IngestReport

__all__ = [
    "MAX_DESCRIPTOR_BYTES",
    "UPLOAD_DEFAULT_SHARING",
    "CommitGate",
    "UploadResult",
    "authorise",
    "check_references",
    "may_upload",
    "policy_of",
    "upload",
]

log = logging.getLogger("chemearth.uploads")

#: Largest descriptor accepted with an upload, in bytes (larger ones are refused whole).
MAX_DESCRIPTOR_BYTES = 1 << 20
#: Sharing of an uploaded dataset whose descriptor has no ``[dataset].sharing``.
UPLOAD_DEFAULT_SHARING = "restricted"
_NEEDS_OWNER = "uploads need a data owner's or an administrator's token"


@dataclass
class UploadResult:
    """What an upload did: the ingest report and the sharing policy in effect."""

    report: IngestReport
    policy: dict[str, Any]


class CommitGate:
    """Lets an upload commit only while its request still waits for the answer.

    The ingest thread calls :meth:`open` right before committing; the request calls
    :meth:`cancel` when it is given up (its time is over). Whichever comes first wins:
    a cancelled upload commits nothing, and a commit once begun is waited for.

    Examples
    --------
    >>> gate = CommitGate()
    >>> gate.cancel(), gate.open()
    (True, False)
    >>> gate = CommitGate()
    >>> gate.open(), gate.cancel()
    (True, False)
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cancelled = False
        self._committing = False

    def open(self) -> bool:
        """True, and the commit may go ahead, unless the request was given up."""
        with self._lock:
            if self._cancelled:
                return False
            self._committing = True
            return True

    def cancel(self) -> bool:
        """Give the request up; False when the commit has begun already (wait for it)."""
        with self._lock:
            if self._committing:
                return False
            self._cancelled = True
            return True


def check_references(desc: Descriptor) -> None:
    """Refuse an uploaded descriptor that names a file other than the uploaded one.

    An upload holds one survey file and its descriptor, so ``limits_file`` and
    ``flag_file`` can name nothing of it; ``[source].path`` is ignored (the uploaded file
    is the survey) unless it is absolute or climbs out with ``..``. Nothing is opened and
    the message is the same whether the path exists or not.

    Raises
    ------
    DescriptorError
        Naming the descriptor, the key and the value.
    """
    for key, value in desc.referenced_files().items():
        if key == "[source].path" and _plain_relative(value):
            continue
        raise DescriptorError(
            f"{desc.where} {key}: {value!r} is not a file of the same upload; an uploaded "
            "descriptor may name only files uploaded with it, and an upload holds one survey "
            "file (give detection limits in [columns] and flags in columns of the survey)"
        )


def _plain_relative(value: str) -> bool:
    p = PurePosixPath(value.replace("\\", "/"))
    return not p.is_absolute() and ".." not in p.parts and ":" not in value


def _declares_sharing(text: str) -> bool:
    """True if the descriptor says how its dataset is shared (``[dataset].sharing``)."""
    try:
        dataset = tomllib.loads(text).get("dataset")
    except tomllib.TOMLDecodeError:
        return False
    return isinstance(dataset, dict) and "sharing" in dataset


def may_upload(actor: Actor, organisation: str) -> None:
    """Refuse ``actor`` unless they may upload datasets of ``organisation``.

    The permission question of uploads (``allowed(actor, "upload", organisation)``) with
    its refusals in words: asked by :func:`authorise` for the descriptor's organisation,
    and by the website's descriptor helpers (``POST /api/describe``, ``POST /api/check``)
    before they read the file, so that they answer every actor exactly as an upload does.

    Raises
    ------
    AccessDenied
        Not a data owner or an administrator; or a data owner of another organisation.

    Examples
    --------
    >>> may_upload(Actor("a", Role.OWNER, "NGU"), "NGU")
    >>> may_upload(Actor.anonymous(), "NGU")
    Traceback (most recent call last):
    ...
    chemearth.errors.AccessDenied: uploads need a data owner's or an administrator's token
    """
    if actor.role not in (Role.OWNER, Role.ADMIN):
        raise AccessDenied(_NEEDS_OWNER)
    if not allowed(actor, Action.UPLOAD, Resource.organisation_of(organisation)):
        raise AccessDenied(
            f"a data owner of {actor.organisation!r} may upload only datasets whose "
            f"descriptor names that organisation (got {organisation!r})"
        )


def authorise(
    catalogue: Catalogue, actor: Actor, descriptor_text: str, descriptor_name: str
) -> Descriptor:
    """The descriptor of an upload by ``actor``, checked before any file is read.

    Only data owners (of the descriptor's organisation) and administrators upload; a
    dataset id another organisation holds is refused; the descriptor may name no file
    (:func:`check_references`); without ``[dataset].sharing`` the dataset is restricted
    (:data:`UPLOAD_DEFAULT_SHARING`). Asked when the upload arrives and again when its job
    runs.

    Raises
    ------
    AccessDenied, DescriptorError
    """
    from chemearth.ingest.descriptor import parse_descriptor

    if actor.role not in (Role.OWNER, Role.ADMIN):
        raise AccessDenied(_NEEDS_OWNER)  # before the descriptor is read
    desc = parse_descriptor(descriptor_text, Path(descriptor_name))
    may_upload(actor, desc.dataset.organisation)
    existing = catalogue.snapshot().policies.get(desc.dataset.id)
    if existing is not None and not allowed(actor, Action.REPLACE, Resource.of(existing)):
        raise AccessDenied(f"dataset id {desc.dataset.id!r} is taken; choose another id")
    check_references(desc)
    if not _declares_sharing(descriptor_text):
        desc = replace(desc, dataset=replace(desc.dataset, sharing=UPLOAD_DEFAULT_SHARING))
    return desc


def upload(
    catalogue: Catalogue,
    actor: Actor,
    survey: Path,
    descriptor_text: str,
    *,
    descriptor_name: str = "descriptor.toml",
    boundaries: Path | None = None,
    strict: bool = False,
    build: Callable[[Store, str, int], object] | None = None,
    gate: CommitGate | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> UploadResult:
    """Ingest an uploaded survey file with its descriptor, as a data owner or admin.

    The same validation as ``chemearth ingest``; the store is unchanged on any error.
    With ``build(store, dataset_id, version)`` the version is published atomically: it is
    committed unpublished, its grid layers are built, and only then is it published; a
    build that fails discards the version and raises, so that readers never see a dataset
    without its layers. An unpublished version of the same file left by an earlier attempt
    (a worker that was killed) is taken up again. ``catalogue`` says which dataset ids are
    taken, and by whom; ``descriptor_name`` is how messages name the descriptor; ``gate``
    may call the commit off; ``progress(step, done, total)`` follows the ingest.

    Raises
    ------
    AccessDenied
        Not a data owner of the descriptor's organisation (nor an admin), or the id is
        another organisation's.
    DescriptorError, InputFileError, RowError, IngestRejected
        As ``chemearth ingest``, and a descriptor naming files (:func:`check_references`).
    """
    from chemearth.ingest.pipeline import ingest

    desc = authorise(catalogue, actor, descriptor_text, descriptor_name)
    store = catalogue.store
    report = ingest(
        store, desc, survey, boundaries=boundaries, strict=strict,
        may_commit=gate.open if gate is not None else None,
        publish=build is None, progress=progress,
    )
    if build is not None and report.status != "unchanged":
        try:
            build(store, report.dataset_id, report.version)
            store.publish(report.dataset_id, report.version)
        except BaseException:
            log.exception("upload %r version %s not published", report.dataset_id,
                          report.version)
            try:
                store.discard(report.dataset_id, report.version)
            except Exception:  # a worker that resumes the job will take it up again
                log.exception("unpublished version of %r not discarded", report.dataset_id)
            raise
    return UploadResult(report, policy_of(store, report))


def policy_of(store: Store, report: IngestReport) -> dict[str, Any]:
    """The sharing policy of the version written (or found unchanged), as stored."""
    rows = store.datasets(all_versions=True)
    row = rows[(rows["dataset_id"] == report.dataset_id) & (rows["version"] == report.version)]
    rec: Any = row.iloc[0] if len(row) else {}
    return {
        "sharing": str(rec.get("sharing") or UPLOAD_DEFAULT_SHARING),
        "sharing_organisations": string_list(rec.get("sharing_organisations")),
        "embargoed_elements": string_list(rec.get("embargoed_elements")),
    }

