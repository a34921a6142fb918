"""Writing a packed command on a redis-py connection, for the lane.

redis-py's asyncio connection wraps every write in ``asyncio.wait_for`` to apply its
socket timeout; before Python 3.12 that makes a task for each command, two more turns
of the event loop on every hit (measured: most of what an async hit costs above the sync
one on the test machine). A write of a few hundred bytes never waits, though: the stream
takes it into its buffer at once. So the async lane writes itself, and waits (bounded by
the socket timeout, as redis-py does) only when the buffer is past its high-water mark,
that is when the server has stopped reading. Everything else (a connection not yet open,
a health check due, a stream closing) goes the way redis-py goes.
"""

from __future__ import annotations

import asyncio
from typing import Any

from redis.exceptions import ConnectionError, TimeoutError

__all__ = ["async_send_packed", "sync_send_packed"]


def sync_send_packed(connection: Any, data: bytes) -> None:
    """The sync twin: redis-py's own write (a blocking ``sendall``, no task to save)."""
    connection.send_packed_command([data])  # a list: bytes alone would be iterated


async def async_send_packed(connection: Any, data: bytes) -> None:
    writer = getattr(connection, "_writer", None)
    if (
        writer is None
        or writer.transport.is_closing()
        or getattr(connection, "health_check_interval", 0)
    ):
        await connection.send_packed_command([data])
        return
    transport = writer.transport
    try:
        writer.write(data)
        if transport.get_write_buffer_size() > transport.get_write_buffer_limits()[1]:
            await asyncio.wait_for(writer.drain(), connection.socket_timeout)
        else:
            await writer.drain()  # returns at once; raises what the stream met
    except asyncio.TimeoutError:
        await _drop(connection, transport)
        raise TimeoutError("Timeout writing to socket") from None
    except OSError as exc:
        await _drop(connection, transport)
        raise ConnectionError(f"Error while writing to socket: {exc!r}") from exc
    except BaseException:
        await _drop(connection, transport)  # part of the command may be out
        raise


async def _drop(connection: Any, transport: asyncio.WriteTransport) -> None:
    """Close a connection whose write failed, at once: a plain close would first wait
    to flush what the server is not reading, and leave the socket open meanwhile."""
    transport.abort()
    await connection.disconnect(nowait=True)
