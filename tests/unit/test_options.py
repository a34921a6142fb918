"""Options are declared once (``redmemo.options.Options``): the decorator's typed
signature, node ``Meta`` and the checks all follow that declaration."""

from __future__ import annotations

import inspect
import typing

import pytest

import redmemo
from redmemo.decorator import DecoratorMixin
from redmemo.keydesign.nodes import META_OPTIONS
from redmemo.options import NODE_DEFAULTS, OPTION_NAMES, Options, option_defaults


def _typed_signature() -> inspect.Signature:
    """The overload of ``@cache(...)`` that takes the options."""
    overloads = typing.get_overloads(DecoratorMixin.__call__)
    with_options = [o for o in overloads if "ttl" in inspect.signature(o).parameters]
    assert len(with_options) == 1
    return inspect.signature(with_options[0])


def test_the_typed_signature_lists_every_option_with_its_default() -> None:
    params = _typed_signature().parameters
    keywords = {n: p.default for n, p in params.items() if p.kind is p.KEYWORD_ONLY}
    assert keywords == option_defaults()


def test_node_meta_options_derive_from_the_declaration() -> None:
    assert NODE_DEFAULTS <= OPTION_NAMES
    assert NODE_DEFAULTS | {"tags", "cache"} == META_OPTIONS
    assert {"ttl", "refresh", "lease", "wait_timeout", "early", "stale_if_error"} == NODE_DEFAULTS


def test_an_unknown_option_is_refused_by_name() -> None:
    cache = redmemo.Cache("memory://")
    with pytest.raises(redmemo.ConfigurationError, match=r"unknown option\(s\) \['tll'\]"):
        cache(tll=5)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"ttl": -1}, "ttl"),
        ({"refresh": 10, "ttl": 5}, "shorter than ttl"),
        ({"wait": "yes"}, "wait must be"),
        ({"skip": 3}, "skip must be"),
        ({"unless": 3}, "unless must be"),
        ({"version": 1.5}, "version must be"),
        ({"key": "k", "node": object()}, "not both"),
        ({"tags": "one"}, "list of templates"),
        ({"on_hit": 1}, "on_hit must be"),
        ({"early": -1}, "early"),
    ],
)
def test_each_option_is_checked(options: dict[str, object], message: str) -> None:
    # ConfigurationError, or InvalidTTLError for a time span: both are ValueErrors.
    with pytest.raises((redmemo.ConfigurationError, redmemo.InvalidTTLError), match=message):
        Options.build(options)


def test_derived_defaults() -> None:
    built = Options.build({"refresh": 5, "ttl": 60})
    assert (built.lease, built.wait_timeout, built.beta) == (5.0, 5.0, 0.0)
    assert Options.build({}, cache_ttl=30).ttl == 30
    assert Options.build({}).lease == 30.0
    assert Options.build({"ttl": 60, "early": True}).explicit == {"ttl", "early"}
