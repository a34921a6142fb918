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
