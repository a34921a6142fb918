"""redmemo in a FastAPI service: the Cache made once per app and closed by the lifespan,
handed to endpoints as a dependency, an endpoint's data cached with tags and invalidated
when it is updated.

    uvicorn examples.frameworks.fastapi_app:app     # REDMEMO_URL=redis://... for Redis
"""

# No ``from __future__ import annotations`` here: FastAPI reads the annotations of the
# endpoints at runtime to find their dependencies.
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request

import redmemo


def the_cache(request: Request) -> redmemo.Cache:
    """The app's cache, as a dependency."""
    cache: redmemo.Cache = request.app.state.cache
    return cache


CacheDependency = Annotated[redmemo.Cache, Depends(the_cache)]


def create_app(url: str | None = None) -> FastAPI:
    cache = redmemo.Cache(url, namespace="shop-api")
    products: dict[int, dict[str, Any]] = {1: {"id": 1, "name": "Lamp", "price": 30}}
    reads: list[int] = []  # how often the "database" was read, for the demonstration

    # Only the id is part of the key: a database session or the Request would not be.
    @cache(ttl="10m", refresh="1m", key="product:{product_id}", tags=["product:{product_id}"])
    async def load_product(product_id: int) -> dict[str, Any] | None:
        reads.append(product_id)
        found = products.get(product_id)
        return None if found is None else dict(found)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await cache.aclose()  # this loop's connections
        cache.close()  # the rest (sync client, listener)

    app = FastAPI(lifespan=lifespan)
    app.state.cache = cache
    app.state.reads = reads

    @app.get("/products/{product_id}")
    async def read_product(product_id: int) -> dict[str, Any]:
        product = await load_product(product_id)
        if product is None:
            raise HTTPException(status_code=404)
        return product

    @app.put("/products/{product_id}")
    async def update_product(
        product_id: int, change: dict[str, Any], cache: CacheDependency
    ) -> dict[str, Any]:
        products[product_id] = {**products.get(product_id, {"id": product_id}), **change}
        # After the write: every process forgets it, and a read already running cannot
        # store the old value afterwards.
        await cache.ainvalidate_tags(f"product:{product_id}")
        return products[product_id]

    return app


app = create_app()
