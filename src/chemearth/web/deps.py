"""Request dependencies shared by the routes: the gateway and the actor."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from chemearth.access import Actor
from chemearth.query import Gateway

__all__ = ["COOKIE", "ActorDep", "GatewayDep", "current_actor", "gateway"]

#: Name of the session cookie that carries the API token in the browser.
COOKIE = "chemearth_token"

_bearer = HTTPBearer(auto_error=False, description="An API token: `ce_<id>_<secret>`.")


def gateway(request: Request) -> Gateway:
    """The application's :class:`~chemearth.query.Gateway`."""
    gw: Gateway = request.app.state.gateway
    return gw


def current_actor(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    """The actor: the bearer token's, else the session cookie's, else anonymous.

    A token that is malformed, unknown or revoked is an error (401), never anonymous,
    so a client always knows when its token is not being used.
    """
    token = credentials.credentials if credentials is not None else request.cookies.get(COOKIE)
    return gateway(request).actor(token)


GatewayDep = Annotated[Gateway, Depends(gateway)]
ActorDep = Annotated[Actor, Depends(current_actor)]
