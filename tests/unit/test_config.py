from __future__ import annotations

from typing import Any

import pytest

from redmemo.config import env_disabled, parse_url, resolve_settings
from redmemo.errors import ConfigurationError


def test_no_url_and_no_environment_means_memory() -> None:
    assert resolve_settings(environ={}).kind == "memory"


@pytest.mark.parametrize(
    ("env", "host"),
    [
        ({"REDMEMO_URL": "redis://first", "REDIS_URL": "redis://second"}, "first"),
        ({"REDIS_URL": "redis://second", "REDIS_SERVICE_HOST": "third"}, "second"),
        ({"REDIS_SERVICE_HOST": "third"}, "third"),
    ],
)
def test_environment_priority(env: dict[str, str], host: str) -> None:
    settings = resolve_settings(environ=env)
    assert settings.kind == "redis"
    assert settings.redis_kwargs["host"] == host


def test_explicit_arguments_beat_the_environment() -> None:
    env = {"REDMEMO_URL": "redis://envhost", "REDIS_SERVICE_HOST": "svc"}
    assert resolve_settings("memory://", environ=env).kind == "memory"
    settings = resolve_settings(host="arg", environ=env)
    assert settings.redis_kwargs["host"] == "arg"


def test_redis_service_variables_fill_the_gaps() -> None:
    env = {
        "REDIS_SERVICE_HOST": "svc",
        "REDIS_SERVICE_PORT": "6380",
        "REDIS_SERVICE_DB": "3",
        "REDIS_SERVICE_PASSWORD": "pw",
    }
    kwargs = resolve_settings(environ=env).redis_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["db"], kwargs["password"]) == (
        "svc",
        6380,
        3,
        "pw",
    )
    kwargs = resolve_settings(port=7000, environ=env).redis_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["db"]) == ("svc", 7000, 3)


def test_keyword_arguments_override_parts_of_a_url() -> None:
    settings = resolve_settings("redis://h:1/2", db=5, environ={})
    assert settings.redis_kwargs["db"] == 5
    assert settings.redis_kwargs["host"] == "h"


def test_redis_url_parts_and_options() -> None:
    settings = parse_url(
        "rediss://user:p%40ss@example:6390/4?socket_timeout=250ms&pool_size=20&client_name=app"
    )
    kwargs = settings.redis_kwargs
    assert kwargs["host"] == "example"
    assert kwargs["port"] == 6390
    assert kwargs["db"] == 4
    assert kwargs["username"] == "user"
    assert kwargs["password"] == "p@ss"
    assert kwargs["ssl"] is True
    assert kwargs["socket_timeout"] == 0.25
    assert kwargs["max_connections"] == 20
    assert "p%40ss" not in settings.display_url
    assert "***" in settings.display_url


def test_unix_socket_url() -> None:
    kwargs = parse_url("unix:///tmp/redis.sock?db=2").redis_kwargs
    assert kwargs["unix_socket_path"] == "/tmp/redis.sock"
    assert kwargs["db"] == 2


def test_memory_maxsize() -> None:
    assert parse_url("memory://?maxsize=10").maxsize == 10


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://x", "unknown cache URL scheme"),
        ("localhost:6379", "unknown cache URL scheme"),
        ("redis://h?colour=blue", "unknown option 'colour'"),
        ("redis://h/notanumber", "whole number"),
        ("redis://h:99999", "port"),
        ("redis://h?socket_timeout=soon", "socket_timeout"),
        ("memory://?maxsize=0", "positive"),
        ("memory://?maxsize=x", "whole number"),
        ("unix://", "socket path"),
    ],
)
def test_bad_urls_are_refused_with_a_reason(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        parse_url(url)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"port": "6379"}, "port"),
        ({"db": -1}, "db"),
        ({"host": 1}, "host"),
        ({"port": True}, "port"),
    ],
)
def test_bad_keyword_arguments_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        resolve_settings(environ={}, **kwargs)


def test_a_bad_port_in_the_environment_is_named() -> None:
    with pytest.raises(ConfigurationError, match="REDIS_SERVICE_PORT"):
        resolve_settings(environ={"REDIS_SERVICE_HOST": "h", "REDIS_SERVICE_PORT": "tcp://x"})


def test_overrides_need_a_redis_url() -> None:
    with pytest.raises(ConfigurationError, match="not a Redis URL"):
        resolve_settings("memory://", host="h", environ={})


@pytest.mark.parametrize(
    ("value", "disabled"), [("1", True), ("true", True), ("0", False), ("", False)]
)
def test_disabling_through_the_environment(value: str, disabled: bool) -> None:
    assert env_disabled({"REDMEMO_DISABLED": value}) is disabled


def test_the_backend_chosen_when_nothing_is_configured_is_said_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from redmemo import config

    monkeypatch.setattr(config, "_said", set())
    with caplog.at_level(logging.INFO, logger="redmemo"):
        resolve_settings(environ={})
        resolve_settings(environ={})
        resolve_settings("redis://localhost/0", environ={})
    said = [r.getMessage() for r in caplog.records if "using memory://" in r.getMessage()]
    assert len(said) == 1
    assert "REDMEMO_URL" in said[0]
