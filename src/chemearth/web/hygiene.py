"""Web hygiene: the failed-token limit, where a request really comes from, and the
headers every answer carries.

* :class:`FailedAttempts` counts failed API-token attempts per client address in a
  sliding window; past the limit every token of that address is refused with
  :class:`TooManyAttempts` (429, ``Retry-After``) until the oldest failure leaves the
  window, a good token too, so the limit cannot be used as an oracle.
* :func:`client_address`, :func:`is_https` and :func:`same_origin` believe
  ``X-Forwarded-For``, ``X-Forwarded-Proto`` and ``X-Forwarded-Host`` only from the
  addresses of ``WebSettings.trusted_proxies``.
* :class:`Hygiene`, the outermost middleware, marks every answer
  ``X-Content-Type-Options: nosniff``, adds ``Vary: Authorization, Cookie`` to every
  answer that is not a static file, and makes every answer to a request that carries a
  token (bearer or session cookie) ``private`` (``private, no-store`` when the route set
  no ``Cache-Control``).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Collection
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chemearth.errors import AuthenticationError

__all__ = [
    "FailedAttempts",
    "Hygiene",
    "TooManyAttempts",
    "client_address",
    "is_https",
    "same_origin",
]

#: Client addresses whose failures are remembered at most (the oldest are forgotten).
MAX_CLIENTS = 100_000
_DEFAULT_PORTS = {"http": 80, "https": 443}


class TooManyAttempts(AuthenticationError):
    """Too many failed token attempts from one client address (429)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"too many failed token attempts from your address; try again in {retry_after} s"
        )
        self.retry_after = retry_after


class FailedAttempts:
    """Failed token attempts per client address, in a sliding window (thread-safe).

    Parameters
    ----------
    limit : int
        Failures allowed per ``window_s``; 0 means no limit.
    window_s : float
        The window, in seconds.
    clock : callable
        Monotonic seconds (tests pass their own).

    Examples
    --------
    >>> guard = FailedAttempts(1)
    >>> guard.failed("192.0.2.1")
    >>> try:
    ...     guard.check("192.0.2.1")
    ... except TooManyAttempts as exc:
    ...     print(exc.retry_after)
    60
    """

    def __init__(
        self, limit: int, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, client: str) -> None:
        """Raise :class:`TooManyAttempts` while ``client`` is over the limit."""
        if self.limit <= 0:
            return
        with self._lock:
            times = self._failures.get(client)
            if times is None or len(times) < self.limit:
                return
            wait = times[0] + self.window_s - self._clock()
        if wait > 0:
            raise TooManyAttempts(max(1, math.ceil(wait)))

    def failed(self, client: str) -> None:
        """Count one failed attempt of ``client``."""
        if self.limit <= 0:
            return
        now = self._clock()
        with self._lock:
            times = self._failures.pop(client, None) or deque(maxlen=self.limit)
            times.append(now)
            self._failures[client] = times  # the most recent failure last
            # forget the clients whose latest failure has left the window (the first ones)
            while self._failures:
                oldest = next(iter(self._failures.values()))
                if oldest[-1] > now - self.window_s and len(self._failures) <= MAX_CLIENTS:
                    break
                self._failures.popitem(last=False)


def _client_host(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else ""


def _forwarded(headers: Headers, name: str) -> list[str]:
    return [v.strip() for v in headers.get(name, "").split(",") if v.strip()]


def client_address(scope: Scope, trusted: Collection[str] = ()) -> str:
    """The client's address: the peer's, or behind a trusted proxy the last address of
    ``X-Forwarded-For`` that is not a trusted proxy."""
    host = _client_host(scope)
    if host not in trusted:
        return host
    chain = _forwarded(Headers(scope=scope), "x-forwarded-for")
    for addr in reversed(chain):
        if addr not in trusted:
            return addr
    return chain[0] if chain else host


def is_https(scope: Scope, trusted: Collection[str] = ()) -> bool:
    """True when the client reached the site over HTTPS (directly, or as a trusted
    proxy's ``X-Forwarded-Proto`` says)."""
    if scope.get("scheme") in ("https", "wss"):
        return True
    if _client_host(scope) not in trusted:
        return False
    proto = _forwarded(Headers(scope=scope), "x-forwarded-proto")
    return bool(proto) and proto[0].lower() == "https"


def _origin(url: str) -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` of a URL or origin, None when it has none."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    return scheme, host, port if port is not None else _DEFAULT_PORTS[scheme]


def own_origin(scope: Scope, trusted: Collection[str] = ()) -> tuple[str, str, int] | None:
    """The site's own origin as the client sees it."""
    headers = Headers(scope=scope)
    host = headers.get("host", "")
    if _client_host(scope) in trusted:
        host = (_forwarded(headers, "x-forwarded-host") or [host])[0]
    scheme = "https" if is_https(scope, trusted) else "http"
    return _origin(f"{scheme}://{host}") if host else None


def sent_origin(scope: Scope) -> str | None:
    """The ``Origin`` header, else the ``Referer`` header, else None."""
    headers = Headers(scope=scope)
    return headers.get("origin") or headers.get("referer") or None


def same_origin(scope: Scope, trusted: Collection[str] = ()) -> bool:
    """True when the request's ``Origin`` (or ``Referer``) is this site's own origin."""
    sent = sent_origin(scope)
    if sent is None:
        return False
    mine = own_origin(scope, trusted)
    return mine is not None and _origin(sent) == mine


class Hygiene:
    """ASGI middleware, outermost: ``nosniff`` on every answer; ``Vary`` on every answer
    but static files; ``private`` caching of every answer to a request with a token.

    Parameters
    ----------
    app : ASGIApp
        The application.
    carries_token : callable
        Whether a request (its ASGI scope) carries an API token, bearer or cookie.
    static : tuple of str
        Path prefixes of static files, the same for everyone.
    """

    def __init__(
        self,
        app: ASGIApp,
        carries_token: Callable[[Scope], bool],
        static: tuple[str, ...] = ("/static/", "/vendor/"),
    ) -> None:
        self.app = app
        self.carries_token = carries_token
        self.static = static

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        dynamic = not str(scope.get("path", "")).startswith(self.static)
        private = dynamic and self.carries_token(scope)

        async def send_marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["x-content-type-options"] = "nosniff"
                if dynamic:
                    _vary(headers)
                if private:
                    _private(headers)
            await send(message)

        await self.app(scope, receive, send_marked)


def _vary(headers: MutableHeaders) -> None:
    have = [v.strip() for v in headers.get("vary", "").split(",") if v.strip()]
    lower = {v.lower() for v in have}
    headers["vary"] = ", ".join(have + [v for v in ("Authorization", "Cookie")
                                        if v.lower() not in lower])


def _private(headers: MutableHeaders) -> None:
    cache = headers.get("cache-control")
    if cache is None:
        headers["cache-control"] = "private, no-store"
    elif "public" in cache:
        headers["cache-control"] = cache.replace("public", "private")
    elif "private" not in cache and "no-store" not in cache:
        headers["cache-control"] = f"private, {cache}"
