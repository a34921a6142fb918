"""Every name redmemo gives a key, in one place, and the way back from a key to its entry.

For a namespace ``N`` (escaped, see below) the keys are::

    N:{body}              an entry. ``body`` is the key the user wrote (store API, template,
                          node) or ``module.qualname[:vV]:digest`` for a default key
    N:#lease:{body}       the lease of a fill of that entry          | the entry's
    N:#wait:{body}        "somebody waits for this fill"             | hash slot
    N:#dep:{body}         the entries that depend on that entry      |
    N:#dep:{body}:inv     when that index was last invalidated       |
    N:#tag:{name}         the entries that carry a tag
    N:#fn:{name}          the entries of a decorated function
    N:#node:{name}        the entries of a node class
    N:#stats, N:#stats:{name}   statistics shared across processes
    N:#bound:{group}      a bounded group's ranks (a sorted set), with ``:exp`` (when
                          each entry expires), ``:m`` (counters: seq, age, hand) and
                          ``:v`` (SIEVE's visited bits), all in the group's slot
    N:#bounds             bounded entry -> its group's ranks key and index memberships
    N:#fills              the pub/sub channel of fill notices (a channel, not a key)

Why this shape:

- A body always sits between braces, so no key or argument value of the user's can name
  an internal key (those start with ``N:#``), and every key has exactly one Redis Cluster
  hash tag. An entry, its lease, its wait flag and the index of its dependents share a
  hash slot, so the scripts that touch them together touch one slot.
- Braces and ``%`` inside a body or a name are escaped (``%7B``, ``%7D``, ``%25``), which
  is reversible: :meth:`Keyspace.body` gives back exactly the text the user wrote.
- The namespace is escaped too, ``:`` included, so ``app`` and ``app:sub`` can never reach
  each other's keys, and glob characters in it are literal in every pattern.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Iterable
from typing import NamedTuple

from .glob import compile_glob, escape_glob

__all__ = ["SLOTS", "Keyspace", "Match", "hash_slot"]

SLOTS = 16384

_NS_ESCAPES = str.maketrans(
    {c: f"%{ord(c):02X}" for c in "%:{}*?[]\\#"},
)
_BODY_ESCAPES = str.maketrans({"%": "%25", "{": "%7B", "}": "%7D"})
_BODY_UNESCAPE = re.compile("%(25|7B|7D|u[0-9A-F]{4})")
_UNESCAPED = {"25": "%", "7B": "{", "7D": "}"}
# A lone surrogate (from a file name, a broken decode) cannot be sent as UTF-8: it is
# written %uXXXX, which no other text produces ("%" itself is escaped).
_SURROGATE = re.compile("[\ud800-\udfff]")

# Indexes named after something other than an entry (``dependents()`` names the rest).
_NAMED_INDEXES = ("tag", "fn", "node")


def hash_slot(key: str) -> int:
    """The Redis Cluster hash slot of ``key`` (CRC16/XMODEM of its hash tag, mod 16384)."""
    data = key.encode("utf-8", "surrogatepass")
    start = data.find(b"{")
    if start != -1:
        end = data.find(b"}", start + 1)
        if end > start + 1:
            data = data[start + 1 : end]
    return binascii.crc_hqx(data, 0) % SLOTS


def _escape(text: str) -> str:
    text = text.translate(_BODY_ESCAPES)
    if not text.isascii():
        text = _SURROGATE.sub(lambda m: f"%u{ord(m.group()):04X}", text)
    return text


def _unescape(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        return chr(int(code[1:], 16)) if code[0] == "u" else _UNESCAPED[code]

    return _BODY_UNESCAPE.sub(one, text)


class Match(NamedTuple):
    """How to find keys by a user's glob: the pattern to send to SCAN, and a filter for
    the bodies it returns when the server's pattern is wider than the user's."""

    server: str
    body_filter: re.Pattern[str] | None


class Keyspace:
    """The key names of one namespace."""

    __slots__ = (
        "_dep",
        "_entry",
        "_lease",
        "_wait",
        "channel",
        "namespace",
        "prefix",
        "stats",
    )

    def __init__(self, namespace: str) -> None:
        if not isinstance(namespace, str) or not namespace:
            raise ValueError(f"a namespace is a non-empty str, got {namespace!r}")
        self.namespace = namespace
        self.prefix = namespace.translate(_NS_ESCAPES) + ":"
        self._entry = self.prefix + "{"
        self._lease = self.prefix + "#lease:"
        self._wait = self.prefix + "#wait:"
        self._dep = self.prefix + "#dep:"
        self.channel = self.prefix + "#fills"
        self.stats = self.prefix + "#stats"

    def __repr__(self) -> str:
        return f"Keyspace({self.namespace!r})"

    # -- entries ---------------------------------------------------------------------------

    @property
    def entry_prefix(self) -> str:
        """What every entry key, and no other key of ours, starts with."""
        return self._entry

    def entry(self, body: str) -> str:
        """The key of the entry the user calls ``body``."""
        return self._entry + _escape(body) + "}"

    def grouped(self, group: str, body: str) -> str:
        """The key of entry ``body`` of the bounded group ``group`` on a Redis Cluster:
        ``ns:{group}:body``. Its hash tag is the group's, as that of the group's
        bookkeeping (:meth:`bound`), so that eviction touches one slot."""
        return self._entry + _escape(group) + "}:" + _escape(body)

    def _parts(self, key: str) -> tuple[str | None, str] | None:
        """(escaped group or None, escaped body) of an entry key; None if not one. Escaped
        text has no braces, so the first ``}`` ends a plain key or a grouped key's tag."""
        if not key.startswith(self._entry):
            return None
        close = key.find("}", len(self._entry))
        if close == len(key) - 1:
            return None, key[len(self._entry) : -1]
        if close != -1 and key.startswith(":", close + 1):
            return key[len(self._entry) : close], key[close + 2 :]
        return None

    def body(self, key: str) -> str | None:
        """The user's name of an entry key; None if ``key`` is not an entry of ours."""
        parts = self._parts(key)
        return None if parts is None else _unescape(parts[1])

    def group_of(self, key: str) -> str | None:
        """The bounded group a grouped entry key belongs to (None for any other key)."""
        parts = self._parts(key)
        return None if parts is None or parts[0] is None else _unescape(parts[0])

    def describe(self, key: str) -> str:
        """``key`` as the user knows it, for messages: the body of an entry."""
        body = self.body(key)
        return key if body is None else body

    def is_entry(self, key: str) -> bool:
        return self._parts(key) is not None

    def as_stored(self, key: str) -> str | None:
        """``key`` itself if it is already an entry key of this namespace, exactly as
        :meth:`entry` or :meth:`grouped` writes one (so that every key redmemo shows can
        be handed back to the API); None for a key the user names, which :meth:`entry`
        then maps."""
        parts = self._parts(key)
        if parts is None:
            return None
        group, body = parts
        if group is None:
            rebuilt = self.entry(_unescape(body))
        else:
            rebuilt = self.grouped(_unescape(group), _unescape(body))
        return key if rebuilt == key else None

    # -- what shares an entry's slot --------------------------------------------------------

    def lease(self, entry: str) -> str:
        return self._lease + entry[len(self.prefix) :]

    def wait_flag(self, entry: str) -> str:
        return self._wait + entry[len(self.prefix) :]

    def dependents(self, entry: str) -> str:
        """The index of the entries registered with ``depends_on`` this entry."""
        return self._dep + entry[len(self.prefix) :]

    def entry_of(self, key: str) -> str | None:
        """The entry that a lease or wait flag belongs to (None for anything else)."""
        for start in (self._lease, self._wait):
            if key.startswith(start):
                return self.prefix + key[len(start) :]
        return None

    # -- indexes -----------------------------------------------------------------------------

    def index(self, kind: str, name: str) -> str:
        """The index of entries of one tag (``"tag"``), function (``"fn"``) or node class
        (``"node"``)."""
        if kind not in _NAMED_INDEXES:
            raise ValueError(f"unknown index kind {kind!r}")
        return f"{self.prefix}#{kind}:{{{_escape(name)}}}"

    def tag(self, name: str) -> str:
        return self.index("tag", name)

    @staticmethod
    def marker(index: str) -> str:
        """When ``index`` was last invalidated (server microseconds); same slot."""
        return index + ":inv"

    def lock(self, name: str) -> str:
        """The key of the lock called ``name`` (``cache.lock(name)``)."""
        return f"{self.prefix}#lock:{{{_escape(name)}}}"

    def fence(self, name: str) -> str:
        """The fencing counter of the lock ``name``: same slot, never cleared."""
        return f"{self.prefix}#fence:{{{_escape(name)}}}"

    def bound(self, group: str) -> str:
        """The ranks of the bounded group ``group`` (a function's name, or ``#namespace``
        for the cache-wide bound); its other keys add ``:exp``, ``:m`` and ``:v``."""
        return f"{self.prefix}#bound:{{{_escape(group)}}}"

    @property
    def bounds(self) -> str:
        """Each bounded entry's group and index memberships (so that invalidating or
        evicting it leaves nothing behind)."""
        return self.prefix + "#bounds"

    @staticmethod
    def bounds_of(rank: str) -> str:
        """On a Redis Cluster, the records of one group (``bound(group)``'s slot): one
        hash for all groups would be in another slot than each group's entries."""
        return rank.replace("#bound:", "#bounds:", 1)

    def stats_of(self, name: str) -> str:
        return f"{self.stats}:{{{_escape(name)}}}"

    # -- finding keys --------------------------------------------------------------------------

    def everything(self) -> str:
        """A SCAN pattern for every key of this namespace and of no other."""
        return escape_glob(self.prefix) + "*"

    def entries_matching(self, pattern: str) -> Match:
        """How to find the entries whose user key matches the glob ``pattern``."""
        return self._matching(self._entry, pattern)

    def leases_matching(self, pattern: str) -> Match:
        """How to find the leases (fills in progress) of entries matching ``pattern``."""
        return self._matching(self._lease + "{", pattern)

    def grouped_matching(self, pattern: str) -> tuple[Match, Match]:
        """How to find the grouped entries (bounded functions on a Redis Cluster), and
        their leases, whose user key matches ``pattern``: every grouped key, filtered."""
        exact = compile_glob(pattern)
        return (
            Match(escape_glob(self._entry) + "*}:*", exact),
            Match(escape_glob(self._lease + "{") + "*}:*", exact),
        )

    def _matching(self, start: str, pattern: str) -> Match:
        trailing = len(pattern) - len(pattern.rstrip("\\"))
        if any(c in pattern for c in "%{}") or trailing % 2:
            # The stored form differs from the text there: match widely, filter exactly.
            return Match(escape_glob(start) + "*}", compile_glob(pattern))
        return Match(escape_glob(start) + pattern + "}", None)

    def index_name(self, index: str) -> str | None:
        """The tag, function or node name of an index key; None for anything else."""
        kind = self.kind(index)
        if kind not in _NAMED_INDEXES:
            return None
        rest = index[len(self.prefix) + len(kind) + 2 :]  # after "#<kind>:"
        if rest.startswith("{") and rest.endswith("}"):
            return _unescape(rest[1:-1])
        return None

    def kind(self, key: str) -> str | None:
        """What ``key`` is: ``"entry"``, ``"lease"``, ``"wait"``, ``"dep"``, ``"marker"``,
        ``"tag"``, ``"fn"``, ``"node"``, ``"stats"``, or None when it is not ours."""
        if not key.startswith(self.prefix):
            return None
        rest = key[len(self.prefix) :]
        if rest.startswith("{"):
            return "entry" if self._parts(key) is not None else None
        if not rest.startswith("#"):
            return None
        if rest.endswith(":inv"):
            return "marker"
        name = rest[1:].split(":", 1)[0]
        if name in ("lease", "wait", "dep", "tag", "fn", "node", "stats", "lock", "fence"):
            return name
        if name in ("bound", "bounds"):  # bounds:{group} too (a cluster's records)
            return name
        return None

    @staticmethod
    def by_slot(keys: Iterable[str]) -> dict[int, list[str]]:
        """``keys`` grouped by hash slot, each group in the order given."""
        groups: dict[int, list[str]] = {}
        for key in keys:
            groups.setdefault(hash_slot(key), []).append(key)
        return groups
