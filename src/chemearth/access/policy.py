"""Who may see what: sharing policies, actors and roles.

Every dataset carries a sharing policy from its descriptor (``[dataset] sharing``,
``sharing_organisations``, ``embargoed_elements``):

``public``
    everything is shared.
``aggregated``
    grid layers are public; sample locations and values are shared only with actors
    that have full access. A cell statistic computed from fewer than *k* samples
    (:data:`MIN_CELL_N`, default 3) is not published at that level.
``restricted``
    nothing is shared, not even the dataset's existence, except with full access.

An embargoed element is ``restricted`` for that element alone. *Full access* to a
dataset belongs to the ``admin`` role, to actors of the dataset's own organisation or
of one of its ``sharing_organisations``, and to ``partner`` actors granted the dataset.

Every door asks one question, :func:`allowed` ``(actor, action, resource)``: the
:class:`Policy` methods below are that question in named forms, and
:mod:`chemearth.access.gateway`, :mod:`chemearth.access.uploads` and the web layer ask it
on every read and write, so every door (pages, API, tiles, downloads, error messages)
obeys the same code. What an aggregate of non-public data may reveal is decided by
:mod:`chemearth.access.disclosure`.

API tokens, which say who an actor is, are in :mod:`chemearth.access.tokens`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from chemearth.config import DEFAULT_MIN_CELL_N
from chemearth.store.selectors import string_list

__all__ = [
    "MIN_CELL_N",
    "Action",
    "Actor",
    "Policy",
    "Resource",
    "Role",
    "allowed",
    "check_actor",
    "policies_from_catalogue",
]

#: Fewest samples behind a published cell statistic of an ``aggregated`` dataset.
MIN_CELL_N = DEFAULT_MIN_CELL_N


class Role(enum.StrEnum):
    """Roles of an actor, from least to most trusted."""

    ANONYMOUS = "anonymous"
    PUBLIC = "public"
    PARTNER = "partner"
    OWNER = "owner"
    ADMIN = "admin"


@dataclass(frozen=True)
class Actor:
    """Someone asking: anonymous, or the holder of an API token.

    Examples
    --------
    >>> Actor.anonymous().role
    <Role.ANONYMOUS: 'anonymous'>
    >>> Actor("ngu", Role.OWNER, "NGU").organisation
    'NGU'
    """

    name: str = "anonymous"
    role: Role = Role.ANONYMOUS
    organisation: str = ""
    grants: frozenset[str] = frozenset()
    token_id: str = ""

    @classmethod
    def anonymous(cls) -> Actor:
        """The actor without a token."""
        return cls()

    @property
    def is_admin(self) -> bool:
        """True for the ``admin`` role."""
        return self.role is Role.ADMIN

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (no secret in it)."""
        return {
            "name": self.name,
            "role": str(self.role),
            "organisation": self.organisation,
            "grants": sorted(self.grants),
        }


@dataclass(frozen=True)
class Policy:
    """The sharing policy of one dataset.

    Examples
    --------
    >>> p = Policy("kola-humus", "NGU", "aggregated", embargo=frozenset({"U"}))
    >>> anon, owner = Actor.anonymous(), Actor("a", Role.OWNER, "NGU")
    >>> p.visible(anon), p.samples_visible(anon), p.min_cell_n(anon)
    (True, False, 3)
    >>> p.element_visible(anon, "U"), p.element_visible(owner, "U")
    (False, True)
    >>> Policy("x", "GSX", "restricted").visible(anon)
    False
    """

    dataset_id: str
    organisation: str
    sharing: str = "public"
    organisations: frozenset[str] = frozenset()
    embargo: frozenset[str] = frozenset()
    k: int = MIN_CELL_N

    def full_access(self, actor: Actor) -> bool:
        """True if ``actor`` sees everything of this dataset (and its sharing settings)."""
        return allowed(actor, Action.VIEW_SHARING, Resource.of(self))

    def visible(self, actor: Actor) -> bool:
        """True if the dataset may be listed for ``actor`` at all."""
        return allowed(actor, Action.VIEW_DATASET, Resource.of(self))

    def element_visible(self, actor: Actor, element: str) -> bool:
        """True if ``actor`` may see anything of ``element`` in this dataset."""
        return allowed(actor, Action.VIEW_ELEMENT, Resource.of(self, element))

    def samples_visible(self, actor: Actor, element: str | None = None) -> bool:
        """True if ``actor`` may see sample locations (and values of ``element``)."""
        return allowed(actor, Action.VIEW_SAMPLES, Resource.of(self, element))

    def min_cell_n(self, actor: Actor) -> int:
        """Fewest samples a published cell statistic needs for ``actor`` (1 = all)."""
        return 1 if allowed(actor, Action.VIEW_ALL_CELLS, Resource.of(self)) else self.k

    def disclosure_controlled(self, actor: Actor) -> bool:
        """True if what ``actor`` sees of this dataset passes disclosure control."""
        return self.min_cell_n(actor) > 1


