"""Who may see what: sharing policies, actors, roles and hashed API tokens.

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

This module holds the rules; :mod:`chemearth.query` applies them on every read, so
every door (pages, API, tiles, downloads, error messages) obeys the same code.

API tokens are ``ce_<id>_<secret>`` with a 256-bit secret. Only their SHA-256 is kept
(in ``access.json`` in the store directory) and it is compared in constant time. A
fast hash is right here because the secret is random, not a password: guessing
2**256 values is out of reach whatever the hash costs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chemearth.errors import AuthenticationError, ChemearthError

__all__ = [
    "MIN_CELL_N",
    "Actor",
    "Policy",
    "Role",
    "TokenRecord",
    "TokenStore",
    "policies_from_catalogue",
    "string_list",
]

#: Fewest samples behind a published cell statistic of an ``aggregated`` dataset.
MIN_CELL_N = 3

_TOKEN = re.compile(r"ce_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")


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


def string_list(value: Any) -> list[str]:
    """A catalogue list column (list, array, None or NaN) as a list of strings.

    Examples
    --------
    >>> string_list(["U", None, "Th"]), string_list(None), string_list(float("nan"))
    (['U', 'Th'], [], [])
    """
    try:
        return [str(v) for v in value if v is not None]
    except TypeError:  # None, NaN: not a list
        return []


# ---------------------------------------------------------------------- tokens


@dataclass
class TokenRecord:
    """One API token as stored: everything but the secret."""

    token_id: str
    name: str
    role: Role
    organisation: str
    sha256: str
    grants: list[str] = field(default_factory=list)
    created: str = ""
    revoked: bool = False

    def actor(self) -> Actor:
        """The actor this token stands for."""
        return Actor(self.name, self.role, self.organisation, frozenset(self.grants), self.token_id)

    def to_dict(self, secret_hash: bool = True) -> dict[str, Any]:
        """JSON-ready (with the hash only if ``secret_hash``)."""
        d = {
            "token_id": self.token_id,
            "name": self.name,
            "role": str(self.role),
            "organisation": self.organisation,
            "grants": list(self.grants),
            "created": self.created,
            "revoked": self.revoked,
        }
        if secret_hash:
            d["sha256"] = self.sha256
        return d


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# a fixed hash to compare against when the id is unknown, so both paths cost the same
_DUMMY = _hash("ce_000000000000_" + "0" * 43)


class TokenStore:
    """API tokens kept hashed in ``<home>/access.json``.

    Parameters
    ----------
    home : Path
        The store directory.

    Examples
    --------
    >>> import tempfile
    >>> tokens = TokenStore(Path(tempfile.mkdtemp()))
    >>> secret = tokens.create("alice", "owner", organisation="NGU")
    >>> tokens.authenticate(secret).role
    <Role.OWNER: 'owner'>
    >>> secret in Path(tokens.path).read_text()
    False
    """

    def __init__(self, home: Path) -> None:
        self.path = Path(home) / "access.json"
        self._lock = threading.Lock()
        self._cache: tuple[tuple[int, int] | None, dict[str, TokenRecord]] = (None, {})

    # ---------------------------------------------------------------- reading

    def _stamp(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return st.st_mtime_ns, st.st_size

    def records(self) -> dict[str, TokenRecord]:
        """All tokens by id (re-read when the file changed)."""
        stamp = self._stamp()
        cached_stamp, recs = self._cache
        if stamp == cached_stamp and (recs or stamp is None):
            return recs
        with self._lock:
            recs = self._read()
            self._cache = (stamp, recs)
        return recs

    def _read(self) -> dict[str, TokenRecord]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return {
                t["token_id"]: TokenRecord(
                    token_id=t["token_id"],
                    name=t["name"],
                    role=Role(t["role"]),
                    organisation=t.get("organisation", ""),
                    sha256=t["sha256"],
                    grants=list(t.get("grants", [])),
                    created=t.get("created", ""),
                    revoked=bool(t.get("revoked", False)),
                )
                for t in data.get("tokens", [])
            }
        except (ValueError, KeyError, TypeError) as exc:
            raise ChemearthError(f"access file {self.path} is corrupt: {exc}") from None

    def authenticate(self, token: str) -> Actor:
        """The actor of ``token``.

        Raises
        ------
        AuthenticationError
            The token is malformed, unknown or revoked (one message for all three).
        """
        m = _TOKEN.fullmatch(token.strip())
        rec = self.records().get(m.group(1)) if m else None
        expected = rec.sha256 if rec is not None else _DUMMY
        ok = hmac.compare_digest(_hash(token.strip()), expected)
        if not ok or rec is None or rec.revoked:
            raise AuthenticationError("invalid or revoked API token")
        return rec.actor()

    # ---------------------------------------------------------------- writing

    @contextlib.contextmanager
    def _editing(self) -> Iterator[dict[str, TokenRecord]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            recs = self._read()
            yield recs
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(
                json.dumps({"tokens": [r.to_dict() for r in recs.values()]}, indent=1),
                encoding="utf-8",
            )
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        self._cache = (None, {})

    def create(
        self,
        name: str,
        role: str | Role,
        organisation: str = "",
        grants: Iterable[str] = (),
    ) -> str:
        """Create a token and return it; only its hash is kept, so show it once."""
        role = Role(role)
        if role is Role.ANONYMOUS:
            raise ChemearthError("a token cannot have the role 'anonymous'")
        if role is Role.OWNER and not organisation:
            raise ChemearthError("a data owner's token needs an organisation")
        token_id = secrets.token_hex(6)
        token = f"ce_{token_id}_{secrets.token_urlsafe(32)}"
        with self._editing() as recs:
            recs[token_id] = TokenRecord(
                token_id=token_id,
                name=name,
                role=role,
                organisation=organisation,
                sha256=_hash(token),
                grants=sorted(set(grants)),
                created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            )
        return token

    def _change(self, token_id: str) -> contextlib.AbstractContextManager[TokenRecord]:
        @contextlib.contextmanager
        def edit() -> Iterator[TokenRecord]:
            with self._editing() as recs:
                if token_id not in recs:
                    raise ChemearthError(f"no token with id {token_id!r}")
                yield recs[token_id]

        return edit()

    def revoke(self, token_id: str) -> None:
        """Revoke a token (it stays listed, marked revoked)."""
        with self._change(token_id) as rec:
            rec.revoked = True

    def grant(self, token_id: str, dataset_id: str, revoke: bool = False) -> None:
        """Grant (or with ``revoke`` withdraw) full access to a dataset."""
        with self._change(token_id) as rec:
            grants = set(rec.grants)
            grants.discard(dataset_id) if revoke else grants.add(dataset_id)
            rec.grants = sorted(grants)
