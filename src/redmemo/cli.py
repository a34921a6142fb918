"""The ``redmemo`` command: see and fix what a cache holds, from the shell.

    redmemo [--url URL] [--namespace NS] [--json] COMMAND [ARGS]

The URL comes from ``--url``, else from the environment as for ``Cache()``
(``REDMEMO_URL``, ``REDIS_URL``, ``REDIS_SERVICE_*``). Commands: ``stats``, ``keys``,
``inspect``, ``invalidate``, ``clear``. Exit codes: 0 done, 1 the cache failed (an
unreachable server, say), 2 a usage error, 3 ``clear`` not confirmed. Errors are one line
on stderr, never a traceback. ``keys`` streams: it never holds more than one SCAN batch.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Iterator, Sequence
from typing import Any, TextIO

from .cache import Cache
from .core.entry import HEADER_SIZE, read_header
from .core.keys import bodies_of
from .errors import RedmemoError

__all__ = ["main"]

_BATCH = 1000
_DEFAULT_KEY = re.compile(r"(.+):[0-9a-f]{32}")


class _Failed(Exception):
    """A one-line error for the user, with an exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="redmemo", description="See and fix what a redmemo cache holds."
    )
    parser.add_argument("--url", help="the cache URL (default: REDMEMO_URL, REDIS_URL, ...)")
    parser.add_argument("--namespace", default="redmemo", help="the cache's namespace")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    # --json is taken before or after the command (SUPPRESS: a command's parser must not
    # reset what was given before it).
    shared = argparse.ArgumentParser(add_help=False)
    shared.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "stats", parents=[shared], help="statistics per function, shared through Redis"
    )
    keys = commands.add_parser("keys", parents=[shared], help="the entries (SCAN, streamed)")
    keys.add_argument("pattern", nargs="?", default="*", help="a glob on your keys")
    keys.add_argument("--tags", action="store_true", help="show each entry's tags")
    keys.add_argument("--limit", type=int, default=None, help="stop after this many")
    inspect = commands.add_parser(
        "inspect", parents=[shared], help="one entry's header (and value)"
    )
    inspect.add_argument("key", help="your key, or the stored key shown by 'keys'")
    inspect.add_argument("--value", action="store_true", help="decode the value too")
    inspect.add_argument("--serializer", default=None, help="to decode with (default: pickle)")
    invalidate = commands.add_parser("invalidate", parents=[shared], help="forget entries")
    what = invalidate.add_mutually_exclusive_group(required=True)
    what.add_argument("--key", action="append", help="a key (repeatable)")
    what.add_argument("--tag", action="append", help="a tag (repeatable)")
    what.add_argument("--pattern", help="a glob on your keys")
    what.add_argument("--function", help="module.qualname, or the name= given to @cache")
    clear = commands.add_parser(
        "clear", parents=[shared], help="forget every entry of the namespace"
    )
    clear.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    args = _parser().parse_args(argv)
    try:
        cache = _open(args)
    except _Failed as exc:
        return _error(str(exc), exc.code)
    except RedmemoError as exc:
        return _error(str(exc), 2)
    try:
        return int(_COMMANDS[args.command](cache, args, out) or 0)
    except _Failed as exc:
        return _error(str(exc), exc.code)
    except RedmemoError as exc:
        return _error(str(exc), 1)
    except Exception as exc:  # a client's own error (an unreachable server): one line
        return _error(f"{type(exc).__name__}: {exc}", 1)
    except KeyboardInterrupt:
        return _error("interrupted", 130)
    finally:
        cache.close()


def _error(message: str, code: int) -> int:
    print(f"redmemo: error: {message}", file=sys.stderr)
    return code


def _open(args: argparse.Namespace) -> Cache:
    cache = Cache(args.url, namespace=args.namespace)
    if cache.settings.kind != "redis":
        cache.close()
        raise _Failed(
            "memory:// lives inside one process; give a Redis URL (--url or REDMEMO_URL)", 2
        )
    return cache


def _emit(out: TextIO, args: argparse.Namespace, data: Any, text: str) -> None:
    out.write((json.dumps(data, sort_keys=True) if args.json else text) + "\n")


