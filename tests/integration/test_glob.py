"""Our glob matcher (used by the memory backend) agrees with Redis SCAN MATCH."""

from __future__ import annotations

import pytest

from redmemo.core.glob import compile_glob, escape_glob
from tests.support.servers import RedisServer

KEYS = ["a", "ab", "abc", "a*c", "a?c", "a[b]c", "x:y", "a\\b", "ns:1", "ns:10", "ns2:1", "bc"]
PATTERNS = [
    "*",
    "a*",
    "a?c",
    "a[bc]*",
    "a[^b]c",
    "ns:*",
    "ns:?",
    "*c",
    "a\\*c",
    "a\\[b\\]c",
    "[ab]*",
]


@pytest.mark.redis
@pytest.mark.parametrize("pattern", PATTERNS + [escape_glob(k) for k in KEYS])
def test_glob_matches_what_redis_matches(redis_server: RedisServer, pattern: str) -> None:
    with redis_server.client() as client:
        client.flushall()
        for key in KEYS:
            client.set(key, 1)
        expected = sorted(k.decode() for k in client.scan_iter(match=pattern, count=1000))
        client.flushall()
    regex = compile_glob(pattern)
    assert sorted(k for k in KEYS if regex.fullmatch(k)) == expected
