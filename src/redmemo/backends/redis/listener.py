"""One pub/sub subscriber per cache and process, waking callers that wait for a fill.

It runs in a daemon thread with its own connection and serves sync and async callers
alike (async waiters are woken through their loop's thread-safe callbacks). It starts on
the first miss that may have to wait, survives connection drops by reconnecting, and is
started again in a forked child, where the parent's thread does not exist.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from typing import Any

import redis
from redis.exceptions import RedisError

from ..._log import logger, warn_throttled

__all__ = ["FillListener"]


class FillListener:
    def __init__(
        self,
        connect: Callable[[], redis.Redis],
        channel: str,
        on_message: Callable[[bytes], None],
        on_resubscribe: Callable[[], None] = lambda: None,
    ) -> None:
        self._connect = connect
        self.channel = channel
        self._on_message = on_message
        # Notices sent while the connection was down are lost: after a reconnect, every
        # waiter is woken to ask again rather than sleep until its holder's lease ends.
        self._on_resubscribe = on_resubscribe
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0

    @property
    def ready(self) -> bool:
        """Subscribed and listening, in this process."""
        return self._ready.is_set() and self._pid == os.getpid()

    def ensure(self, timeout: float = 5.0) -> bool:
        """Start listening if needed; wait until subscribed. False if Redis is unreachable."""
        if self.ready:
            return True
        with self._lock:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid = os.getpid()
                self._ready = threading.Event()
                self._stop = threading.Event()
                self._thread = threading.Thread(
                    target=self._run, name=f"redmemo-listener-{self.channel}", daemon=True
                )
                self._thread.start()
        return self._ready.wait(timeout)

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread.is_alive() and self._pid == os.getpid():
            self._wake()
            if thread is not threading.current_thread():
                thread.join(timeout=5)
        self._thread = None
        self._ready.clear()

    def _wake(self) -> None:
        """Interrupt the listener's blocking read, so that stopping takes no poll interval."""
        try:
            client = self._connect()
            try:
                client.publish(self.channel, b"")
            finally:
                client.close()
        except RedisError:
            pass  # it notices the stop flag within one poll interval anyway

    def _run(self) -> None:
        ready, stop = self._ready, self._stop
        backoff = 0.05
        interrupted = False
        while not stop.is_set():
            client = None
            pubsub: Any = None
            try:
                client = self._connect()
                pubsub = client.pubsub()  # type: ignore[no-untyped-call]
                pubsub.subscribe(self.channel)
                backoff = 0.05
                while not stop.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message is None:
                        continue
                    if message["type"] == "subscribe":
                        ready.set()
                        if interrupted:
                            interrupted = False
                            logger.warning("redmemo: fill notifications resumed")
                            self._on_resubscribe()
                    elif message["type"] == "message":
                        self._deliver(message["data"])
            except RedisError as exc:
                ready.clear()
                interrupted = True
                warn_throttled(
                    "listener", "redmemo: fill notifications interrupted (%s); reconnecting", exc
                )
                stop.wait(backoff)
                backoff = min(backoff * 2, 2.0)
            finally:
                if pubsub is not None:
                    with contextlib.suppress(RedisError):
                        pubsub.close()
                if client is not None:
                    client.close()

    def _deliver(self, data: bytes) -> None:
        try:
            self._on_message(data)
        except Exception:  # a waiter's failure must never stop the listener
            logger.exception("redmemo: delivering a fill notification failed")
