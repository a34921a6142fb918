"""TLS against a real redis-server started with ``--tls-port`` and certificates made here:
verification on by default, a wrong host refused, a client certificate required, and every
option reachable from the URL and from keywords."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import trustme

import redmemo
from tests.support.servers import RedisServer, free_port, start_redis

pytestmark = pytest.mark.redis


class TLSServer:
    def __init__(self, server: RedisServer, port: int, files: dict[str, Path]) -> None:
        self.server = server
        self.port = port
        self.files = files

    def url(self, **options: str) -> str:
        query = "&".join(f"{name}={quote(str(value))}" for name, value in options.items())
        return f"rediss://127.0.0.1:{self.port}/0" + (f"?{query}" if query else "")


def _start(tmp: Path, names: tuple[str, ...]) -> TLSServer:
    ca = trustme.CA()
    server_cert = ca.issue_cert(*names)
    client_cert = ca.issue_cert("client.example")
    files = {
        "ca": tmp / "ca.pem",
        "server": tmp / "server.pem",
        "client": tmp / "client.pem",
        "client_key": tmp / "client.key",
    }
    ca.cert_pem.write_to_path(str(files["ca"]))
    server_cert.private_key_and_cert_chain_pem.write_to_path(str(files["server"]))
    client_cert.cert_chain_pems[0].write_to_path(str(files["client"]))
    client_cert.private_key_pem.write_to_path(str(files["client_key"]))
    files["ca_data"] = files["ca"]
    port = free_port()
    server = start_redis(
        "--tls-port",
        str(port),
        "--tls-cert-file",
        str(files["server"]),
        "--tls-key-file",
        str(files["server"]),
        "--tls-ca-cert-file",
        str(files["ca"]),
        "--tls-auth-clients",
        "yes",
    )
    return TLSServer(server, port, files)


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TLSServer]:
    served = _start(tmp_path_factory.mktemp("tls"), ("127.0.0.1", "localhost"))
    yield served
    served.server.stop()


@pytest.fixture(scope="module")
def other_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TLSServer]:
    """A server whose certificate, from a trusted CA, names another host."""
    served = _start(tmp_path_factory.mktemp("tls-other"), ("other.example",))
    yield served
    served.server.stop()


def _mutual(tls: TLSServer) -> dict[str, str]:
    return {
        "ssl_ca_certs": str(tls.files["ca"]),
        "ssl_certfile": str(tls.files["client"]),
        "ssl_keyfile": str(tls.files["client_key"]),
    }


def _works(cache: redmemo.Cache) -> None:
    """A round trip through both faces, and a decorated function that stores."""
    calls: list[int] = []

    @cache(ttl=60)
    def double(x: int) -> int:
        calls.append(x)
        return 2 * x

    try:
        cache.clear()
        cache.set("k", {"v": 1})
        assert cache.get("k") == {"v": 1}
        assert double(4) == 8
        assert double(4) == 8
        assert calls == [4]

        async def check() -> Any:
            await cache.aset("a", "async")
            return await cache.aget("a")

        assert asyncio.run(check()) == "async"
    finally:
        cache.close()


def _refused(cache: redmemo.Cache, reason: str) -> None:
    try:
        with pytest.raises(redmemo.BackendError) as caught:
            cache.set("k", 1)
        assert reason in repr(caught.value.__cause__ or caught.value) or reason in str(
            caught.value
        ), caught.value

        async def check() -> None:
            await cache.aset("k", 1)

        with pytest.raises(redmemo.BackendError):
            asyncio.run(check())
    finally:
        cache.close()


def test_mutual_tls_from_the_url(tls: TLSServer) -> None:
    _works(redmemo.Cache(tls.url(**_mutual(tls))))


def test_mutual_tls_from_keywords(tls: TLSServer) -> None:
    _works(redmemo.Cache(tls.url(), **_mutual(tls)))


def test_ca_as_pem_text_and_a_minimum_version(tls: TLSServer) -> None:
    options = _mutual(tls)
    del options["ssl_ca_certs"]
    ca_data = tls.files["ca"].read_text()
    _works(redmemo.Cache(tls.url(), ssl_ca_data=ca_data, ssl_min_version="1.2", **options))


def test_the_server_requires_a_client_certificate(tls: TLSServer) -> None:
    # Same trusted CA, no client certificate: the server ends the handshake.
    _refused(redmemo.Cache(tls.url(ssl_ca_certs=str(tls.files["ca"]))), "ConnectionError")


def test_an_unknown_ca_is_refused_by_default(tls: TLSServer) -> None:
    options = _mutual(tls)
    del options["ssl_ca_certs"]  # the system's CAs do not know the test CA
    _refused(redmemo.Cache(tls.url(**options)), "CERTIFICATE_VERIFY_FAILED")


def test_a_certificate_for_another_host_is_refused(other_host: TLSServer) -> None:
    _refused(redmemo.Cache(other_host.url(**_mutual(other_host))), "CERTIFICATE_VERIFY_FAILED")
    # The same with the host check turned off explicitly connects: the refusal above came
    # from the name, not from anything else.
    _works(redmemo.Cache(other_host.url(**_mutual(other_host), ssl_check_hostname="false")))


def test_verification_off_is_explicit(tls: TLSServer) -> None:
    options = _mutual(tls)
    del options["ssl_ca_certs"]
    _works(redmemo.Cache(tls.url(**options), ssl_cert_reqs="none"))


@pytest.mark.parametrize(
    ("url", "keywords", "message"),
    [
        ("redis://127.0.0.1:6379/0?ssl_ca_certs=" + quote(__file__), {}, "does not use TLS"),
        ("redis://127.0.0.1:6379/0", {"ssl_certfile": __file__}, "does not use TLS"),
        ("rediss://h:6379/0?ssl_ca_certs=/nowhere/ca.pem", {}, "no such file"),
        ("rediss://h:6379/0?ssl_cert_reqs=sometimes", {}, "'none', 'optional' or 'required'"),
        ("rediss://h:6379/0?ssl_min_version=1.9", {}, "ssl_min_version must be one of"),
        ("rediss://h:6379/0?ssl_keyfile=" + quote(__file__), {}, "need ssl_certfile"),
        (
            "rediss://h:6379/0?ssl_cert_reqs=none&ssl_check_hostname=true",
            {},
            "ssl_check_hostname=True needs",
        ),
        ("memory://", {"ssl_ca_certs": __file__}, "not a Redis URL"),
    ],
)
def test_tls_mistakes_are_named(url: str, keywords: dict[str, Any], message: str) -> None:
    with pytest.raises(redmemo.ConfigurationError, match=message):
        redmemo.Cache(url, **keywords)


def test_a_key_passphrase_never_appears(tls: TLSServer) -> None:
    url = tls.url(ssl_password="hunter2#x", ssl_ca_certs="/nowhere")
    with pytest.raises(redmemo.ConfigurationError) as caught:
        redmemo.Cache(url)
    assert "hunter2" not in str(caught.value)
    cache = redmemo.Cache(tls.url(ssl_password="hunter2#x", **_mutual(tls)))
    try:
        assert "hunter2" not in repr(cache)
        assert "hunter2" not in cache.settings.display_url
    finally:
        cache.close()
    redmemo.caches.configure({"tls": {"url": tls.url(), "ssl_password": "hunter2", **_mutual(tls)}})
    try:
        assert "hunter2" not in repr(redmemo.caches.config())
    finally:
        redmemo.caches.configure({})
