"""The decorator: two ages, invalidation, methods and async functions."""

from __future__ import annotations

import asyncio
import sys
import time

import redmemo


def main(url: str | None) -> None:
    cache = redmemo.Cache(url, namespace="example-decorator")
    cache.clear()
    calls: list[int] = []

    @cache(ttl="1h", refresh="1s", stale_if_error="1d")
    def report(year: int, *, region: str = "all") -> dict[str, object]:
        calls.append(year)
        return {"year": year, "region": region, "computed": len(calls)}

    first = report(2026)
    assert report(year=2026, region="all") == first  # the same call, the same entry
    assert len(calls) == 1

    time.sleep(1.1)  # past `refresh`: the stale value is served, one refresh runs behind
    assert report(2026) == first
    while report(2026)["computed"] == 1:
        time.sleep(0.01)

    report.invalidate(2026)
    assert report(2026)["computed"] == 3

    class Accounts:
        def __init__(self, tenant: str) -> None:
            self.tenant = tenant

        def __cache_key__(self) -> str:  # what identifies this instance in keys
            return self.tenant

        @cache(ttl=60)
        def balance(self, account: int) -> str:
            return f"{self.tenant}/{account}"

    acme, initech = Accounts("acme"), Accounts("initech")
    assert acme.balance(1) == "acme/1"
    assert initech.balance(1) == "initech/1"  # never acme's result
    acme.balance.invalidate(1)

    @cache(ttl=60, skip=lambda bound: bound.arguments["symbol"] == "LIVE")
    async def quote(symbol: str) -> float:
        await asyncio.sleep(0.01)
        return 42.0

    async def use_async() -> None:
        assert await quote("ACME") == 42.0
        assert await quote("ACME") == 42.0
        await quote.invalidate("ACME")
        await cache.aclose()

    asyncio.run(use_async())
    print("report stats:", report.stats())
    print("quote stats:", quote.stats())
    cache.clear()
    cache.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
