"""Where a cache lives: URL parsing and the environment.

Resolution order, first match wins:

1. ``url=`` given to ``Cache``; ``host=``/``port=``/``db=``/``password=`` override its parts;
2. those keyword arguments alone (a Redis URL is built from them);
3. ``REDMEMO_URL``, then ``REDIS_URL``;
4. ``REDIS_SERVICE_HOST`` (with ``REDIS_SERVICE_PORT``, ``REDIS_SERVICE_DB``,
   ``REDIS_SERVICE_PASSWORD``), as Kubernetes and the rediscache library set them;
5. ``memory://``, the embedded in-process backend.

A scheme maps to a parser in ``_SCHEMES``; adding ``redis+cluster://`` or
``redis+sentinel://`` is adding a parser, with no change for callers.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from ._log import logger
from .core.durations import to_seconds
from .errors import ConfigurationError, InvalidTTLError
from .tls import TLS_OPTIONS, check_tls, parse_tls_option

__all__ = ["BackendSettings", "env_disabled", "parse_url", "redact", "resolve_settings"]


def redact(url: str) -> str:
    """``url`` with the credentials hidden, whatever they contain.

    Everything between ``://`` and the last ``@`` is credentials (a password may hold
    an unencoded ``#``, ``/`` or ``@``, which a URL parser would take for something else).
    """
    url = _SECRET_OPTION.sub(r"\1***", url)
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    userinfo, _, host = rest.rpartition("@")
    user = userinfo.split(":", 1)[0] if ":" in userinfo else ""
    return f"{scheme}://{user}:***@{host}"


# Query options that hold a secret (a key's passphrase), hidden like the password.
_SECRET_OPTION = re.compile(r"([?&](?:ssl_|sentinel_)?password=)[^&#]*")


@dataclass(frozen=True)
class BackendSettings:
    """A parsed URL: which backend, and the keyword arguments to build its clients."""

    kind: str  # "memory" or "redis"
    url: str = field(repr=False)
    redis_kwargs: Mapping[str, Any] = field(default_factory=dict, repr=False)
    maxsize: int | None = None
    name: str | None = None  # memory://name: one store shared by every cache of that name
    # Redis only: "standalone", "cluster" or "sentinel"; the seed nodes of a cluster or
    # the sentinels; the sentinel's service name and its own connection options.
    topology: str = "standalone"
    nodes: tuple[tuple[str, int], ...] = ()
    service: str | None = None
    sentinel_kwargs: Mapping[str, Any] = field(default_factory=dict, repr=False)
    read_from_replicas: bool = False
    # ``?near=true`` (with ``near_maxsize``, ``near_ttl``): a near cache's settings by
    # name, or None for none.
    near: Mapping[str, Any] | None = None
    # GETs of one event-loop turn, and of threads that find one in flight, sent as one
    # MGET (``?auto_pipeline=false``: off).
    auto_pipeline: bool = True

    @property
    def display_url(self) -> str:
        """The URL with any password hidden, for logs and reprs."""
        return redact(self.url)


def _to_int(name: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ConfigurationError(f"URL option {name}={text!r} must be a whole number") from None


def _to_bool(name: str, text: str) -> bool:
    lowered = text.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"URL option {name}={text!r} must be true or false")


def _to_span(name: str, text: str) -> float:
    try:
        return to_seconds(text, name=f"URL option {name}")
    except InvalidTTLError as exc:
        raise ConfigurationError(str(exc)) from None


# Query options of redis:// URLs: our name -> (redis-py keyword, converter).
_REDIS_OPTIONS: dict[str, tuple[str, Callable[[str, str], Any]]] = {
    "db": ("db", _to_int),
    "socket_timeout": ("socket_timeout", _to_span),
    "timeout": ("socket_timeout", _to_span),
    "socket_connect_timeout": ("socket_connect_timeout", _to_span),
    "connect_timeout": ("socket_connect_timeout", _to_span),
    "max_connections": ("max_connections", _to_int),
    "pool_size": ("max_connections", _to_int),
    "pool_timeout": ("pool_timeout", _to_span),
    "health_check_interval": ("health_check_interval", _to_int),
    "client_name": ("client_name", lambda n, t: t),
    "retry_on_timeout": ("retry_on_timeout", _to_bool),
    "near": ("near", _to_bool),
    "near_maxsize": ("near_maxsize", _to_int),
    "near_ttl": ("near_ttl", _to_span),
    "auto_pipeline": ("auto_pipeline", _to_bool),
}
# Options of the near cache, not of redis-py's clients.
_NEAR_OPTIONS = ("near", "near_maxsize", "near_ttl")
_REDIS_OPTIONS.update({name: (name, parse_tls_option) for name in TLS_OPTIONS})


def _query(url: str, allowed: Mapping[str, object]) -> dict[str, str]:
    options: dict[str, str] = {}
    for name, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        if name not in allowed:
            known = ", ".join(sorted(allowed)) or "none"
            raise ConfigurationError(
                f"unknown option {name!r} in cache URL; options for this scheme: {known}"
            )
        options[name] = value
    return options


def _parse_memory(url: str) -> BackendSettings:
    options = _query(url, {"maxsize": None})
    maxsize = None
    if "maxsize" in options:
        maxsize = _to_int("maxsize", options["maxsize"])
        if maxsize <= 0:
            raise ConfigurationError("memory:// maxsize must be a positive number of entries")
    name = unquote(urlsplit(url).netloc) or None
    return BackendSettings("memory", url, maxsize=maxsize, name=name)


def _redis_options(url: str) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    for name, text in _query(url, _REDIS_OPTIONS).items():
        keyword, convert = _REDIS_OPTIONS[name]
        kwargs[keyword] = convert(name, text)
    return kwargs


def _parse_redis(url: str) -> BackendSettings:
    parts = urlsplit(url)
    kwargs = _redis_options(url)
    try:
        port = parts.port or 6379
    except ValueError:
        raise ConfigurationError(
            f"the port in {redact(url)!r} is not a number from 0 to 65535"
        ) from None
    kwargs["host"] = unquote(parts.hostname or "localhost")
    kwargs["port"] = port
    if parts.username:
        kwargs["username"] = unquote(parts.username)
    if parts.password:
        kwargs["password"] = unquote(parts.password)
    path = parts.path.strip("/")
    if path:
        kwargs["db"] = _to_int("db (the URL path)", path)
    if parts.scheme == "rediss":
        kwargs["ssl"] = True
    return BackendSettings("redis", url, kwargs)


def _parse_unix(url: str) -> BackendSettings:
    parts = urlsplit(url)
    if not parts.path:
        raise ConfigurationError(
            f"{redact(url)!r} names no socket path: use unix:///path/to/redis.sock"
        )
    kwargs = _redis_options(url)
    kwargs["unix_socket_path"] = unquote(parts.path)
    if parts.password:
        kwargs["password"] = unquote(parts.password)
    if parts.username:
        kwargs["username"] = unquote(parts.username)
    return BackendSettings("redis", url, kwargs)


def _hosts(url: str, default_port: int) -> tuple[dict[str, Any], tuple[tuple[str, int], ...]]:
    """Credentials and ``host:port[,host:port...]`` of a URL with several hosts (which
    ``urlsplit`` cannot read: it knows one port)."""
    rest = url.partition("://")[2]
    netloc = rest.split("/", 1)[0].split("?", 1)[0]
    credentials: dict[str, Any] = {}
    if "@" in netloc:
        userinfo, _, netloc = netloc.rpartition("@")
        user, _, password = userinfo.partition(":")
        if user:
            credentials["username"] = unquote(user)
        if password:
            credentials["password"] = unquote(password)
    nodes: list[tuple[str, int]] = []
    for item in filter(None, netloc.split(",")):
        if item.startswith("["):  # [IPv6]:port
            host, _, port_text = item[1:].partition("]")
            port_text = port_text.removeprefix(":")
        else:
            host, _, port_text = item.rpartition(":") if ":" in item else (item, "", "")
        try:
            port = int(port_text) if port_text else default_port
            if not 0 < port < 65536:
                raise ValueError(port)
        except ValueError:
            raise ConfigurationError(
                f"the port of {unquote(host)!r} in {redact(url)!r} is not a number from 1 to 65535"
            ) from None
        nodes.append((unquote(host) or "localhost", port))
    if not nodes:
        raise ConfigurationError(f"{redact(url)!r} names no host")
    return credentials, tuple(nodes)


def _topology_options(url: str, allowed: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """The URL's options, with ``read_from_replicas`` taken out."""
    options = _query(url, allowed)
    replicas = _to_bool("read_from_replicas", options.pop("read_from_replicas", "false"))
    kwargs: dict[str, Any] = {}
    for name, text in options.items():
        keyword, convert = allowed[name]
        kwargs[keyword] = convert(name, text)
    return kwargs, replicas


