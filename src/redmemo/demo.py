"""redmemo in one minute: ``python -m redmemo.demo [URL]``.

Runs on the embedded in-memory backend unless a URL (or REDMEMO_URL / REDIS_URL) names
a Redis server.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time

import redmemo


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f} ms"


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    cache = redmemo.Cache(args[0] if args else None, namespace="demo")
    print(f"redmemo {redmemo.__version__} on {cache!r}\n")
    cache.clear()
    computations: list[int] = []

    @cache(ttl="10m", refresh="1s")
    def load_user(user_id: int) -> dict[str, object]:
        computations.append(user_id)
        time.sleep(0.3)  # a slow query
        return {"id": user_id, "name": f"user-{user_id}", "version": len(computations)}

    print("1. read-through caching")
    for label in ("cold call", "warm call"):
        start = time.perf_counter()
        user = load_user(7)
        print(f"   {label}: {_ms(time.perf_counter() - start)}  -> {user}")

    print("\n2. two ages: past `refresh` the value is served at once and refreshed behind")
    time.sleep(1.05)
    start = time.perf_counter()
    user = load_user(7)
    print(f"   stale call: {_ms(time.perf_counter() - start)}  -> version {user['version']}")
    while load_user(7)["version"] == user["version"]:
        time.sleep(0.02)
    print(f"   a moment later                    -> version {load_user(7)['version']}")

    print("\n3. stampede protection: 50 concurrent callers of a cold key")
    before = len(computations)
    threads = [threading.Thread(target=load_user, args=(42,)) for _ in range(50)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(
        f"   50 callers served in {_ms(time.perf_counter() - start)}, "
        f"the function ran {len(computations) - before} time(s)"
    )

    print("\n4. invalidation")
    load_user.invalidate(42)
    start = time.perf_counter()
    load_user(42)
    print(f"   after invalidate(42), the next call recomputes: {_ms(time.perf_counter() - start)}")

    print("\n5. the same cache from async code")

    @cache(ttl=60)
    async def fetch_price(symbol: str) -> float:
        await asyncio.sleep(0.2)
        return 101.5

    async def prices() -> None:
        for label in ("cold", "warm"):
            start = time.perf_counter()
            price = await fetch_price("ACME")
            print(f"   {label} await: {_ms(time.perf_counter() - start)}  -> {price}")
        await cache.aset("greeting", "hello")
        print(f"   await cache.aget('greeting') -> {await cache.aget('greeting')!r}")
        await cache.aclose()

    asyncio.run(prices())
    print(f"\nstatistics: {cache.stats()}")
    cache.clear()
    cache.close()


if __name__ == "__main__":
    main()
