"""The Redis backend over one redis-py client (and its connection pool).

Every script touches the keys of one hash slot, all named in KEYS; operations that span
slots (invalidation, clear) group their keys by slot and send one script per group, in
pipelines, so the same code serves a single server and, later, a cluster.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any, cast

from redis.exceptions import AskError, ConnectionError, NoScriptError, ResponseError

from ..._compat import AsyncCompat, AsyncGate
from ..._log import warn_throttled
from ...coordination.leases import (
    PUBLISH_LIMIT,
    Lease,
    LeaseMode,
    LeaseRequest,
    LeaseStatus,
    StoreRequest,
)
from ...core.keyspace import Keyspace
from ...core.policies import BoundSpec, BoundsSeen
from ...errors import BackendError, NotACounterError
from ..memory import MARKER_MS
from ..redis.batching import AsyncGetBatch, AsyncScriptBatch
from ..redis.clients import CLIENT_ERRORS, AsyncSharedPool
from ..redis.listener import FillListener
from ..redis.scripts import SCRIPTS
from .lane import AsyncLane

__all__ = ["AsyncRedisBackend"]

_SCAN_BATCH = 500
_PIPELINE_BATCH = 1000
# A late registration outlives the entry it is made for by this much: the entry is
# stored a moment after its registrations.
_LATE_MARGIN_MS = 1000

ScriptCall = tuple[str, Sequence[str], Sequence[Any]]


def _px(ttl_ms: int | None) -> tuple[Any, ...]:
    return () if ttl_ms is None else ("PX", ttl_ms)


def _wrong_type(exc: BackendError) -> bool:
    return isinstance(exc.__cause__, ResponseError) and str(exc.__cause__).startswith("WRONGTYPE")


def _failed(command: str, exc: Exception, writes: bool = False) -> BackendError:
    unknown = ""
    if writes and not isinstance(exc, ResponseError):
        # Nothing is re-sent, so the command ran once or not at all; which, nobody knows.
        unknown = " (the command may or may not have taken effect)"
    hint = ""
    if isinstance(exc, AskError):  # MovedError too: a cluster node redirects
        hint = " (the server is a Redis Cluster node: use a redis+cluster:// URL)"
    return BackendError(f"Redis {command} failed{unknown}: {type(exc).__name__}: {exc}{hint}")


# Commands that are safe to send twice: reads, and scripts that recognise a repetition
# (a lease request finds its own token; a registration or a release is idempotent).
_REPEATABLE_SCRIPTS = frozenset(
    {"lease", "register", "release", "extend", "lock", "unlock", "relock"}
)


def _lease_of(reply: Any) -> Lease:
    status = LeaseStatus(reply[0])
    if status is LeaseStatus.ENTRY:
        return Lease(status, reply[1])
    if status is LeaseStatus.ACQUIRED:
        return Lease(status, started_us=int(reply[1]))
    return Lease(status, left_ms=int(reply[1]))


def _text(key: bytes | str) -> str:
    return key if isinstance(key, str) else key.decode("utf-8", "surrogateescape")


class AsyncRedisBackend:
    def __init__(
        self,
        client: Any,
        keyspace: Keyspace,
        listener: FillListener | None = None,
        pool_timeout: float = 1.0,
        pool_size: int = 100,
        sharded: bool = False,
        reader: Any = None,
        bounds: BoundsSeen | None = None,
        auto_pipeline: bool = False,
    ) -> None:
        self.client = client  # a redis-py client: standalone, sentinel-managed or cluster
        # Sentinel with read_from_replicas: GETs go to a replica (the master answers when
        # no replica does); everything else to the master.
        self.reader = reader
        self.keyspace = keyspace
        self._listener = listener
        self._pool_timeout = pool_timeout
        # A cluster: keys of several slots never share a command.
        self._sharded = sharded
        self._cold = sharded  # a cluster client that has not yet learnt the slots
        # As many commands in flight as the pool has connections: past that, callers
        # wait for one in line (redis-py's pool would raise instead).
        self._gate = AsyncGate(pool_size, pool_timeout)
        self._bounds = bounds if bounds is not None else BoundsSeen()
        # GETs of concurrent tasks in one loop turn share one MGET (redis/batching.py).
        self._batch = AsyncGetBatch(self.get_many) if auto_pipeline else None
        self._script_batch = AsyncScriptBatch(self._script_replies) if auto_pipeline else None
        # Single commands skip redis-py's per-command pool work (_async/lane.py), on the
        # clients built with a pool that lends kept connections back (not cluster or
        # sentinel clients).
        # (Read from the instance: a lazy cluster client would connect to answer getattr.)
        pool = vars(client).get("connection_pool") if hasattr(client, "__dict__") else None
        self._lane = (
            AsyncLane(pool, client.response_callbacks)
            if isinstance(pool, AsyncSharedPool)
            else None
        )

    # -- sending commands ----------------------------------------------------------------

    async def _send(self, command: str, *args: Any, repeatable: bool = True) -> Any:
        """One command, once a connection is free (waiting up to ``pool_timeout``). When
        the connection failed under it, it is sent once more only if ``repeatable`` (a
        read); a write's outcome is then unknown."""
        if self._cold:
            await self._learn_slots()
        gate = self._gate
        if not gate.try_enter():
            await self._enter(command)
        try:
            lane = self._lane
            if lane is not None:
                return await lane.send(command, args, not repeatable)
            return await self.client.execute_command(command, *args)
        except CLIENT_ERRORS as exc:
            return await self._send_again(command, args, exc, repeatable)
        finally:
            gate.leave()

    async def _learn_slots(self) -> None:
        """Before a cluster client's first command, let it learn the slots once: redis-py's
        asyncio cluster client, when many tasks send their first commands at once, was
        seen closing connections that other tasks were still reading from."""
        try:
            await self.client.initialize()
        except CLIENT_ERRORS as exc:
            raise _failed("CLUSTER SHARDS (discovery)", exc) from exc
        self._cold = False

    async def _enter(self, what: str) -> None:
        if self._cold:
            await self._learn_slots()
        try:
            await self._gate.enter()
        except TimeoutError:
            raise BackendError(
                f"Redis {what} not sent: no connection free within {self._pool_timeout:g}s "
                f"(URL options max_connections, pool_timeout)"
            ) from None

    async def _send_again(
        self, command: str, args: Sequence[Any], exc: Exception, repeatable: bool
    ) -> Any:
        """A read whose connection failed goes once more (a dropped idle connection is
        the common case); anything else, and a second failure, is reported."""
        if not (repeatable and isinstance(exc, ConnectionError)):
            raise _failed(command, exc, writes=not repeatable) from exc
        try:
            return await self.client.execute_command(command, *args)
        except CLIENT_ERRORS as again:
            raise _failed(command, again) from again

    async def _write(self, command: str, *args: Any) -> Any:
        return await self._send(command, *args, repeatable=False)

    # -- plain operations -----------------------------------------------------------------

    async def _read(self, command: str, *args: Any) -> Any:
        """A read from a replica; from the master if the replica fails it."""
        gate = self._gate
        if not gate.try_enter():
            await self._enter(command)
        try:
            return await self.reader.execute_command(command, *args)
        except CLIENT_ERRORS:
            pass
        finally:
            gate.leave()
        return await self._send(command, *args)

    async def get(self, key: str) -> bytes | None:
        batch = self._batch
        if batch is not None:  # concurrent GETs share one MGET (redis/batching.py)
            return await batch.get(key, self._get_one)
        return await self._get_one(key)

    async def _get_one(self, key: str) -> bytes | None:
        try:
            if self.reader is not None:
                return cast("bytes | None", await self._read("GET", key))
            return cast("bytes | None", await self._send("GET", key))
        except BackendError as exc:
            if _wrong_type(exc):
                return None  # not an entry: a miss, which a fill or a set replaces
            raise

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        if not keys:
            return []
        if not self._sharded:
            if self.reader is not None:
                return cast("list[bytes | None]", await self._read("MGET", *keys))
            return cast("list[bytes | None]", await self._send("MGET", *keys))
        # One MGET per hash slot, all in one pipeline (one round trip per node).
        groups = list(self.keyspace.by_slot(keys).values())
        replies = await self._pipeline_commands(
            "MGET (pipeline)", [("MGET", *group) for group in groups], repeatable=True
        )
        found: dict[str, bytes | None] = {}
        for group, reply in zip(groups, replies, strict=True):
            found.update(zip(group, reply, strict=True))
        return [found[key] for key in keys]

    async def set(self, key: str, value: bytes, ttl_ms: int | None) -> None:
        await self._write("SET", key, value, *_px(ttl_ms))

    async def add(self, key: str, value: bytes, ttl_ms: int | None) -> bool:
        return bool(await self._write("SET", key, value, *_px(ttl_ms), "NX"))

    async def set_many(self, items: Sequence[tuple[str, bytes]], ttl_ms: int | None) -> None:
        if not items:
            return
        # One round trip: a pipeline of SETs (MSET cannot carry a TTL).
        calls = [("SET", key, value, *_px(ttl_ms)) for key, value in items]
        await self._pipeline_commands("SET (pipeline)", calls, repeatable=False)

    async def exists(self, key: str) -> bool:
        return bool(await self._send("EXISTS", key))

    async def replace(self, key: str, observed: bytes, value: bytes, ttl_ms: int | None) -> bool:
        return bool(await self._script("replace", [key], [observed, value, ttl_ms or 0]))

    async def incr(self, key: str, delta: int) -> int:
        try:
            return int(await self._write("INCRBY", key, delta))
        except BackendError as exc:
            if isinstance(exc.__cause__, ResponseError):
                raise NotACounterError(
                    f"cannot increment {self.keyspace.describe(key)!r}: it holds a value "
                    f"that is not an integer counter (Redis said: {exc.__cause__})"
                ) from exc.__cause__
            raise

    async def expire(self, key: str, ttl_ms: int | None) -> bool:
        if ttl_ms is None:
            # PERSIST answers 0 for a key without a TTL too; we want "does it exist".
            await self._write("PERSIST", key)
            return bool(await self._send("EXISTS", key))
        return bool(await self._write("PEXPIRE", key, ttl_ms))

    async def ttl_ms(self, key: str) -> int | None:
        left = int(await self._send("PTTL", key))
        return left if left >= 0 else None

    async def delete(self, keys: Sequence[str]) -> int:
        count = 0
        for group in self.keyspace.by_slot(keys).values():
            count += int(await self._write("UNLINK", *group))
        return count

    async def raw(self, command: str, *args: Any) -> Any:
        return await self._send(command, *args, repeatable=False)

    async def _pipeline_commands(
        self, what: str, calls: Sequence[Sequence[Any]], repeatable: bool
    ) -> list[Any]:
        await self._enter(what)
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                for call in calls:
                    pipe.execute_command(*call)
                results: list[Any] = await pipe.execute()
            return results
        except CLIENT_ERRORS as exc:
            raise _failed(what, exc, writes=not repeatable) from exc
        finally:
            self._gate.leave()

    async def _scan(self, pattern: str) -> list[str]:
        await self._enter("SCAN")
        try:
            return [
                _text(key) async for key in self.client.scan_iter(match=pattern, count=_SCAN_BATCH)
            ]
        except CLIENT_ERRORS as exc:
            raise _failed("SCAN", exc) from exc
        finally:
            self._gate.leave()

    async def scan(self, pattern: str) -> list[str]:
        """The entries, stored or being filled, whose user key matches the glob (SCAN in
        batches, never KEYS)."""
        space = self.keyspace
        found: set[str] = set()
        matches = [space.entries_matching(pattern), space.leases_matching(pattern)]
        if self._sharded:  # bounded functions' entries, in their groups' slots
            matches += space.grouped_matching(pattern)
        for match in matches:
            for key in await self._scan(match.server):
                entry = key if space.is_entry(key) else space.entry_of(key)
                if entry is None:
                    continue
                body = space.body(entry)
                if body is None:
                    continue
                if match.body_filter is None or match.body_filter.fullmatch(body):
                    found.add(entry)
        return sorted(found)

    # -- scripts ------------------------------------------------------------------------------

    async def _script(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        batch = self._script_batch
        if batch is not None:  # concurrent scripts share one pipeline (redis/batching.py)
            return await batch.run((name, keys, args), self._script_alone)
        return await self._script_alone((name, keys, args))

    async def _script_alone(self, call: ScriptCall) -> Any:
        name, keys, args = call
        script = SCRIPTS[name]
        repeatable = name in _REPEATABLE_SCRIPTS
        try:
            return await self._send(
                "EVALSHA", script.sha, len(keys), *keys, *args, repeatable=repeatable
            )
        except BackendError as exc:
            if not isinstance(exc.__cause__, NoScriptError):
                raise
        # Not run: safe to load and send again (a new or flushed server).
        await self._send("SCRIPT LOAD", script.source)
        return await self._send(
            "EVALSHA", script.sha, len(keys), *keys, *args, repeatable=repeatable
        )

    async def _scripts(self, calls: Sequence[ScriptCall]) -> list[Any]:
        """Run many scripts in pipelines (round trips, not one per script), in order."""
        results: list[Any] = []
        for start in range(0, len(calls), _PIPELINE_BATCH):
            await self._enter("EVALSHA (pipeline)")
            try:
                results += await self._pipeline(calls[start : start + _PIPELINE_BATCH])
            except CLIENT_ERRORS as exc:
                raise _failed("EVALSHA (pipeline)", exc) from exc
            finally:
                self._gate.leave()
        for (name, _, _), result in zip(calls, results, strict=True):
            if isinstance(result, CLIENT_ERRORS):
                raise _failed(f"EVALSHA {name}", result) from result
        return results

    async def _script_replies(self, calls: list[ScriptCall]) -> list[Any]:
        """Scripts of several callers in one pipeline: each one's reply, or the
        BackendError it failed with (the others are not affected)."""
        await self._enter("EVALSHA (pipeline)")
        try:
            results = await self._pipeline(calls)
        except CLIENT_ERRORS as exc:
            raise _failed("EVALSHA (pipeline)", exc, writes=True) from exc
        finally:
            self._gate.leave()
        replies: list[Any] = []
        for (name, _, _), result in zip(calls, results, strict=True):
            if isinstance(result, CLIENT_ERRORS):
                error = _failed(f"EVALSHA {name}", result)
                error.__cause__ = result
                result = error
            replies.append(result)
        return replies

    async def _pipeline(self, calls: Sequence[ScriptCall]) -> list[Any]:
        results = await self._evalshas(calls)
        missing = [i for i, result in enumerate(results) if isinstance(result, NoScriptError)]
        if missing:
            # Those did not run: load their scripts (on every primary of a cluster) and
            # send them again, in order.
            for name in sorted({calls[i][0] for i in missing}):
                await self.client.execute_command("SCRIPT LOAD", SCRIPTS[name].source)
            again = await self._evalshas([calls[i] for i in missing])
            for i, result in zip(missing, again, strict=True):
                results[i] = result
        return results

    async def _evalshas(self, calls: Sequence[ScriptCall]) -> list[Any]:
        """The scripts in one pipeline: each reply, or its error in its place."""
        commands = [
            ("EVALSHA", SCRIPTS[name].sha, len(keys), *keys, *args) for name, keys, args in calls
        ]
        lane = self._lane
        if lane is not None:  # without redis-py's per-command pipeline work
            return await lane.send_many(commands)
        async with self.client.pipeline(transaction=False) as pipe:
            for command in commands:
                pipe.execute_command(*command)
            results: list[Any] = await pipe.execute(raise_on_error=False)
        return results

    # -- leases (see lua/) -----------------------------------------------------------------------

    def _triple(self, key: str) -> list[str]:
        space = self.keyspace
        return [key, space.lease(key), space.wait_flag(key)]

    async def lease(
        self,
        key: str,
        token: bytes,
        lease_ms: int,
        mode: LeaseMode,
        indexes: Sequence[str] = (),
        ttl_ms: int | None = None,
    ) -> Lease:
        """Get-or-lease, with the registrations in the same round trip."""
        call: ScriptCall = ("lease", self._triple(key), [token, lease_ms, mode.value])
        if indexes:
            life = 0 if ttl_ms is None else lease_ms + ttl_ms
            calls = [call, *self._registrations(key, indexes, life, 0)]
            reply = (await self._scripts(calls))[0]
        else:
            reply = await self._script(*call)
        return _lease_of(reply)

    def _registrations(
        self, key: str, indexes: Iterable[str], life_ms: int, started_us: int
    ) -> list[ScriptCall]:
        marker = self.keyspace.marker
        return [
            ("register", [index, marker(index)], [key, life_ms, started_us, MARKER_MS])
            for index in indexes
        ]

    async def store_leased(
        self,
        key: str,
        token: bytes,
        entry: bytes,
        ttl_ms: int | None,
        late: Sequence[str] = (),
        started_us: int = 0,
        bound: BoundSpec | None = None,
    ) -> bool:
        """Store ``entry`` if its fill still holds the lease (see lua/store.lua); the
        ``late`` registrations first, and nothing stored if one is refused. An entry of a
        bounded group is recorded in it, and the group's victims evicted, in the same
        script (lua/bound_store.lua)."""
        if late:
            life = 0 if ttl_ms is None else ttl_ms + _LATE_MARGIN_MS
            replies = await self._scripts(self._registrations(key, late, life, started_us))
            if not all(int(reply) for reply in replies):
                await self.release(key, token)
                return False
        args = [token, entry, ttl_ms or 0, self.keyspace.channel, PUBLISH_LIMIT]
        if bound is None:
            return bool(await self._script("store", self._triple(key), args))
        record = "\n".join((bound.rank, *bound.indexes))
        args += [bound.maxsize, bound.policy, record, int(self._sharded), *bound.touched]
        reply = await self._script("bound_store", self._triple(key) + self._bound_keys(bound), args)
        await self._leave_indexes([reply])
        return bool(int(reply[0]))

    def _bound_keys(self, bound: BoundSpec) -> list[str]:
        rank = bound.rank
        return [rank, rank + ":exp", rank + ":m", rank + ":v", self._records(rank), rank + ":f"]

    def _records(self, rank: str) -> str:
        """Where a group's entries record their indexes: one hash for the namespace, or
        on a cluster one per group, in the group's slot."""
        return self.keyspace.bounds_of(rank) if self._sharded else self.keyspace.bounds

    async def _leave_indexes(self, replies: Sequence[Any]) -> None:
        """On a cluster, the entries that bound_store.lua evicted leave the indexes of
        other slots (named in their records) right after, in one round trip."""
        calls: list[tuple[Any, ...]] = []
        for reply in replies:
            if not isinstance(reply, list):
                continue
            for victim, record in zip(reply[2::2], reply[3::2], strict=True):
                for index in bytes(record).split(b"\n")[1:]:
                    calls.append(("ZREM", _text(index), _text(victim)))
        if calls:
            await self._pipeline_commands("ZREM (pipeline)", calls, repeatable=True)

    async def read_touch(self, key: str, bound: BoundSpec) -> bytes | None:
        """A bounded entry, with the record of the uses held back (``bound.touched``) and
        of this one, in one round trip."""
        rank = bound.rank
        keys = [key, rank, rank + ":m", rank + ":v", rank + ":f"]
        args = [bound.policy, *bound.touched]
        return cast("bytes | None", await self._script("bound_read", keys, args))

    async def index_size(self, index: str) -> int:
        # Registrations end at the entry's expiry (register.lua): count those still on.
        now_ms = round(time.time() * 1000)
        return int(await self._read("ZCOUNT", index, f"({now_ms}", "+inf"))

    async def bound_size(self, bound: BoundSpec) -> int:
        """The entries a bounded group holds (those past their time leave it first)."""
        rank = bound.rank
        keys = [rank, rank + ":exp", rank + ":v", self._records(rank), rank + ":f"]
        return int(await self._script("bound_size", keys, []))

    async def lease_many(self, requests: Sequence[LeaseRequest]) -> list[Lease]:
        """Every lease request with its registrations, in pipelines: one round trip."""
        calls: list[ScriptCall] = []
        positions: list[int] = []
        for request in requests:
            positions.append(len(calls))
            calls.append(
                (
                    "lease",
                    self._triple(request.key),
                    [request.token, request.lease_ms, request.mode.value],
                )
            )
            if request.indexes:
                life = 0 if request.ttl_ms is None else request.lease_ms + request.ttl_ms
                calls += self._registrations(request.key, request.indexes, life, 0)
        replies = await self._scripts(calls) if calls else []
        return [_lease_of(replies[i]) for i in positions]

    async def store_many(self, requests: Sequence[StoreRequest]) -> list[bool]:
        channel = self.keyspace.channel
        calls: list[ScriptCall] = []
        for r in requests:
            args = [r.token, r.entry, r.ttl_ms or 0, channel, PUBLISH_LIMIT]
            if r.bound is None:
                calls.append(("store", self._triple(r.key), args))
            else:
                args += [
                    r.bound.maxsize,
                    r.bound.policy,
                    "\n".join((r.bound.rank, *r.bound.indexes)),
                    int(self._sharded),
                    *r.bound.touched,
                ]
                calls.append(("bound_store", self._triple(r.key) + self._bound_keys(r.bound), args))
        replies = await self._scripts(calls) if calls else []
        await self._leave_indexes(replies)
        return [bool(int(reply[0]) if isinstance(reply, list) else reply) for reply in replies]

    async def release(self, key: str, token: bytes) -> None:
        await self._script("release", self._triple(key), [token, self.keyspace.channel])

    async def extend(self, key: str, token: bytes, lease_ms: int) -> bool:
        return bool(await self._script("extend", self._triple(key), [token, lease_ms]))

    async def lock(self, key: str, fence: str, token: bytes, ttl_ms: int) -> int:
        return int(await self._script("lock", [key, fence], [token, ttl_ms]))

    async def unlock(self, key: str, token: bytes) -> bool:
        return bool(await self._script("unlock", [key], [token]))

    async def relock(self, key: str, token: bytes, ttl_ms: int) -> bool:
        return bool(await self._script("relock", [key], [token, ttl_ms]))

    async def invalidate(self, keys: Sequence[str], indexes: Sequence[str] = ()) -> int:
        """Entries and their dependents' index, slot by slot; then the members found."""
        space = self.keyspace
        calls: list[ScriptCall] = []
        for group in space.by_slot(keys).values():
            triples = [k for key in group for k in self._triple(key)]
            pairs = []
            for key in group:
                dependents = space.dependents(key)
                pairs += [dependents, space.marker(dependents)]
            calls.append(("invalidate", triples + pairs, [space.channel, len(group), MARKER_MS]))
        for index in indexes:
            calls.append(("invalidate", [index, space.marker(index)], [space.channel, 0, 0]))
        removed = 0
        members: set[str] = set()
        for reply in await self._scripts(calls):
            removed += int(reply[0])
            members.update(_text(member) for member in reply[1:])
        members.difference_update(keys)
        removed += await self._drop(members)
        await self._unbound([*keys, *members])
        return removed

    async def _unbound(self, entries: Iterable[str]) -> None:
        """Invalidated entries of bounded groups leave their bookkeeping: their records
        (one read), then one script per group (lua/bound_forget.lua). On a cluster the
        group is in the entry's key (keyspace.grouped): no read."""
        if not self._bounds.seen:
            return
        entries = list(dict.fromkeys(entries))
        if not entries:
            return
        space = self.keyspace
        groups: dict[str, list[str]] = {}
        if self._sharded:
            for entry in entries:
                group = space.group_of(entry)
                if group is not None:
                    groups.setdefault(space.bound(group), []).append(entry)
        else:
            records = await self._read("HMGET", space.bounds, *entries)
            for entry, record in zip(entries, records, strict=True):
                if record is not None:
                    rank = _text(bytes(record).split(b"\n", 1)[0])
                    groups.setdefault(rank, []).append(entry)
        calls: list[ScriptCall] = [
            (
                "bound_forget",
                [rank, rank + ":exp", rank + ":v", self._records(rank), rank + ":f", *members],
                [],
            )
            for rank, members in groups.items()
        ]
        if calls:
            await self._scripts(calls)

    async def _drop(self, entries: Iterable[str]) -> int:
        """Invalidate entries (not their dependents), one script per hash slot."""
        channel = self.keyspace.channel
        calls: list[ScriptCall] = [
            (
                "invalidate",
                [k for key in group for k in self._triple(key)],
                [channel, len(group), 0],
            )
            for group in self.keyspace.by_slot(entries).values()
        ]
        return sum(int(reply[0]) for reply in await self._scripts(calls))

    async def clear(self) -> int:
        """Every key of the namespace (SCAN in batches, never KEYS or FLUSHDB); fills in
        progress lose their lease and their waiters are woken."""
        space = self.keyspace
        entries: set[str] = set()
        others: list[str] = []
        for key in await self._scan(space.everything()):
            kind = space.kind(key)
            if kind == "entry":
                entries.add(key)
            elif kind in ("lease", "wait"):
                entries.add(cast(str, space.entry_of(key)))
            elif kind not in (None, "lock", "fence"):
                # Ours (another application's keys stay). Locks and their fencing
                # counters stay too: clearing a cache must not let a second holder in.
                others.append(key)
        removed = await self._drop(entries)
        await self.delete(others)
        return removed

    async def listen(self) -> bool:
        listener = self._listener
        if listener is None or listener.ready:
            return True
        # Only waiters need notices, so the listener starts here, off the holder's path.
        if not await AsyncCompat.run_blocking(listener.ensure):
            warn_throttled("listener-start", "redmemo: could not subscribe to fill notices")
        return False

    async def close(self) -> None:
        if self._lane is not None:
            self._lane.drop()
        await self.client.aclose()
        if self.reader is not None:
            await self.reader.aclose()
