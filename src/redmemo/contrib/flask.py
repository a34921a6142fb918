"""Whole-response caching for Flask views:

    responses = ResponseCache(cache, ttl=60)

    @app.get("/products/<int:product_id>")
    @responses.cached(tags=lambda product_id: [f"product:{product_id}"])
    def product(product_id): ...

A GET is answered from the cache; a miss runs the view once per key across every process
and thread (the others wait for it, as for ``@cache``). What is kept: responses with a
status in ``statuses`` (200 by default) that set no cookie and are not marked
``private``, ``no-store`` or ``no-cache``. Requests with an ``Authorization`` header, and
other methods, run the view untouched. Responses carry ``X-Cache: hit`` or ``miss``.

The key is the path, sorted query and the request headers named in ``vary`` (``Accept``
and ``Accept-Encoding`` by default); ``key=`` (a callable on the view's keyword
arguments, reading ``flask.request`` as it needs, returning a str or None to bypass the
cache) replaces it. ``tags=`` is a callable on the view's keyword arguments. No
``refresh``: a refresh behind a stale response would run the view outside its request.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from flask import Response, make_response, request

from ..cache import Cache
from ..core.durations import Duration
from ._responses import StoredResponse, request_key, storable

__all__ = ["ResponseCache"]

View = TypeVar("View", bound=Callable[..., Any])


class ResponseCache:
    """Caches whole Flask view responses in a redmemo Cache (see the module)."""

    def __init__(
        self,
        cache: Cache,
        *,
        ttl: Duration | None = None,
        vary: Sequence[str] = ("Accept", "Accept-Encoding"),
        statuses: Sequence[int] = (200,),
        header: str | None = "X-Cache",
        name: str = "flask-responses",
    ) -> None:
        self.cache = cache
        self._vary = tuple(vary)
        self._statuses = tuple(statuses)
        self._header = header

        def respond(key: str, tags: tuple[str, ...], view: Callable[[], Any]) -> StoredResponse:
            response = make_response(view())
            headers = tuple(response.headers.items())
            keep = storable(response.status_code, headers, self._statuses)
            return StoredResponse(response.status_code, headers, response.get_data(), keep)

        self._respond = cache(
            ttl=ttl,
            name=name,
            key="{key}",
            tags=lambda c: c.tags,
            unless=lambda response: not response.storable,
        )(respond)

    def cached(
        self,
        *,
        key: Callable[..., str | None] | None = None,
        tags: Callable[..., Iterable[str]] | None = None,
    ) -> Callable[[View], View]:
        """Decorate a view (below ``@app.get``/``@app.route``) to cache its responses."""

        def decorate(view: View) -> View:
            @functools.wraps(view)
            def cached_view(**kwargs: Any) -> Any:
                if request.method != "GET" or "Authorization" in request.headers:
                    return view(**kwargs)
                chosen = key(**kwargs) if key is not None else self._default_key()
                if chosen is None:
                    return view(**kwargs)
                ran: list[bool] = []

                def run() -> Any:
                    ran.append(True)
                    return view(**kwargs)

                labels = tuple(tags(**kwargs)) if tags is not None else ()
                stored = self._respond(chosen, labels, run)
                return self._response(stored, hit=not ran)

            return cached_view  # type: ignore[return-value]

        return decorate

    def _default_key(self) -> str:
        vary = [(name.lower(), request.headers.get(name)) for name in self._vary]
        query = request.query_string.decode("latin-1")
        return request_key("GET", request.script_root + request.path, query, vary)

    def _response(self, stored: StoredResponse, *, hit: bool) -> Response:
        response = Response(stored.body, status=stored.status, headers=list(stored.headers))
        if self._header is not None:
            response.headers[self._header] = "hit" if hit else "miss"
        return response
