"""redmemo in a Django project (one file, for the example): redmemo as Django's cache
backend, the same cache decorating a service function, invalidation on a Django signal,
and Django's own per-view cache (``cache_page``) running on redmemo.

    REDMEMO_URL=redis://localhost:6379/0 python -m examples.frameworks.django_app runserver
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import django
from django.conf import settings
from django.core.cache import caches
from django.dispatch import Signal
from django.http import Http404, HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.cache import cache_page

# Sent by whatever changes a product (a model's post_save would do the same).
product_saved = Signal()

PRODUCTS: dict[int, dict[str, Any]] = {1: {"id": 1, "name": "Lamp", "price": 30}}
READS: list[int] = []  # what the service function really read, for the tests
urlpatterns: list[Any] = []


def configure(url: str | None = None) -> None:
    """Django settings for this example, its cache on redmemo, then its URLs."""
    settings.configure(
        DEBUG=False,
        SECRET_KEY="example-only",
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        MIDDLEWARE=[],
        CACHES={
            "default": {
                "BACKEND": "redmemo.contrib.django.RedmemoCache",
                "LOCATION": url or os.environ.get("REDMEMO_URL", "memory://"),
                "TIMEOUT": 300,
                "OPTIONS": {"namespace": "shop-django"},
            }
        },
    )
    django.setup()
    urlpatterns[:] = _routes()


def _routes() -> list[Any]:
    # The backend's redmemo cache: service functions share its connections and namespace.
    cache = caches["default"].redmemo

    @cache(ttl="10m", key="product:{product_id}", tags=["product:{product_id}"])
    def load_product(product_id: int) -> dict[str, Any] | None:
        READS.append(product_id)
        found = PRODUCTS.get(product_id)
        return None if found is None else dict(found)

    cache.invalidate_on(product_saved, tags=lambda sender, **kw: [f"product:{kw['product_id']}"])

    def product(request: HttpRequest, product_id: int) -> JsonResponse:
        if request.method == "PUT":
            change = json.loads(request.body)
            PRODUCTS[product_id] = {**PRODUCTS.get(product_id, {"id": product_id}), **change}
            product_saved.send(sender=None, product_id=product_id)
            return JsonResponse(PRODUCTS[product_id])
        found = load_product(product_id)
        if found is None:
            raise Http404("no such product")
        return JsonResponse(found)

    @cache_page(60)  # Django's per-view cache, stored through the redmemo backend
    def catalogue(request: HttpRequest) -> JsonResponse:
        READS.append(0)
        return JsonResponse({"count": len(PRODUCTS)})

    return [path("products/<int:product_id>", product), path("catalogue", catalogue)]


if __name__ == "__main__":
    configure()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
