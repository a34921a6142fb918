"""Store API hit latency against a raw redis-py GET + pickle.loads of the same bytes.

    python -m benchmarks.bench_store

Starts its own redis-server on a free loopback port and stops it at the end.
"""

from __future__ import annotations

import pickle

import redis
import redis.asyncio

import redmemo
from benchmarks._harness import commands_during, interleave, interleave_async, report
from redmemo.core.entry import HEADER_SIZE
from tests.support.servers import start_redis

VALUE = {"id": 7, "name": "Ada Lovelace", "tags": ["math", "engines"], "bio": "x" * 900}
RAW = "raw redis-py GET + pickle.loads"
ARAW = "raw redis.asyncio GET + pickle.loads"


def main() -> None:
    server = start_redis()
    try:
        run(server.port)
    finally:
        server.stop()


def run(port: int) -> None:
    url = f"redis://127.0.0.1:{port}/0"
    cache = redmemo.Cache(url, namespace="bench")
    cache.set("user", VALUE)
    client = redis.Redis(host="127.0.0.1", port=port)
    client.set("plain", pickle.dumps(VALUE, protocol=pickle.HIGHEST_PROTOCOL))

    def raw_get() -> object:
        return pickle.loads(client.get("plain"))  # type: ignore[arg-type]

    sync = interleave({RAW: raw_get, "redmemo Cache.get": lambda: cache.get("user")}, baseline=RAW)
    report("sync get hit (~1 KB dict)", sync)

    aclient = redis.asyncio.Redis(host="127.0.0.1", port=port)

    async def raw_aget() -> object:
        return pickle.loads(await aclient.get("plain"))  # type: ignore[arg-type]

    async def redmemo_aget() -> object:
        return await cache.aget("user")

    asy = interleave_async({ARAW: raw_aget, "redmemo Cache.aget": redmemo_aget}, baseline=ARAW)
    report("async get hit (~1 KB dict)", asy)

    commands = commands_during(client, lambda: [cache.get("user") for _ in range(100)])
    print(f"\nRedis commands for 100 sync hits: {commands}")
    stored = len(client.get(cache.full_key("user")) or b"")
    pickled = len(pickle.dumps(VALUE, protocol=pickle.HIGHEST_PROTOCOL))
    print(f"bytes stored per entry: {stored} vs the raw pickle's {pickled}: +{stored - pickled} B")
    print(f"(the envelope header is {HEADER_SIZE} B)")
    cache.close()
    client.close()


if __name__ == "__main__":
    main()