_CLUSTER_OPTIONS = {
    **{k: v for k, v in _REDIS_OPTIONS.items() if k != "db"},
    "read_from_replicas": ("read_from_replicas", _to_bool),
}


def _parse_cluster(url: str) -> BackendSettings:
    credentials, nodes = _hosts(url, 6379)
    path = urlsplit(url).path.strip("/")
    if path and path != "0":
        raise ConfigurationError(
            f"a Redis Cluster has database 0 only; {redact(url)!r} asks for {path!r}"
        )
    kwargs, replicas = _topology_options(url, _CLUSTER_OPTIONS)
    kwargs.update(credentials)
    if urlsplit(url).scheme.startswith("rediss"):
        kwargs["ssl"] = True
    return BackendSettings(
        "redis", url, kwargs, topology="cluster", nodes=nodes, read_from_replicas=replicas
    )


_SENTINEL_OPTIONS = {
    **_REDIS_OPTIONS,
    "read_from_replicas": ("read_from_replicas", _to_bool),
    "sentinel_username": ("sentinel_username", lambda n, t: t),
    "sentinel_password": ("sentinel_password", lambda n, t: t),
}


def _parse_sentinel(url: str) -> BackendSettings:
    credentials, nodes = _hosts(url, 26379)
    parts = [unquote(p) for p in urlsplit(url).path.split("/") if p]
    if not parts or len(parts) > 2:
        raise ConfigurationError(
            f"{redact(url)!r} must name the service: redis+sentinel://host:26379/service[/db]"
        )
    kwargs, replicas = _topology_options(url, _SENTINEL_OPTIONS)
    if len(parts) == 2:
        kwargs["db"] = _to_int("db (the URL path)", parts[1])
    kwargs.update(credentials)  # the master's credentials
    sentinel: dict[str, Any] = {}
    for name in ("username", "password"):
        value = kwargs.pop("sentinel_" + name, None)
        if value is not None:
            sentinel[name] = value
    for name in ("socket_timeout", "socket_connect_timeout"):
        if name in kwargs:
            sentinel[name] = kwargs[name]
    if urlsplit(url).scheme.startswith("rediss"):
        kwargs["ssl"] = True
    return BackendSettings(
        "redis",
        url,
        kwargs,
        topology="sentinel",
        nodes=nodes,
        service=parts[0],
        sentinel_kwargs=sentinel,
        read_from_replicas=replicas,
    )


