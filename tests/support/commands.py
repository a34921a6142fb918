"""What a Redis server ran while a piece of code ran (INFO commandstats before and after)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.support.servers import RedisServer


def commands_during(server: RedisServer, action: Callable[[], Any]) -> dict[str, int]:
    """Each command's count while ``action`` ran (lower case, ``get``, ``evalsha``...),
    leaving out the INFO that measures and a new connection's HELLO; only those run."""
    with server.client() as client:
        before = client.info("commandstats")
        action()
        after = client.info("commandstats")
    calls = {k: after[k]["calls"] - before.get(k, {"calls": 0})["calls"] for k in after}
    calls["cmdstat_info"] -= 1
    calls.pop("cmdstat_hello", None)
    return {k.removeprefix("cmdstat_"): v for k, v in calls.items() if v}