class Action(enum.StrEnum):
    """What an actor asks to do; the second argument of :func:`allowed`."""

    #: See a dataset's catalogue entry (and that it exists).
    VIEW_DATASET = "view-dataset"
    #: See who a dataset is shared with and which elements are embargoed (full access).
    VIEW_SHARING = "view-sharing"
    #: See anything of one element of a dataset (layers, statistics, plots).
    VIEW_ELEMENT = "view-element"
    #: See cell statistics, through disclosure control where the data are not public.
    VIEW_CELLS = "view-cells"
    #: See every cell statistic without disclosure control (full access).
    VIEW_ALL_CELLS = "view-all-cells"
    #: See sample locations and values (features, plots of values, pairs).
    VIEW_SAMPLES = "view-samples"
    #: Download sample data (CSV, GeoPackage).
    DOWNLOAD_SAMPLES = "download-samples"
    #: Upload a new dataset (the resource names the descriptor's organisation).
    UPLOAD = "upload"
    #: Replace an existing dataset with a new version.
    REPLACE = "replace"
    #: Attach photos and videos to a dataset's samples.
    ATTACH_MEDIA = "attach-media"
    #: Create, revoke and grant API tokens.
    MANAGE_TOKENS = "manage-tokens"
    #: See a job (an upload's progress and outcome); the resource names the job's
    #: organisation.
    VIEW_JOB = "view-job"
    #: See pooled layers: the public ones (no organisation), or an organisation's private
    #: ones (the resource names the organisation).
    VIEW_POOLED = "view-pooled"


@dataclass(frozen=True)
class Resource:
    """What an action is about: a dataset (by its policy), an element of it, or an
    organisation (for uploads of datasets that do not exist yet).

    Examples
    --------
    >>> pol = Policy("kola-humus", "NGU", "aggregated")
    >>> Resource.of(pol, "Ni").element
    'Ni'
    >>> Resource.organisation_of("NGU").policy is None
    True
    """

    policy: Policy | None = None
    element: str | None = None
    organisation: str = ""

    @classmethod
    def of(cls, policy: Policy, element: str | None = None) -> Resource:
        """A dataset (or one element of it)."""
        return cls(policy, element, policy.organisation)

    @classmethod
    def organisation_of(cls, organisation: str) -> Resource:
        """An organisation, for actions on datasets that do not exist yet."""
        return cls(None, None, organisation)


def _full_access(actor: Actor, pol: Policy) -> bool:
    if actor.role in (Role.ANONYMOUS, Role.PUBLIC):
        return False  # a public token carries no organisation and no grants
    if actor.is_admin or (actor.role is Role.PARTNER and pol.dataset_id in actor.grants):
        return True
    org = actor.organisation
    return bool(org) and (org == pol.organisation or org in pol.organisations)


