"""The response caches for ASGI apps (FastAPI here) and Flask views, on every backend,
through each framework's test client (and raw ASGI calls for concurrency)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from fastapi import FastAPI, Response
from fastapi.testclient import TestClient
from flask import Flask, make_response, request

import redmemo
from redmemo.contrib.asgi import ResponseCache as AsgiResponseCache
from redmemo.contrib.flask import ResponseCache as FlaskResponseCache


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _fastapi_app(cache: redmemo.Cache, runs: list[str], **options: Any) -> FastAPI:
    app = FastAPI()
    version = {"n": 1}

    @app.get("/items/{item_id}")
    async def item(item_id: int, detail: str = "") -> dict[str, Any]:
        runs.append(f"item:{item_id}")
        await asyncio.sleep(0.05)
        return {"id": item_id, "detail": detail, "version": version["n"]}

    @app.get("/missing")
    async def missing() -> Response:
        runs.append("missing")
        return Response("no", status_code=404)

    @app.get("/private")
    async def private() -> Response:
        runs.append("private")
        return Response("mine", headers={"Cache-Control": "private, max-age=60"})

    @app.get("/cookie")
    async def cookie(response: Response) -> dict[str, str]:
        runs.append("cookie")
        response.set_cookie("session", "abc")
        return {"ok": "yes"}

    @app.post("/items/{item_id}")
    async def change(item_id: int) -> dict[str, int]:
        runs.append(f"post:{item_id}")
        version["n"] += 1
        return {"version": version["n"]}

    tags = options.pop("tags", lambda scope: ["items"])
    app.add_middleware(AsgiResponseCache, cache=cache, tags=tags, **options)
    return app


def test_asgi_responses_are_served_from_the_cache(make_cache: Any) -> None:
    cache = make_cache()
    runs: list[str] = []
    with TestClient(_fastapi_app(cache, runs, ttl=60)) as client:
        first = client.get("/items/1?detail=a&x=1")
        again = client.get("/items/1?x=1&detail=a")  # same query, another order
        assert first.json() == again.json() == {"id": 1, "detail": "a", "version": 1}
        assert (first.headers["x-cache"], again.headers["x-cache"]) == ("miss", "hit")
        assert again.headers["content-type"] == "application/json"
        assert runs == ["item:1"]
        client.get("/items/1?detail=a&x=1", headers={"accept": "text/plain"})  # varies
        client.get("/items/1?detail=a&x=1", headers={"authorization": "Bearer t"})  # private
        assert client.post("/items/1").json() == {"version": 2}
        assert runs == ["item:1", "item:1", "item:1", "post:1"]
        for path in ("/missing", "/private", "/cookie"):  # never kept for others
            client.get(path)
            assert client.get(path).headers["x-cache"] == "miss"
        assert runs.count("missing") == runs.count("private") == runs.count("cookie") == 2
        assert client.get("/cookie").cookies.get("session") == "abc"
        cache.invalidate_tags("items")
        assert client.get("/items/1?detail=a&x=1").json()["version"] == 2


def test_concurrent_asgi_requests_run_the_app_once(make_cache: Any) -> None:
    cache = make_cache()
    runs: list[str] = []
    app = _fastapi_app(cache, runs, ttl=60)

    async def get(path: str) -> tuple[int, bytes]:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": [(b"host", b"testserver")],
            "client": ("127.0.0.1", 1),
            "server": ("testserver", 80),
        }
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(scope, receive, send)
        body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        return sent[0]["status"], body

    async def burst() -> list[tuple[int, bytes]]:
        async with app.router.lifespan_context(app):
            got = await asyncio.gather(*(get(f"/items/{i % 4}") for i in range(200)))
        await cache.aclose()
        return list(got)

    answers = asyncio.run(burst())
    assert sorted(runs) == ["item:0", "item:1", "item:2", "item:3"]  # one run per key
    assert {status for status, _ in answers} == {200}
    assert len({body for _, body in answers}) == 4


def test_a_stale_asgi_response_is_served_while_one_refresh_runs(make_cache: Any) -> None:
    clock = Clock()
    cache = make_cache(clock=clock)
    runs: list[str] = []
    with TestClient(_fastapi_app(cache, runs, ttl=600, refresh=10)) as client:
        assert client.get("/items/7").json()["version"] == 1
        assert client.post("/items/7").json() == {"version": 2}
        clock.now += 11  # past refresh, within ttl
        stale = client.get("/items/7")
        assert stale.json()["version"] == 1  # served at once, refreshed behind
        deadline = time.monotonic() + 10
        while client.get("/items/7").json()["version"] != 2:
            assert time.monotonic() < deadline, "the refresh never landed"
            time.sleep(0.01)
        assert runs.count("item:7") == 2


def _flask_app(cache: redmemo.Cache, runs: list[str]) -> Flask:
    app = Flask(__name__)
    responses = FlaskResponseCache(cache, ttl=60)

    @app.get("/products/<int:product_id>")
    @responses.cached(tags=lambda product_id: [f"product:{product_id}"])
    def product(product_id: int) -> Any:
        runs.append(f"product:{product_id}:{request.args.get('v', '')}")
        time.sleep(0.05)
        return {"id": product_id}

    @app.get("/cookie")
    @responses.cached()
    def cookie() -> Any:
        runs.append("cookie")
        response = make_response({"ok": True})
        response.set_cookie("session", "abc")
        return response

    @app.get("/teapot")
    @responses.cached()
    def teapot() -> Any:
        runs.append("teapot")
        return "short and stout", 418

    return app


def test_flask_views_are_served_from_the_cache(make_cache: Any) -> None:
    cache = make_cache()
    runs: list[str] = []
    client = _flask_app(cache, runs).test_client()
    first = client.get("/products/1?a=1&b=2")
    again = client.get("/products/1?b=2&a=1")
    assert first.get_json() == again.get_json() == {"id": 1}
    assert (first.headers["X-Cache"], again.headers["X-Cache"]) == ("miss", "hit")
    assert again.headers["Content-Type"] == "application/json"
    assert runs == ["product:1:"]
    client.get("/products/1?a=1&b=2", headers={"Authorization": "Bearer t"})
    assert runs == ["product:1:", "product:1:"]
    for path in ("/cookie", "/teapot"):
        client.get(path)
        assert client.get(path).headers["X-Cache"] == "miss"
    assert runs.count("cookie") == runs.count("teapot") == 2
    assert client.get("/teapot").status_code == 418
    cache.invalidate_tags("product:1")
    assert client.get("/products/1?a=1&b=2").headers["X-Cache"] == "miss"


def test_concurrent_flask_requests_run_the_view_once(make_cache: Any) -> None:
    cache = make_cache()
    runs: list[str] = []
    app = _flask_app(cache, runs)
    statuses: list[int] = []

    def call() -> None:
        statuses.append(app.test_client().get("/products/5?v=1").status_code)

    threads = [threading.Thread(target=call) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 16
    assert runs == ["product:5:1"]
