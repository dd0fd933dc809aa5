"""The studio's guard, an ASGI middleware in front of every route.

A page on another site can make the browser send requests to 127.0.0.1: by a name it
controls that resolves there (DNS rebinding: the ``Host`` header is then that name), or by a
form or script posting across origins. So every request must name the server itself in
``Host``; a state-changing request (anything but GET and HEAD) must carry no ``Origin`` or the
server's own, and a JSON body (a plain HTML form cannot send ``application/json`` without
a CORS preflight, which the server never answers yes to). Responses say ``nosniff`` and may
not be framed by another page.
"""
from __future__ import annotations

import json
from typing import Any, Awaitable, Callable, Iterable

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SAFE_METHODS = {"GET", "HEAD"}
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"no-referrer"), (b"cache-control", b"no-store")]


class Address:
    """The names the server answers to, ``host:port``; the port is set once the socket is bound."""

    def __init__(self, host: str, port: int = 0) -> None:
        self.host = host
        self.port = port

    def hosts(self) -> set[str]:
        """
        >>> sorted(Address("127.0.0.1", 8765).hosts())
        ['127.0.0.1:8765', '[::1]:8765', 'localhost:8765']
        >>> sorted(Address("0.0.0.0", 80).hosts())[:1]
        ['0.0.0.0:80']
        """
        names = {*LOOPBACK_NAMES, f"[{self.host}]" if ":" in self.host else self.host}
        return {f"{name}:{self.port}" for name in names}

    def origins(self) -> set[str]:
        return {f"http://{host}" for host in self.hosts()}

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"


def refusal(scope: Scope, address: Address) -> str | None:
    """Why a request is refused, or None.

    >>> address = Address("127.0.0.1", 8765)
    >>> def request(method, **headers):
    ...     return {"type": "http", "method": method, "headers": [(k.encode(), v.encode()) for k, v in headers.items()]}
    >>> refusal(request("GET", host="127.0.0.1:8765"), address) is None
    True
    >>> refusal(request("GET", host="evil.example:8765"), address)
    "the Host 'evil.example:8765' is not this server's"
    >>> refusal(request("POST", host="localhost:8765", origin="http://evil.example"), address)
    "a request from the origin 'http://evil.example' may not change anything here"
    >>> refusal(request("POST", host="localhost:8765", **{"content-type": "text/plain"}), address)
    'the body must be application/json'
    """
    headers = _headers(scope.get("headers", ()))
    host = headers.get("host", "")
    if host.lower() not in address.hosts():
        return f"the Host {host!r} is not this server's"
    if scope.get("method", "GET") in SAFE_METHODS:
        return None
    origin = headers.get("origin")
    if origin is not None and origin.lower() not in address.origins():
        return f"a request from the origin {origin!r} may not change anything here"
    media = headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        return "the body must be application/json"
    return None


def _headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """The headers by lower-case name (latin-1, as HTTP/1.1 carries them); a repeated one keeps
    its first value."""
    found: dict[str, str] = {}
    for key, value in raw:
        found.setdefault(key.decode("latin-1").lower(), value.decode("latin-1"))
    return found


class Guard:
    """Refuse foreign requests with 403 before any route runs; add the security headers."""

    def __init__(self, app: ASGIApp, address: Address) -> None:
        self.app = app
        self.address = address

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        reason = refusal(scope, self.address)
        if reason is not None:
            await _send_json(send, 403, {"error": reason, "hint": "open the address archspec serve printed"})
            return

        async def with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
            await send(message)
        await self.app(scope, receive, with_headers)


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
                            *SECURITY_HEADERS]})
    await send({"type": "http.response.body", "body": payload})
