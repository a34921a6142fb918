"""What the response caches of the web helpers share: which responses may be kept, and
the key of a request. Framework-free (the ASGI and Flask helpers adapt their requests).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple
from urllib.parse import parse_qsl, urlencode

__all__ = ["StoredResponse", "request_key", "storable"]

# Response Cache-Control directives that forbid a shared cache to keep the response.
_PRIVATE = frozenset({"private", "no-store", "no-cache"})


class StoredResponse(NamedTuple):
    """A whole response as the cache keeps it (headers as latin-1 (name, value) pairs)."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    storable: bool = True  # False: sent to this caller, never stored


def storable(status: int, headers: Iterable[tuple[str, str]], statuses: Sequence[int]) -> bool:
    """Whether a response may be kept for others: a status asked for, not marked private
    or uncacheable, and setting no cookie (a cookie belongs to one client)."""
    if status not in statuses:
        return False
    for name, value in headers:
        lowered = name.lower()
        if lowered == "set-cookie":
            return False
        if lowered == "cache-control":
            directives = {part.split("=", 1)[0].strip().lower() for part in value.split(",")}
            if directives & _PRIVATE:
                return False
        if lowered == "vary" and value.strip() == "*":
            return False
    return True


def request_key(
    method: str, path: str, query: str, vary: Iterable[tuple[str, str | None]] = ()
) -> str:
    """``http:GET:/path?a=1&b=2`` (query parameters sorted, so their order does not split
    the cache), then ``|name=value`` for each varying request header."""
    pairs = sorted(parse_qsl(query, keep_blank_values=True))
    key = f"http:{method}:{path}"
    if pairs:
        key += "?" + urlencode(pairs)
    for name, value in vary:
        key += f"|{name}={value or ''}"
    return key
