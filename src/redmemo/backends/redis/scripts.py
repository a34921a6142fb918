"""The Lua scripts, loaded from ``lua/`` once, with their SHA1 for EVALSHA."""

from __future__ import annotations

import hashlib
from importlib import resources
from typing import NamedTuple

__all__ = ["SCRIPTS", "Script"]


class Script(NamedTuple):
    name: str
    source: str
    sha: str


def _load(name: str) -> Script:
    source = resources.files(__package__).joinpath(f"lua/{name}.lua").read_text()
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
