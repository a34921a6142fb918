"""The plain store API, sync and async, on the URL given (default: memory://)."""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta

import redmemo


def main(url: str | None) -> None:
    cache = redmemo.Cache(url, namespace="example-store")
    cache.set("greeting", {"text": "hello"}, ttl="10m")
    assert cache.get("greeting") == {"text": "hello"}
    assert cache.get("absent", redmemo.MISSING) is redmemo.MISSING  # a miss, not a None

    assert cache.add("lock", "me", ttl=30) is True
    assert cache.add("lock", "you", ttl=30) is False  # only stores when absent

    cache.multi_set({"a": 1, "b": [2]}, ttl=timedelta(minutes=5))
    assert cache.multi_get(["a", "b", "c"]) == [1, [2], None]

    assert cache.increment("visits") == 1
    assert cache.increment("visits", 10) == 11
    assert cache.expire("visits", "1h30m") is True

    async def from_async_code() -> None:
        await cache.aset("async-key", "set from a coroutine")
        assert await cache.aget("async-key") == "set from a coroutine"
        await cache.aclose()

    asyncio.run(from_async_code())
    print("deleted", cache.clear(), "keys of namespace", cache.namespace)
    cache.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
