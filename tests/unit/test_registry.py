from __future__ import annotations

import pytest

import redmemo
from redmemo.registry import CacheRegistry


def test_default_exists_before_configure() -> None:
    registry = CacheRegistry()
    assert isinstance(registry["default"], redmemo.Cache)


def test_one_shared_instance_per_alias_and_new_ones_from_create() -> None:
    registry = CacheRegistry()
    registry.configure(
        {
            "default": {"url": "memory://", "namespace": "main"},
            "json": {"url": "memory://?maxsize=5", "serializer": "json"},
        }
    )
    assert registry["default"] is registry["default"]
    assert registry.get_cache("json") is registry["json"]
    assert registry["json"].serializer.name == "json"
    created = registry.create("default", namespace="other")
    assert created is not registry["default"]
    assert created.namespace == "other"
    assert registry["default"].namespace == "main"
    assert sorted(registry) == ["default", "json"]
    assert registry.config("json") == {"url": "memory://?maxsize=5", "serializer": "json"}


def test_unknown_alias_and_options_are_named() -> None:
    registry = CacheRegistry()
    with pytest.raises(redmemo.ConfigurationError, match="no cache named 'nope'"):
        registry["nope"]
    with pytest.raises(redmemo.ConfigurationError, match="colour"):
        registry.configure({"default": {"colour": "red"}})
    with pytest.raises(redmemo.ConfigurationError, match="colour"):
        registry.create("default", colour="red")


def test_reconfiguring_replaces_instances() -> None:
    registry = CacheRegistry()
    first = registry["default"]
    registry.configure({"default": {"namespace": "n2"}})
    assert registry["default"] is not first
    assert registry["default"].namespace == "n2"
