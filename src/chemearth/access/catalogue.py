"""The catalogue as an actor may see it: who the actor is, which datasets and elements
exist for them, and each dataset's entry and sharing policy.

:class:`Catalogue` wraps a store and applies the sharing rules of
:mod:`chemearth.access.policy`: restricted datasets and embargoed elements are invisible
(the same :class:`~chemearth.errors.NotFoundError` as for something that does not exist).
It keeps one snapshot of the catalogue, re-read when the store changes, and memoises
answers per snapshot and per what an actor may see. :class:`~chemearth.access.gateway.Gateway`
builds the layer, feature and sample reads on it; :func:`~chemearth.access.uploads.upload`
the write path.

Examples
--------
>>> from chemearth.access.policy import Actor
>>> cat = Catalogue(store)                                       # doctest: +SKIP
>>> [d["dataset_id"] for d in cat.datasets(Actor.anonymous())]   # doctest: +SKIP
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chemearth.access.policy import MIN_CELL_N, Actor, Policy, policies_from_catalogue
from chemearth.access.tokens import TokenStore
from chemearth.errors import AccessDenied, NotFoundError
from chemearth.jsonable import finite
from chemearth.store.base import Store
from chemearth.store.selectors import string_list

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["MAX_ROWS", "Catalogue", "Snapshot"]

#: Most rows (features, cells) one request may return.
MAX_ROWS = 10_000
#: Seconds a catalogue snapshot is trusted when the store cannot say it changed.
_REFRESH_S = 2.0


@dataclass
class Snapshot:
    """The catalogue as read at one time: dataset records, policies and layer inventory."""

    generation: object
    taken: float
    records: dict[str, dict[str, Any]]
    policies: dict[str, Policy]
    inventory: pd.DataFrame  # Store.cell_inventory()
    memo: dict[Hashable, Any] = field(default_factory=dict)
    #: a lock per memo key, held while it is computed (see :meth:`Catalogue.memo`)
    making: dict[Hashable, threading.RLock] = field(default_factory=dict)


class Catalogue:
    """Read a store's catalogue on behalf of actors, applying every sharing rule.

    Parameters
    ----------
    store : Store
        The store.
    tokens : TokenStore, optional
        API tokens (default: ``access.json`` in an embedded store's directory).
    k : int
        Fewest samples behind a published cell of an aggregated-only dataset.
    max_rows : int
        Most rows one request returns.
    """

    def __init__(
        self,
        store: Store,
        tokens: TokenStore | None = None,
        k: int = MIN_CELL_N,
        max_rows: int = MAX_ROWS,
    ) -> None:
        self.store = store
        self.tokens: TokenStore | None = tokens if tokens is not None else TokenStore(store)
        self.k = k
        self.max_rows = max_rows
        self._lock = threading.RLock()
        self._making = threading.Lock()
        self._snap: Snapshot | None = None

    def _snapshot_changed(self) -> None:
        """Called (under the lock) when a new snapshot replaces the old one."""

    def actor(self, token: str | None) -> Actor:
        """The actor of an API token (anonymous without one).

        Raises
        ------
        AuthenticationError
            For a token that is malformed, unknown or revoked.
        """
        if not token:
            return Actor.anonymous()
        if self.tokens is None:
            from chemearth.errors import AuthenticationError

            raise AuthenticationError("invalid or revoked API token")
        return self.tokens.authenticate(token)

    def snapshot(self) -> Snapshot:
        """The catalogue as last read; re-read when the store changed."""
        gen = self.store.generation()
        snap = self._snap
        now = time.monotonic()
        if snap is not None and (
            (gen is not None and gen == snap.generation)
            or (gen is None and now - snap.taken < _REFRESH_S)
        ):
            return snap
        with self._lock:
            if self._snap is not None and self._snap is not snap:
                return self._snap
            datasets = self.store.datasets()
            records = [{str(k): v for k, v in r.items()} for r in datasets.to_dict("records")]
            snap = Snapshot(
                generation=gen,
                taken=now,
                records={str(r["dataset_id"]): r for r in records},
                policies=policies_from_catalogue(records, self.k),
                inventory=self.store.cell_inventory(),
            )
            self._snap = snap
            self._snapshot_changed()
            return snap

    def memo(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """``make()``, computed once per catalogue snapshot and ``key``.

        Requests that want it while it is being computed wait for it rather than compute
        it too: on a busy site every request of a kind that came in after an upload was
        published computed the same answer at once (the layer list takes seconds), so
        each took ever longer, past the site's time limit.
        """
        snap = self.snapshot()
        memo = snap.memo
        if key in memo:
            return memo[key]
        with self._making:
            lock = snap.making.setdefault(key, threading.RLock())
        with lock:
            if key not in memo:
                memo[key] = make()
        return memo[key]

    def sight(self, actor: Actor) -> tuple[Hashable, ...]:
        """What ``actor`` may see, as a hashable key for :meth:`memo`."""
        snap = self.snapshot()
        return tuple(
            (d, p.min_cell_n(actor), tuple(sorted(e for e in p.embargo
                                                  if not p.element_visible(actor, e))))
            for d, p in sorted(snap.policies.items())
            if p.visible(actor)
        )

    def policy(self, actor: Actor, dataset_id: str) -> Policy:
        """The policy of a dataset ``actor`` may see.

        Raises
        ------
        NotFoundError
            The dataset does not exist or is restricted (one message for both).
        """
        pol = self.snapshot().policies.get(dataset_id)
        if pol is None or not pol.visible(actor):
            raise NotFoundError(f"dataset {dataset_id!r} not found")
        return pol

    def visible_datasets(self, actor: Actor, snap: Snapshot | None = None) -> list[str]:
        """Ids of the datasets ``actor`` may see, sorted (in ``snap``, else the latest
        snapshot: a caller holding one passes it, since a dataset published meanwhile is
        in the latest one only)."""
        snap = snap if snap is not None else self.snapshot()
        return sorted(d for d, p in snap.policies.items() if p.visible(actor))

    def dataset(self, actor: Actor, dataset_id: str) -> dict[str, Any]:
        """The catalogue entry of one dataset as ``actor`` may see it."""
        pol = self.policy(actor, dataset_id)
        row = self.snapshot().records[dataset_id]
        full = pol.full_access(actor)
        elements = sorted(str(e) for e in string_list(row.get("elements")))
        shown = [e for e in elements if pol.element_visible(actor, e)]
        out = {
            "dataset_id": dataset_id,
            "version": int(row["version"]),
            "title": str(row["title"]),
            "organisation": str(row["organisation"]),
            "countries": string_list(row.get("countries")),
            "media": string_list(row.get("media")),
            "depth_top_cm": finite(row.get("depth_top_cm")),
            "depth_bottom_cm": finite(row.get("depth_bottom_cm")),
            "sampling_years": [int(y) for y in string_list(row.get("sampling_years"))],
            "methods": string_list(row.get("methods")),
            "licence": str(row["licence"]),
            "citation": str(row["citation"]),
            "url": str(row["url"] or ""),
            "kind": str(row["kind"]),
            "sharing": pol.sharing,
            "embargo": full and bool(pol.embargo),  # told only to full access
            "samples_visible": pol.samples_visible(actor),
            "min_cell_n": pol.min_cell_n(actor),
            "n_samples": int(row["n_samples"]),
            "elements": shown,
            "ingested_at": str(row["ingested_at"]),
        }
        if full:
            out["embargoed_elements"] = sorted(pol.embargo)
            out["sharing_organisations"] = sorted(pol.organisations)
        return out

    def datasets(self, actor: Actor) -> list[dict[str, Any]]:
        """Catalogue entries of every dataset ``actor`` may see."""
        return [self.dataset(actor, d) for d in self.visible_datasets(actor)]

    def countries(self, actor: Actor) -> list[dict[str, Any]]:
        """Per country: datasets, samples and data items ``actor`` may see.

        Like :meth:`Store.country_summary`, quality-control and textbook datasets and
        second files of one survey are left out; embargoed elements are not counted.
        """
        return list(self.memo(("countries", self.sight(actor)),
                               lambda: self._countries(actor)))

    def _countries(self, actor: Actor) -> list[dict[str, Any]]:
        snap = self.snapshot()
        rows: dict[str, dict[str, Any]] = {}
        for ds in self.visible_datasets(actor, snap):
            rec = snap.records[ds]
            if str(rec["kind"]) != "survey" or str(rec.get("same_samples_as") or ""):
                continue
            pol = snap.policies[ds]
            hidden = sorted(e for e in pol.embargo if not pol.element_visible(actor, e))
            m = self.store.measurements(ds, elements=None)
            if hidden:
                m = m[~m["element"].astype(str).isin(hidden)]
            country = m["country"].astype(object).where(m["country"].notna(), "?").astype(str)
            per = m.assign(country=country).groupby("country", observed=True)
            for c, g in per:
                r = rows.setdefault(str(c), {"country": str(c), "datasets": set(),
                                             "samples": 0, "data_items": 0})
                r["datasets"].add(ds)
                r["samples"] += int(g["sample_index"].nunique())
                r["data_items"] += len(g)
        out = []
        for c in sorted(rows):
            r = rows[c]
            out.append({**r, "datasets": len(r["datasets"]), "dataset_ids": sorted(r["datasets"])})
        return out

    def elements(self, actor: Actor) -> list[dict[str, Any]]:
        """Every element ``actor`` may see, with the datasets that hold it."""
        snap = self.snapshot()
        by: dict[str, list[str]] = {}
        for ds in self.visible_datasets(actor, snap):
            pol = snap.policies[ds]
            for e in string_list(snap.records[ds].get("elements")):
                if pol.element_visible(actor, e):
                    by.setdefault(e, []).append(ds)
        return [{"element": e, "datasets": by[e]} for e in sorted(by)]

    def sample_policy(self, actor: Actor, dataset_id: str) -> Policy:
        """The policy of a dataset whose samples ``actor`` may see, else AccessDenied."""
        pol = self.policy(actor, dataset_id)
        if not pol.samples_visible(actor):
            raise AccessDenied(
                f"the sample data of dataset {dataset_id!r} are shared as grid layers only"
            )
        return pol
