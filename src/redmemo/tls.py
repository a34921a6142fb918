"""TLS options for ``rediss://``: one vocabulary (redis-py's ``ssl_*`` names) in the URL
query and as ``Cache(...)`` keywords, checked before any connection is made.

Verification is on unless turned off explicitly: the server's certificate must chain to
a trusted CA (``ssl_cert_reqs="required"``) and name the host connected to
(``ssl_check_hostname=True``). redis-py 5 left hostname checking off by default, so both
are always passed, whatever its version.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Callable
from typing import Any

from .errors import ConfigurationError

__all__ = ["TLS_OPTIONS", "check_tls", "parse_tls_option"]

_CERT_REQS = {"none": "none", "optional": "optional", "required": "required"}
_VERIFY_MODES = {
    ssl.CERT_NONE: "none",
    ssl.CERT_OPTIONAL: "optional",
    ssl.CERT_REQUIRED: "required",
}


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"{name} must be a non-empty str, got {value!r}")
    return value


def _file(name: str, value: Any) -> str:
    path = os.fspath(value) if isinstance(value, os.PathLike) else _text(name, value)
    if not os.path.exists(path):
        raise ConfigurationError(f"{name}: no such file or directory: {path!r}")
    return path


def _cert_reqs(name: str, value: Any) -> str:
    if isinstance(value, ssl.VerifyMode):
        return _VERIFY_MODES[value]
    if isinstance(value, str) and value.lower() in _CERT_REQS:
        return _CERT_REQS[value.lower()]
    raise ConfigurationError(f"{name} must be 'none', 'optional' or 'required', got {value!r}")


def _flag(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
    raise ConfigurationError(f"{name} must be true or false, got {value!r}")


def _version(name: str, value: Any) -> ssl.TLSVersion:
    if isinstance(value, ssl.TLSVersion):
        return value
    if isinstance(value, str):
        # "TLSv1_2", "TLSv1.2" and "1.2" all name TLS 1.2.
        wanted = value.replace(".", "_")
        if not wanted.startswith("TLSv"):
            wanted = "TLSv" + wanted
        version = ssl.TLSVersion.__members__.get(wanted)
        if version is not None:
            return version
    known = ", ".join(v for v in ssl.TLSVersion.__members__ if v.startswith("TLSv"))
    raise ConfigurationError(f"{name} must be one of {known}, got {value!r}")


# Name -> converter; the same for a URL's query text and for keyword values.
TLS_OPTIONS: dict[str, Callable[[str, Any], Any]] = {
    "ssl_ca_certs": _file,  # a PEM bundle of CAs to trust
    "ssl_ca_path": _file,  # a directory of hashed CA certificates
    "ssl_ca_data": _text,  # PEM text of CAs to trust
    "ssl_certfile": _file,  # the client certificate (mutual TLS)
    "ssl_keyfile": _file,  # its private key
    "ssl_password": _text,  # the key's passphrase
    "ssl_cert_reqs": _cert_reqs,
    "ssl_check_hostname": _flag,
    "ssl_min_version": _version,
    "ssl_ciphers": _text,
}


def parse_tls_option(name: str, value: Any) -> Any:
    return TLS_OPTIONS[name](name, value)


def check_tls(kwargs: dict[str, Any], *, shown: str) -> None:
    """Complete and check the TLS part of a Redis client's keyword arguments, in place.

    ``shown`` is how to name the configuration in a message (a redacted URL).
    """
    given = [name for name in TLS_OPTIONS if name in kwargs]
    if not kwargs.get("ssl"):
        if given:
            raise ConfigurationError(
                f"{', '.join(given)} given for {shown!r}, which does not use TLS: "
                "use a rediss:// URL (or ssl=True)"
            )
        return
    reqs = kwargs.setdefault("ssl_cert_reqs", "required")
    if reqs == "none":
        if kwargs.get("ssl_check_hostname"):
            raise ConfigurationError(
                "ssl_check_hostname=True needs the server's certificate, but "
                "ssl_cert_reqs='none' does not ask for one"
            )
        kwargs["ssl_check_hostname"] = False
    else:
        kwargs.setdefault("ssl_check_hostname", True)
    if ("ssl_keyfile" in kwargs or "ssl_password" in kwargs) and "ssl_certfile" not in kwargs:
        raise ConfigurationError("ssl_keyfile and ssl_password need ssl_certfile")
