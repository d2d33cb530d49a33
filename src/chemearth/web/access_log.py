"""The HTTP access log: one line per request, in the Common Log Format with the duration.

::

    127.0.0.1 - 3fa2c1d0e9b8 [05/Dec/2025:09:14:03 +0000] "GET /api/layers HTTP/1.1" 200 5120 0.012

The fields are the client address (behind a trusted proxy, the address it forwarded:
:func:`chemearth.web.hygiene.client_address`), ``-`` (no identd), the actor's token id
(never the token; ``-`` for anonymous requests and for requests refused before their
token was accepted), the time the request arrived (UTC), the request line, the status,
the bytes of the body sent and the seconds the answer took.

What a line never holds: request headers (``Authorization``, ``Cookie``), the body, and
secrets in the request target: the values of query parameters named like a credential
(:data:`SECRET_PARAMS`) and anything shaped like an API token (``ce_<id>_<secret>``)
are replaced by ``REDACTED``. Quotes, backslashes and control characters of the target are
escaped, so a line is always one line.

This is the HTTP-level log of every request; who read which protected data is the audit
log's business (:mod:`chemearth.web.auditing`), which this module does not repeat.

Lines go to a file (``<home>/logs/access.log`` for ``chemearth serve``, rotated at
:data:`MAX_BYTES` with :data:`BACKUPS` old files kept, mode 0600) or to standard error
(``CHEMEARTH_ACCESS_LOG=-``). Several server processes may share the file: each line is
one ``O_APPEND`` write, and a process reopens the file when another has rotated it.

Examples
--------
>>> redact_target("/api/layers?token=abc&lang=en")
'/api/layers?token=REDACTED&lang=en'
>>> redact_target("/x/ce_0123456789ab_" + "A" * 43)
'/x/ce_0123456789ab_REDACTED'
"""

from __future__ import annotations

import io
import logging
import logging.handlers
import os
import re
import sys
import time
from pathlib import Path
from urllib.parse import quote, unquote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chemearth.web.hygiene import client_address

__all__ = ["BACKUPS", "MAX_BYTES", "SECRET_PARAMS", "AccessLog", "access_handler",
           "redact_target"]

#: Size at which the log file is rotated, and how many old files are kept.
MAX_BYTES = 10 * 1024 * 1024
BACKUPS = 5

#: Query parameters whose values are never logged (compared lower-case).
SECRET_PARAMS = frozenset({
    "token", "access_token", "api_token", "api_key", "apikey", "key", "secret",
    "password", "passwd", "auth", "authorization", "session", "chemearth_token",
    "bearer", "signature", "sig", "code",
})

_TOKEN = re.compile(r"(ce_[0-9A-Fa-f]{12}_)[A-Za-z0-9_-]{8,}")
_UNSAFE = re.compile(r'[\x00-\x20\x7f"\\]')
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
           "Dec")


def redact_target(target: str) -> str:
    """The request target with credentials replaced by ``REDACTED``.

    Examples
    --------
    >>> redact_target("/api/collections?API_KEY=x&limit=5&key")
    '/api/collections?API_KEY=REDACTED&limit=5&key'
    """
    path, sep, query = target.partition("?")
    if sep:
        parts = []
        for part in query.split("&"):
            name, eq, _ = part.partition("=")
            secret = eq and unquote(name.replace("+", " ")).strip().lower() in SECRET_PARAMS
            parts.append(f"{name}=REDACTED" if secret else part)
        target = path + "?" + "&".join(parts)
    return _TOKEN.sub(r"\1REDACTED", target)


def _escape(text: str) -> str:
    return _UNSAFE.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)


def _target(scope: Scope) -> str:
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if isinstance(raw, bytes) else quote(str(scope.get("path", "")))
    query = scope.get("query_string") or b""
    if query:
        path += "?" + query.decode("latin-1")
    return _escape(redact_target(path))


