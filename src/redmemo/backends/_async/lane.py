"""Single commands on connections the backend keeps between calls.

redis-py's ``execute_command`` takes a connection from its pool and gives it back around
every command, with locks, checks and metrics records on both sides: on a miss (two
scripts) or a hit (one GET) that work cost as much as a third of the call. The lane keeps
the connections it used in a list of its own (``list.pop``/``append`` need no lock) and
takes one from the pool only when the list is empty, so a command costs what the
connection's own send and read cost.

The kept connections stay the pool's (counted as in use, closed with it): when the pool
runs out, it takes one back from the lane (``clients.AsyncSharedPool``), so the pool's size
still bounds the connections. A connection that failed under a command is closed first
(redis-py closes it too; its stream may hold a late reply) and opens again on next use.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from redis.exceptions import ConnectionError, ResponseError, TimeoutError

from ..._workers import promise_wakes, wake_deferred
from ..redis.wire import async_send_packed

_hiredis_pack: Callable[[tuple[Any, ...]], bytes] | None
try:
    import hiredis

    _hiredis_pack = hiredis.pack_command
except ImportError:  # hiredis is optional: redis-py's packer then
    _hiredis_pack = None

__all__ = ["AsyncLane"]


class AsyncLane:
    def __init__(self, pool: Any, callbacks: Mapping[str, Callable[..., Any]]) -> None:
        self._pool = pool
        self._idle: list[Any] = []
        self._callbacks = callbacks  # the client's reply parsers, as execute_command uses
        pool.spare = self.spare
        # Commands packed by hiredis directly: redis-py's packer goes through the same
        # function after a Python pass over the arguments (3 us of an EVALSHA's 4.6 on
        # the test machine). Only where both would give the same bytes: strings in UTF-8.
        settings = getattr(pool, "connection_kwargs", {})
        utf8 = settings.get("encoding", "utf-8").lower().replace("_", "-") in ("utf-8", "utf8")
        plain = settings.get("encoding_errors", "strict") == "strict"
        self._fast_pack = _hiredis_pack if utf8 and plain else None
        promise_wakes()  # sync refreshes handed over are woken while we wait for replies

    def spare(self) -> Any | None:
        """A kept connection, for the pool that ran out (None: none idle)."""
        try:
            return self._idle.pop()
        except IndexError:
            return None

    async def send(self, command: str, args: Sequence[Any], check: bool = False) -> Any:
        """``command`` and its reply. ``check``: first make sure a kept connection has
        nothing to read (a server that closed it, since): for a write, which must not
        fail on a connection known dead, being sent at most once."""
        packed = self._pack((command, *args))
        connection = await self._take(check)
        idle = self._idle
        try:
            if packed is None:
                await connection.send_command(command, *args)
            else:
                await async_send_packed(connection, packed)
            wake_deferred()  # while the reply is on its way (_workers.py)
            reply = await connection.read_response()
        except ResponseError:
            idle.append(connection)  # an error reply, read whole: the connection is sound
            raise
        except BaseException:
            await self._keep_closed(connection)
            raise
        idle.append(connection)
        callback = self._callbacks.get(command)
        return reply if callback is None else callback(reply)

    async def send_many(self, commands: Sequence[Sequence[Any]]) -> list[Any]:
        """Commands in one write (a pipeline, not a transaction), their replies in order,
        an error reply as its exception in its place. Replies come as Redis sent them,
        without the client's parsers: for scripts, whose replies have none. Checked as
        writes are (they may hold some)."""
        packed = [self._pack(tuple(command)) for command in commands]
        connection = await self._take(True)
        try:
            if None in packed:
                await connection.send_packed_command(connection.pack_commands(commands))
            else:
                await async_send_packed(connection, b"".join(packed))  # type: ignore[arg-type]
            wake_deferred()
            replies: list[Any] = []
            for _ in commands:
                try:
                    replies.append(await connection.read_response())
                except ResponseError as exc:
                    replies.append(exc)
        except BaseException:
            await self._keep_closed(connection)
            raise
        self._idle.append(connection)
        return replies

    def _pack(self, command: tuple[Any, ...]) -> bytes | None:
        """``command`` in the protocol, or None to let the connection pack it: no hiredis,
        a name of two words (``SCRIPT LOAD``, which redis-py splits) or an argument
        hiredis refuses (redis-py's packer then raises its usual error)."""
        fast = self._fast_pack
        if fast is None or " " in command[0]:
            return None
        try:
            return fast(command)
        except TypeError:
            return None

    async def _take(self, check: bool) -> Any:
        try:
            connection = self._idle.pop()
        except IndexError:
            return await self._pool.get_connection()
        if check and connection.is_connected:
            try:
                if await self._dirty(connection):
                    await self._close(connection)  # opened again by the send
            except BaseException:
                self._idle.append(connection)  # cancelled meanwhile: still ours
                raise
        return connection

    async def _keep_closed(self, connection: Any) -> None:
        """A connection that failed under a command: closed (its stream may hold a late
        reply; redis-py closes it too), and kept: its next use opens it again."""
        try:
            await self._close(connection)
        finally:
            self._idle.append(connection)

    @staticmethod
    async def _close(connection: Any) -> None:
        with contextlib.suppress(Exception):  # closing a broken socket may fail too
            await connection.disconnect(nowait=True)

    @staticmethod
    async def _dirty(connection: Any) -> bool:
        """Whether a kept connection has something to read: the server closed it, or it
        holds bytes nobody asked for."""
        try:
            return bool(await connection.can_read())
        except (ConnectionError, TimeoutError, OSError):  # closed: redis-py says so
            return True

    def drop(self) -> None:
        """Forget the kept connections (the pool, closing, closes them)."""
        self._idle = []
