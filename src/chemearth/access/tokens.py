"""API tokens: who an actor is.

API tokens are ``ce_<id>_<secret>`` with a 256-bit secret. Only their SHA-256 is kept
(in ``access.json`` in the store directory) and it is compared in constant time. A
fast hash is right here because the secret is random, not a password: guessing
2**256 values is out of reach whatever the hash costs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chemearth.access.policy import Actor, Role, check_actor
from chemearth.errors import AccessDenied, AuthenticationError, ChemearthError
from chemearth.store.base import Store
from chemearth.store.embedded_files import read_document, update_document

__all__ = ["TokenRecord", "TokenStore"]

_TOKEN = re.compile(r"ce_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")


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
        """The actor this token stands for (a ``public`` token never carries an
        organisation or grants, even if an old access file says so)."""
        if self.role is Role.PUBLIC:
            return Actor(self.name, self.role, "", frozenset(), self.token_id)
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
    """API tokens, kept hashed by the store (``access.json`` in the embedded store's
    folder, a document table in the server store).

    Parameters
    ----------
    home : Store or Path
        The store, or the folder of an ``access.json``.

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

    #: The document's name in the store.
    DOCUMENT = "access.json"

    def __init__(self, home: Store | Path) -> None:
        self.store: Store | None = None
        folder: Path | None
        if isinstance(home, Store):
            self.store = home
            folder = getattr(home, "home", None)
        else:
            folder = Path(home)
        self.path: Path | None = Path(folder) / self.DOCUMENT if folder is not None else None
        self._lock = threading.Lock()
        self._cache: tuple[object, dict[str, TokenRecord]] = (None, {})

    @property
    def where(self) -> str:
        """Where the tokens are kept, for messages."""
        if self.path is not None:
            return str(self.path)
        return f"{self.store.location if self.store else '?'} ({self.DOCUMENT})"

    # ---------------------------------------------------------------- reading

    def _document(self) -> tuple[object, str | None]:
        if self.store is not None:
            return self.store.read_document(self.DOCUMENT)
        assert self.path is not None
        return read_document(self.path)

    def records(self) -> dict[str, TokenRecord]:
        """All tokens by id (re-read when the document changed)."""
        stamp, text = self._document()
        cached_stamp, recs = self._cache
        if stamp is not None and stamp == cached_stamp:
            return recs
        with self._lock:
            recs = self._parse(text)
            self._cache = (stamp, recs)
        return recs

    def _parse(self, text: str | None) -> dict[str, TokenRecord]:
        if text is None:
            return {}
        try:
            data = json.loads(text)
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
            raise ChemearthError(f"access file {self.where} is corrupt: {exc}") from None

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

    def _edit(self, change: Callable[[dict[str, TokenRecord]], None]) -> None:
        """Apply ``change`` to the records and write them back, atomically and serialised
        with every other edit in every process (two edits never lose each other)."""

        def update(old: str | None) -> str:
            recs = self._parse(old)
            change(recs)
            return json.dumps({"tokens": [r.to_dict() for r in recs.values()]}, indent=1)

        if self.store is not None:
            self.store.update_document(self.DOCUMENT, update)
        else:
            assert self.path is not None
            update_document(self.path, update)
        self._cache = (None, {})

    def create(
        self,
        name: str,
        role: str | Role,
        organisation: str = "",
        grants: Iterable[str] = (),
    ) -> str:
        """Create a token and return it; only its hash is kept, so show it once.

        Raises
        ------
        AccessDenied
            For a role, organisation and grants that do not go together
            (:func:`~chemearth.access.policy.check_actor`): a ``public`` token carries no
            organisation and no grants, a data owner's needs an organisation.
        """
        role = check_actor(role, organisation, grants)
        token_id = secrets.token_hex(6)
        token = f"ce_{token_id}_{secrets.token_urlsafe(32)}"
        record = TokenRecord(
            token_id=token_id,
            name=name,
            role=role,
            organisation=organisation,
            sha256=_hash(token),
            grants=sorted(set(grants)),
            created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        )
        self._edit(lambda recs: recs.__setitem__(token_id, record))
        return token

    def _change(self, token_id: str, change: Callable[[TokenRecord], None]) -> None:
        def edit(recs: dict[str, TokenRecord]) -> None:
            if token_id not in recs:
                raise ChemearthError(f"no token with id {token_id!r}")
            change(recs[token_id])

        self._edit(edit)

    def revoke(self, token_id: str) -> None:
        """Revoke a token (it stays listed, marked revoked)."""

        def revoked(rec: TokenRecord) -> None:
            rec.revoked = True

        self._change(token_id, revoked)

    def grant(self, token_id: str, dataset_id: str, revoke: bool = False) -> None:
        """Grant (or with ``revoke`` withdraw) full access to a dataset (partners only)."""

        def granted(rec: TokenRecord) -> None:
            if not revoke and rec.role is not Role.PARTNER:
                raise AccessDenied(
                    f"only 'partner' tokens carry grants; token {token_id} is {str(rec.role)!r}")
            grants = set(rec.grants)
            grants.discard(dataset_id) if revoke else grants.add(dataset_id)
            rec.grants = sorted(grants)

        self._change(token_id, granted)
