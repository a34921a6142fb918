"""The redmemo command, run as a subprocess against real servers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import redmemo

pytestmark = pytest.mark.redis

ROOT = Path(__file__).resolve().parents[2]


def run(url: str | None, *args: str, env: dict[str, str] | None = None) -> Any:
    command = [sys.executable, "-m", "redmemo", "--namespace", "shop"]
    if url is not None:
        command += ["--url", url]
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("REDMEMO", "REDIS"))}
    environment.update(env or {})
    return subprocess.run(
        [*command, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


def _fill(url: str) -> tuple[redmemo.Cache, Any]:
    cache = redmemo.Cache(url, namespace="shop", share_stats=60)

    @cache(ttl=600, refresh=60, tags=["items", "i:{x}"], name="item")
    def item(x: int) -> dict[str, int]:
        return {"x": x}

    for i in range(5):
        item(i)
    item(1)
    cache.set("plain", "text")
    cache.increment("visits")
    cache.flush_stats()
    return cache, item


def test_keys_inspect_and_stats(redis_or_cluster_url: str) -> None:
    server_url = redis_or_cluster_url
    cache, item = _fill(server_url)
    try:
        listed = run(server_url, "keys", "--json", "--tags")
        assert listed.returncode == 0, listed.stderr
        rows = [json.loads(line) for line in listed.stdout.splitlines()]
        by_key = {row["key"]: row for row in rows}
        assert set(by_key) == {cache.keyspace.body(item.key(i)) for i in range(5)} | {
            "plain",
            "visits",
        }
        one = by_key[cache.keyspace.body(item.key(1))]
        assert one["function"] == "item"
        assert one["tags"] == ["i:1", "items"]
        assert 0 < one["refresh_in"] <= 60
        assert 0 < one["expires_in"] <= 600
        assert by_key["visits"]["kind"] == "counter"
        limited = run(server_url, "keys", "item:*", "--limit", "2")
        assert limited.returncode == 0
        assert len(limited.stdout.splitlines()) == 2
        shown = run(server_url, "--json", "inspect", item.key(1), "--value")
        assert shown.returncode == 0, shown.stderr
        info = json.loads(shown.stdout)
        assert info["serializer"] == "pickle"
        assert info["value"] == "{'x': 1}"
        assert info["readable"] is True
        header_only = json.loads(run(server_url, "inspect", "plain", "--json").stdout)
        assert "value" not in header_only
        stats = json.loads(run(server_url, "stats", "--json").stdout)
        assert stats["item"]["hits"] == 1
        assert stats["item"]["fills"] == 5
    finally:
        cache.close()


def test_invalidate_and_clear(redis_or_cluster_url: str) -> None:
    server_url = redis_or_cluster_url
    cache, _ = _fill(server_url)
    try:
        tag = run(server_url, "invalidate", "--tag", "i:2", "--json")
        assert json.loads(tag.stdout)["invalidated"] == 1
        key = run(server_url, "invalidate", "--key", "plain")
        assert key.stdout.strip() == "invalidated 1 (key(s) plain)"
        function = json.loads(run(server_url, "--json", "invalidate", "--function", "item").stdout)
        assert function["invalidated"] == 4
        assert cache.get("visits") == 1
        refused = run(server_url, "clear")
        assert refused.returncode == 3
        assert "needs --yes" in refused.stderr
        assert cache.get("visits") == 1
        cleared = run(server_url, "clear", "--yes", "--json")
        assert json.loads(cleared.stdout) == {"cleared": 1}
        assert cache.get("visits") is None
    finally:
        cache.close()


def test_the_url_comes_from_the_environment(redis_url: str) -> None:
    cache, _ = _fill(redis_url)
    try:
        listed = run(None, "keys", env={"REDMEMO_URL": redis_url})
        assert listed.returncode == 0
        assert "plain" in listed.stdout
    finally:
        cache.close()


@pytest.mark.parametrize(
    ("url", "args", "code", "message"),
    [
        ("redis://127.0.0.1:1/0?socket_connect_timeout=0.2", ["keys"], 1, "ConnectionError"),
        ("memory://", ["keys"], 2, "lives inside one process"),
        ("nope://x", ["keys"], 2, "unknown cache URL scheme"),
        ("redis://:hunter2@127.0.0.1:1/0", ["stats"], 1, "Connection"),
        (None, ["keys", "--limit", "-1"], 2, "--limit must be 0 or more"),
        (None, ["invalidate"], 2, "one of the arguments"),
        (None, ["inspect", "absent"], 1, "no entry 'absent'"),
    ],
)
def test_errors_are_one_line_with_an_exit_code(
    redis_url: str, url: str | None, args: list[str], code: int, message: str
) -> None:
    result = run(url or redis_url, *args)
    assert result.returncode == code
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert "hunter2" not in result.stderr
    assert result.stderr.count("\n") <= 3  # argparse's usage line, then the error


def test_keys_lists_the_entries_of_bounded_functions(redis_or_cluster_url: str) -> None:
    """On a cluster they are keyed in their group's slot; the listing finds them too."""
    cache = redmemo.Cache(redis_or_cluster_url, namespace="shop")
    try:

        @cache(ttl=600, maxsize=3, name="bounded", key="b:{x}")
        def bounded(x: int) -> int:
            return x

        for x in range(5):
            bounded(x)
        listed = run(redis_or_cluster_url, "keys", "--json")
        assert listed.returncode == 0, listed.stderr
        assert {json.loads(line)["key"] for line in listed.stdout.splitlines()} == {
            "b:2",
            "b:3",
            "b:4",
        }
        some = run(redis_or_cluster_url, "keys", "b:3", "--json")
        assert [json.loads(line)["key"] for line in some.stdout.splitlines()] == ["b:3"]
    finally:
        cache.close()
