"""Which function's results an entry holds: a name that two different callables never
share by accident, and that is the same in every process.

``module.qualname`` serves plain functions. It is not enough for:

- lambdas, which are all ``<lambda>``: their code (bytecode, constants, names, first
  line) is added, so ``cache(lambda x: x * x)`` and ``cache(lambda x: x ** 3)`` differ;
- ``functools.partial`` objects: the wrapped function's identity and a digest of the
  bound arguments;
- closures made by a factory (``def make(n): @cache def plus(x): ...``): a digest of the
  captured values that have a stable form.

What cannot be told apart that way (a closure over a database handle, say) keeps its
plain name; a cache then refuses a second, different callable with the same identity
and asks for ``name=``.
"""

from __future__ import annotations

import functools
import hashlib
import types
from collections.abc import Callable
from typing import Any

from ..errors import UnstableKeyError
from .keys import function_name, stable_digest

__all__ = ["Identity", "identity_of"]


class Identity:
    """``name``: what keys are made of. ``certain``: whether two callables with this
    name always compute the same thing (False: captured values it could not include)."""

    __slots__ = ("certain", "name")

    def __init__(self, name: str, certain: bool) -> None:
        self.name = name
        self.certain = certain


def _code_digest(code: types.CodeType) -> str:
    parts: list[bytes] = [code.co_code, str(code.co_firstlineno).encode()]
    parts.append(repr(code.co_names).encode())
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            parts.append(_code_digest(const).encode())
        else:
            parts.append(f"{type(const).__name__}:{const!r}".encode())
    return hashlib.blake2b(b"\0".join(parts), digest_size=6).hexdigest()


def _captured(fn: Callable[..., Any], depth: int) -> tuple[str, bool]:
    """A digest of the keyable values a closure captured, and whether all were."""
    closure = getattr(fn, "__closure__", None)
    code = getattr(fn, "__code__", None)
    if not closure or code is None:
        return "", True
    values: list[tuple[str, Any]] = []
    certain = True
    for name, cell in zip(code.co_freevars, closure, strict=False):
        try:
            value = cell.cell_contents
        except ValueError:  # not yet bound
            continue
        if callable(value) and not isinstance(value, type):
            if value is fn or depth >= 3:
                continue  # itself, when recursive; or too deep to matter
            # A function it calls, made by the same factory with other values: its own
            # identity tells them apart.
            inner = identity_of(value, depth=depth + 1)
            certain = certain and inner.certain
            values.append((name, inner.name))
            continue
        try:
            stable_digest([(name, value)])
        except UnstableKeyError:
            certain = False
            continue
        values.append((name, value))
    if not values:
        return "", certain
    return stable_digest(values)[:12], certain


def identity_of(fn: Callable[..., Any], name: str | None = None, depth: int = 0) -> Identity:
    """The identity of ``fn`` (``name`` given by the user wins, and is certain)."""
    if name is not None:
        return Identity(name, True)
    if isinstance(fn, functools.partial):
        inner = identity_of(fn.func, depth=depth + 1)
        try:
            bound = stable_digest([("args", fn.args), ("keywords", fn.keywords)])[:12]
        except UnstableKeyError:
            return Identity(f"{inner.name}(partial)", False)
        return Identity(f"{inner.name}(partial:{bound})", inner.certain)
    base = function_name(fn)
    code = getattr(fn, "__code__", None)
    if code is not None and getattr(fn, "__name__", "") == "<lambda>":
        base = f"{base}@{_code_digest(code)}"
    captured, certain = _captured(fn, depth)
    if captured:
        base = f"{base}[{captured}]"
    return Identity(base, certain)