def allowed(actor: Actor, action: Action | str, resource: Resource | None = None) -> bool:
    """The one permission question every door asks: may ``actor`` do ``action`` on
    ``resource``?

    The rules (``docs/security.md`` has the full table):

    * ``manage-tokens``: administrators only.
    * ``upload``: data owners of the resource's organisation, and administrators.
    * ``view-job``: as ``upload`` (an upload's job, by the job's organisation).
    * ``view-pooled``: the public pooled layers (no organisation): everyone; an
      organisation's private pooled layers: its data owners and partners, and
      administrators.
    * ``replace``, ``attach-media``: data owners with full access to the dataset, and
      administrators.
    * ``view-dataset``: everyone for public and aggregated datasets; full access for
      restricted ones. ``view-sharing`` (who else may see it, which elements are
      embargoed, that an embargo exists at all): full access.
    * ``view-element``: as ``view-dataset``, and an embargoed element needs full access.
    * ``view-cells``: as ``view-element`` (through disclosure control without full
      access); ``view-all-cells``: full access, or a public dataset.
    * ``view-samples``, ``download-samples``: as ``view-element``, and the dataset is
      public or the actor has full access.

    *Full access* to a dataset: the ``admin`` role; a ``partner`` granted the dataset;
    an ``owner`` or ``partner`` whose organisation is the dataset's or one of its
    ``sharing_organisations``. Anonymous actors and ``public`` tokens never have it.

    Examples
    --------
    >>> pol = Policy("kola-humus", "NGU", "aggregated", embargo=frozenset({"U"}))
    >>> anon, owner = Actor.anonymous(), Actor("a", Role.OWNER, "NGU")
    >>> allowed(anon, Action.VIEW_CELLS, Resource.of(pol, "Ni"))
    True
    >>> allowed(anon, "view-samples", Resource.of(pol, "Ni"))
    False
    >>> allowed(owner, "download-samples", Resource.of(pol, "U"))
    True
    >>> allowed(Actor("p", Role.PUBLIC, "NGU"), "view-all-cells", Resource.of(pol))
    False
    >>> allowed(owner, "upload", Resource.organisation_of("NGU"))
    True
    >>> allowed(anon, "view-pooled", Resource()), allowed(anon, "view-pooled",
    ...                                                    Resource.organisation_of("NGU"))
    (True, False)
    """
    act = Action(action)
    res = resource or Resource()
    if act is Action.MANAGE_TOKENS:
        return actor.is_admin
    if act is Action.VIEW_POOLED:
        if not res.organisation:
            return True
        return actor.is_admin or (actor.role in (Role.OWNER, Role.PARTNER)
                                  and actor.organisation == res.organisation)
    if act in (Action.UPLOAD, Action.VIEW_JOB):
        if actor.is_admin:
            return True
        return actor.role is Role.OWNER and bool(actor.organisation) and (
            actor.organisation == res.organisation)
    pol = res.policy
    if pol is None:
        return False
    full = _full_access(actor, pol)
    if act in (Action.REPLACE, Action.ATTACH_MEDIA):
        return actor.is_admin or (actor.role is Role.OWNER and full)
    if act is Action.VIEW_SHARING:
        return full
    if act is Action.VIEW_ALL_CELLS:
        return full or (pol.sharing == "public" and _element_ok(actor, pol, res, full))
    seen = pol.sharing in ("public", "aggregated") or full
    if act is Action.VIEW_DATASET:
        return seen
    if not seen or not _element_ok(actor, pol, res, full):
        return False
    if act in (Action.VIEW_ELEMENT, Action.VIEW_CELLS):
        return True
    if act in (Action.VIEW_SAMPLES, Action.DOWNLOAD_SAMPLES):
        return pol.sharing == "public" or full
    raise AssertionError(f"unhandled action {act}")  # pragma: no cover - enum is closed


def _element_ok(actor: Actor, pol: Policy, res: Resource, full: bool) -> bool:
    return res.element is None or res.element not in pol.embargo or full


def check_actor(role: Role | str, organisation: str = "", grants: Iterable[str] = ()) -> Role:
    """Validate the role, organisation and grants of a new token; the role, or an error.

    A ``public`` token carries no organisation and no grants (it sees what anonymous
    users see); a data owner's token needs an organisation; grants belong to partners.

    Examples
    --------
    >>> check_actor("owner", "NGU")
    <Role.OWNER: 'owner'>
    >>> check_actor("public", "NGU")
    Traceback (most recent call last):
    ...
    chemearth.errors.AccessDenied: a 'public' token carries no organisation (got 'NGU')
    """
    from chemearth.errors import AccessDenied

    try:
        r = Role(role)
    except ValueError:
        raise AccessDenied(
            f"unknown role {role!r}; one of {', '.join(x for x in Role if x != 'anonymous')}"
        ) from None
    grants = list(grants)
    if r is Role.ANONYMOUS:
        raise AccessDenied("a token cannot have the role 'anonymous'")
    if r is Role.PUBLIC and organisation:
        raise AccessDenied(f"a 'public' token carries no organisation (got {organisation!r})")
    if r is Role.OWNER and not organisation:
        raise AccessDenied("a data owner's token needs an organisation")
    if grants and r is not Role.PARTNER:
        raise AccessDenied(f"only 'partner' tokens carry grants (this one is {str(r)!r})")
    bad = [g for g in grants if not g or not str(g).strip() or len(str(g)) > 128]
    if bad:
        raise AccessDenied(f"invalid dataset id in grants: {bad[0]!r}")
    return r


def policies_from_catalogue(
    datasets: Iterable[Mapping[str, Any]], k: int = MIN_CELL_N
) -> dict[str, Policy]:
    """One :class:`Policy` per dataset from rows of :meth:`Store.datasets`.

    Examples
    --------
    >>> rows = [{"dataset_id": "a", "organisation": "O", "sharing": "restricted",
    ...          "sharing_organisations": ["P"], "embargoed_elements": ["U", "Th"]}]
    >>> sorted(policies_from_catalogue(rows)["a"].embargo)
    ['Th', 'U']
    """
    out = {}
    for row in datasets:
        ds = str(row["dataset_id"])
        out[ds] = Policy(
            dataset_id=ds,
            organisation=str(row.get("organisation") or ""),
            sharing=str(row.get("sharing") or "public"),
            organisations=frozenset(string_list(row.get("sharing_organisations"))),
            embargo=frozenset(string_list(row.get("embargoed_elements"))),
            k=k,
        )
    return out
