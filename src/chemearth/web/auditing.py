"""What the website writes to the audit log (:mod:`chemearth.access.audit`).

* :func:`audit_read`: a token reading a dataset that is not public, or an embargoed
  element, with full access (``read``, throttled per token, dataset and kind of data);
  called where the actor is made (:func:`chemearth.web.deps.current_actor`, the pages,
  the cached-tile fast path), for every request that names a dataset.
* :func:`audit`: one event with the request's route and client address (sample
  downloads, accepted uploads).
* :class:`AuditUploads`: uploads answered with anything but 201 (``rejected``,
  ``refused``), whose route stops before it can say so.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chemearth.access.audit import AuditLog
from chemearth.access.policy import Actor, Role
from chemearth.web.hygiene import client_address

__all__ = ["AuditUploads", "audit", "audit_read"]

#: The upload route.
UPLOAD_PATH = "/api/datasets"


def _log(conn: HTTPConnection) -> AuditLog | None:
    log: AuditLog | None = getattr(conn.app.state, "audit", None)
    return log


def _client(conn: HTTPConnection) -> str:
    settings = getattr(conn.app.state, "settings", None)
    return client_address(conn.scope, getattr(settings, "trusted_proxies", ()))


def audit(conn: HTTPConnection, event: str, actor: Actor | None, **fields: Any) -> None:
    """Record ``event`` of ``actor`` with the request's route and client address."""
    log = _log(conn)
    if log is not None:
        log.record(event, actor, route=conn.url.path, client=_client(conn), **fields)


def _elements(text: str | None) -> list[str]:
    return [e.strip() for e in (text or "").split(",") if e.strip()]


def audit_read(
    conn: HTTPConnection, actor: Actor, dataset: str | None = None, element: str | None = None
) -> None:
    """Record a ``read`` when ``actor`` uses a token on data of a dataset that is not
    public, or on an embargoed element, with full access.

    The dataset and elements come from the arguments, else from the route's
    ``dataset``, ``cid`` (``<dataset>.samples``) and ``element`` parameters or the
    ``dataset`` and ``element`` query parameters.
    """
    log = _log(conn)
    if log is None or not log.enabled or actor.role is Role.ANONYMOUS:
        return
    params = conn.scope.get("path_params") or {}
    kind = "dataset"
    if dataset is None:
        dataset = params.get("dataset") or conn.query_params.get("dataset")
        cid = params.get("cid")
        if dataset is None and isinstance(cid, str):
            dataset, _, kind = cid.rpartition(".")
    if not dataset:
        return
    pol = conn.app.state.gateway.snapshot().policies.get(str(dataset))
    if pol is None or not pol.full_access(actor):
        return
    elements = _elements(element or params.get("element") or conn.query_params.get("element"))
    embargoed = sorted(set(elements) & pol.embargo)
    if pol.sharing == "public" and not embargoed:
        return
    data = "samples" if kind == "samples" or "/samples." in conn.url.path else "dataset"
    log.record_read(actor, str(dataset), data, sharing=pol.sharing,
                    elements=elements or None, embargoed=embargoed or None,
                    route=conn.url.path, client=_client(conn), outcome="granted")


_OUTCOMES = {
    202: "queued", 401: "refused", 403: "refused", 429: "refused", 413: "rejected",
    422: "rejected",
}


class AuditUploads:
    """ASGI middleware: record an upload answered with anything but 201.

    The actor is the one :func:`chemearth.web.deps.current_actor` made for the request
    (anonymous when none was made, e.g. for a bad token).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not (scope["type"] == "http" and scope["method"] == "POST"
                and scope["path"] == UPLOAD_PATH):
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_seen(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_seen)
        finally:
            if status != 201:
                conn = HTTPConnection(scope)
                actor = (scope.get("state") or {}).get("actor")
                audit(conn, "upload", actor if isinstance(actor, Actor) else None,
                      outcome=_OUTCOMES.get(status, "failed"), status=status)