def _clf_time(t: float) -> str:
    g = time.gmtime(t)
    return (f"{g.tm_mday:02d}/{_MONTHS[g.tm_mon - 1]}/{g.tm_year:04d}:"
            f"{g.tm_hour:02d}:{g.tm_min:02d}:{g.tm_sec:02d} +0000")


def _actor_id(scope: Scope) -> str:
    actor = (scope.get("state") or {}).get("actor")
    token_id = getattr(actor, "token_id", None)
    return _escape(str(token_id)) if token_id else "-"


class _SharedRotatingFile(logging.handlers.RotatingFileHandler):
    """A size-rotated log file (mode 0600) that several processes may append to: before
    each line, a process whose file was rotated by another reopens the new one."""

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        return open(fd, "a", encoding=self.encoding)

    def emit(self, record: logging.LogRecord) -> None:
        if self.stream is not None:
            try:
                same = os.path.samestat(os.stat(self.baseFilename), os.fstat(self.stream.fileno()))
            except OSError:
                same = False
            if not same:
                self.stream.close()
                self.stream = None
        super().emit(record)

    def doRollover(self) -> None:  # noqa: N802 - logging's name
        """Rotate under a lock the processes share, and only if the file on disk is still
        over the size: several processes reach the size at once, and only the first may
        rotate (the others would rename the fresh file over the first backup, or fail on
        a file already renamed)."""
        import fcntl

        with open(self.baseFilename + ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if self.stream is not None:
                self.stream.close()
                self.stream = None
            try:
                size = os.stat(self.baseFilename).st_size
            except FileNotFoundError:
                size = 0
            if size >= self.maxBytes:  # else another process rotated it first
                for i in range(self.backupCount - 1, 0, -1):
                    src = self.rotation_filename(f"{self.baseFilename}.{i}")
                    if os.path.exists(src):
                        os.replace(src, self.rotation_filename(f"{self.baseFilename}.{i + 1}"))
                if self.backupCount > 0:
                    self.rotate(self.baseFilename,
                                self.rotation_filename(self.baseFilename + ".1"))
            self.stream = self._open()


def access_handler(target: Path | str) -> logging.Handler:
    """A handler writing access lines to ``target``: a file path, or ``"-"`` for stderr.

    The file's folder is made (mode 0700) when missing.
    """
    if str(target) == "-":
        handler: logging.Handler = logging.StreamHandler(sys.stderr)
    else:
        path = Path(target)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        handler = _SharedRotatingFile(path, maxBytes=MAX_BYTES, backupCount=BACKUPS,
                                      encoding="utf-8", delay=True)
    handler.setFormatter(logging.Formatter("%(message)s"))
    return handler


class AccessLog:
    """ASGI middleware: write one access line per HTTP request to ``handler``.

    Put it outermost, so that every answer is logged (cached tiles, 429s, timeouts); an
    exception that escapes the application is logged as status 500 and raised again.
    """

    def __init__(self, app: ASGIApp, handler: logging.Handler,
                 trusted_proxies: tuple[str, ...] = ()) -> None:
        self.app = app
        self.handler = handler
        self.trusted = tuple(trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})  # shared with the routes, which put the actor there
        arrived, started = time.time(), time.monotonic()
        status, sent = 500, 0

        async def send_seen(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_seen)
        finally:
            self._write(scope, arrived, time.monotonic() - started, status, sent)

    def _write(self, scope: Scope, arrived: float, seconds: float, status: int,
               sent: int) -> None:
        line = (f"{_escape(client_address(scope, self.trusted))} - {_actor_id(scope)} "
                f"[{_clf_time(arrived)}] "
                f"\"{_escape(str(scope.get('method', '-')))} {_target(scope)} "
                f"HTTP/{_escape(str(scope.get('http_version', '1.1')))}\" "
                f"{status} {sent if sent else '-'} {seconds:.3f}")
        record = logging.makeLogRecord({"name": "chemearth.access", "msg": line,
                                        "levelno": logging.INFO, "levelname": "INFO"})
        self.handler.handle(record)
