"""redmemo in a Flask app: an app factory, a view whose data is cached, and invalidation
on a blinker signal (Flask's own signal library) sent when the data changes.

    flask --app examples.frameworks.flask_app run     # REDMEMO_URL=redis://... for Redis
"""

from __future__ import annotations

from typing import Any

from blinker import Namespace
from flask import Flask, abort, request

import redmemo

signals = Namespace()
product_updated = signals.signal("product-updated")


def create_app(url: str | None = None) -> Flask:
    cache = redmemo.Cache(url, namespace="shop-flask")
    products: dict[int, dict[str, Any]] = {1: {"id": 1, "name": "Lamp", "price": 30}}
    reads: list[int] = []

    @cache(ttl="10m", key="product:{product_id}", tags=["product:{product_id}"])
    def load_product(product_id: int) -> dict[str, Any] | None:
        reads.append(product_id)
        found = products.get(product_id)
        return None if found is None else dict(found)

    # Whoever changes a product sends the signal; the cache forgets it, in every process.
    cache.invalidate_on(product_updated, tags=lambda sender, **kw: [f"product:{kw['product_id']}"])

    app = Flask(__name__)
    app.extensions["redmemo"] = cache
    app.config["READS"] = reads

    @app.get("/products/<int:product_id>")
    def read_product(product_id: int) -> Any:
        product = load_product(product_id)
        if product is None:
            abort(404)
        return product

    @app.put("/products/<int:product_id>")
    def update_product(product_id: int) -> Any:
        change = request.get_json()
        products[product_id] = {**products.get(product_id, {"id": product_id}), **change}
        product_updated.send(app, product_id=product_id)
        return products[product_id]

    return app
