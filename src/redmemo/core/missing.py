"""``MISSING``: "no value", distinct from a stored ``None``."""

from __future__ import annotations

__all__ = ["MISSING", "Missing"]


class Missing:
    """The type of :data:`MISSING`: "no value", distinct from a stored ``None``."""

    _instance: Missing | None = None

    def __new__(cls) -> Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "redmemo.MISSING"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "MISSING"


MISSING = Missing()
