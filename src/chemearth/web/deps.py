"""Request dependencies shared by the routes: the gateway and the actor.

Every door that reads a token (:func:`current_actor`, the pages, the login route and the
cached-tile fast path) goes through :func:`authenticate`, which applies the limit on
failed token attempts; a write carried by the session cookie must come from this site
(:func:`check_origin`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection
from starlette.types import Scope

from chemearth.access.gateway import Gateway
from chemearth.access.policy import Actor
from chemearth.errors import AccessDenied, AuthenticationError
from chemearth.web.auditing import audit_read
from chemearth.web.hygiene import FailedAttempts, client_address, same_origin, sent_origin

__all__ = [
    "COOKIE",
    "ActorDep",
    "GatewayDep",
    "authenticate",
    "base_url",
    "carries_token",
    "check_origin",
    "current_actor",
    "gateway",
    "request_token",
    "token_source",
]

#: Name of the session cookie that carries the API token in the browser.
COOKIE = "chemearth_token"

#: Methods that change something: checked for their origin when the cookie carries them.
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

_bearer = HTTPBearer(auto_error=False, description="An API token: `ce_<id>_<secret>`.")


def gateway(request: Request) -> Gateway:
    """The application's :class:`~chemearth.access.gateway.Gateway`."""
    gw: Gateway = request.app.state.gateway
    return gw


def _bearer_token(conn: HTTPConnection) -> str | None:
    scheme, _, param = conn.headers.get("authorization", "").partition(" ")
    return param if scheme.lower() == "bearer" and param else None


def token_source(conn: HTTPConnection) -> Literal["bearer", "cookie"] | None:
    """Where the request's token is: ``bearer``, ``cookie`` or None."""
    if _bearer_token(conn):
        return "bearer"
    return "cookie" if conn.cookies.get(COOKIE) else None


def request_token(conn: HTTPConnection) -> str | None:
    """The API token a request carries: the bearer token, else the session cookie's."""
    return _bearer_token(conn) or conn.cookies.get(COOKIE)


def carries_token(scope: Scope) -> bool:
    """Whether a request (its ASGI scope) carries an API token."""
    return token_source(HTTPConnection(scope)) is not None


def _trusted(conn: HTTPConnection) -> tuple[str, ...]:
    settings = getattr(conn.app.state, "settings", None)
    return tuple(getattr(settings, "trusted_proxies", ()))


def authenticate(
    conn: HTTPConnection, token: str | None = None, *, count_failure: bool = True
) -> Actor:
    """The actor of ``token`` (default: the request's token), anonymous without one.

    Raises
    ------
    TooManyAttempts
        The client address has failed too often lately (429); no token is checked.
    AuthenticationError
        The token is malformed, unknown or revoked (counted as a failure of the client
        address unless ``count_failure`` is false).
    """
    if token is None:
        token = request_token(conn)
    if not token:
        return Actor.anonymous()
    guard: FailedAttempts | None = getattr(conn.app.state, "auth_guard", None)
    client = client_address(conn.scope, _trusted(conn))
    if guard is not None:
        guard.check(client)
    gw: Gateway = conn.app.state.gateway
    try:
        return gw.actor(token)
    except AuthenticationError:
        if guard is not None and count_failure:
            guard.failed(client)
        raise


def check_origin(conn: HTTPConnection, *, required: bool = True) -> None:
    """Refuse a write that another site makes the browser send.

    A write (POST, PUT, PATCH, DELETE) must carry an ``Origin`` (or ``Referer``) header
    naming this site; with ``required=False`` only one naming another site is refused.

    Raises
    ------
    AccessDenied
        The request comes from another site, or does not say where it comes from.
    """
    if conn.scope.get("method") not in UNSAFE_METHODS:
        return
    if not required and sent_origin(conn.scope) is None:
        return
    if not same_origin(conn.scope, _trusted(conn)):
        raise AccessDenied(
            "cross-site request refused: a write with the session cookie needs an Origin "
            "(or Referer) header naming this site; API clients send their token as "
            "'Authorization: Bearer <token>' instead"
        )


def current_actor(
    request: Request,
    _bearer_scheme: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    """The actor: the bearer token's, else the session cookie's, else anonymous.

    A token that is malformed, unknown or revoked is an error (401), never anonymous,
    so a client always knows when its token is not being used; too many of them from
    one address are refused (429). A write carried by the session cookie must come from
    this site (403). (``_bearer_scheme`` is declared so that the OpenAPI document
    describes the bearer scheme.)
    """
    if token_source(request) == "cookie":
        check_origin(request)
    actor = authenticate(request)
    request.state.actor = actor
    audit_read(request, actor)
    return actor


GatewayDep = Annotated[Gateway, Depends(gateway)]
ActorDep = Annotated[Actor, Depends(current_actor)]


def base_url(request: Request) -> str:
    """The site's address as the client reached it, without the trailing slash (the
    prefix of every link an answer gives)."""
    return str(request.base_url).rstrip("/")
