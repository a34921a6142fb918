"""A process that takes a lock many times from 8 threads, for the lock tests.

    python -m tests.support.locker URL NAMESPACE ROUNDS [hold]

Each holder reads a shared counter, pauses, and writes it back plus one (not atomic: only
the lock keeps it right), and records the counter it saw with its fencing token. Prints
one JSON line of those records. With ``hold``, it takes the lock once and sleeps (to be
killed holding it).
"""

from __future__ import annotations

import json
import sys
import threading
import time

import redmemo
from tests.support.servers import direct_client

URL, NAMESPACE, ROUNDS = sys.argv[1], sys.argv[2], int(sys.argv[3])
HOLD = len(sys.argv) > 4 and sys.argv[4] == "hold"


def main() -> None:
    cache = redmemo.Cache(URL, namespace=NAMESPACE)
    counter = direct_client(URL)
    if HOLD:
        lock = cache.lock("shared", ttl=1.0)
        assert lock.acquire()
        print(json.dumps({"held": lock.fencing_token}), flush=True)
        time.sleep(600)
    records: list[tuple[int, int]] = []
    guard = threading.Lock()

    def work() -> None:
        for _ in range(ROUNDS):
            with cache.lock("shared", ttl=10, blocking_timeout=60) as lock:
                seen = int(counter.get(f"{NAMESPACE}:counter") or 0)
                time.sleep(0.001)
                counter.set(f"{NAMESPACE}:counter", seen + 1)
                assert lock.fencing_token is not None
                with guard:
                    records.append((seen, lock.fencing_token))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({"records": records}), flush=True)
    cache.close()


if __name__ == "__main__":
    main()