# -- stats ------------------------------------------------------------------------------


def _stats(cache: Cache, args: argparse.Namespace, out: TextIO) -> int:
    totals = cache.shared_stats()
    if args.json:
        _emit(out, args, totals, "")
        return 0
    if not totals:
        out.write("no shared statistics (Cache(..., share_stats=...) publishes them)\n")
        return 0
    columns = sorted({name for counts in totals.values() for name in counts})
    width = max(len(name) for name in totals)
    out.write(" ".join([f"{'function':<{width}}", *(f"{c:>9}" for c in columns)]) + "\n")
    for function, counts in sorted(totals.items()):
        cells = [f"{counts.get(c, 0):>9}" for c in columns]
        out.write(" ".join([f"{function:<{width}}", *cells]) + "\n")
    return 0


# -- keys --------------------------------------------------------------------------------


def _rows(cache: Cache, pattern: str, with_tags: bool) -> Iterator[dict[str, Any]]:
    client = cache._stats_client()
    space = cache.keyspace
    matches = [space.entries_matching(pattern)]
    if cache.settings.topology == "cluster":  # bounded functions' entries, grouped by slot
        matches.append(space.grouped_matching(pattern)[0])
    tags = _tags_of(cache) if with_tags else {}
    batch: list[tuple[str, re.Pattern[str] | None]] = []

    def flush() -> Iterator[dict[str, Any]]:
        with client.pipeline(transaction=False) as pipe:
            for key, _ in batch:
                pipe.getrange(key, 0, HEADER_SIZE - 1)
                pipe.strlen(key)
                pipe.pttl(key)
            replies = pipe.execute()
        now = time.time()
        for i, (key, body_filter) in enumerate(batch):
            head, size, pttl = replies[3 * i : 3 * i + 3]
            body = space.body(key) or key
            if body_filter is not None and not body_filter.fullmatch(body):
                continue
            own = tags.get(key, []) if with_tags else None
            yield _row(key, body, head, int(size), int(pttl), now, own)

    for match in matches:
        for raw in client.scan_iter(match=match.server, count=_BATCH):
            key = raw.decode("utf-8", "surrogateescape") if isinstance(raw, bytes) else raw
            if not space.is_entry(key):
                continue
            batch.append((key, match.body_filter))
            if len(batch) >= _BATCH:
                yield from flush()
                batch = []
    if batch:
        yield from flush()


def _row(
    key: str, body: str, head: bytes, size: int, pttl: int, now: float, tags: list[str] | None
) -> dict[str, Any]:
    header = read_header(head)
    # A key redmemo made is "<function>:<digest>"; a key you designed names no function.
    default = _DEFAULT_KEY.fullmatch(body)
    function = default.group(1) if default else None
    row: dict[str, Any] = {
        "key": body,
        "stored_key": key,
        "kind": header.kind,
        "function": function,
        "size": size,
        "age": None if header.created is None else round(now - header.created, 3),
        "refresh_in": None if header.refresh_at is None else round(header.refresh_at - now, 3),
        "expires_in": round(pttl / 1000, 3) if pttl >= 0 else None,
    }
    if tags is not None:
        row["tags"] = sorted(tags)
    return row


