from __future__ import annotations

import pickle
from typing import Any

import pytest

import redmemo
from redmemo.core.serializers import resolve_serializer


@pytest.mark.parametrize(
    ("spec", "kind"),
    [
        (None, redmemo.PickleSerializer),
        ("pickle", redmemo.PickleSerializer),
        ("JSON", redmemo.JsonSerializer),
        ("msgpack", redmemo.MsgpackSerializer),
        ("string", redmemo.StringSerializer),
        ("raw", redmemo.RawSerializer),
        ((pickle.dumps, pickle.loads), redmemo.PairSerializer),
    ],
)
def test_specs_resolve(spec: Any, kind: type) -> None:
    assert isinstance(resolve_serializer(spec), kind)


def test_a_custom_object_is_used_as_is() -> None:
    class Upper:
        serializer_id = 70

        def dumps(self, obj: Any) -> bytes:
            return str(obj).upper().encode()

        def loads(self, data: bytes) -> Any:
            return data.decode()

    custom = Upper()
    assert resolve_serializer(custom) is custom
    assert isinstance(custom, redmemo.Serializer)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("yaml", "unknown serializer 'yaml'"),
        (42, "serializer must be"),
        ((pickle.dumps,), "pair"),
        (("a", "b"), "callables"),
    ],
)
def test_bad_specs_are_refused(spec: Any, message: str) -> None:
    with pytest.raises(redmemo.ConfigurationError, match=message):
        resolve_serializer(spec)


def test_a_custom_id_out_of_range_is_refused() -> None:
    class Bad:
        serializer_id = 999

        def dumps(self, obj: Any) -> bytes:
            return b""

        def loads(self, data: bytes) -> Any:
            return None

    with pytest.raises(redmemo.ConfigurationError, match="serializer_id"):
        resolve_serializer(Bad())
