"""Deterministic cache keys from function arguments.

A call's key (its *body*, in the keyspace's words) is ``module.qualname[:vVERSION]:digest``
or the text a template, callable or node designs. The digest hashes a canonical,
type-tagged encoding of the arguments bound to the signature (defaults applied), so it is
the same in every process, on every machine and in every Python run: no ``hash()``, no
object ids, no default reprs. ``core/keyspace.py`` turns the body into the entry's key.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import fractions
import hashlib
import inspect
import pathlib
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..errors import UnstableKeyError
from .glob import escape_glob

_DIGEST_BYTES = 16  # a key's digest: 32 hex digits

__all__ = ["KeyMaker", "bodies_of", "function_name", "stable_digest"]


def bodies_of(base: str) -> str:
    """A glob matching the digest keys made under ``base`` (a function's name and
    version, then ":"): the name exactly, then a digest's length of any characters."""
    return escape_glob(base) + "?" * (_DIGEST_BYTES * 2)


def function_name(fn: Callable[..., Any]) -> str:
    """``module.qualname``: stable across runs, unlike ``id`` or ``repr``."""
    module = getattr(fn, "__module__", None) or "?"
    qualname = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or "?"
    return f"{module}.{qualname}"


def _type_name(obj: object) -> bytes:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}".encode()


def _length_prefixed(tag: bytes, data: bytes) -> bytes:
    return tag + str(len(data)).encode() + b":" + data


def _encode(obj: Any, where: str, depth: int = 0) -> bytes:
    """A canonical byte string for ``obj``; different types never encode alike.

    ``where`` is the parameter's name, for the error message of an unkeyable value.
    """
    if depth > 50:
        raise UnstableKeyError(
            f"argument {where!r} is nested too deeply (or contains itself) to form a key"
        )
    cls = type(obj)
    # Exact builtin types first: the common case, and subclasses must not collide with them.
    if obj is None:
        return b"N"
    if cls is bool:
        return b"T" if obj else b"F"
    if cls is int:
        return b"i" + str(obj).encode() + b";"
    if cls is float:
        number: float = obj
        return b"f" + number.hex().encode() + b";"
    if cls is str:
        text: str = obj
        return _length_prefixed(b"s", text.encode("utf-8", "surrogatepass"))
    if cls is bytes or cls is bytearray:
        return _length_prefixed(b"b" if cls is bytes else b"y", bytes(obj))
    if cls is tuple or cls is list:
        inner = b"".join(_encode(item, where, depth + 1) for item in obj)
        return (b"(" if cls is tuple else b"[") + inner + b")"
    if cls is dict:
        return b"{" + _encode_items(obj.items(), where, depth) + b"}"
    if cls is set or cls is frozenset:
        parts = sorted(_encode(item, where, depth + 1) for item in obj)
        return (b"<" if cls is set else b"z") + b"".join(parts) + b">"
    return _encode_object(obj, where, depth)


def _encode_items(items: Iterable[tuple[Any, Any]], where: str, depth: int) -> bytes:
    # Sorted by the encoded key: independent of insertion order, defined for mixed key types.
    pairs = sorted((_encode(k, where, depth + 1), _encode(v, where, depth + 1)) for k, v in items)
    return b"".join(k + v for k, v in pairs)


_BUILTIN_BASES: tuple[type[Any], ...] = (tuple, list, dict, set, frozenset, str, bytes, int, float)


def _encode_object(obj: Any, where: str, depth: int) -> bytes:
    name = _type_name(obj)
    custom = getattr(obj, "__cache_key__", None)
    if custom is not None and callable(custom) and not isinstance(obj, type):
        return _length_prefixed(b"K", name) + _encode(custom(), where, depth + 1)
    if isinstance(obj, type):
        return _length_prefixed(b"C", f"{obj.__module__}.{obj.__qualname__}".encode())
    if isinstance(obj, enum.Enum):
        return _length_prefixed(b"E", name) + _encode(obj.value, where, depth + 1)
    if isinstance(obj, (dt.datetime, dt.date, dt.time)):
        return _length_prefixed(b"D", name) + _length_prefixed(b"", obj.isoformat().encode())
    if isinstance(obj, dt.timedelta):
        return _length_prefixed(b"D", name) + _encode(
            (obj.days, obj.seconds, obj.microseconds), where, depth + 1
        )
    if isinstance(obj, (decimal.Decimal, fractions.Fraction, complex, uuid.UUID, pathlib.PurePath)):
        return _length_prefixed(b"V", name) + _length_prefixed(b"", str(obj).encode())
    if dataclasses.is_dataclass(obj):
        fields = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
        return _length_prefixed(b"A", name) + _encode_items(fields.items(), where, depth)
    dump = getattr(obj, "model_dump", None)  # pydantic v2
    if dump is not None and callable(dump) and hasattr(type(obj), "model_fields"):
        return _length_prefixed(b"P", name) + _encode(dump(mode="python"), where, depth + 1)
    # Subclasses of builtins (named tuples, str/int subclasses, OrderedDict, ...): the
    # builtin's encoding, tagged with the subclass so it never collides with the builtin.
    for base in _BUILTIN_BASES:
        if isinstance(obj, base):
            return _length_prefixed(b"S", name) + _encode(base(obj), where, depth + 1)
    if isinstance(obj, Mapping):
        return _length_prefixed(b"M", name) + _encode_items(obj.items(), where, depth)
    kind = type(obj)
    raise UnstableKeyError(
        f"argument {where!r} is a {kind.__module__}.{kind.__qualname__}, which has no "
        "representation that "
        "is stable across processes. Give its class a __cache_key__() method returning plain "
        "values, leave it out of the key with ignore=(...), or pass a key= function."
    )


