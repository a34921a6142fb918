"""Named configurations, as Django's CACHES setting."""

from __future__ import annotations

import redmemo


def main() -> None:
    redmemo.caches.configure(
        {
            "default": {"url": "memory://", "namespace": "app"},
            "sessions": {"url": "memory://?maxsize=10000", "serializer": "json", "ttl": "30m"},
        }
    )
    sessions = redmemo.caches["sessions"]  # one shared instance per name
    assert sessions is redmemo.caches["sessions"]
    sessions.set("s1", {"user": 7})
    print("session s1:", sessions.get("s1"), "expires in", round(sessions.ttl("s1") or 0), "s")

    scratch = redmemo.caches.create("default", namespace="scratch")  # a new instance
    scratch.set("k", "v")
    print("scratch namespace:", scratch.namespace, scratch.get("k"))


if __name__ == "__main__":
    main()
