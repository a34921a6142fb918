"""Designed keys, nodes, tags, dependencies, patterns, and function-wide invalidation."""

from __future__ import annotations

import sys

import redmemo


def main(url: str | None) -> None:
    cache = redmemo.Cache(url, namespace="example-invalidation")
    cache.clear()

    # A key you design: readable with the store API, invalidated by key.
    @cache(key="user:{user_id}:{lang}", ttl="10m", tags=["users", "user:{user_id}"])
    def profile(user_id: int, lang: str = "en") -> dict[str, object]:
        return {"id": user_id, "lang": lang}

    profile(7)
    assert cache.get("user:7:en") == {"id": 7, "lang": "en"}

    # Dependencies: a book's owner view depends on the owner's key (seed: invalid_keys).
    @cache(ttl="10m", depends_on=["book:{book_id}", "user:{result[owner]}"])
    def book_owner(book_id: int) -> dict[str, int]:
        return {"book": book_id, "owner": 7}

    book_owner(100)
    removed = cache.invalidate("user:7")  # the owner changed: every dependent goes
    print("invalidate('user:7') removed", removed, "dependent entry")

    # Tags: every entry of user 7, in every process, without scanning the database.
    profile(7, "fr")
    print("invalidate_tags('user:7') removed", cache.invalidate_tags("user:7"), "entries")

    # Nodes: declarative keys with their own defaults.
    class TeamNode(redmemo.Node):
        team_id = redmemo.Field()

        def key(self) -> str:
            return f"team:{self.team_id}"

        class Meta:
            ttl = "1h"
            tags = ("teams",)

    @cache(node=TeamNode)  # fields are taken from the parameters of the same names
    def team(team_id: int) -> list[str]:
        return ["ada", "grace"]

    team(1)
    team(2)
    print("TeamNode.objects.get(team_id=1) ->", TeamNode.objects.get(team_id=1))
    TeamNode.objects.invalidate(team_id=1)  # one entry
    print("TeamNode.objects.invalidate() removed", TeamNode.objects.invalidate(), "entry")

    # Patterns (a SCAN of the whole database) and whole functions (no scan).
    for user_id in range(5):
        profile(user_id)
    print("invalidate_pattern('user:1*') removed", cache.invalidate_pattern("user:1*"))
    print("profile.invalidate_all() removed", profile.invalidate_all())
    cache.clear()
    cache.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
