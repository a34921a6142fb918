"""The near cache's invalidation connections: Redis client tracking in broadcasting mode.

One thread per cache and process holds one connection to each primary (one for a
server or a Sentinel-managed master, one per primary of a cluster). Each connection
turns tracking on for itself (RESP2, ``CLIENT TRACKING ON REDIRECT <own id> BCAST
PREFIX <namespace>:{``) and subscribes to ``__redis__:invalidate``; Redis then sends it
the name of every entry key of the namespace that changes, expires or is evicted.

Why broadcasting rather than the default mode: in the default mode the server remembers
every key each connection read, so tracking would have to be turned on, with a
redirection, for every pooled connection of every client (sync, and one async pool per
event loop) and the server would keep a table of every key every process read (bounded
by ``tracking-table-max-keys``, past which it invalidates keys nobody changed). With
BCAST one connection per primary covers every client of the process, the server keeps
one prefix, and an invalidation reaches a process whether or not the key's read was on a
tracked connection, which is what makes the in-flight race decidable here (see
``coordination/near.py``). The cost: messages for keys of the namespace this process
holds no copy of, dropped on arrival.

Doubt means a flush: a connection that fails, or does not answer a PING within three
intervals, empties the near cache, and nothing is kept until every connection is
subscribed again. A barrier (a PING on every connection, answered after every
invalidation Redis sent before it) lets this process's own invalidations reach its
near cache before they return.
"""

from __future__ import annotations

import collections
import contextlib
import os
import selectors
import socket
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

from ..._log import logger, warn_throttled
from ...coordination.near import NearStore

__all__ = ["Tracker"]

_CHANNEL = b"__redis__:invalidate"
_HEALTH = b"redmemo-near-health"
CLIENT_NAME = "redmemo-near"


class _Barrier:
    __slots__ = ("future", "token", "waiting")

    def __init__(self, token: bytes) -> None:
        self.token = token
        self.future: Future[bool] = Future()
        self.waiting: set[int] = set()