def _tags_of(cache: Cache) -> dict[str, list[str]]:
    """Entry -> its tags, from the tag indexes (this one pass holds every membership)."""
    client = cache._stats_client()
    space = cache.keyspace
    found: dict[str, list[str]] = {}
    start = space.index("tag", "")[:-2]  # the prefix of every tag index
    for raw in client.scan_iter(match=_glob_escape(start) + "*", count=_BATCH):
        index = raw.decode("utf-8", "surrogateescape") if isinstance(raw, bytes) else raw
        if space.kind(index) != "tag":
            continue
        tag = space.index_name(index)
        if tag is None:
            continue
        members: list[bytes] = client.zrange(index, 0, -1)  # type: ignore[assignment]
        for member in members:
            entry = member.decode("utf-8", "surrogateescape")
            found.setdefault(entry, []).append(tag)
    return found


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def _human(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{sign}{seconds / size:.1f}{unit}"
    return f"{sign}{seconds:.1f}s"


def _keys(cache: Cache, args: argparse.Namespace, out: TextIO) -> int:
    if args.limit is not None and args.limit < 0:
        raise _Failed("--limit must be 0 or more", 2)
    for shown, row in enumerate(_rows(cache, args.pattern, args.tags)):
        if args.limit is not None and shown >= args.limit:
            break
        if args.json:
            out.write(json.dumps(row, sort_keys=True) + "\n")  # one object per line
        else:
            tags = f"  tags={','.join(row['tags'])}" if row.get("tags") else ""
            out.write(
                f"{row['key']}  {row['size']}B  age={_human(row['age'])}  "
                f"refresh_in={_human(row['refresh_in'])}  "
                f"expires_in={_human(row['expires_in'])}{tags}\n"
            )
    return 0


# -- inspect -------------------------------------------------------------------------------


def _inspect(cache: Cache, args: argparse.Namespace, out: TextIO) -> int:
    stored = cache.full_key(args.key)
    client = cache._stats_client()
    raw: bytes | None = client.get(stored)  # type: ignore[assignment]
    if raw is None:
        raise _Failed(f"no entry {args.key!r} (stored key {stored!r})", 1)
    header = read_header(raw)
    now = time.time()
    info: dict[str, Any] = {
        "key": cache.keyspace.body(stored),
        "stored_key": stored,
        "kind": header.kind,
        "size": len(raw),
        "serializer": header.serializer,
        "compression": header.compression,
        "signed": header.signed,
        "created": header.created,
        "refresh_at": header.refresh_at,
        "expire_at": header.expire_at,
        "compute_time": header.compute_time,
        "expires_in": _ttl(client.pttl(stored)),
        "age": None if header.created is None else round(now - header.created, 3),
    }
    if args.value:
        codec = cache._runtime.codec.for_serializer(args.serializer or header.serializer)
        entry = codec.decode(raw)
        info["value"] = repr(entry.value) if entry is not None else None
        info["readable"] = entry is not None
    if args.json:
        _emit(out, args, info, "")
    else:
        for name, value in info.items():
            out.write(f"{name:>13}: {'-' if value is None else value}\n")
    return 0


def _ttl(pttl: int) -> float | None:
    return round(pttl / 1000, 3) if pttl >= 0 else None


# -- invalidate and clear -------------------------------------------------------------------


def _invalidate(cache: Cache, args: argparse.Namespace, out: TextIO) -> int:
    bounds = getattr(cache._family, "bounds", None)
    if bounds is not None:  # the entries may be bounded by the application's functions
        bounds.seen = True
    if args.key:
        count, what = cache.invalidate(*args.key), f"key(s) {', '.join(args.key)}"
    elif args.tag:
        count, what = cache.invalidate_tags(args.tag), f"tag(s) {', '.join(args.tag)}"
    elif args.pattern:
        count, what = cache.invalidate_pattern(args.pattern), f"pattern {args.pattern}"
    else:
        # Its index (index=True, key=, node=), and its keys by SCAN (the default).
        index = cache.keyspace.index("fn", args.function)
        count = cache._invalidate_indexes([index])
        count += cache.invalidate_pattern(bodies_of(args.function + ":"))
        what = f"function {args.function}"
    _emit(out, args, {"invalidated": count, "what": what}, f"invalidated {count} ({what})")
    return 0


def _clear(cache: Cache, args: argparse.Namespace, out: TextIO) -> int:
    if not args.yes:
        if not sys.stdin.isatty():
            raise _Failed("clear needs --yes when not run from a terminal", 3)
        answer = input(
            f"Delete every entry of namespace {cache.namespace!r} at "
            f"{cache.settings.display_url}? [y/N] "
        )
        if answer.strip().lower() not in ("y", "yes"):
            raise _Failed("not confirmed; nothing was deleted", 3)
    count = cache.clear()
    _emit(out, args, {"cleared": count}, f"cleared {count} entries")
    return 0


_COMMANDS = {
    "stats": _stats,
    "keys": _keys,
    "inspect": _inspect,
    "invalidate": _invalidate,
    "clear": _clear,
}
