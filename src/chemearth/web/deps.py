"""Request dependencies shared by the routes: the gateway and the actor."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

from chemearth.access.gateway import Gateway
from chemearth.access.policy import Actor

__all__ = ["COOKIE", "ActorDep", "GatewayDep", "current_actor", "gateway", "request_token"]

#: Name of the session cookie that carries the API token in the browser.
COOKIE = "chemearth_token"

_bearer = HTTPBearer(auto_error=False, description="An API token: `ce_<id>_<secret>`.")


def gateway(request: Request) -> Gateway:
    """The application's :class:`~chemearth.access.gateway.Gateway`."""
    gw: Gateway = request.app.state.gateway
    return gw


def request_token(conn: HTTPConnection) -> str | None:
    """The API token a request carries: the bearer token, else the session cookie's."""
    scheme, _, param = conn.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and param:
        return param
    return conn.cookies.get(COOKIE)


def current_actor(
    request: Request,
    _bearer_scheme: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    """The actor: the bearer token's, else the session cookie's, else anonymous.

    A token that is malformed, unknown or revoked is an error (401), never anonymous,
    so a client always knows when its token is not being used. (``_bearer_scheme`` is
    declared so that the OpenAPI document describes the bearer scheme.)
    """
    return gateway(request).actor(request_token(request))


GatewayDep = Annotated[Gateway, Depends(gateway)]
ActorDep = Annotated[Actor, Depends(current_actor)]
