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


def test_cluster_urls_name_any_seed_nodes() -> None:
    settings = parse_url(
        "redis+cluster://user:p%40ss@10.0.0.1:7000,10.0.0.2,[::1]:7002/?read_from_replicas=true"
        "&socket_timeout=250ms"
    )
    assert settings.kind == "redis"
    assert settings.topology == "cluster"
    assert settings.nodes == (("10.0.0.1", 7000), ("10.0.0.2", 6379), ("::1", 7002))
    assert settings.read_from_replicas is True
    assert settings.redis_kwargs["username"] == "user"
    assert settings.redis_kwargs["password"] == "p@ss"
    assert settings.redis_kwargs["socket_timeout"] == 0.25
    assert "p@ss" not in settings.display_url
    assert "p%40ss" not in settings.display_url
    tls = resolve_settings("rediss+cluster://h:7000/", environ={})
    assert tls.redis_kwargs["ssl"] is True
    assert tls.redis_kwargs["ssl_check_hostname"] is True


def test_sentinel_urls_name_the_service_and_separate_credentials() -> None:
    settings = parse_url(
        "redis+sentinel://:master-pw@s1:26379,s2/cache-primary/2"
        "?sentinel_password=sentinel-pw&sentinel_username=watcher&socket_timeout=1s"
    )
    assert settings.topology == "sentinel"
    assert settings.nodes == (("s1", 26379), ("s2", 26379))
    assert settings.service == "cache-primary"
    assert settings.redis_kwargs["db"] == 2
    assert settings.redis_kwargs["password"] == "master-pw"
    assert dict(settings.sentinel_kwargs) == {
        "username": "watcher",
        "password": "sentinel-pw",
        "socket_timeout": 1.0,
    }
    shown = settings.display_url
    assert "master-pw" not in shown
    assert "sentinel-pw" not in shown


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis+cluster://h:7000/3", "database 0 only"),
        ("redis+cluster://h:99999/", "not a number from 1 to 65535"),
        ("redis+cluster:///", "names no host"),
        ("redis+cluster://h:7000/?db=1", "unknown option 'db'"),
        ("redis+sentinel://s1:26379/", "must name the service"),
        ("redis+sentinel://s1:26379/a/b/c", "must name the service"),
        ("redis+sentinel://s1/svc?read_from_replicas=maybe", "must be true or false"),
    ],
)
def test_bad_cluster_and_sentinel_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        parse_url(url)


def test_host_and_port_do_not_apply_to_a_cluster() -> None:
    with pytest.raises(ConfigurationError, match="nodes of"):
        resolve_settings("redis+cluster://h:7000/", host="other", environ={})
    # A password does: it is every node's.
    settings = resolve_settings("redis+cluster://h:7000/", password="pw", environ={})
    assert settings.redis_kwargs["password"] == "pw"
    assert settings.topology == "cluster"


def test_a_cluster_url_from_the_environment() -> None:
    settings = resolve_settings(environ={"REDMEMO_URL": "redis+cluster://a:1,b:2/"})
    assert settings.nodes == (("a", 1), ("b", 2))
