"""Invalidation from application events: Django's and blinker's real signals."""

from __future__ import annotations

from typing import Any

import pytest

import redmemo


def _cached(cache: redmemo.Cache, calls: list[int]) -> Any:
    @cache(ttl=60, key="user:{user_id}", tags=["user:{user_id}", "users"])
    def profile(user_id: int) -> dict[str, int]:
        calls.append(user_id)
        return {"id": user_id}

    return profile


def test_a_django_signal_invalidates_by_tag(make_cache: Any) -> None:
    from django import dispatch as django_dispatch

    post_save = django_dispatch.Signal()

    class User:
        def __init__(self, pk: int) -> None:
            self.pk = pk

    class Other:
        pass

    cache = make_cache()
    calls: list[int] = []
    profile = _cached(cache, calls)
    cache.invalidate_on(post_save, sender=User, tags=lambda instance, **kw: [f"user:{instance.pk}"])
    profile(1)
    profile(2)
    post_save.send(sender=User, instance=User(1), created=False)
    post_save.send(sender=Other, instance=User(2), created=False)  # another sender: ignored
    profile(1)
    profile(2)
    assert calls == [1, 2, 1]


def test_a_blinker_signal_invalidates_keys_and_patterns(make_cache: Any) -> None:
    import blinker

    updated = blinker.Namespace().signal("user-updated")
    cache = make_cache()
    calls: list[int] = []
    profile = _cached(cache, calls)
    cache.invalidate_on(updated, keys=lambda sender, **kw: [f"user:{kw['user_id']}"])
    receiver = cache.invalidate_on(updated, patterns=["user:9*"])
    for user in (1, 2, 90):
        profile(user)
    updated.send("app", user_id=2)
    for user in (1, 2, 90):
        profile(user)
    assert calls == [1, 2, 90, 2, 90]
    updated.disconnect(receiver)


def test_any_function_that_registers_a_callback(make_cache: Any) -> None:
    callbacks: list[Any] = []
    cache = make_cache()
    calls: list[int] = []
    profile = _cached(cache, calls)
    cache.invalidate_on(callbacks.append, tags=["users"])
    profile(1)
    for callback in callbacks:
        callback("anything")
    profile(1)
    assert calls == [1, 1]


def test_mistakes_are_named(make_cache: Any) -> None:
    cache = make_cache()
    with pytest.raises(redmemo.ConfigurationError, match="needs keys=, tags= or patterns="):
        cache.invalidate_on(lambda receiver: None)
    with pytest.raises(redmemo.ConfigurationError, match="takes a signal"):
        cache.invalidate_on(42, tags=["x"])