_SCHEMES: dict[str, Callable[[str], BackendSettings]] = {
    "memory": _parse_memory,
    "redis": _parse_redis,
    "rediss": _parse_redis,
    "unix": _parse_unix,
    "redis+cluster": _parse_cluster,
    "rediss+cluster": _parse_cluster,
    "redis+sentinel": _parse_sentinel,
    "rediss+sentinel": _parse_sentinel,
}


def parse_url(url: str) -> BackendSettings:
    """Parse a cache URL; raises :class:`ConfigurationError` naming what is wrong."""
    if not isinstance(url, str):
        raise ConfigurationError(f"the cache URL must be a str, not {type(url).__name__}")
    scheme = urlsplit(url).scheme.lower()
    parser = _SCHEMES.get(scheme)
    if parser is None:
        known = ", ".join(f"{s}://" for s in _SCHEMES)
        raise ConfigurationError(f"unknown cache URL scheme in {redact(url)!r}; use one of {known}")
    return _near_apart(parser(url))


def _near_apart(settings: BackendSettings) -> BackendSettings:
    """Move the options that are redmemo's, not the client's, out of its keywords: the
    near cache's to ``near``, ``auto_pipeline`` to its field."""
    kwargs = dict(settings.redis_kwargs)
    if "auto_pipeline" in kwargs:
        settings = replace(settings, auto_pipeline=bool(kwargs.pop("auto_pipeline")))
        settings = replace(settings, redis_kwargs=kwargs)
    found = {name: kwargs.pop(name) for name in _NEAR_OPTIONS if name in kwargs}
    if not found:
        return settings
    wanted = found.pop("near", True)
    near = {name.removeprefix("near_"): value for name, value in found.items()}
    return replace(settings, redis_kwargs=kwargs, near=near if wanted else None)


