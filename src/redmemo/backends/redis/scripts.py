"""The Lua scripts, loaded from ``lua/`` once, with their SHA1 for EVALSHA."""

from __future__ import annotations

import hashlib
import re
from importlib import resources
from typing import NamedTuple

__all__ = ["SCRIPTS", "Script"]

_INCLUDE = re.compile(r"^-- include: (\w+)\n", re.M)


class Script(NamedTuple):
    name: str
    source: str
    sha: str


def _read(name: str) -> str:
    return resources.files(__package__).joinpath(f"lua/{name}.lua").read_text()


def _load(name: str) -> Script:
    # A line "-- include: <fragment>" is replaced by lua/<fragment>.lua: Redis scripts
    # cannot share functions, so the ones two scripts need are written once and pasted.
    source = _INCLUDE.sub(lambda m: _read(m.group(1)), _read(name))
    return Script(name, source, hashlib.sha1(source.encode()).hexdigest())


SCRIPTS = {
    name: _load(name)
    for name in (
        "lease",
        "register",
        "store",
        "release",
        "extend",
        "invalidate",
        "replace",
        "lock",
        "unlock",
        "relock",
        "bound_store",
        "bound_read",
        "bound_size",
        "bound_forget",
    )
}
