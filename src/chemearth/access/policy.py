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

This module holds the rules; :mod:`chemearth.access.gateway` applies them on every read, so
every door (pages, API, tiles, downloads, error messages) obeys the same code.

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
    "Actor",
    "Policy",
    "Role",
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
        """True if ``actor`` sees everything of this dataset."""
        if actor.role is Role.ANONYMOUS:
            return False
        if actor.is_admin or self.dataset_id in actor.grants:
            return True
        org = actor.organisation
        return bool(org) and (org == self.organisation or org in self.organisations)

    def visible(self, actor: Actor) -> bool:
        """True if the dataset may be listed for ``actor`` at all."""
        return self.sharing != "restricted" or self.full_access(actor)

    def element_visible(self, actor: Actor, element: str) -> bool:
        """True if ``actor`` may see anything of ``element`` in this dataset."""
        if not self.visible(actor):
            return False
        return element not in self.embargo or self.full_access(actor)

    def samples_visible(self, actor: Actor, element: str | None = None) -> bool:
        """True if ``actor`` may see sample locations (and values of ``element``)."""
        if element is not None and not self.element_visible(actor, element):
            return False
        return self.sharing == "public" or self.full_access(actor)

    def min_cell_n(self, actor: Actor) -> int:
        """Fewest samples a published cell statistic needs for ``actor`` (1 = all)."""
        if self.sharing == "public" or self.full_access(actor):
            return 1
        return self.k


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
