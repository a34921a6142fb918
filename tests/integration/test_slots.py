"""Every Lua script touches the keys of one hash slot, all declared in KEYS.

A real workload (fills with tags, dependencies and nodes; hits; refreshes; every kind of
invalidation; clear) runs against redis-server while MONITOR records what the server
executes. For each script call the declared keys must share one Redis Cluster hash slot,
and every command the script runs may touch only those keys (the server itself says
which arguments are keys, through COMMAND GETKEYS).
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

import redmemo
from redmemo.core.keyspace import hash_slot
from tests.support.servers import RedisServer

pytestmark = pytest.mark.redis

_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


def _monitor(server: RedisServer, action: Callable[[], object]) -> list[str]:
    with tempfile.TemporaryFile("w+") as out:
        process = subprocess.Popen(["redis-cli", "-p", str(server.port), "monitor"], stdout=out)
        try:
            while out.tell() == 0:  # "OK": monitoring has begun
                time.sleep(0.01)
                out.seek(0, 2)
            action()
            time.sleep(0.5)  # let MONITOR catch up
        finally:
            process.terminate()
            process.wait()
        out.seek(0)
        return out.read().splitlines()[1:]


def _script_calls(lines: list[str]) -> Iterator[tuple[list[str], list[list[str]]]]:
    """(declared keys, commands the script ran) for every EVAL / EVALSHA."""
    current: tuple[list[str], list[list[str]]] | None = None
    for line in lines:
        words = _QUOTED.findall(line)
        if not words:
            continue
        if " lua]" in line:
            assert current is not None, line
            current[1].append(words)
            continue
        if current is not None:
            yield current
            current = None
        if words[0].upper() in ("EVAL", "EVALSHA"):
            count = int(words[2])
            current = (words[3 : 3 + count], [])
    if current is not None:
        yield current


def _keys_of(client: redis.Redis, command: list[str]) -> list[str]:
    try:
        keys = client.command_getkeys(*command)
    except redis.ResponseError:
        return []  # TIME, PUBLISH...: no keys
    return [k if isinstance(k, str) else k.decode() for k in keys]


def _workload(url: str) -> None:
    with redmemo.Cache(url, namespace="slots:app") as cache:

        class Thing(redmemo.Node):
            ident = redmemo.Field()

            def key(self) -> str:
                return f"thing:{self.ident}"

        @cache(ttl=60, tags=["all", "user:{user_id}"], depends_on=["owner:{result[owner]}"])
        def load(user_id: int) -> dict[str, int]:
            return {"id": user_id, "owner": user_id % 3}

        @cache(key="item:{i}", ttl=60, refresh=30, depends_on=["source:{i}"])
        def item(i: int) -> int:
            return i

        @cache(node=Thing, ttl=60)
        def thing(ident: int) -> int:
            return ident

        for i in range(20):
            load(i)
            load(i)
            item(i)
            thing(i)
        load.refresh(1)
        cache.invalidate_tags("user:3", "all")
        for i in range(10):
            load(i)
        cache.invalidate("owner:1", "item:4", "source:5")
        load.invalidate(2)
        load.invalidate_all()
        Thing.objects.invalidate(ident=3)
        Thing.objects.invalidate()
        cache.invalidate_pattern("item:1*")
        cache.set("plain", 1)
        cache.clear()


def test_every_script_touches_one_slot_and_only_its_declared_keys(
    redis_server: RedisServer, redis_url: str
) -> None:
    lines = _monitor(redis_server, lambda: _workload(redis_url))
    calls = list(_script_calls(lines))
    assert len(calls) > 100  # the workload ran scripts of every kind
    with redis_server.client() as client:
        for declared, commands in calls:
            assert declared, "a script with no keys"
            assert len({hash_slot(k) for k in declared}) == 1, declared
            for command in commands:
                touched = _keys_of(client, command)
                assert set(touched) <= set(declared), (command, declared)


def test_the_check_sees_a_script_that_crosses_slots(
    redis_server: RedisServer, redis_url: str
) -> None:
    """The test above can fail: a script over two slots, or touching an undeclared key,
    is caught by the same parsing."""

    def cross() -> Any:
        with redis_server.client() as client:
            client.eval("return redis.call('SET', KEYS[1], 1)", 2, "{a}x", "{b}y")
            client.eval("return redis.call('SET', 'undeclared', 1)", 1, "{a}z")

    calls = list(_script_calls(_monitor(redis_server, cross)))
    assert [len({hash_slot(k) for k in declared}) for declared, _ in calls] == [2, 1]
    with redis_server.client() as client:
        assert _keys_of(client, calls[1][1][0]) == ["undeclared"]