def resolve_settings(
    url: str | None = None,
    *,
    host: str | None = None,
    port: int | None = None,
    db: int | None = None,
    password: str | None = None,
    tls: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> BackendSettings:
    """Apply the resolution order in the module docstring, then check the TLS options
    (``tls``: keyword values for ``ssl`` and the ``ssl_*`` options)."""
    settings = _resolve(url, host, port, db, password, tls or {}, environ)
    if settings.kind == "redis":
        kwargs = dict(settings.redis_kwargs)
        check_tls(kwargs, shown=settings.display_url)
        settings = replace(settings, redis_kwargs=kwargs)
    return settings


def _tls_overrides(tls: Mapping[str, Any]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for name, value in tls.items():
        if value is None:
            continue
        if name == "ssl":
            if not isinstance(value, bool):
                raise ConfigurationError(f"ssl must be True or False, got {value!r}")
            overrides["ssl"] = value
        elif name in TLS_OPTIONS:
            overrides[name] = parse_tls_option(name, value)
        else:
            raise ConfigurationError(f"unknown TLS option {name!r}")
    return overrides


def _resolve(
    url: str | None,
    host: str | None,
    port: int | None,
    db: int | None,
    password: str | None,
    tls: Mapping[str, Any],
    environ: Mapping[str, str] | None,
) -> BackendSettings:
    env = os.environ if environ is None else environ
    explicit = {"host": host, "port": port, "db": db, "password": password}
    overrides = {k: v for k, v in explicit.items() if v is not None}
    _check_overrides(overrides)
    tls_overrides = _tls_overrides(tls)
    if url is None and not overrides:
        url = env.get("REDMEMO_URL") or env.get("REDIS_URL") or None
    if url is None and not overrides and not tls_overrides and not env.get("REDIS_SERVICE_HOST"):
        _say_once(
            "redmemo: no cache URL given and none of REDMEMO_URL, REDIS_URL or "
            "REDIS_SERVICE_HOST set: using memory://, private to this Cache in this process"
        )
        return parse_url("memory://")
    if url is not None:
        settings = parse_url(url)
        overrides.update(tls_overrides)
        if overrides and settings.kind != "redis":
            raise ConfigurationError(
                f"host/port/db/password and TLS options apply to Redis, but the URL "
                f"{redact(url)!r} is not a Redis URL"
            )
        if not overrides:
            return settings
        if settings.topology != "standalone" and ("host" in overrides or "port" in overrides):
            raise ConfigurationError(
                f"host= and port= name one server; the nodes of {redact(url)!r} are in the URL"
            )
        return replace(settings, redis_kwargs={**settings.redis_kwargs, **overrides})
    # No URL: explicit keyword arguments, then REDIS_SERVICE_* variables, then defaults.
    kwargs: dict[str, Any] = {
        "host": overrides.get("host") or env.get("REDIS_SERVICE_HOST") or "localhost",
        "port": overrides.get("port") or _env_int(env, "REDIS_SERVICE_PORT", 6379),
        "db": overrides.get("db", _env_int(env, "REDIS_SERVICE_DB", 0)),
    }
    secret = overrides.get("password") or env.get("REDIS_SERVICE_PASSWORD")
    if secret:
        kwargs["password"] = secret
    kwargs.update(tls_overrides)
    auth = ":***@" if secret else ""
    scheme = "rediss" if kwargs.get("ssl") else "redis"
    shown = f"{scheme}://{auth}{kwargs['host']}:{kwargs['port']}/{kwargs['db']}"
    return BackendSettings("redis", shown, kwargs)


_said: set[str] = set()


def _say_once(message: str) -> None:
    """Log at INFO once per process: with several workers each would otherwise have a
    private cache, silently, after a mistyped variable."""
    if message not in _said:
        _said.add(message)
        logger.info(message)


def _check_overrides(overrides: Mapping[str, Any]) -> None:
    for name in ("port", "db"):
        value = overrides.get(name)
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < 0
        ):
            raise ConfigurationError(f"{name} must be a non-negative int, got {value!r}")
    for name in ("host", "password"):
        value = overrides.get(name)
        if value is not None and not isinstance(value, str):
            raise ConfigurationError(f"{name} must be a str, got {type(value).__name__}")


def _env_int(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name)
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise ConfigurationError(
            f"environment variable {name}={text!r} must be a whole number"
        ) from None


def env_disabled(environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``REDMEMO_DISABLED`` asks for a cache that stores nothing."""
    env = os.environ if environ is None else environ
    return env.get("REDMEMO_DISABLED", "").strip().lower() in ("1", "true", "yes", "on")
