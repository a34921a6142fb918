"""Keys and tags designed by the user: ``"user:{user_id}:{lang}"`` or a callable.

A template is checked when the function is decorated: every field must name one of its
parameters. Values are rendered as ``str.format`` renders them, unescaped, so that
``cache.invalidate("user:" + name)`` names the same entry as ``key="user:{name}"``; the
keyspace (``core/keyspace.py``) keeps any rendered text from reaching an internal key or
breaking a hash tag.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..errors import ConfigurationError, InvalidKeyError
from .missing import MISSING

__all__ = ["Args", "KeyTemplate", "make_renderer"]

_ROOT = re.compile(r"[.\[]")


class Args:
    """A call's bound arguments, for key, tag and node callables: ``c.user_id``.

    ``c.args`` and ``c.kwargs`` are the values collected by ``*args`` and ``**kwargs``
    (empty when the function has none); ``c.result`` is the function's result, in
    ``depends_on`` callables.
    """

    __slots__ = ("_arguments", "_var_kw", "_var_pos", "result")

    def __init__(
        self,
        arguments: Mapping[str, Any],
        var_positional: str | None = None,
        var_keyword: str | None = None,
        result: Any = MISSING,
    ) -> None:
        self._arguments = arguments
        self._var_pos = var_positional
        self._var_kw = var_keyword
        self.result = result

    def __getattr__(self, name: str) -> Any:
        try:
            return self._arguments[name]
        except KeyError:
            known = ", ".join(self._arguments) or "none"
            raise AttributeError(f"the call has no argument {name!r}; it has: {known}") from None

    @property
    def args(self) -> tuple[Any, ...]:
        return tuple(self._arguments.get(self._var_pos, ())) if self._var_pos else ()

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(self._arguments.get(self._var_kw, {})) if self._var_kw else {}

    def __repr__(self) -> str:
        return f"Args({dict(self._arguments)!r})"


_FORMATTER = string.Formatter()


class KeyTemplate:
    """A ``str.format`` template over a function's parameters, with escaped values."""

    def __init__(self, template: str, names: Iterable[str], *, what: str, owner: str) -> None:
        self.template = template
        known = list(names)
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
        except ValueError as exc:
            raise ConfigurationError(f"{what} template {template!r} is malformed: {exc}") from None
        for field in fields:
            root = _ROOT.split(field, maxsplit=1)[0]
            if not root or root.isdigit():
                raise ConfigurationError(
                    f"{what} template {template!r} has a positional field {{{field}}}: "
                    f"name a parameter of {owner} instead ({', '.join(known)})"
                )
            if root not in known:
                raise ConfigurationError(
                    f"{what} template {template!r} names {root!r}, which {owner} does not "
                    f"take; its parameters are: {', '.join(known) or 'none'}"
                )

    def render(self, arguments: Mapping[str, Any]) -> str:
        try:
            return _FORMATTER.vformat(self.template, (), arguments)
        except (AttributeError, KeyError, IndexError, TypeError, ValueError) as exc:
            raise InvalidKeyError(
                f"cannot render template {self.template!r} for this call: {exc!r}"
            ) from exc


Renderer = Callable[[Mapping[str, Any], Args], str]


def make_renderer(
    spec: str | Callable[[Args], Any], names: Iterable[str], *, what: str, owner: str
) -> Renderer:
    """A function of (arguments, container) giving the rendered string of ``spec``."""
    if isinstance(spec, str):
        template = KeyTemplate(spec, names, what=what, owner=owner)
        return lambda arguments, _c: template.render(arguments)
    if callable(spec):

        def call(_arguments: Mapping[str, Any], c: Args) -> str:
            value = spec(c)
            if not isinstance(value, str) or not value:
                raise InvalidKeyError(
                    f"the {what} callable of {owner} returned {value!r}; it must return a "
                    "non-empty str"
                )
            return value

        return call
    raise ConfigurationError(
        f"{what} must be a template str or a callable, not {type(spec).__name__}"
    )