def _label(name: str) -> bytes:
    return _length_prefixed(b"n", name.encode())


def stable_digest(values: Iterable[tuple[str, Any]], label: Callable[[str], bytes] = _label) -> str:
    """A 128-bit hex digest of named values (blake2b of their canonical encoding)."""
    parts = []
    for name, value in values:
        parts.append(label(name))
        parts.append(_encode(value, name))
    return hashlib.blake2b(b"".join(parts), digest_size=_DIGEST_BYTES).hexdigest()


_EMPTY = inspect.Parameter.empty
_MEMO_SAFE = frozenset({int, str, bytes, bool, type(None)})
_MEMO_SIZE = 4096


class KeyMaker:
    """Builds the key of one call of one function.

    ``inspect.Signature.bind`` costs several microseconds, a large share of a cache hit.
    For signatures without ``*args`` / ``**kwargs`` the arguments are bound here directly,
    in the same order and with the same defaults; anything unusual (or wrong, so that the
    error is Python's own) goes through ``bind``.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        entry: Callable[[str], str],
        ignore: Iterable[str] = (),
        version: int | str | None = None,
        render: Callable[[Mapping[str, Any]], str] | None = None,
        deterministic: bool = True,
        name: str | None = None,
    ) -> None:
        self.signature = inspect.signature(fn)
        # A designed key (template, callable, node) replaces module.qualname:{digest}.
        self._render = render
        self._entry = entry
        self._suffix = "" if version is None else f":v{version}"
        self._memo_ok = deterministic
        params = self.signature.parameters
        self.ignore = frozenset(ignore)
        unknown = self.ignore - set(params)
        if unknown:
            raise ValueError(
                f"ignore= names {sorted(unknown)}, which {function_name(fn)} does not take; "
                f"its parameters are {list(params)}"
            )
        version_part = "" if version is None else f":v{version}"
        self.base = f"{name or function_name(fn)}{version_part}:"
        kinds = {p.kind for p in params.values()}
        self._simple = not kinds & {inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD}
        self._names = tuple(params)
        self._positional = tuple(
            name
            for name, p in params.items()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        )
        self._by_keyword = frozenset(
            name for name, p in params.items() if p.kind is not p.POSITIONAL_ONLY
        )
        self._defaults = {n: p.default for n, p in params.items() if p.default is not _EMPTY}
        self._labels = {n: _label(n) for n in params}
        self._memo: dict[tuple[tuple[Any, ...], tuple[type, ...]], str] = {}

    def bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> inspect.BoundArguments:
        bound = self.signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return bound

    def arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        if self._simple and len(args) <= len(self._positional):
            given = dict(zip(self._positional, args, strict=False))  # fewer args than names
            for name, value in kwargs.items():
                if name in given or name not in self._by_keyword:
                    break  # a duplicate or unknown argument: let bind() raise its TypeError
                given[name] = value
            else:
                defaults = self._defaults
                arguments = {}
                for name in self._names:
                    if name in given:
                        arguments[name] = given[name]
                    elif name in defaults:
                        arguments[name] = defaults[name]
                    else:
                        break  # missing: let bind() raise
                else:
                    return arguments
        return dict(self.bind(args, kwargs).arguments)

    @property
    def var_names(self) -> tuple[str | None, str | None]:
        """The names of the ``*args`` and ``**kwargs`` parameters, if any."""
        params = self.signature.parameters.values()
        var_pos = next((p.name for p in params if p.kind is p.VAR_POSITIONAL), None)
        var_kw = next((p.name for p in params if p.kind is p.VAR_KEYWORD), None)
        return var_pos, var_kw

    def key(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        # Calls with a few immutable scalar arguments repeat the same keys over and over;
        # remember them. Only exact int/str/bytes/bool/None qualify: equal values of those
        # types always encode alike (unlike 0.0 and -0.0), and the types are part of the
        # memo key, so 1 and True stay apart.
        if not kwargs and len(args) <= 4 and self._memo_ok:
            if len(args) == 1:  # the most common call: one scalar, without map()
                kind = type(args[0])
                types: tuple[type, ...] = (kind,)
                safe = kind in _MEMO_SAFE
            else:
                types = tuple(map(type, args))
                safe = _MEMO_SAFE.issuperset(types)
            if safe:
                memo_key = (args, types)
                key = self._memo.get(memo_key)
                if key is None:
                    key = self.key_of_arguments(self.arguments(args, kwargs))
                    if len(self._memo) >= _MEMO_SIZE:
                        self._memo.clear()
                    self._memo[memo_key] = key
                return key
        return self.key_of_arguments(self.arguments(args, kwargs))

    def key_of(self, bound: inspect.BoundArguments) -> str:
        return self.key_of_arguments(bound.arguments)

    def key_of_arguments(self, arguments: Mapping[str, Any]) -> str:
        return self._entry(self.body_of_arguments(arguments))

    @property
    def bodies(self) -> str | None:
        """A glob that matches the user keys of this function's calls and no other
        function's (its name, then exactly a digest's length), or None when the keys are
        rendered by the user's template, node or callable (any string)."""
        if self._render is not None:
            return None
        return bodies_of(self.base)

    def body_of_arguments(self, arguments: Mapping[str, Any]) -> str:
        """The call's key as the user sees it (without the namespace)."""
        if self._render is not None:
            return self._render(arguments) + self._suffix
        items: Iterable[tuple[str, Any]] = arguments.items()
        if self.ignore:
            items = [(n, v) for n, v in items if n not in self.ignore]
        return self.base + stable_digest(items, self.labels_for)

    def labels_for(self, name: str) -> bytes:
        label = self._labels.get(name)
        return _label(name) if label is None else label
