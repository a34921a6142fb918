"""Checked by mypy --strict in test_typing.py: the decorator keeps signatures."""

from __future__ import annotations

from typing_extensions import assert_type

import redmemo

cache = redmemo.Cache()


@cache(ttl=60, refresh=10)
def load_user(user_id: int, *, verbose: bool = False) -> dict[str, int]:
    return {"id": user_id}


@cache(ttl=60)
async def fetch_price(symbol: str) -> float:
    return 1.0


class Repo:
    def __cache_key__(self) -> str:
        return "repo"

    @cache(ttl=60)
    def get(self, ident: int) -> str:
        return str(ident)


async def use() -> None:
    assert_type(load_user(1), dict[str, int])
    assert_type(load_user(1, verbose=True), dict[str, int])
    assert_type(await fetch_price("ACME"), float)
    assert_type(load_user.key(1), str)
    assert_type(load_user.invalidate(1), bool)
    assert_type(await fetch_price.invalidate("ACME"), bool)
    assert_type(load_user.refresh(2), dict[str, int])
    assert_type(await fetch_price.refresh("X"), float)
    assert_type(Repo().get(3), str)
    load_user("not an int")  # E: wrong argument type
    load_user(1, colour=2)  # E: unknown keyword
    await fetch_price(3)  # E: wrong argument type
    Repo().get("x")  # E: wrong argument type
