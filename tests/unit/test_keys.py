"""Keys: stable across runs, equal for equivalent calls, different for different values."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import subprocess
import sys
import uuid
from collections import OrderedDict, namedtuple
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import redmemo
from redmemo.core.keys import KeyMaker, stable_digest
from redmemo.core.keyspace import Keyspace

ROOT = Path(__file__).resolve().parents[2]


NS = Keyspace("ns")


def digest(value: Any) -> str:
    return stable_digest([("x", value)])


def f(a: Any, b: Any = 2, *args: Any, c: Any = 3, **kwargs: Any) -> None: ...


def test_equivalent_calls_share_a_key() -> None:
    keys = KeyMaker(f, entry=NS.entry)
    assert keys.key((1,), {}) == keys.key((1, 2), {}) == keys.key((), {"a": 1, "b": 2})
    assert keys.key((1,), {"c": 3}) == keys.key((1,), {})
    assert keys.key((1,), {"z": 1, "y": 2}) == keys.key((1,), {"y": 2, "z": 1})
    assert keys.key((1, 2, 3), {}) != keys.key((1, 2), {})


def test_the_key_layout() -> None:
    key = KeyMaker(f, entry=NS.entry, version=3).key((1,), {})
    assert key.startswith(f"ns:{{{__name__}.f:v3:")
    assert key.endswith("}")
    assert NS.body(key) == f"{__name__}.f:v3:" + key[len(f"ns:{{{__name__}.f:v3:") : -1]


@pytest.mark.parametrize(
    "values",
    [
        [
            1,
            1.0,
            True,
            "1",
            b"1",
            bytearray(b"1"),
            (1,),
            [1],
            {1},
            frozenset({1}),
            decimal.Decimal(1),
        ],
        [None, "None", "", b"", 0, False, (), [], {}],
        [0.0, -0.0, 0],
        [("a", "b"), ("ab",), ["a", "b"]],
        [{"a": 1}, {"a": "1"}, {"a": 1.0}],
    ],
)
def test_types_are_kept_apart(values: list[Any]) -> None:
    digests = [digest(v) for v in values]
    assert len(set(digests)) == len(values)


def test_containers_do_not_depend_on_insertion_order() -> None:
    assert digest({"a": 1, "b": 2}) == digest({"b": 2, "a": 1})
    assert digest({3, 1, 2}) == digest({2, 3, 1})
    assert digest({"s": {1, "x", 2.5}}) == digest({"s": {2.5, "x", 1}})


class Colour(enum.Enum):
    RED = 1
    BLUE = 2


@dataclasses.dataclass(frozen=True)
class Point:
    x: int
    y: int


Pair = namedtuple("Pair", "a b")


def test_rich_values_have_stable_distinct_keys() -> None:
    values = [
        Colour.RED,
        Colour.BLUE,
        1,
        Point(1, 2),
        Point(2, 1),
        (1, 2),
        Pair(1, 2),
        dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
        dt.date(2026, 1, 1),
        dt.timedelta(seconds=5),
        decimal.Decimal("1.10"),
        decimal.Decimal("1.1"),
        uuid.UUID(int=5),
        Path("/tmp"),
        OrderedDict(a=1),
        {"a": 1},
        int,
        str,
    ]
    digests = [digest(v) for v in values]
    assert len(set(digests)) == len(values)
    assert digest(Point(1, 2)) == digest(Point(1, 2))


def test_pydantic_models_are_keyed_by_their_fields() -> None:
    import pydantic

    class User(pydantic.BaseModel):  # type: ignore[misc,name-defined]
        id: int
        name: str

    assert digest(User(id=1, name="a")) == digest(User(id=1, name="a"))
    assert digest(User(id=1, name="a")) != digest(User(id=2, name="a"))


class Plain:
    pass


class Keyed:
    def __init__(self, ident: int) -> None:
        self.ident = ident

    def __cache_key__(self) -> int:
        return self.ident


def test_an_argument_without_a_stable_form_is_refused_by_name() -> None:
    keys = KeyMaker(f, entry=NS.entry)
    with pytest.raises(
        redmemo.UnstableKeyError,
        match=r"argument 'b' is a tests.unit.test_keys.Plain.*__cache_key__",
    ):
        keys.key((1, Plain()), {})
    with pytest.raises(redmemo.UnstableKeyError, match="argument 'a'"):
        keys.key(([object()],), {})
    nested: list[Any] = []
    nested.append(nested)
    with pytest.raises(redmemo.UnstableKeyError, match="nested too deeply"):
        keys.key((nested,), {})


def test_cache_key_method_identifies_instances() -> None:
    assert digest(Keyed(1)) == digest(Keyed(1))
    assert digest(Keyed(1)) != digest(Keyed(2))
    assert digest(Keyed(1)) != digest(1)


def test_methods_never_share_results_between_instances_by_accident() -> None:
    cache = redmemo.Cache("memory://")

    class Service:
        def __init__(self, name: str) -> None:
            self.name = name

        @cache(ttl=60)
        def unkeyed(self, x: int) -> str:
            return f"{self.name}:{x}"

        @cache(ttl=60, ignore=("self",))
        def shared(self, x: int) -> str:
            return f"{self.name}:{x}"

        @classmethod
        @cache(ttl=60)
        def made(cls, x: int) -> str:
            return f"{cls.__name__}:{x}"

        @staticmethod
        @cache(ttl=60)
        def pure(x: int) -> int:
            return x * 2

    with pytest.raises(redmemo.UnstableKeyError, match=r"argument 'self'.*ignore="):
        Service("a").unkeyed(1)
    assert Service("a").shared(1) == "a:1"
    assert Service("b").shared(1) == "a:1"  # the user chose to share across instances
    assert Service.made(1) == "Service:1"
    assert Service("z").made(1) == "Service:1"
    assert Service.pure(4) == 8
    assert Service("q").pure(4) == 8


def test_bound_method_helpers_bind_the_instance() -> None:
    cache = redmemo.Cache("memory://")
    calls: list[int] = []

    class Repo:
        def __init__(self, ident: int) -> None:
            self.ident = ident

        def __cache_key__(self) -> int:
            return self.ident

        @cache(ttl=60)
        def load(self, x: int) -> tuple[int, int]:
            calls.append(x)
            return self.ident, x

    one, two = Repo(1), Repo(2)
    assert one.load(5) == (1, 5)
    assert two.load(5) == (2, 5)
    assert one.load.key(5) != two.load.key(5)
    assert one.load.invalidate(5) is True
    assert one.load(5) == (1, 5)
    assert calls == [5, 5, 5]
    assert one.load.function(7) == (1, 7)
    assert Repo.load.function(one, 8) == (1, 8)


def test_ignore_must_name_real_parameters() -> None:
    with pytest.raises(ValueError, match="ignore= names"):
        KeyMaker(f, entry=NS.entry, ignore=("nope",))


def test_the_same_call_has_the_same_key_in_a_fresh_interpreter() -> None:
    script = (
        "import redmemo, datetime, decimal\n"
        "c = redmemo.Cache('memory://', namespace='fresh')\n"
        "def load(user, opts=None, *, when=None): ...\n"
        "load.__module__ = 'app'\n"
        "w = c(ttl=1)(load)\n"
        "print(w.key(7, {'b': [1, 2.5, None], 'a': {'x', 'y'}}, "
        "when=(datetime.date(2026, 1, 2), decimal.Decimal('3.14'))))\n"
    )
    keys = {
        subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
        ).stdout.strip()
        for seed in ("0", "1", "12345")
    }
    assert len(keys) == 1
    assert next(iter(keys)).startswith("fresh:{app.load:")


def _canonical(value: Any) -> Any:
    """A structural, type-tagged form: equal exactly when two values must share a key."""
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(_canonical(v) for v in value))
    if isinstance(value, dict):
        return ("dict", frozenset((_canonical(k), _canonical(v)) for k, v in value.items()))
    if isinstance(value, (set, frozenset)):
        return (type(value).__name__, frozenset(_canonical(v) for v in value))
    if isinstance(value, float):
        return ("float", value.hex())
    return (type(value).__name__, value)


scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=5)
    | st.binary(max_size=5)
)
hashable = scalars | st.tuples(scalars, scalars)
arguments = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(inner, inner)
        | st.dictionaries(hashable, inner, max_size=3)
        | st.frozensets(hashable, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=300)
@given(st.lists(st.tuples(arguments, arguments), min_size=2, max_size=30))
def test_no_two_different_argument_tuples_share_a_key(calls: list[tuple[Any, Any]]) -> None:
    keys = KeyMaker(f, entry=NS.entry)
    seen: dict[str, Any] = {}
    for a, b in calls:
        key = keys.key((a, b), {})
        canonical = (_canonical(a), _canonical(b))
        assert seen.setdefault(key, canonical) == canonical


def g(a: Any, /, b: Any, c: Any = 3, *, d: Any, e: Any = 5) -> None: ...


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((1, 2), {"d": 4}),
        ((1,), {"b": 2, "d": 4}),
        ((1, 2, 9), {"d": 4, "e": 6}),
        ((1,), {"d": 4, "b": 2, "e": 0, "c": 1}),
    ],
)
def test_the_fast_binder_agrees_with_signature_bind(args: Any, kwargs: Any) -> None:
    keys = KeyMaker(g, entry=NS.entry)
    assert keys.arguments(args, kwargs) == dict(keys.bind(args, kwargs).arguments)
    assert list(keys.arguments(args, kwargs)) == list(keys.bind(args, kwargs).arguments)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((), {"a": 1, "b": 2, "d": 4}),  # positional-only by keyword
        ((1, 2), {}),  # d missing
        ((1, 2), {"d": 4, "b": 2}),  # b twice
        ((1, 2, 3, 4), {"d": 4}),  # too many positionals
        ((1, 2), {"d": 4, "zzz": 0}),  # unknown keyword
    ],
)
def test_the_fast_binder_raises_what_python_raises(args: Any, kwargs: Any) -> None:
    keys = KeyMaker(g, entry=NS.entry)
    with pytest.raises(TypeError):
        keys.key(args, kwargs)


def test_remembered_keys_keep_equal_values_of_other_types_apart() -> None:
    keys = KeyMaker(f, entry=NS.entry)
    first = [keys.key((v,), {}) for v in (1, True, 1.0, "1", b"1", None, 0, False, -0.0, 0.0)]
    again = [keys.key((v,), {}) for v in (1, True, 1.0, "1", b"1", None, 0, False, -0.0, 0.0)]
    assert first == again
    assert len(set(first)) == len(first)
    assert keys.key((1,), {}) == keys.key_of(keys.bind((1,), {}))
