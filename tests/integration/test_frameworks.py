"""The framework examples, each through its framework's test client, on a real Redis."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.redis


def test_fastapi_example(redis_url: str) -> None:
    from fastapi.testclient import TestClient

    from examples.frameworks.fastapi_app import create_app

    app = create_app(redis_url)
    with TestClient(app) as client:
        assert client.get("/products/1").json()["price"] == 30
        assert client.get("/products/1").json()["price"] == 30
        assert app.state.reads == [1]  # the second read was a hit
        assert client.get("/products/2").status_code == 404
        assert client.put("/products/1", json={"price": 25}).json()["price"] == 25
        assert client.get("/products/1").json()["price"] == 25  # invalidated by its tag
        assert app.state.reads == [1, 2, 1]
    # The lifespan closed the cache: nothing is left open (the gc check would fail).


def test_flask_example(redis_url: str) -> None:
    from examples.frameworks.flask_app import create_app

    app = create_app(redis_url)
    client = app.test_client()
    try:
        assert client.get("/products/1").get_json()["price"] == 30
        assert client.get("/products/1").get_json()["price"] == 30
        assert app.config["READS"] == [1]
        assert client.get("/products/3").status_code == 404
        assert client.put("/products/1", json={"price": 25}).get_json()["price"] == 25
        assert client.get("/products/1").get_json()["price"] == 25  # the signal invalidated
        assert app.config["READS"] == [1, 3, 1]
    finally:
        app.extensions["redmemo"].close()


def test_django_example(redis_url: str) -> None:
    from django.core.cache import caches
    from django.test import Client

    from examples.frameworks import django_app

    django_app.configure(redis_url)  # Django's settings: once per process, only here
    client = Client()
    backend = caches["default"]
    try:
        assert client.get("/products/1").json()["price"] == 30
        assert client.get("/products/1").json()["price"] == 30
        assert django_app.READS == [1]  # the second read was a hit
        assert client.get("/products/4").status_code == 404
        changed = client.put("/products/1", data={"price": 25}, content_type="application/json")
        assert changed.json()["price"] == 25
        assert client.get("/products/1").json()["price"] == 25  # the signal invalidated
        assert django_app.READS == [1, 4, 1]
        assert client.get("/catalogue").json() == {"count": 1}
        assert client.get("/catalogue").json() == {"count": 1}
        assert django_app.READS == [1, 4, 1, 0]  # cache_page kept the response in Redis
        stored = backend.redmemo.raw("KEYS", "shop-django:*views.decorators.cache*")
        assert stored  # Django's page cache keys live in the backend's namespace
    finally:
        backend.clear()
        backend.redmemo.close()
