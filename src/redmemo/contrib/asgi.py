"""Whole-response caching for ASGI apps (FastAPI, Starlette, and any other):

    def tags(scope):
        return ["products"] if scope["path"].startswith("/products") else []

    app.add_middleware(ResponseCache, cache=cache, ttl=60, refresh=10, tags=tags)

GET requests are answered from the cache; a miss runs the app once per key across every
process (the others wait for it, as for ``@cache``), and with ``refresh`` a stale
response is served while one refresh runs behind. What is kept: responses with a status
in ``statuses`` (200 by default) that set no cookie and are not marked ``private``,
``no-store`` or ``no-cache``. Requests with an ``Authorization`` header pass through
untouched, as do other methods. Responses carry ``x-cache: hit`` or ``miss``.

The key is the method, path, sorted query and the request headers named in ``vary``
(``accept`` and ``accept-encoding`` by default); ``key=`` (a callable on the ASGI scope,
returning a str, or None to bypass the cache) replaces it. Invalidate with ``tags=`` and
``cache.invalidate_tags``, or ``cache.invalidate_pattern("http:GET:/products*")``.
The body is held in memory whole: put it in front of responses that fit there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping, Sequence
from typing import Any

from ..cache import Cache
from ..core.durations import Duration
from ._responses import StoredResponse, request_key, storable

__all__ = ["ResponseCache"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class ResponseCache:
    """ASGI middleware that caches whole GET responses in a redmemo Cache (see module)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        cache: Cache,
        ttl: Duration | None = None,
        refresh: Duration | None = None,
        key: Callable[[Scope], str | None] | None = None,
        tags: Callable[[Scope], Iterable[str]] | None = None,
        vary: Sequence[str] = ("accept", "accept-encoding"),
        statuses: Sequence[int] = (200,),
        header: str | None = "x-cache",
        name: str = "asgi-responses",
    ) -> None:
        self.app = app
        self.cache = cache
        self._key = key
        self._tags = tags
        self._vary = [v.lower() for v in vary]
        self._statuses = tuple(statuses)
        self._header = None if header is None else header.lower().encode("latin-1")

        async def respond(key: str, tags: tuple[str, ...], scope: Scope) -> StoredResponse:
            return await self._run(scope)

        self._respond = cache(
            ttl=ttl,
            refresh=refresh,
            name=name,
            key="{key}",
            tags=lambda c: c.tags,
            unless=lambda response: not response.storable,
        )(respond)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or _authorized(scope):
            await self.app(scope, receive, send)
            return
        key = self._key(scope) if self._key is not None else self._default_key(scope)
        if key is None:
            await self.app(scope, receive, send)
            return
        tags = tuple(self._tags(scope)) if self._tags is not None else ()
        served: list[bool] = []
        response = await self._respond(key, tags, _Request(scope, served))
        await self._send(response, send, hit=not served)

    def _default_key(self, scope: Scope) -> str:
        headers = dict(scope.get("headers") or ())
        vary = [(n, _text(headers.get(n.encode("latin-1")))) for n in self._vary]
        path = scope.get("root_path", "") + scope["path"]
        return request_key("GET", path, _text(scope.get("query_string")) or "", vary)

    async def _run(self, scope: Scope) -> StoredResponse:
        """The app's whole response to a GET ``scope``, collected (also for a refresh
        behind a stale response, when the client is long gone)."""
        if isinstance(scope, _Request):
            scope.ran.append(True)
        parts: list[bytes] = []
        start: dict[str, Any] = {}
        delivered = False

        async def receive() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": b"", "more_body": False}
            return {"type": "http.disconnect"}

        async def collect(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                parts.append(bytes(message.get("body", b"")))

        await self.app(dict(scope), receive, collect)
        status = int(start.get("status", 500))
        headers = tuple(
            (bytes(n).decode("latin-1"), bytes(v).decode("latin-1"))
            for n, v in start.get("headers", ())
        )
        keep = storable(status, headers, self._statuses)
        return StoredResponse(status, headers, b"".join(parts), keep)

    async def _send(self, response: StoredResponse, send: Send, *, hit: bool) -> None:
        headers = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in response.headers]
        if self._header is not None:
            headers.append((self._header, b"hit" if hit else b"miss"))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": response.body, "more_body": False})


class _Request(dict[str, Any]):
    """The ASGI scope, marked with whether this caller's own request ran the app."""

    def __init__(self, scope: Scope, ran: list[bool]) -> None:
        super().__init__(scope)
        self.ran = ran


def _authorized(scope: Scope) -> bool:
    return any(name.lower() == b"authorization" for name, _ in scope.get("headers") or ())


def _text(raw: bytes | None) -> str | None:
    return None if raw is None else raw.decode("latin-1")
