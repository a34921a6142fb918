"""Function identity: different callables never share entries by accident."""

from __future__ import annotations

import functools
import operator
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import redmemo
from redmemo.core.identity import identity_of

ROOT = Path(__file__).resolve().parents[2]


def test_lambdas_that_share_a_name_do_not_share_entries() -> None:
    cache = redmemo.Cache("memory://")
    square = cache(lambda x: x * x)
    cube = cache(lambda x: x**3)
    assert square(3) == 9
    assert cube(3) == 27
    assert square.key(3) != cube.key(3)


def test_partials_of_one_function_with_other_arguments_do_not_share_entries() -> None:
    cache = redmemo.Cache("memory://")
    add10 = cache(functools.partial(operator.add, 10))
    mul10 = cache(functools.partial(operator.mul, 10))
    add20 = cache(functools.partial(operator.add, 20))
    assert (add10(2), mul10(2), add20(2)) == (12, 20, 22)


def test_closures_made_by_a_factory_do_not_share_entries() -> None:
    cache = redmemo.Cache("memory://")

    def make(n: int) -> Any:
        @cache
        def plus(x: int) -> int:
            return x + n

        return plus

    one, two = make(1), make(2)
    assert (one(10), two(10)) == (11, 12)


def test_a_second_closure_that_cannot_be_told_apart_is_refused_and_name_solves_it() -> None:
    cache = redmemo.Cache("memory://")

    def make(handle: object, name: str | None = None) -> Any:
        def query(x: int) -> str:
            return f"{id(handle)}:{x}"

        return cache(name=name)(query)

    make(object())
    with pytest.raises(redmemo.ConfigurationError, match="name="):
        make(object())
    second = make(object(), name="query-replica")
    assert second.key(1) != make(object(), name="query-primary").key(1)


def test_the_same_function_decorated_again_is_fine() -> None:
    cache = redmemo.Cache("memory://")

    def load(x: int) -> int:
        return x

    assert cache(ttl=5)(load).key(1) == cache(ttl=10)(load).key(1)


@given(st.integers(), st.integers())
def test_bound_arguments_always_tell_partials_apart(a: int, b: int) -> None:
    first = identity_of(functools.partial(operator.add, a)).name
    second = identity_of(functools.partial(operator.add, b)).name
    assert (first == second) is (a == b)


def test_identities_are_the_same_in_every_process() -> None:
    script = (
        "import functools, operator\n"
        "from redmemo.core.identity import identity_of\n"
        "square = lambda x: x * x\n"
        "def make(n):\n"
        "    def plus(x):\n"
        "        return x + n\n"
        "    return plus\n"
        "print(identity_of(square).name, identity_of(make(3)).name,\n"
        "      identity_of(functools.partial(operator.add, 10)).name)\n"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
        ).stdout
        for seed in ("0", "1", "4242")
    }
    assert len(outputs) == 1
    assert "<lambda>@" in next(iter(outputs))