class Tracker:
    def __init__(
        self,
        connect: Callable[[], Sequence[Any]],
        prefix: str,
        store: NearStore,
        topology: Callable[[], object] | None = None,
        interval: float = 1.0,
    ) -> None:
        # ``connect`` gives one redis-py client (RESP2) per primary, asked again on each
        # reconnect; ``topology`` (a cluster) tells which primaries there are now.
        self._connect = connect
        self.prefix = prefix
        self.store = store
        self._topology = topology
        self.interval = interval
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._stop = threading.Event()
        self._requests: collections.deque[_Barrier] = collections.deque()
        self._sent: list[_Barrier] = []  # barriers whose PINGs are out
        self._tokens = 0
        # Wakes the thread out of its wait for a barrier or a stop; made with the thread.
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None

    # -- for the near layer ----------------------------------------------------------------------

    def ensure(self) -> None:
        """Start tracking in this process if it is not running (cheap when it is)."""
        thread = self._thread
        if thread is not None and self._pid == os.getpid() and thread.is_alive():
            return
        with self._lock:
            thread = self._thread
            if thread is not None and self._pid == os.getpid() and thread.is_alive():
                return
            self._pid = os.getpid()
            self._stop = threading.Event()
            self._close_wake()
            self._wake_r, self._wake_w = socket.socketpair()
            self._wake_r.setblocking(False)
            self._wake_w.setblocking(False)
            self._thread = threading.Thread(
                target=self._run, name=f"redmemo-near-{self.prefix}", daemon=True
            )
            self._thread.start()

    def barrier(self) -> Future[bool]:
        """A future that becomes True once every invalidation Redis sent before now has
        reached the near cache (False: tracking is down, and the near cache was flushed)."""
        with self._lock:
            self._tokens += 1
            barrier = _Barrier(b"redmemo-near-barrier:%d" % self._tokens)
        if not self.store.ready:
            barrier.future.set_result(False)
            return barrier.future
        self._requests.append(barrier)
        self._wake()
        return barrier.future

    def _wake(self) -> None:
        wake = self._wake_w
        if wake is not None:
            with contextlib.suppress(OSError):  # full (it is awake already), or closed
                wake.send(b"x")

    def _close_wake(self) -> None:
        for end in (self._wake_r, self._wake_w):
            if end is not None:
                end.close()
        self._wake_r = self._wake_w = None

    def stop(self) -> None:
        self._stop.set()
        self._wake()
        thread = self._thread
        alive = thread is not None and thread.is_alive() and self._pid == os.getpid()
        if alive and thread is not threading.current_thread():
            assert thread is not None
            thread.join(timeout=5)
        self._thread = None
        self._close_wake()

    def after_fork(self) -> None:
        # The parent's thread and sockets are not ours; the child starts its own.
        self._lock = threading.Lock()
        self._thread = None
        self._requests = collections.deque()
        self._sent = []
        self._close_wake()  # the child's copies of the parent's descriptors

    # -- the thread ------------------------------------------------------------------------------

    def _run(self) -> None:
        stop = self._stop
        backoff = 0.05
        interrupted = False
        while not stop.is_set():
            clients: Sequence[Any] = ()
            connections: list[Any] = []
            try:
                clients = self._connect()
                seen = self._topology() if self._topology is not None else None
                connections = [self._subscribe(client) for client in clients]
                self.store.tracking()
                if interrupted:
                    interrupted = False
                    logger.warning("redmemo: near cache tracking resumed")
                backoff = 0.05
                self._serve(connections, seen)
            except Exception as exc:  # whatever the client raises: connection lost
                interrupted = True
                warn_throttled(
                    "near-tracking",
                    "redmemo: near cache tracking interrupted (%s); flushed, reconnecting",
                    exc,
                )
            finally:
                if self.store.ready or connections:
                    self.store.lost()
                self._fail_barriers()
                for connection in connections:
                    with contextlib.suppress(Exception):
                        connection.disconnect()
                for client in clients:
                    with contextlib.suppress(Exception):
                        client.close()
            if not stop.is_set():
                stop.wait(backoff)
                backoff = min(backoff * 2, 2.0)

    def _subscribe(self, client: Any) -> Any:
        connection = client.connection_pool.get_connection()
        connection.send_command("CLIENT", "ID")
        own_id = connection.read_response()
        connection.send_command("CLIENT", "SETNAME", CLIENT_NAME)
        connection.read_response()
        connection.send_command(
            "CLIENT", "TRACKING", "ON", "REDIRECT", own_id, "BCAST", "PREFIX", self.prefix
        )
        connection.read_response()
        connection.send_command("SUBSCRIBE", _CHANNEL)
        reply = connection.read_response()
        if not (isinstance(reply, list) and reply and reply[0] == b"subscribe"):
            raise ConnectionError(f"unexpected reply to SUBSCRIBE: {reply!r}")
        return connection

    def _serve(self, connections: list[Any], seen: object) -> None:
        """Read invalidations until stopped; raise when a connection is in doubt."""
        wake = self._wake_r
        assert wake is not None
        # A selector, not select(): a busy process has descriptors past select()'s 1024.
        with selectors.DefaultSelector() as selector:
            selector.register(wake, selectors.EVENT_READ)
            for connection in connections:
                # redis-py keeps its socket private; waiting on it is the only way to wait
                # on several connections in one thread.
                selector.register(connection._sock, selectors.EVENT_READ)
            self._listen(connections, seen, selector, wake)

    def _listen(
        self,
        connections: list[Any],
        seen: object,
        selector: selectors.BaseSelector,
        wake: socket.socket,
    ) -> None:
        stop = self._stop
        interval = self.interval
        barriers = self._sent
        asked: dict[int, float] = {}  # health PINGs not yet answered, by connection
        next_check = time.monotonic() + interval
        while not stop.is_set():
            for i, connection in enumerate(connections):
                while connection.can_read(0):
                    self._handle(i, connection.read_response(), barriers, asked)
            while self._requests:
                barrier = self._requests.popleft()
                barrier.waiting = set(range(len(connections)))
                for connection in connections:
                    connection.send_command("PING", barrier.token)
                barriers.append(barrier)
            now = time.monotonic()
            if now >= next_check:
                for i, connection in enumerate(connections):
                    sent = asked.get(i)
                    if sent is None:
                        connection.send_command("PING", _HEALTH)
                        asked[i] = now
                    elif now - sent > 3 * interval:
                        raise TimeoutError(f"no answer to PING for {now - sent:.1f}s")
                if self._topology is not None and self._topology() != seen:
                    raise ConnectionError("the cluster's primaries changed")
                next_check = now + interval
            ready = selector.select(max(0.0, next_check - time.monotonic()))
            if any(key.fileobj is wake for key, _ in ready):
                with contextlib.suppress(OSError):
                    wake.recv(4096)

    def _handle(
        self, i: int, message: Any, barriers: list[_Barrier], asked: dict[int, float]
    ) -> None:
        if not isinstance(message, list) or not message:
            return
        kind = message[0]
        if kind == b"message" and message[1] == _CHANNEL:
            keys = message[2]
            if keys is None:  # FLUSHDB / FLUSHALL: everything changed
                self.store.flush("flushdb")
            else:
                self.store.invalidated([_text(key) for key in keys])
        elif kind == b"pong":
            payload = message[1] if len(message) > 1 else b""
            if payload == _HEALTH:
                asked.pop(i, None)
                return
            for barrier in list(barriers):
                if barrier.token == payload:
                    barrier.waiting.discard(i)
                    if not barrier.waiting:
                        barriers.remove(barrier)
                        barrier.future.set_result(True)

    def _fail_barriers(self) -> None:
        sent, self._sent = self._sent, []
        while self._requests:
            sent.append(self._requests.popleft())
        for barrier in sent:
            if not barrier.future.done():
                barrier.future.set_result(False)


def _text(key: bytes | str) -> str:
    return key if isinstance(key, str) else key.decode("utf-8", "surrogateescape")
